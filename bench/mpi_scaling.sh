#!/usr/bin/env bash
# Data-parallel throughput: rewire train on R ranks x T threads, dense and
# sparse, on synthetic 784-feature data (10 classes), 784-1000-1000-1000-10
# as in bench_train. Prints one line per run: samples/s, the bytes
# all-reduced per step, the share of training time in communication, and
# the time per step spent communicating.
#   bench/mpi_scaling.sh path/to/rewire [RUNS] [EPOCHS] [SAMPLES]
# RUNS: space-separated RANKSxTHREADS (default "1x2 2x1 1x1 3x1 4x1"),
# each optionally with a suffix for the earlier designs, measured in the
# same run: ":gathered" the sharded step over shared memory with a copy of
# the weights on every rank, all-gathered after each step
# (RW_DIST_SHARED_WEIGHTS=0), ":ring" the sharded step over the ring of send-receives instead
# of shared memory (RW_DIST_ALLREDUCE=ring), ":unsharded" the all-reduce
# and the whole optimizer step on every rank (RW_DIST_SHARD=0, the ring),
# ":mpi" that with Open MPI's MPI_Allreduce (RW_DIST_SHARD=0
# RW_DIST_ALLREDUCE=mpi). The last column names the path the sums took.
# Run it on a quiet machine (check uptime); ranks beyond the cores share
# them (mpirun --oversubscribe), which the communication share then shows.
set -euo pipefail
rw=${1:?path to rewire}
runs=${2:-"1x2 2x1 1x1 3x1 4x1"}
epochs=${3:-1}
samples=${4:-8192}
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v n="$samples" 'BEGIN { srand(5); for (i = 0; i < n; i++) { c = i % 10; line = "";
  for (j = 0; j < 784; j++) line = line sprintf("%.3f,", (j % 10 == c) * 0.3 + rand());
  print line c } }' > "$tmp/data.csv"
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p"; }
printf "%-8s %-12s %12s %14s %10s %12s %8s %7s %9s\n" net run samples/s bytes/step comm% comm_ms/step sharded shared allreduce
for net in dense sparse5; do
  extra=()
  [ "$net" = sparse5 ] && extra=(--density 0.05 --rewire set)
  for run in $runs; do
    shape=${run%%:*} variant=
    [ "$shape" != "$run" ] && variant=${run#*:}
    r=${shape%x*} t=${shape#*x}
    case "$variant" in
      "") envs=(RW_DIST_SHARD=1 RW_DIST_SHARED_WEIGHTS=1 RW_DIST_ALLREDUCE=shm) ;;
      gathered) envs=(RW_DIST_SHARD=1 RW_DIST_SHARED_WEIGHTS=0 RW_DIST_ALLREDUCE=shm) ;;
      ring) envs=(RW_DIST_SHARD=1 RW_DIST_SHARED_WEIGHTS=1 RW_DIST_ALLREDUCE=ring) ;;
      unsharded) envs=(RW_DIST_SHARD=0 RW_DIST_SHARED_WEIGHTS=1 RW_DIST_ALLREDUCE=ring) ;;
      mpi) envs=(RW_DIST_SHARD=0 RW_DIST_SHARED_WEIGHTS=1 RW_DIST_ALLREDUCE=mpi) ;;
      *) echo "mpi_scaling.sh: unknown variant :$variant (expected :gathered, :ring, :unsharded or :mpi)" >&2; exit 2 ;;
    esac
    # --bind-to none: Open MPI binds 1 or 2 ranks to one core each by
    # default, which would give a 1-rank, 2-thread run a single core.
    out=$(env "${envs[@]}" mpirun -x RW_DIST_SHARD -x RW_DIST_SHARED_WEIGHTS -x RW_DIST_ALLREDUCE \
      --oversubscribe --bind-to none -np "$r" "$rw" train --data "$tmp/data.csv" \
      --holdout 0.05 --hidden 1000,1000,1000 --epochs "$epochs" --batch 128 \
      --threads "$t" --quiet --json "${extra[@]}")
    sps=$(field samples_per_second <<< "$out")
    bytes=$(field allreduce_bytes_per_step <<< "$out")
    share=$(field comm_share <<< "$out")
    csec=$(field comm_seconds <<< "$out")
    steps=$(field allreduce_steps <<< "$out")
    sharded=$(field sharded_step <<< "$out")
    shared=$(field shared_weights <<< "$out")
    path=$(field allreduce <<< "$out" | tr -d '"')
    awk -v n="$net" -v run="$run" -v s="$sps" -v b="${bytes:-0}" -v c="${share:-0}" \
        -v t="${csec:-0}" -v k="${steps:-1}" -v h="${sharded:--}" -v w="${shared:--}" -v p="${path:--}" 'BEGIN {
      printf "%-8s %-12s %12.0f %14d %9.1f%% %12.3f %8s %7s %9s\n", n, run, s, b, 100 * c, 1000 * t / k, h, w, p }'
  done
done
