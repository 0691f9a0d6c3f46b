/* libFuzzer target for the CSV reader (rw_csv_parse_memory). The first
 * byte chooses the options: bits 0-1 the label column (last, first, 1, 2),
 * bit 2 regression, bit 3 no labels. The rest is the CSV text. Successful parses are also
 * standardised, split and subset, and must satisfy the invariants. */
#include "data/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    rw_data_options o = rw_data_options_defaults();
    static const int cols[4] = {RW_LABEL_LAST, RW_LABEL_FIRST, 1, 2};
    o.label_column = cols[data[0] & 3];
    o.regression = (data[0] >> 2) & 1;
    o.no_labels = (data[0] >> 3) & 1;
    data++;
    size--;
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);

    rw_error err;
    rw_error_clear(&err);
    rw_dataset *ds = rw_csv_parse_memory(text, size, "fuzz.csv", &o, &err);
    if (!ds) {
        if (err.status == RW_OK || err.msg[0] == '\0')
            abort();
        free(text);
        return 0;
    }
    if (ds->n == 0 || ds->f == 0)
        abort();
    for (size_t i = 0; i < ds->n * ds->f; i++)
        if (!isfinite(ds->x[i]))
            abort();
    if (o.no_labels) {
        if (ds->classes || ds->targets || ds->labels || ds->y)
            abort();
    } else if (o.regression) {
        if (ds->targets != 1 || !ds->y || ds->labels)
            abort();
        for (size_t i = 0; i < ds->n; i++)
            if (!isfinite(ds->y[i]))
                abort();
    } else {
        if (ds->classes == 0 || !ds->labels)
            abort();
        for (size_t i = 0; i < ds->n; i++)
            if (ds->labels[i] < 0 || (size_t)ds->labels[i] >= ds->classes)
                abort();
    }

    float *shift = malloc(ds->f * sizeof(float));
    float *scale = malloc(ds->f * sizeof(float));
    if (rw_dataset_fit_standardize(ds, shift, scale, &err) != RW_OK)
        abort();
    for (size_t j = 0; j < ds->f; j++)
        if (!isfinite(shift[j]) || !isfinite(scale[j]) || !(scale[j] > 0))
            abort();
    free(shift);
    free(scale);

    if (ds->n >= 2) {
        rw_dataset *a = NULL, *b = NULL;
        if (rw_dataset_split(ds, 0.5, size, &a, &b, &err) != RW_OK)
            abort();
        if (a->n + b->n != ds->n || (o.no_labels && (a->labels || b->labels)))
            abort();
        size_t idx[2] = {ds->n - 1, 0};
        rw_dataset *s = rw_dataset_subset(ds, idx, 2, &err);
        if (!s || memcmp(s->x, ds->x + (ds->n - 1) * ds->f,
                         ds->f * sizeof(float)) != 0)
            abort();
        rw_dataset_free(s);
        rw_dataset_free(a);
        rw_dataset_free(b);
    }
    rw_dataset_free(ds);
    free(text);
    return 0;
}
