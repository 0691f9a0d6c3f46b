/*
 * The data floor (src/data/): the dataset object (dataset_alloc.c) and the
 * formats: IDX (idx.c), CSV (csv.c) and the built-in synthetic sets
 * (synth.c). dataset.c dispatches to them; the buffer-level functions also
 * serve the fuzzers, which feed bytes without touching files. Uses only the
 * base floor. Not installed.
 */
#ifndef RW_DATA_H
#define RW_DATA_H

#include "base/base.h"

/* ---------------- datasets ---------------- */

struct rw_dataset {
    size_t n, f;          /* samples, features */
    size_t classes;       /* 0 for regression */
    size_t targets;       /* regression outputs (0 for classification) */
    float *x;             /* n x f */
    int32_t *labels;      /* n, or NULL for regression */
    float *y;             /* n x targets, or NULL */
    size_t img_h, img_w;  /* 0 when not image data */
    const char *const *class_names; /* static table or NULL */
    char name[256];
    int borrowed;         /* x, labels, y belong to the caller (wrap) */
    /* A CSV file's header: its line (0: none) and how many of its fields
     * are numbers (a data line taken for a header has some). */
    size_t header_line, header_numbers, header_fields;
};

/* Allocates an empty dataset with room for n x f features (+labels when
 * classes > 0, or targets; neither for unlabelled data). */
rw_dataset *rw_dataset_alloc(size_t n, size_t f, size_t classes,
                             size_t targets, rw_error *err);


/* Largest IDX payload (bytes of pixels or labels) we accept. Real sets are
 * far below it (MNIST: 47 MB); the cap bounds what a header may claim. */
#define RW_IDX_MAX_PAYLOAD ((size_t)1 << 31)

/* Highest CSV class label accepted (the network gets label+1 outputs). */
#define RW_CSV_MAX_LABEL 65535

/* ---------------- dataset_alloc.c ---------------- */

/* Writes "LABEL: N x F, C classes" (or "..., T targets") into ds->name. */
void rw_dataset_describe(rw_dataset *ds, const char *label);

/* ---------------- idx.c ---------------- */

/* Parses an IDX image file (unsigned bytes, 2 to 8 dimensions, the first
 * counting samples) and an IDX label file (unsigned bytes, 1 dimension)
 * held in memory. Pixels are scaled to [0, 1]; a 3-dimension file records
 * its image height and width. `n_classes` 0 infers the class count as the
 * largest label + 1; otherwise every label must be below it. The names are
 * used in messages, which state the byte offset and what was expected.
 * Returns a new dataset (name left for the caller) or NULL with err set. */
rw_dataset *rw_idx_load_memory(const void *img, size_t img_len,
                               const char *img_name, const void *lab,
                               size_t lab_len, const char *lab_name,
                               size_t n_classes, rw_error *err);

/* Same from two files, each raw or gzip-compressed. Bytes are read only as
 * far as the header's claim (which must pass the checks first), into
 * buffers that grow as data arrives. */
rw_dataset *rw_idx_load_files(const char *img_path, const char *lab_path,
                              size_t n_classes, rw_error *err);

/* Returns 1 when the file at `path` (raw or gzip) starts like an IDX file:
 * bytes 00 00 and a known type code. Missing files give 0. */
int rw_idx_sniff(const char *path);

/* ---------------- csv.c ---------------- */

typedef enum rw_num_status {
    RW_NUM_OK = 0,
    RW_NUM_EMPTY,     /* nothing but blanks */
    RW_NUM_SYNTAX,    /* not a decimal number */
    RW_NUM_NONFINITE, /* nan, inf, infinity (any case, any sign) */
    RW_NUM_RANGE      /* finite text whose value overflows the type */
} rw_num_status;

/* Locale-independent decimal parser for [+-]digits[.digits][(e|E)[+-]digits]
 * (".5" and "5." too), exactly `len` bytes, no surrounding blanks. */
rw_num_status rw_parse_double(const char *s, size_t len, double *out);
/* Same, then to float32; RW_NUM_RANGE when beyond FLT_MAX. */
rw_num_status rw_parse_float(const char *s, size_t len, float *out);

/* Parses CSV text held in memory (see rw_dataset_open for the format and
 * opts). `name` is used in messages, which state line and column. Returns
 * a new dataset named "BASENAME: N x F, ..." or NULL with err set. */
rw_dataset *rw_csv_parse_memory(const void *buf, size_t len, const char *name,
                                const rw_data_options *o, rw_error *err);

/* Same from a file (raw or gzip), streamed in chunks. */
rw_dataset *rw_csv_load_file(const char *path, const rw_data_options *o,
                             rw_error *err);

/* ---------------- synth.c ---------------- */

/* Index of a built-in synthetic set ("spirals", "moons", "blobs", "xor"),
 * or -1. */
int rw_synth_lookup(const char *name);
/* Comma-separated list of the synthetic names, for messages. */
const char *rw_synth_names(void);
/* Generates synthetic set `which` (from rw_synth_lookup) for `split`:
 * o->synth_samples samples (0: 2000 train, 1000 test), seeded from
 * o->synth_seed and the split so train and test differ. */
rw_dataset *rw_synth_make(int which, rw_split split, const rw_data_options *o,
                          rw_error *err);

#endif /* RW_DATA_H */
