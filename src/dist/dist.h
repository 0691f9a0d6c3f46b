/*
 * Data-parallel training across processes (dist.c above, transport_mpi.c or
 * transport_none.c below). Not installed.
 *
 * The transport (transport_mpi.c with MPI, transport_none.c without) offers a few
 * collectives on the world of ranks; dist.c builds on it what the training
 * loop needs: each rank's share of a global batch, the fused gradient
 * buffer, trace averaging and the topology checksum. With one rank every
 * function below returns at once, so the single-process path makes no
 * MPI call.
 */
#ifndef RW_DIST_H
#define RW_DIST_H

#include "net/net.h"

/* ---- transport (transport_mpi.c / transport_none.c), besides rw_dist_init,
 * rw_dist_rank, rw_dist_size and the rest of the public part ---- */
/* Element-wise sum of n floats over all ranks, in place; every rank gets
 * the same bits (see transport_mpi.c), so identical steps follow. */
rw_status rw_dist_sum_f32(float *v, size_t n, rw_error *err);
/* The same for a few doubles (one MPI_Allreduce). */
rw_status rw_dist_sum_f64(double *v, size_t n, rw_error *err);
/* The two halves of the all-reduce (rw_dist_sum_f32 runs both on large
 * buffers), over shared memory or the ring (transport_mpi.c): afterwards
 * this rank's chunk of v (rw_dist_chunk) holds
 * the sum over all ranks and the rest of v is scratch; then every rank's
 * chunk copied to every rank. */
rw_status rw_dist_reduce_scatter_f32(float *v, size_t n, rw_error *err);
/* The reduce-scatter with this rank's values not in v but written by load
 * where the transport first needs them (P calls in all): load(ctx, lo, hi, dst, add) writes the
 * values of [lo, hi) to dst, plus add[i - lo] when add is not NULL (the
 * received partial sum, added after this rank's value). It saves the copy
 * of every value into v before the ring. */
typedef void (*rw_dist_load_fn)(void *ctx, size_t lo, size_t hi, float *dst,
                                const float *add);
rw_status rw_dist_reduce_scatter_load_f32(float *v, size_t n, rw_dist_load_fn load,
                                          void *ctx, rw_error *err);
rw_status rw_dist_allgather_f32(float *v, size_t n, rw_error *err);
/* The all-gather with this rank's chunk written by load (as above, add
 * NULL) where the transport first needs it, and every other rank's chunk
 * [lo, hi) handed to store (src[i - lo] is value i) instead of left in v;
 * v is then scratch. Either may be NULL: the chunk is v's, or stays there.
 * Over shared memory this reads the other ranks' chunks where they lie.
 * With one rank it does nothing. */
typedef void (*rw_dist_store_fn)(void *ctx, size_t lo, size_t hi, const float *src);
rw_status rw_dist_allgather_io_f32(float *v, size_t n, rw_dist_load_fn load,
                                   rw_dist_store_fn store, void *ctx,
                                   rw_error *err);
/* A region of at least `bytes` bytes of shared memory that every rank maps
 * for reading and writing, at *p (a collective: every rank asks for the
 * same size). *p is NULL on every rank where the sums do not take shared
 * memory (ranks on several machines, RW_DIST_ALLREDUCE other than shm) or
 * any rank could not map it. Kept and reused until rw_dist_finalize. */
rw_status rw_dist_shared_region(size_t bytes, void **p, rw_error *err);
/* A barrier after which every rank sees what every rank wrote to shared
 * memory before it. */
rw_status rw_dist_fence(rw_error *err);
/* A sum ran over the shared region: rw_dist_transport says "shm". */
void rw_dist_took_shared(void);
/* For tests and benchmarks: large sums take this path from the next
 * collective on ("shm", "ring" or "mpi", as RW_DIST_ALLREDUCE), and the
 * paths taken are forgotten; every rank calls it at the same point. "shm"
 * still takes the ring where the ranks span machines. */
rw_status rw_dist_use_transport(const char *name, rw_error *err);
/* Forgets the paths the sums took (rw_dist_transport names the one taken
 * since; rw_dist_begin calls it). */
void rw_dist_reset_paths(void);
/* The path this rank was asked for (rw_dist_use_transport, else
 * RW_DIST_ALLREDUCE), as a number from 0 to 2, the same on ranks asked
 * alike. */
int rw_dist_wanted_path(void);
/* RW_ERR_DIST when the ranks were joined but MPI has been finalized since
 * (by another library of the process): no collective may run. */
rw_status rw_dist_check_transport(rw_error *err);
/* Rank r's chunk [*lo, *hi) of n values cut into `ranks` contiguous
 * chunks whose sizes differ by at most one (buffer.c). */
void rw_dist_chunk(size_t n, int ranks, int r, size_t *lo, size_t *hi);
/* Rank 0's n bytes to every rank. */
rw_status rw_dist_bcast(void *buf, size_t n, rw_error *err);
/* Largest of n u64 over all ranks, in place (one small all-reduce). */
rw_status rw_dist_max_u64(uint64_t *v, size_t n, rw_error *err);

