/* Diagnostics of plasticity (Dohare et al. 2024): the dormant fraction of
 * each hidden layer (ReDo's score, Sokar et al. 2023), the effective rank
 * of its representation on a probe set (Roy and Vetterli 2007, singular
 * values from LAPACK's symmetric eigensolver), and the mean |w| of each layer.
 *
 * Shapes: the probe is n x I row-major; inside, a layer's activations are
 * feature-major O x n (layers/layers.h), which LAPACK reads as the n x O
 * column-major matrix of the representation. */
#include "plasticity/plasticity.h"

#include <math.h>
#include <string.h>

/* LAPACK and BLAS (Fortran ABI, liblapack-dev): the Gram matrix by dsyrk
 * and its eigenvalues only (jobz = 'N') by dsyevd. */
extern void dsyrk_(const char *uplo, const char *trans, const int *n,
                   const int *k, const double *alpha, const double *a,
                   const int *lda, const double *beta, double *c,
                   const int *ldc);
extern void dsyevd_(const char *jobz, const char *uplo, const int *n,
                    double *a, const int *lda, double *w, double *work,
                    const int *lwork, int *iwork, const int *liwork,
                    int *info);

/* Where OpenBLAS provides LAPACK (Debian's libopenblas0 behind
 * liblapack.so.3), dsyrk and dsyevd run on a thread pool of its own, a
 * thread per core, whose threads then spin for a while before they sleep:
 * into the next epoch, beside the training threads or, under mpirun, the
 * other ranks. These calls run on the calling thread alone instead, which
 * also makes the figures independent of the core count. Weak: the
 * reference LAPACK has no such functions. */
extern int openblas_get_num_threads(void) __attribute__((weak));
extern void openblas_set_num_threads(int n) __attribute__((weak));

static int lapack_threads_one(void)
{
    int was = openblas_get_num_threads && openblas_set_num_threads
                  ? openblas_get_num_threads() : 0;
    if (was > 1)
        openblas_set_num_threads(1);
    return was;
}

static void lapack_threads_back(int was)
{
    if (was > 1)
        openblas_set_num_threads(was);
}

/* Effective rank exp(H(p)), p_i = s_i / sum s, of the column-major rows x
 * cols matrix A. The singular values are the square roots of the
 * eigenvalues of the k x k Gram matrix (A^T A or A A^T, k the smaller
 * side): in double precision they match dgesvd's to about 1e-8 of the
 * largest, and this costs half to a third of dgesvd (1000 x 1000: 0.11
 * against 0.19 s; 2000 x 1000: 0.47 against 1.08 s, Zen 3, OpenBLAS).
 * Eigenvalues within rounding of zero (below k eps of the largest) are
 * zero, so a rank-deficient matrix gets no spurious tail. */
