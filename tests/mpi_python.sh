#!/usr/bin/env bash
# Data-parallel training from Python (rewire.dist_init) under mpirun, with
# tests/python/mpi_dist.py on every rank:
#   1. 2 ranks against 1 process, a static sparse network: the predictions
#      agree on >= 99.5% of the test samples, the accuracy within 0.2
#      points; the result reports the ranks, the path and the bytes;
#   2. SET: both ranks end with the same network, byte for byte, and the
#      accuracy is within 0.5 points of 1 process;
#   3. a callback that stops on rank 1 stops both ranks after that epoch
#      (train) or task (continual);
#   4. an exception on one rank ends the job (non-zero, no hang) with a
#      message naming the rank;
#   5. a failure before training on one rank: every rank raises, marked
#      as agreed, and the job exits non-zero without MPI_Abort;
#   5b. a shard of the data on each rank: refused by every rank alike;
#   6. mpirun without dist_init: a warning;
#   7. with mpi4py (python3-mpi4py, which scripts/deps.sh test installs)
#      starting MPI first: rewire joins its ranks, and the job ends cleanly;
#      MPI finalized by mpi4py after rewire started it: a clear error, no
#      crash and no second MPI_Finalize;
#   8. sys.exit on one rank, in a callback or before training that the
#      other rank starts, and SIGINT to one rank: the job ends; a rank that
#      leaves 3 s after the other: the job ends normally;
#   9. scikit-learn estimators without random_state: the ranks agree on a
#      seed and end with the same network; mpirun -np 1: no warning.
#   tests/mpi_python.sh path/to/mpirun path/to/mpi_dist.py
set -u
mpirun=${1:?path to mpirun}
script=${2:?path to mpi_dist.py}
py=/usr/bin/python3
. "$(dirname "$0")/lib_mpi.sh"
# Bounded, so that a rank left waiting fails the test instead of hanging it.
mpi() { timeout 120 "$mpirun" --oversubscribe -np 2 "$py" "$script" "$@"; }
field() { sed -n "s/.*\"$1\": \([^,}]*\).*/\1/p" "$2"; }
# ended RC WHAT OUT: the job failed, as it should, and did not time out.
ended() {
  [ "$1" -ne 0 ] && [ "$1" -ne 124 ] || { cat "$3"; fail "$2: exit $1 (124: a rank was left waiting)"; }
}
# runs MODE NAME [ARG]: the 2-rank job must succeed (output in $tmp/NAME.out).
runs() {
  mpi "$1" "$tmp/$2" ${3:+"$3"} > "$tmp/$2.out" 2>&1 || { cat "$tmp/$2.out"; fail "$1 ($2)"; }
}
# fails MODE NAME: the 2-rank job must fail, not hang; its status in rc.
fails() {
  mpi "$1" "$tmp/$2" > "$tmp/$2.out" 2>&1
  rc=$?
  ended "$rc" "$1" "$tmp/$2.out"
}

# ---- 1. static sparse network ----
"$py" "$script" train "$tmp/one" > "$tmp/one.out" 2>&1 || { cat "$tmp/one.out"; fail "1 process"; }
runs train two
for r in 0 1; do
  [ "$(field ranks "$tmp/two.rank$r.json")" = 2 ] || fail "rank $r: $(cat "$tmp/two.rank$r.json")"
  field allreduce "$tmp/two.rank$r.json" | grep -Eq '"(shm|ring)"' ||
    fail "rank $r: no transport in $(cat "$tmp/two.rank$r.json")"
  [ "$(field bytes "$tmp/two.rank$r.json")" -gt 0 ] || fail "rank $r: no byte count"
  [ "$(field shared_weights "$tmp/two.rank$r.json")" = true ] ||
    fail "rank $r: the weights were not shared: $(cat "$tmp/two.rank$r.json")"