/* ---- the training loop's view (dist.c) ---- */
/* Whether more than one rank trains. */
bool rw_dist_on(void);
/* This rank's share [*off, *off + *len) of a global batch of B samples,
 * plus `extra` samples every rank adds (rehearsal); records the rank's
 * weight (its samples / all ranks' samples) for rw_dist_reduce_grads and
 * rw_dist_sum_block. */
void rw_dist_slice(size_t B, size_t extra, size_t *off, size_t *len);
/* Sums the weighted gradients (dense weights, sparse values, biases) of
 * every layer over the ranks in one fused buffer, with the batch loss and
 * hit count; afterwards every rank holds the gradient of the global batch
 * and *loss, *correct are the global batch's. */
rw_status rw_dist_reduce_grads(rw_net *net, double *loss, size_t *correct,
                               rw_error *err);
/* The sharded step, ZeRO's first stage (docs/distributed.md): the same
 * gradients reduce-scattered, so that each rank holds the global gradient
 * of its chunk of the fused order alone (with *loss and *correct summed
 * as above, and the norm of the whole gradient from the chunks, in one
 * small all-reduce); that norm; the whole gradient gathered into every layer (the
 * divergence guard's error path); the chunk scaled (clipping); and the
 * optimizer step on the chunk, followed by an all-gather of the weights.
 * Afterwards the optimizer's moments and step counts outside a rank's
 * chunk are stale until rw_dist_gather_moments, which every rank calls
 * before anything that reads or moves them (rewiring, checkpoints, the end
 * of training); it returns at once when nothing is stale. */
bool rw_dist_shard_wanted(void); /* not RW_DIST_SHARD=0 */
rw_status rw_dist_reduce_grads_sharded(rw_net *net, double *loss,
                                       size_t *correct, rw_error *err);
double rw_dist_shard_norm(void);
rw_status rw_dist_shard_unpack_grads(rw_net *net, rw_error *err);
void rw_dist_shard_scale(float f);
rw_status rw_dist_shard_step(rw_net *net, const rw_optim_config *opt,
                             double lr, rw_error *err);
rw_status rw_dist_gather_moments(rw_net *net, rw_error *err);
/* Over shared memory the sharded step's weights are one copy that every
 * rank maps (dist.c): from its second step on, each rank's optimizer
 * writes its chunk of the weights and biases straight into the region the
 * layers then point to, and one barrier replaces the all-gather.
 * rw_dist_gather_moments gives every layer its own arrays back (with the
 * region's values) before anything reads or moves them; so does
 * rw_dist_own_weights, without communicating: at the end of every epoch
 * and on every way out of rw_train.
 * RW_DIST_SHARED_WEIGHTS=0 keeps the all-gather. */
bool rw_dist_shared_weights_wanted(void);
void rw_dist_own_weights(rw_net *net);
/* Weighted sum over ranks of a block of n floats computed from this rank's
 * share of the batch (RigL's dense gradient blocks). */
rw_status rw_dist_sum_block(float *v, size_t n, rw_error *err);
/* Averages the traces that come from this rank's activations (per-neuron
 * activity, co-activation) with the same weights. */
rw_status rw_dist_sync_traces(rw_net *net, rw_error *err);
/* RW_DIST_SHARD, RW_DIST_SHARED_WEIGHTS and RW_DIST_ALLREDUCE unset, empty
 * or a value they take;
 * else RW_ERR_ARG naming the variable (with one rank too). */
rw_status rw_dist_check_env(rw_error *err);
/* Every rank's set-up outcome st, agreed before training starts (one small
 * all-reduce; a second names the first rank that failed). Returns st on
 * a rank that failed, RW_ERR_DIST ("rank N failed before training") on
 * the others, RW_OK when all succeeded; afterwards rw_dist_setup_failure
 * (rewire.h) names that rank, or -1. With one rank it returns st. */
rw_status rw_dist_agree_begin(rw_status st, rw_error *err);
/* The training time of this rw_train call (a resumed run's earlier time
 * excluded), for rw_dist_comm_share. */
void rw_dist_note_training(double seconds);
/* Resets the statistics, checks that every rank was given the same
 * `setup` (a hash of the settings and the training data) and built the
 * same topology, and copies rank 0's weights and biases to every rank. */
rw_status rw_dist_begin(rw_net *net, uint64_t setup, rw_error *err);
/* Compares a checksum of every layer's topology and weights across ranks
 * (one small all-reduce); RW_ERR_DIST, naming `when`, if they differ.
 * Every rank sees the same outcome. */
rw_status rw_dist_check(const rw_net *net, const char *when, rw_error *err);
/* The fused buffer (buffer.c), grown to hold n floats; NULL with err set
 * on failure. rw_dist_release_buffers frees it (rw_dist_finalize calls it). */
float *rw_dist_buffer(size_t n, rw_error *err);
/* A second buffer, for what a collective receives before it adds it. */
float *rw_dist_scratch(size_t n, rw_error *err);
void rw_dist_release_buffers(void);
/* Whether this rank writes files (rank 0). */
bool rw_dist_root(void);

#endif /* RW_DIST_H */