static rw_status erank_colmajor(const double *a, size_t rows, size_t cols,
                                double *rank, rw_error *err)
{
    if (rows > 65536 || cols > 65536)
        return rw_fail(err, RW_ERR_ARG, "effective rank: %zu x %zu is too large",
                       rows, cols);
    int m = (int)rows, n = (int)cols, k = m < n ? m : n, info = 0;
    int lwork = -1, liwork = -1, iq = 0;
    double one = 1.0, zero = 0.0, q = 0.0;
    double *g = rw_alloc((size_t)k * (size_t)k, sizeof(double), "Gram matrix", err);
    double *s = g ? rw_alloc((size_t)k, sizeof(double), "singular values", err) : NULL;
    if (!s) {
        rw_free(g);
        return RW_ERR_NOMEM;
    }
    int threads = lapack_threads_one();
    if (n <= m) /* A^T A, n x n */
        dsyrk_("U", "T", &n, &m, &one, a, &m, &zero, g, &k);
    else /* A A^T, m x m */
        dsyrk_("U", "N", &m, &n, &one, a, &m, &zero, g, &k);
    dsyevd_("N", "U", &k, g, &k, s, &q, &lwork, &iq, &liwork, &info);
    lwork = info == 0 && q >= 1.0 && q < 2147483647.0 ? (int)q : 0;
    liwork = info == 0 && iq >= 1 ? iq : 0;
    double *work = lwork && liwork ? rw_alloc((size_t)lwork, sizeof(double),
                                              "eigenvalue workspace", err) : NULL;
    int *iwork = work ? rw_alloc((size_t)liwork, sizeof(int),
                                 "eigenvalue workspace", err) : NULL;
    rw_status st = RW_OK;
    if (!iwork) {
        st = lwork && liwork ? RW_ERR_NOMEM
                             : rw_fail(err, RW_ERR_UNSUPPORTED, "LAPACK dsyevd "
                                       "workspace query failed (info %d)", info);
    } else {
        dsyevd_("N", "U", &k, g, &k, s, work, &lwork, iwork, &liwork, &info);
        if (info != 0)
            st = rw_fail(err, RW_ERR_UNSUPPORTED, "LAPACK dsyevd failed (info %d)",
                         info);
    }
    lapack_threads_back(threads);
    rw_free(iwork);
    rw_free(work);
    rw_free(g);
    if (st != RW_OK) {
        rw_free(s);
        return st;
    }
    double top = s[k - 1] > 0.0 ? s[k - 1] : 0.0; /* ascending order */
    double floor = (double)k * 2.220446049250313e-16 * top, sum = 0.0;
    for (int i = 0; i < k; i++) {
        s[i] = s[i] > floor && s[i] > 0.0 ? sqrt(s[i]) : 0.0;
        sum += s[i];
    }
    double h = 0.0;
    for (int i = 0; sum > 0.0 && i < k; i++) {
        double p = s[i] / sum;
        if (p > 0.0)
            h -= p * log(p);
    }
    *rank = sum > 0.0 ? exp(h) : 0.0;
    rw_free(s);
    return RW_OK;
}

rw_status rw_effective_rank(const float *a, size_t n, size_t m, double *rank,
                            rw_error *err)
{
    if (!a || !rank || n == 0 || m == 0)
        return rw_fail(err, RW_ERR_ARG, "effective rank: empty or NULL matrix");
    size_t nm;
    if (!rw_mul_ok(n, m, &nm))
        return rw_fail(err, RW_ERR_NOMEM, "effective rank: matrix too large");
    double *c = rw_alloc(nm, sizeof(double), "SVD matrix", err);
    if (!c)
        return RW_ERR_NOMEM;
    /* Row-major n x m is column-major m x n: the same singular values. */
    for (size_t i = 0; i < nm; i++)
        c[i] = a[i];
    rw_status st = erank_colmajor(c, m, n, rank, err);
    rw_free(c);
    return st;
}

/* Fraction of units whose score mean|h_i| / mean_j mean|h_j| is <= tau,
 * from the per-unit means. */
static double dormant_of_means(const double *mean, size_t m, double tau)
{
    double tot = 0.0;
    for (size_t j = 0; j < m; j++)
        tot += mean[j];
    tot /= (double)m;
    size_t d = 0;
    for (size_t j = 0; j < m; j++)
        if (tot <= 0.0 || mean[j] / tot <= tau)
            d++;
    return (double)d / (double)m;
}

double rw_dormant_fraction(const float *a, size_t n, size_t m, double tau)
{
    if (!a || n == 0 || m == 0)
        return NAN;
    double *mean = rw_calloc(m, sizeof(double), "unit means", NULL);
    if (!mean)
        return NAN;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            mean[j] += fabs((double)a[i * m + j]);
    double f = dormant_of_means(mean, m, tau);
    rw_free(mean);
    return f;
}

double rw_layer_mean_abs_w(const rw_layer *L)
{
    double s = 0.0;
    for (size_t k = 0; k < L->nw; k++)
        s += fabsf(L->w[k]);
    return L->nw ? s / (double)L->nw : 0.0;
}

