#!/usr/bin/env bash
# Sparse against dense on Fashion-MNIST, the same settings for both: the
# accuracy target of the sparse-layer issue. 784-1000-1000-1000-10 (ReLU,
# batch 128), AdamW with weight decay 0.1, lr 0.002 with a cosine schedule,
# EPOCHS epochs; the settings of the main job (scripts/quickstart.sh) but
# for the epochs.
#   dense   every connection
#   SET     epsilon 20 (about 4% of the hidden connections), SET rewiring
#           after each epoch with a cosine-decayed drop fraction
#   RigL    the same connections, RigL rewiring
# Each rule runs for every seed in SEEDS; prints a markdown table with one
# column per seed and the mean on stdout (progress on stderr).
#
#   scripts/experiment_sparse_vs_dense.sh [path/to/rewire]
#
# Environment: EPOCHS (20), SEEDS ("1 2 3"), THREADS (2), SKIP_RIGL=1.
set -euo pipefail
bin=${1:-build/rewire}
[ -x "$bin" ] || { echo "experiment: $bin not found (build first)" >&2; exit 1; }
EPOCHS=${EPOCHS:-20}
SEEDS=${SEEDS:-1 2 3}
THREADS=${THREADS:-2}

common=(--data fashion-mnist --hidden 1000,1000,1000 --epochs "$EPOCHS"
        --optimizer adamw --weight-decay 0.1 --lr 0.002 --schedule cosine
        --threads "$THREADS" --json --quiet)
sparse=(--epsilon 20 --drop-schedule cosine)

# field NAME JSON: a number from a one-line JSON object
field() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" <<<"$2"; }

# run NAME ARGS...: one markdown row, test accuracy per seed and the mean
run() {
  local name=$1; shift
  local row="| $name" sum=0 n=0 conn=""
  for seed in $SEEDS; do
    echo "experiment: $name, seed $seed: $bin train ${common[*]} $* --seed $seed" >&2
    local out acc
    out=$("$bin" train "${common[@]}" "$@" --seed "$seed")
    acc=$(field test_accuracy "$out")
    conn=$(field connections "$out")
    row+=" | $(awk -v a="$acc" 'BEGIN { printf "%.2f", 100 * a }')"
    sum=$(awk -v s="$sum" -v a="$acc" 'BEGIN { print s + a }')
    n=$((n + 1))
  done
  echo "$row | $(awk -v s="$sum" -v n="$n" 'BEGIN { printf "%.2f", 100 * s / n }') | $conn |"
}

header="| network"
rule="|---"
for seed in $SEEDS; do
  header+=" | seed $seed (%)"
  rule+="|---:"
done
echo "$header | mean (%) | connections |"
echo "$rule|---:|---:|"
run dense
run "SET, epsilon 20" "${sparse[@]}" --rewire set
[ "${SKIP_RIGL:-0}" = 1 ] || run "RigL, epsilon 20" "${sparse[@]}" --rewire rigl