done
[ "$(field ranks "$tmp/one.rank0.json")" = 1 ] || fail "1 process: $(cat "$tmp/one.rank0.json")"
[ "$(field allreduce "$tmp/one.rank0.json")" = '"none"' ] || fail "1 process: a transport"
agree=$(paste -d' ' "$tmp/one.pred" "$tmp/two.pred" | awk '$1 == $2 { s++ } END { print s / NR }')
awk -v a="$agree" 'BEGIN { exit !(a >= 0.995) }' || fail "predictions agree on only $agree"
a1=$(field accuracy "$tmp/one.rank0.json"); a2=$(field accuracy "$tmp/two.rank0.json")
within "$a1" "$a2" 0.002 || fail "static: accuracy $a1 (1 process) vs $a2 (2 ranks)"
echo "static: predictions agree on $agree; accuracy $a1 vs $a2"

# ---- 2. SET: the same network on both ranks ----
"$py" "$script" train "$tmp/set1" set > "$tmp/set1.out" 2>&1 || { cat "$tmp/set1.out"; fail "SET, 1 process"; }
runs train set2 set
m0=$(field model "$tmp/set2.rank0.json"); m1=$(field model "$tmp/set2.rank1.json")
[ -n "$m0" ] && [ "$m0" = "$m1" ] || fail "SET: the ranks' networks differ ($m0, $m1)"
a1=$(field accuracy "$tmp/set1.rank0.json"); a2=$(field accuracy "$tmp/set2.rank0.json")
within "$a1" "$a2" 0.005 || fail "SET: accuracy $a1 (1 process) vs $a2 (2 ranks)"
echo "SET: both ranks' networks identical; accuracy $a1 vs $a2"

# ---- 3. a callback that stops on one rank stops both ----
runs stop stop
for r in 0 1; do
  [ "$(field epochs "$tmp/stop.rank$r.json")" = 1 ] || fail "stop, rank $r: $(cat "$tmp/stop.rank$r.json")"
  [ "$(field stopped "$tmp/stop.rank$r.json")" = true ] || fail "stop, rank $r: not stopped"
  [ "$(field tasks "$tmp/stop.rank$r.json")" = 1 ] || fail "stop, rank $r: continual went on"
done
[ "$(field model "$tmp/stop.rank0.json")" = "$(field model "$tmp/stop.rank1.json")" ] ||
  fail "stop: the ranks' networks differ"
echo "stop: both ranks stopped after epoch 1, and continual after task 1"

# ---- 4. an exception on one rank ends the job ----
fails raise raise
grep -q "rank 1's callback gives up" "$tmp/raise.out" || fail "raise: the exception is not shown"
grep -q "\[rank 1\] rewire: an uncaught RuntimeError ends every rank" "$tmp/raise.out" ||
  fail "raise: no message naming the rank"
[ ! -e "$tmp/raise.rank0.done" ] || fail "raise: rank 0 trained on after rank 1 failed"
echo "raise: the job ended ($rc)"

# ---- 5. a failure before training, on rank 1 ----
fails setup setup
grep -q "^FileError True cannot open model .*missing.ckpt" "$tmp/setup.rank1.err" ||
  fail "setup, rank 1: $(cat "$tmp/setup.rank1.err" 2>&1)"
grep -q "^DistError True rank 1 failed before training" "$tmp/setup.rank0.err" ||
  fail "setup, rank 0: $(cat "$tmp/setup.rank0.err" 2>&1)"
if grep -q "MPI_ABORT" "$tmp/setup.out"; then fail "setup: MPI_Abort for a failure every rank agreed on"; fi
echo "setup: both ranks raised, no abort"

# ---- 5b. a shard of the data on each rank: refused before training ----
fails shard shard
for r in 0 1; do
  grep -q "^DistError True the 2 ranks disagree on the training data and settings before training" \
    "$tmp/shard.rank$r.err" || { cat "$tmp/shard.out"; fail "shard, rank $r: $(cat "$tmp/shard.rank$r.err" 2>&1)"; }
done
if grep -q "MPI_ABORT" "$tmp/shard.out"; then fail "shard: MPI_Abort for a failure every rank agreed on"; fi
echo "shard: refused on both ranks, no abort"