rw_status rw_net_diagnose(rw_net *net, const float *x, size_t n, double tau,
                          rw_diagnostics *out, rw_error *err)
{
    if (!net || !x || !out || n == 0)
        return rw_fail(err, RW_ERR_ARG, "diagnose: NULL argument or no samples");
    if (n > 65536)
        return rw_fail(err, RW_ERR_ARG, "diagnose: %zu probe samples, at most "
                       "65536", n);
    rw_status st = rw_net_reserve_batch(net, n, err);
    if (st != RW_OK)
        return st;
    net->grads_ready = 0;
    rw_net_load_batch(net, x, NULL, n);
    rw_net_forward_batch(net, n);
    memset(out, 0, sizeof *out);
    out->layers = net->n_layers;
    size_t maxo = 1;
    for (size_t l = 0; l + 1 < net->n_layers; l++)
        if (net->layers[l].out > maxo)
            maxo = net->layers[l].out;
    size_t cap;
    if (!rw_mul_ok(maxo, n, &cap))
        return rw_fail(err, RW_ERR_NOMEM, "diagnose: probe too large");
    double *buf = rw_alloc(cap, sizeof(double), "probe representation", err);
    double *mean = rw_alloc(maxo, sizeof(double), "unit means", err);
    if (!buf || !mean) {
        rw_free(buf);
        rw_free(mean);
        return RW_ERR_NOMEM;
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        out->mean_abs_w[l] = rw_layer_mean_abs_w(L);
        out->dormant_fraction[l] = out->effective_rank[l] = NAN;
        if (l + 1 == net->n_layers)
            break;
        size_t O = L->out;
        for (size_t o = 0; o < O; o++) {
            double s = 0.0;
            for (size_t b = 0; b < n; b++) {
                double v = L->a[o * n + b];
                buf[o * n + b] = v;
                s += fabs(v);
            }
            mean[o] = s / (double)n;
        }
        out->dormant_fraction[l] = dormant_of_means(mean, O, tau);
        /* buf is O x n row-major = n x O column-major (lda n). */
        if ((st = erank_colmajor(buf, n, O, &out->effective_rank[l], err)) != RW_OK)
            break;
    }
    rw_free(buf);
    rw_free(mean);
    return st;
}

/* Probe samples for the diagnostics: at most maintain.probe from the
 * start of the training set, fewer when the widest hidden layer would need
 * more than 2^24 activations; the effective rank is left out (NaN) for
 * layers wider than 4096. */
#define DIAG_MAX_ACTS ((size_t)1 << 24)
#define DIAG_MAX_RANK_UNITS 4096

rw_status rw_diagnose_epoch(rw_net *net, const rw_dataset *train,
                                const rw_train_config *cfg, rw_epoch_stats *es,
                                rw_error *err)
{
    for (size_t l = 0; l < RW_MAX_LAYERS; l++)
        es->dormant_fraction[l] = es->effective_rank[l] = es->mean_abs_w[l] = NAN;
    size_t n = cfg->maintain.probe < train->n ? cfg->maintain.probe : train->n;
    if (n == 0 || n > 65536)
        return RW_OK;
    size_t maxo = 1;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].out > maxo)
            maxo = net->layers[l].out;
    if (maxo > DIAG_MAX_ACTS / n)
        n = DIAG_MAX_ACTS / maxo;
    if (n == 0 || maxo > DIAG_MAX_RANK_UNITS) {
        for (size_t l = 0; l < net->n_layers; l++)
            es->mean_abs_w[l] = rw_layer_mean_abs_w(&net->layers[l]);
        return RW_OK;
    }
    rw_diagnostics d;
    rw_status st = rw_net_diagnose(net, train->x, n, cfg->maintain.dormant_tau,
                                   &d, err);
    if (st != RW_OK)
        return st;
    for (size_t l = 0; l < net->n_layers; l++) {
        es->dormant_fraction[l] = d.dormant_fraction[l];
        es->effective_rank[l] = d.effective_rank[l];
        es->mean_abs_w[l] = d.mean_abs_w[l];
    }
    return RW_OK;
}
