#!/usr/bin/env bash
# Checkpoints survive a kill: a run killed with SIGKILL mid-epoch and
# resumed from its last checkpoint ends with exactly the same model as the
# uninterrupted run (1 thread, so bit for bit), also with CBP and the
# usage-aware drop (--drop-by-usage). Also: the divergence guard
# stops with a clear message and keeps the last good checkpoint, and bad
# resume requests are refused.
#   tests/cli_checkpoint.sh path/to/rewire fixtures-dir
set -u
rw=${1:?path to rewire}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OMP_NUM_THREADS=1

# A dataset big enough for training to take a few seconds: 4 classes
# of noisy points in 32 dimensions, written by awk with a fixed seed.
awk 'BEGIN { srand(7); for (i = 0; i < 40000; i++) { c = i % 4; line = "";
  for (j = 0; j < 32; j++) line = line sprintf("%.4f,", (j % 4 == c) + rand() - 0.5);
  print line c } }' > "$tmp/data.csv"

args=(train --data "$tmp/data.csv" --hidden 256,256 --epsilon 8 --rewire set
      --epochs 3 --batch 32 --optimizer momentum --lr 0.02 --threads 1 --quiet
      --seed 5)

"$rw" "${args[@]}" --save "$tmp/full.rwm" > /dev/null || fail "uninterrupted run"

# Interrupted run: checkpoint every 50 steps, SIGKILL once a mid-epoch
# checkpoint exists (the first epoch has 1125 steps).
"$rw" "${args[@]}" --checkpoint "$tmp/ck.rwm" --checkpoint-every 50 \
  --save "$tmp/resumed.rwm" > /dev/null &
pid=$!
for _ in $(seq 1 600); do
  [ -f "$tmp/ck.rwm" ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -f "$tmp/ck.rwm" ] || fail "no checkpoint was written before the kill"
[ -f "$tmp/resumed.rwm" ] && fail "the run finished before it could be killed"
# The checkpoint is a model file too.
"$rw" info --model "$tmp/ck.rwm" > /dev/null || fail "checkpoint is not a loadable model"

"$rw" "${args[@]}" --checkpoint "$tmp/ck.rwm" --checkpoint-every 50 \
  --resume "$tmp/ck.rwm" --save "$tmp/resumed.rwm" > /dev/null || fail "resume"
cmp -s "$tmp/full.rwm" "$tmp/resumed.rwm" ||
  fail "the resumed run differs from the uninterrupted one"
# The checkpoint now holds the finished run: resuming it again (a job
# started again, or one killed after its last checkpoint but before its
# --save) trains nothing, says so, and saves the finished model.
cp "$tmp/ck.rwm" "$tmp/done.rwm"
"$rw" "${args[@]}" --resume "$tmp/done.rwm" --save "$tmp/again.rwm" > "$tmp/o" 2>&1 ||
  fail "resuming a finished run failed: $(cat "$tmp/o")"
grep -qF "the run in $tmp/done.rwm had already finished its 3 epochs: nothing was trained" "$tmp/o" ||
  fail "a finished run resumed does not say so: $(cat "$tmp/o")"
grep -q "test accuracy [0-9]" "$tmp/o" || fail "no test accuracy for a finished run: $(cat "$tmp/o")"
cmp -s "$tmp/full.rwm" "$tmp/again.rwm" || fail "the finished run's model differs"
"$rw" "${args[@]}" --resume "$tmp/done.rwm" --json > "$tmp/o" || fail "finished run, --json"
grep -q '"epochs":3,"epochs_trained":0' "$tmp/o" || fail "epochs_trained: $(cat "$tmp/o")"
grep -q '"train_loss":null' "$tmp/o" || fail "a finished run's train_loss: $(cat "$tmp/o")"

# The same with Adam, RigL every 40 steps and 2 threads (the library's
# tests/test_resume.c covers Hebbian growth, pruning with turnover and
# rehearsal as well).
args2=(train --data "$tmp/data.csv" --hidden 256,256 --epsilon 8 --rewire rigl
       --rewire-every 40 --epochs 2 --batch 32 --optimizer adam --threads 2 --quiet
       --seed 6)
OMP_NUM_THREADS=2 "$rw" "${args2[@]}" --save "$tmp/full2.rwm" > /dev/null ||
  fail "uninterrupted Adam/RigL run"
rm -f "$tmp/ck2.rwm"
OMP_NUM_THREADS=2 "$rw" "${args2[@]}" --checkpoint "$tmp/ck2.rwm" --checkpoint-every 50 \
  --save "$tmp/resumed2.rwm" > /dev/null &
pid=$!
for _ in $(seq 1 600); do
  [ -f "$tmp/ck2.rwm" ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -f "$tmp/ck2.rwm" ] || fail "no Adam/RigL checkpoint was written before the kill"
[ -f "$tmp/resumed2.rwm" ] && fail "the Adam/RigL run finished before it could be killed"
OMP_NUM_THREADS=2 "$rw" "${args2[@]}" --checkpoint "$tmp/ck2.rwm" --checkpoint-every 50 \
  --resume "$tmp/ck2.rwm" --save "$tmp/resumed2.rwm" > /dev/null || fail "Adam/RigL resume"
