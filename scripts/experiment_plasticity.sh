#!/usr/bin/env bash
# Use it or lose it on Fashion-MNIST: five plasticity rules at 95% sparsity
# against the dense network of the same shape, and neuron turnover on an
# oversized network. Prints markdown tables on stdout (progress on stderr).
#
#   scripts/experiment_plasticity.sh [path/to/rewire]
#
# Part 1: 784-1000-1000-10 (ReLU, Adam 1e-3, batch 128), EPOCHS epochs each.
#   dense       every connection (the reference)
#   SET         hidden layers at density 0.05, SET rewiring after each epoch
#   RigL        the same with RigL rewiring
#   Hebbian     the same with Hebbian growth (drop by |w|, grow co-active pairs)
#   usage       dense at the start, gradual pruning by credit trace to 0.05
#   magnitude   dense at the start, gradual magnitude pruning to 0.05
#   (and magnitude pruning with neuron turnover, which removes the neurons
#   that pruning leaves without inputs or outputs, or silent)
# The sparse runs end with the same connections: 5% of each hidden layer's
# possible ones, plus the dense 1000x10 output layer.
# Part 2: 784-2000-2000-10 dense, TURNOVER_EPOCHS epochs, without and with
# neuron turnover (neurons whose activity stays below SILENT_LEVEL for
# SILENT_EPOCHS epochs, or that lose all inputs or outputs, are removed; the
# defaults are the library's).
#
# Environment: EPOCHS (10), TURNOVER_EPOCHS (5), THREADS (1), SEED (1),
# SILENT_LEVEL (0.001), SILENT_EPOCHS (2), HIDDEN (1000,1000), BIG_HIDDEN
# (2000,2000), SKIP_TURNOVER=1, SKIP_MAIN=1.
# One thread by default: on a shared machine it gives steadier times.
set -euo pipefail
bin=${1:-build/rewire}
[ -x "$bin" ] || { echo "experiment: $bin not found (build first)" >&2; exit 1; }
EPOCHS=${EPOCHS:-10}
TURNOVER_EPOCHS=${TURNOVER_EPOCHS:-5}
THREADS=${THREADS:-1}
SEED=${SEED:-1}
SILENT_LEVEL=${SILENT_LEVEL:-0.001}
SILENT_EPOCHS=${SILENT_EPOCHS:-2}
HIDDEN=${HIDDEN:-1000,1000}
BIG_HIDDEN=${BIG_HIDDEN:-2000,2000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# field NAME JSON: a number from a one-line JSON object
field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" <<<"$2"; }
# hidden_neurons MODEL: sum of the neurons of all layers but the last
hidden_neurons() {
  "$bin" info --model "$1" --json | grep -o '"neurons":[0-9]*' | cut -d: -f2 |
    awk '{ n[NR] = $1 } END { for (i = 1; i < NR; i++) s += n[i]; print s }'
}

# run NAME ARGS...: trains, prints one markdown row
run() {
  local name=$1; shift
  echo "experiment: $name: $bin train $*" >&2
  local out
  out=$("$bin" train --data fashion-mnist --seed "$SEED" --threads "$THREADS" \
        --json --quiet --save "$work/model.rwm" --log "$work/log.jsonl" "$@")
  local acc conn secs neurons
  acc=$(field test_accuracy "$out")
  conn=$(field connections "$out")
  secs=$(field train_seconds "$out")
  neurons=$(hidden_neurons "$work/model.rwm")
  printf '| %s | %.2f | %s | %s | %.0f |\n' "$name" \
    "$(awk -v a="$acc" 'BEGIN { print 100 * a }')" "$conn" "$neurons" "$secs"
  echo "experiment: $name: accuracy $acc, $conn connections, $neurons hidden neurons, ${secs}s" >&2
}

# sizes: hidden layer sizes after each epoch of the last run, from its log
sizes() {
  local e=0 line
  while IFS= read -r line; do
    e=$((e + 1))
    grep -o '"neurons":[0-9]*' <<<"$line" | cut -d: -f2 | head -n -1 | paste -sd- |
      sed "s/^/epoch $e: /"
  done <"$work/log.jsonl" | paste -sd';' | sed 's/;/; /g'
}

header() {
  echo "| rule | test accuracy (%) | connections | hidden neurons left | training time (s) |"
  echo "|---|---:|---:|---:|---:|"
}

if [ "${SKIP_MAIN:-0}" != 1 ]; then
  net="--hidden $HIDDEN --epochs $EPOCHS"
  echo "### 784-${HIDDEN//,/-}-10, $EPOCHS epochs, hidden layers at 5% density (95% sparse)"
  echo
  header
  run "dense (reference)" $net
  run "SET" $net --density 0.05 --rewire set
  run "RigL" $net --density 0.05 --rewire rigl
  run "Hebbian growth" $net --density 0.05 --rewire hebbian
  run "usage pruning (from dense)" $net --prune usage --prune-to 0.05
  run "gradual magnitude pruning (from dense)" $net --prune magnitude --prune-to 0.05
  run "gradual magnitude pruning + neuron turnover" $net --prune magnitude \
    --prune-to 0.05 --neuron-turnover
  echo
  echo "Hidden layer sizes in the last run: $(sizes)"
  echo
fi

if [ "${SKIP_TURNOVER:-0}" != 1 ]; then
  net="--hidden $BIG_HIDDEN --epochs $TURNOVER_EPOCHS"
  echo "### 784-${BIG_HIDDEN//,/-}-10 dense, $TURNOVER_EPOCHS epochs: neuron turnover"
  echo
  header
  run "without turnover" $net
  run "turnover (activity < $SILENT_LEVEL, $SILENT_EPOCHS silent epochs)" $net \
    --neuron-turnover --silent-level "$SILENT_LEVEL" --silent-epochs "$SILENT_EPOCHS"
  echo
  echo "Hidden layer sizes with turnover: $(sizes)"
  echo
fi
echo "Command: HIDDEN=$HIDDEN BIG_HIDDEN=$BIG_HIDDEN EPOCHS=$EPOCHS TURNOVER_EPOCHS=$TURNOVER_EPOCHS THREADS=$THREADS SEED=$SEED SILENT_LEVEL=$SILENT_LEVEL SILENT_EPOCHS=$SILENT_EPOCHS scripts/experiment_plasticity.sh $bin"
