/*
 * The io floor (src/io/): the model file (model_file.c), where a save goes
 * (file_target.c) and the training
 * checkpoint (checkpoint.c). Internals shared with the tests and the
 * fuzzer. Not installed. The format is specified in docs/model-format.md.
 */
#ifndef RW_IO_H
#define RW_IO_H

#include "net/net.h"

#define RW_MODEL_MAGIC "RWMODEL" /* 8 bytes with the terminating NUL */
#define RW_MODEL_VERSION 1u

/* A sparse layer may have at most max(RW_MODEL_FREE_INPUTS, file size / 8)
 * inputs: its transposed index costs 8 bytes per input, so it is never
 * larger than the file it is read from (or 512 KiB). rw_net_save refuses a
 * network that breaks this bound, so every saved model loads. */
#define RW_MODEL_FREE_INPUTS ((uint64_t)1 << 16)

/* rw_net_load_buffer with a switch for the CRC32 check. check_crc = 0
 * exists for the fuzzer, so that mutated inputs reach the parser; the
 * stored CRC bytes must still be present. Everything else is validated. */
rw_net *rw_net_load_buffer_opts(const void *buf, size_t len, const char *name,
                                int check_crc, rw_error *err);

/* ---------------- model file sections (model_file.c) ---------------- */
/* A section of another tag than the model's own, written after them. */
typedef struct rw_model_section {
    char tag[4];
    const void *payload;
    size_t len;
} rw_model_section;
/* rw_net_save plus the nx extra sections x[0..nx), in that order, in the
 * same atomic write; the tags must differ from each other and from the
 * model's own. */
rw_status rw_net_save_sections(const rw_net *net, const char *path,
                               const rw_model_section *x, size_t nx,
                               rw_error *err);
/* rw_net_save plus one extra section `tag` (4 bytes) holding `payload`. */
rw_status rw_net_save_with(const rw_net *net, const char *path,
                           const char tag[4], const void *payload,
                           size_t len, rw_error *err);
/* Reads `path`, verifies it as a model file (CRC included) and returns a
 * copy of the payload of section `tag` (free with rw_free) and, when `at`
 * is not NULL, the payload's byte offset in the file; RW_ERR_FORMAT when
 * the file has no such section (the message names the tag) or has two. */
rw_status rw_model_read_section(const char *path, const char tag[4],
                                void **payload, size_t *len, size_t *at,
                                rw_error *err);

/* ---------------- where a save goes (file_target.c) ---------------- */
/* The file a save of `path` replaces, into real[0..cap): path itself when
 * it is new or a regular file, the file a symbolic link leads to; an
 * RW_ERR_IO naming `what` for a folder, a device, a pipe or a socket (the
 * rename would replace it), a link that leads nowhere; RW_ERR_ARG for an
 * empty or too long path. */
rw_status rw_save_target(const char *path, const char *what, char *real,
                         size_t cap, rw_error *err);
/* After a save's rename: syncs the folder (best effort), and removes the
 * temporary files of earlier writers of `path` killed mid-write. */
void rw_sync_parent_dir(const char *path);
void rw_remove_stale_temps(const char *path);

/* ---------------- the training checkpoint (checkpoint.c) ---------------- */

/* Everything that a checkpoint must carry besides the network. */
typedef struct rw_run_state {
    uint64_t epoch; /* 0-based epoch in progress */
    uint64_t batch; /* next batch of that epoch */
    uint64_t step;  /* steps taken */
    rw_rng rng;
    double train_seconds, loss_sum;
    uint64_t correct_sum, seen;
    rw_epoch_stats es; /* counters of the epoch in progress */
} rw_run_state;

/* A hash of everything that shapes a run's trajectory (the settings, the
 * rehearsal R per batch, the class groups of `classes` classes, the
 * training and rehearsal data); a checkpoint resumes only a run with the
 * same hash. */
uint64_t rw_checkpoint_fingerprint(const rw_train_config *c,
                                   const rw_dataset *train, size_t R,
                                   size_t classes);
/* Writes net, rs and the sample order order[0..n) to cfg->checkpoint_path
 * (atomically, as rw_net_save); a run with maintenance or drop_by_usage
 * adds the MNTS section: mv (rw_maintain_view of the run), the sparse
 * layers' input usage and rs->es.units_reset. */
rw_status rw_checkpoint_write(const rw_net *net, const rw_train_config *cfg,
                              uint64_t fp, const rw_run_state *rs,
                              const rw_maint_view *mv, const size_t *order,
                              size_t n, rw_error *err);
/* Reads the run state and sample order of cfg->resume_path into rs and
 * order[0..n) (the network itself is loaded by the caller), and for a run
 * with maintenance or drop_by_usage the MNTS section into mv's arrays and
 * net's input usage (prepared by rw_maintain_begin, which sized them by
 * the network; the section is checked in full first). RW_ERR_ARG when the
 * fingerprint differs from fp, RW_ERR_FORMAT when the state is missing,
 * of another version or inconsistent (the message names the file and,
 * for MNTS, the byte offset). */
rw_status rw_checkpoint_read(const rw_train_config *cfg, uint64_t fp,
                             rw_net *net, const rw_maint_view *mv,
                             rw_run_state *rs, size_t *order, size_t n,
                             rw_error *err);

#endif /* RW_IO_H */