cmp -s "$tmp/full2.rwm" "$tmp/resumed2.rwm" ||
  fail "the resumed Adam/RigL run differs from the uninterrupted one"

# The same with maintenance: CBP replacing units from early on (maturity
# 10) and SET's usage-aware drop, whose state the checkpoint keeps in its
# MNTS section.
args3=(train --data "$tmp/data.csv" --hidden 256,256 --epsilon 8 --rewire set
       --epochs 2 --batch 32 --optimizer momentum --lr 0.02 --threads 1 --quiet
       --seed 7 --maintain cbp --cbp-maturity 10 --cbp-rho 0.01 --drop-by-usage)
"$rw" "${args3[@]}" --save "$tmp/full3.rwm" > /dev/null || fail "uninterrupted CBP run"
rm -f "$tmp/ck3.rwm"
"$rw" "${args3[@]}" --checkpoint "$tmp/ck3.rwm" --checkpoint-every 50 \
  --save "$tmp/resumed3.rwm" > /dev/null &
pid=$!
for _ in $(seq 1 600); do
  [ -f "$tmp/ck3.rwm" ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -f "$tmp/ck3.rwm" ] || fail "no CBP checkpoint was written before the kill"
[ -f "$tmp/resumed3.rwm" ] && fail "the CBP run finished before it could be killed"
grep -aq MNTS "$tmp/ck3.rwm" || fail "the CBP checkpoint has no maintenance state"
"$rw" "${args3[@]}" --checkpoint "$tmp/ck3.rwm" --checkpoint-every 50 \
  --resume "$tmp/ck3.rwm" --save "$tmp/resumed3.rwm" > /dev/null || fail "CBP resume"
cmp -s "$tmp/full3.rwm" "$tmp/resumed3.rwm" ||
  fail "the resumed CBP run differs from the uninterrupted one"
# A checkpoint without maintenance state cannot resume a run that needs it.
"$rw" "${args[@]}" --drop-by-usage --resume "$tmp/ck.rwm" > "$tmp/o" 2>&1 &&
  fail "resume with --drop-by-usage from a checkpoint without its state"
grep -q "holds no maintenance state" "$tmp/o" || fail "unclear message: $(cat "$tmp/o")"

# Other layer sizes or another activation are refused, naming the option
# (the checkpoint's network was used as it was, with --hidden ignored).
"$rw" "${args[@]/256,256/256,128}" --resume "$tmp/ck.rwm" > "$tmp/o" 2>&1 &&
  fail "resume with other --hidden"
grep -q "layer 2 has 256 neurons, but these options give 128 (--hidden" "$tmp/o" ||
  fail "unclear --hidden message: $(cat "$tmp/o")"
"$rw" "${args[@]}" --activation tanh --resume "$tmp/ck.rwm" > "$tmp/o" 2>&1 &&
  fail "resume with other --activation"
grep -q "layer 1 has activation relu, but these options give tanh (--activation" "$tmp/o" ||
  fail "unclear --activation message: $(cat "$tmp/o")"

# Other data with the same sample count is refused.
sed '7s/^\(.\)/9/' "$tmp/data.csv" > "$tmp/data2.csv"
cmp -s "$tmp/data.csv" "$tmp/data2.csv" && fail "the edited data is the same"
"$rw" "${args2[@]/$tmp\/data.csv/$tmp/data2.csv}" --resume "$tmp/ck2.rwm" > "$tmp/o" 2>&1 &&
  fail "resume with other data"
grep -q "other settings or data" "$tmp/o" || fail "unclear message: $(cat "$tmp/o")"
grep -q "the settings agree: the training data" "$tmp/o" ||
  fail "the message does not say that the data differ: $(cat "$tmp/o")"

# Resuming with other settings is refused.
out=$("$rw" "${args[@]/--lr/--momentum}" --resume "$tmp/ck.rwm" 2>&1) && fail "resume with other settings"
"$rw" train --data "$tmp/data.csv" --hidden 256,256 --epsilon 8 --epochs 3 --batch 64 \
  --optimizer momentum --lr 0.02 --quiet --seed 5 --rewire rigl --resume "$tmp/ck.rwm" > "$tmp/o" 2>&1 &&
  fail "resume with another batch size"
grep -q "other settings" "$tmp/o" || fail "unclear message: $(cat "$tmp/o")"
grep -q "batch: 32 in the checkpoint, 64 now" "$tmp/o" ||
  fail "the message does not name the setting: $(cat "$tmp/o")"
grep -q "rewire: set in the checkpoint, rigl now" "$tmp/o" ||
  fail "the message does not name the rewiring by its name: $(cat "$tmp/o")"
