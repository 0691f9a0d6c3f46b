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
/* Weighted sum over ranks of a block of n floats computed from this rank's
 * share of the batch (RigL's dense gradient blocks). */
rw_status rw_dist_sum_block(float *v, size_t n, rw_error *err);
/* Averages the traces that come from this rank's activations (per-neuron
 * activity, co-activation) with the same weights. */
rw_status rw_dist_sync_traces(rw_net *net, rw_error *err);
/* Resets the statistics, checks that every rank built the same topology
 * and copies rank 0's weights and biases to every rank. */
rw_status rw_dist_begin(rw_net *net, rw_error *err);
/* Compares a checksum of every layer's topology and weights across ranks
 * (one small all-reduce); RW_ERR_DIST, naming `when`, if they differ.
 * Every rank sees the same outcome. */
rw_status rw_dist_check(const rw_net *net, const char *when, rw_error *err);
/* The fused buffer (buffer.c), grown to hold n floats; NULL with err set
 * on failure. rw_dist_release_buffers frees it (rw_dist_finalize calls it). */
float *rw_dist_buffer(size_t n, rw_error *err);
void rw_dist_release_buffers(void);
/* Whether this rank writes files (rank 0). */
bool rw_dist_root(void);

#endif /* RW_DIST_H */
