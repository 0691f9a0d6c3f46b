/* Shared by the tests that build or rewire sparse layers: checks that a
 * layer's compressed rows and its transposed index describe the same,
 * well-formed set of connections. Needs check.h and internal.h first. */
#ifndef RW_TEST_TOPOLOGY_CHECK_H
#define RW_TEST_TOPOLOGY_CHECK_H

#include <stdlib.h>

/* Counts (and reports as one failed check) every violation of:
 *   row_ptr[0] = 0, row_ptr monotone, row_ptr[out] = nw;
 *   columns in range, strictly increasing within each row (so unique);
 *   tcol_ptr[0] = 0, tcol_ptr monotone, tcol_ptr[in] = nw;
 *   every transposed entry t of input i names a connection k = t_k[t] in
 *   row t_row[t] whose column is i, and every connection appears exactly
 *   once in the transposed index. */
static size_t check_topology(const rw_layer *L, const char *what)
{
    size_t bad = 0;
    bad += L->row_ptr[0] != 0;
    bad += L->row_ptr[L->out] != L->nw;
    for (size_t o = 0; o < L->out; o++) {
        if (L->row_ptr[o] > L->row_ptr[o + 1] || L->row_ptr[o + 1] > L->nw) {
            bad++;
            continue;
        }
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            uint32_t c = L->col[k] & RW_COL_MASK;
            bad += c >= L->in;
            if (k > L->row_ptr[o])
                bad += (L->col[k - 1] & RW_COL_MASK) >= c;
        }
    }
    unsigned char *seen = calloc(L->nw ? L->nw : 1, 1);
    bad += L->tcol_ptr[0] != 0 || L->tcol_ptr[L->in] != L->nw;
    for (size_t i = 0; i < L->in; i++) {
        bad += L->tcol_ptr[i] > L->tcol_ptr[i + 1];
        for (size_t t = L->tcol_ptr[i]; t < L->tcol_ptr[i + 1] && t < L->nw; t++) {
            size_t k = L->t_k[t], o = L->t_row[t];
            if (k >= L->nw || o >= L->out) {
                bad++;
                continue;
            }
            bad += seen[k]++ != 0;
            bad += (L->col[k] & RW_COL_MASK) != i;
            bad += !(L->row_ptr[o] <= k && k < L->row_ptr[o + 1]);
        }
    }
    for (size_t k = 0; k < L->nw; k++)
        bad += seen[k] != 1;
    free(seen);
    CHECK_MSG(bad == 0, "%s: %zu topology inconsistencies", what, bad);
    return bad;
}

#endif