# Reals in the fewest digits that are the value ("0.1", not the file's
# "0.10000000000000001").
"$rw" train --data "$tmp/data.csv" --hidden 256,256 --epsilon 8 --epochs 3 --batch 32 \
  --optimizer momentum --lr 0.1 --quiet --seed 5 --rewire set --resume "$tmp/ck.rwm" > "$tmp/o" 2>&1 &&
  fail "resume with another learning rate"
grep -q "lr: 0.02 in the checkpoint, 0.1 now" "$tmp/o" ||
  fail "the message does not show the rates plainly: $(cat "$tmp/o")"
# A plain model is not a checkpoint.
"$rw" "${args[@]}" --resume "$tmp/full.rwm" > "$tmp/o" 2>&1 && fail "resume from a model"
grep -q "without training state" "$tmp/o" || fail "unclear message: $(cat "$tmp/o")"

# Divergence: a huge learning rate stops with the epoch and step named,
# and the last good checkpoint stays loadable.
cp "$tmp/ck.rwm" "$tmp/good.rwm"
"$rw" train --data "$tmp/data.csv" --hidden 64 --epochs 2 --optimizer sgd --lr 1e6 \
  --no-standardize --quiet --checkpoint "$tmp/good.rwm" > "$tmp/o" 2>&1 &&
  fail "a diverging run succeeded"
grep -q "diverged at epoch 1, step" "$tmp/o" || fail "unclear divergence message: $(cat "$tmp/o")"
grep -q -- "--clip-grad" "$tmp/o" || fail "no hint in: $(cat "$tmp/o")"
"$rw" info --model "$tmp/good.rwm" > /dev/null || fail "the last good checkpoint was damaged"
# --clip-grad makes the same run finite (loss stays a number).
"$rw" train --data "$tmp/data.csv" --hidden 64 --epochs 1 --optimizer sgd --lr 0.5 \
  --clip-grad 1 --quiet --json > "$tmp/o" 2>&1 || fail "clipped run: $(cat "$tmp/o")"
grep -Eq '"test_accuracy":(0\.[0-9]+|1)[,}]' "$tmp/o" || fail "clipped run gave: $(cat "$tmp/o")"
# Ctrl-C (SIGINT) stops at the end of a batch: exit 130, the model saved
# as it stands, and the way back named. (A shell without job control
# starts background commands with SIGINT ignored, which the tool keeps:
# env puts the default back, as a terminal's foreground job has it.)
env --default-signal=INT "$rw" "${args[@]}" --epochs 50 --save "$tmp/int.rwm" \
  --checkpoint "$tmp/int.ck" --checkpoint-every 50 > "$tmp/o" 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ -s "$tmp/int.ck" ] && break; sleep 0.05; done
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 130 ] || fail "Ctrl-C gave exit $rc: $(cat "$tmp/o")"
grep -q "interrupted (training stopped" "$tmp/o" || fail "no interruption message: $(cat "$tmp/o")"
grep -q -- "--resume $tmp/int.ck" "$tmp/o" || fail "no resume hint: $(cat "$tmp/o")"
"$rw" info --model "$tmp/int.rwm" > /dev/null || fail "the interrupted run saved no model"
# Started with SIGINT ignored (nohup, a background job of a script), the
# tool does not take it up: the run ends as if nothing had been sent.
"$rw" "${args[@]}" --epochs 2 --save "$tmp/ign.rwm" --checkpoint "$tmp/ign.ck" \
  --checkpoint-every 50 > "$tmp/o" 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ -s "$tmp/ign.ck" ] && break; sleep 0.05; done
kill -INT "$pid" 2> /dev/null || true # it may have finished
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "an ignored SIGINT gave exit $rc: $(cat "$tmp/o")"
! grep -q "interrupted" "$tmp/o" || fail "an ignored SIGINT interrupted: $(cat "$tmp/o")"

# An output that cannot be written is refused before training starts.
for opt in --save --checkpoint; do
  start=$(date +%s)
  "$rw" "${args[@]}" --epochs 50 "$opt" "$tmp/no/such/dir/m.rwm" > "$tmp/o" 2>&1 &&
    fail "$opt into a missing folder succeeded"
  grep -q "cannot write the .* there (checked before training)" "$tmp/o" ||
    fail "unclear $opt message: $(cat "$tmp/o")"
  [ $(( $(date +%s) - start )) -lt 20 ] || fail "$opt was checked only after training"
  # A folder where the file should be, and an empty name.
  mkdir -p "$tmp/afolder"
  "$rw" "${args[@]}" --epochs 50 "$opt" "$tmp/afolder" > "$tmp/o" 2>&1 &&
    fail "$opt naming a folder succeeded"
  grep -q "afolder: is a folder: expected a file name" "$tmp/o" ||
    fail "unclear $opt folder message: $(cat "$tmp/o")"
  "$rw" "${args[@]}" --epochs 50 "$opt" "" > "$tmp/o" 2>&1 &&
    fail "$opt with an empty name succeeded"
  grep -q "path is empty: expected a file name" "$tmp/o" ||
    fail "unclear $opt empty-name message: $(cat "$tmp/o")"
done
echo "checkpoint tests passed"