# ---- 6. mpirun without dist_init ----
runs alone alone
grep -q "rewire.dist_init() was not called" "$tmp/alone.out" || fail "alone: no warning"
echo "alone: warned"
# ---- 7. mpi4py first ----
if "$py" -c "import mpi4py" 2>/dev/null; then
  runs mpi4py m4
  [ "$(field ranks "$tmp/m4.rank1.json")" = 2 ] || fail "mpi4py: $(cat "$tmp/m4.rank1.json")"
  [ "$(field model "$tmp/m4.rank0.json")" = "$(field model "$tmp/two.rank0.json")" ] ||
    fail "mpi4py: another network than rewire's own start of MPI gave"
  echo "mpi4py: joined its ranks, the same network"
  fails finalized fin
  grep -q "^DistError MPI was finalized after rw_dist_init" "$tmp/fin.rank1.err" ||
    { cat "$tmp/fin.out"; fail "finalized: $(cat "$tmp/fin.rank1.err" 2>&1)"; }
  if grep -q "MPI_Finalize() function was called after\|Segmentation" "$tmp/fin.out"; then
    cat "$tmp/fin.out"; fail "finalized: MPI called after MPI_Finalize"
  fi
  echo "finalized: a clear error"
else
  echo "mpi4py: skipped (python3-mpi4py is not installed; scripts/deps.sh test installs it)"
fi
# ---- 8. sys.exit, and SIGINT, on one rank ----
fails sysexit sx
grep -q "\[rank 1\] rewire: sys.exit(3) on this rank alone ends every rank" "$tmp/sx.out" ||
  { cat "$tmp/sx.out"; fail "sysexit: no message"; }
[ ! -e "$tmp/sx.rank0.done" ] || fail "sysexit: rank 0 trained on"
echo "sysexit: the job ended ($rc)"
fails exit0 x0
grep -q "\[rank 1\] rewire: rank 1 is leaving while rank 0 waits in a collective call that rank 1 never makes" "$tmp/x0.out" ||
  { cat "$tmp/x0.out"; fail "exit0: no message"; }
[ ! -e "$tmp/x0.rank0.done" ] || fail "exit0: rank 0 trained on"
echo "exit0: the job ended ($rc)"
runs late late
[ -e "$tmp/late.rank0.done" ] && [ -e "$tmp/late.rank1.done" ] || fail "late: a rank did not finish"
if grep -q "stopping every rank" "$tmp/late.out"; then cat "$tmp/late.out"; fail "late: stopped"; fi
echo "late: rank 1 waited for rank 0"
mpi sigint "$tmp/si" > "$tmp/si.out" 2>&1 &
job=$!
for _ in $(seq 100); do [ -s "$tmp/si.pid1" ] && break; sleep 0.1; done
[ -s "$tmp/si.pid1" ] || fail "sigint: rank 1 did not start"
sleep 1
kill -INT "$(cat "$tmp/si.pid1")"
wait "$job"
rc=$?
ended "$rc" sigint "$tmp/si.out"
grep -q "^Interrupted False" "$tmp/si.rank1.err" || { cat "$tmp/si.out"; fail "sigint: rank 1 was not interrupted"; }
[ ! -e "$tmp/si.rank0.done" ] || fail "sigint: rank 0 trained on"
echo "sigint: rank 1 interrupted, the job ended ($rc)"

# ---- 9. estimators without random_state; one rank ----
runs estimator est
[ -n "$(field model "$tmp/est.rank0.json")" ] &&
  [ "$(field model "$tmp/est.rank0.json")" = "$(field model "$tmp/est.rank1.json")" ] ||
  fail "estimator: the ranks' networks differ"
echo "estimator: the ranks agreed on a seed"
timeout 120 "$mpirun" -np 1 "$py" "$script" train "$tmp/np1" > "$tmp/np1.out" 2>&1 ||
  { cat "$tmp/np1.out"; fail "-np 1"; }
if grep -q "RuntimeWarning" "$tmp/np1.out"; then cat "$tmp/np1.out"; fail "-np 1: a warning"; fi
[ "$(field model "$tmp/np1.rank0.json")" = "$(field model "$tmp/one.rank0.json")" ] ||
  fail "-np 1: another network than without mpirun"
echo "-np 1: no warning, the same network"
echo "mpi_python: all passed"
