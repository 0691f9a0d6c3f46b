#!/usr/bin/env bash
# Reproduces the continual-learning table of docs/continual.md: forgetting
# and its remedies on Fashion-MNIST task sequences, 784-400-400-10.
#   split Fashion-MNIST (5 tasks of 2 classes, class-incremental):
#     naive fine-tuning, replay (1,000 examples), EWC, SI
#   split Fashion-MNIST, task-incremental: naive, EWC, SI
#   permuted Fashion-MNIST (5 tasks): naive, EWC, SI
#   permuted Fashion-MNIST with sparse layers rewired by SET: naive, and
#     EWC and SI with the protection of important connections from
#     rewiring on and off
# Every run writes its JSON report (for `rewire plot --continual`) and its
# accuracy matrix as CSV into OUT_DIR; the table goes to OUT_DIR/table.md.
#
# usage: scripts/experiment_continual.sh [OUT_DIR]    (default out/continual)
# environment: REWIRE   the binary (default build/rewire, built if missing)
#              THREADS  threads per run (default 2)
#              SEEDS    seeds to average over (default "1 2 3")
#              SPLIT_EPOCHS, PERM_EPOCHS  epochs per task (default 3, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/continual}
REWIRE=${REWIRE:-build/rewire}
THREADS=${THREADS:-2}
SEEDS=${SEEDS:-1 2 3}
SPLIT_EPOCHS=${SPLIT_EPOCHS:-3}
PERM_EPOCHS=${PERM_EPOCHS:-2}
# Strengths chosen by the sweep described in docs/continual.md; sparse
# layers carry more Fisher per connection and take a smaller lambda.
EWC_LAMBDA=${EWC_LAMBDA:-1000}
SPARSE_EWC_LAMBDA=${SPARSE_EWC_LAMBDA:-100}
SI_C=${SI_C:-3}

if [ ! -x "$REWIRE" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target rewire_cli >/dev/null
  REWIRE=build/rewire
fi
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "experiment_continual: Fashion-MNIST is not installed" \
       "(apt-get install dataset-fashion-mnist)" >&2
  exit 1
fi
mkdir -p "$out"

net=(--hidden 400,400 --threads "$THREADS")
split=(--tasks split-fashion-mnist --epochs "$SPLIT_EPOCHS")
perm=(--tasks permuted-fashion-mnist:5 --epochs "$PERM_EPOCHS")
# Sparse: Erdos-Renyi hidden layers (epsilon 20: 7.6% and 10% dense), SET
# replacing 30% of the connections every 200 steps (about 5 times a task).
sparse=(--sparse --rewire set --drop-fraction 0.3 --rewire-every 200)

# name | sequence | method | arguments
runs=(
  "split-naive|split, class-incremental|naive|${split[*]} --method naive"
  "split-replay|split, class-incremental|replay (1,000 examples)|${split[*]} --method replay --memory 1000"
  "split-ewc|split, class-incremental|EWC (lambda $EWC_LAMBDA)|${split[*]} --method ewc --ewc-lambda $EWC_LAMBDA"
  "split-si|split, class-incremental|SI (c $SI_C)|${split[*]} --method si --si-c $SI_C"
  "split-ti-naive|split, task-incremental|naive|${split[*]} --task-incremental --method naive"
  "split-ti-ewc|split, task-incremental|EWC (lambda $EWC_LAMBDA)|${split[*]} --task-incremental --method ewc --ewc-lambda $EWC_LAMBDA"
  "split-ti-si|split, task-incremental|SI (c $SI_C)|${split[*]} --task-incremental --method si --si-c $SI_C"
  "perm-naive|permuted|naive|${perm[*]} --method naive"
  "perm-ewc|permuted|EWC (lambda $EWC_LAMBDA)|${perm[*]} --method ewc --ewc-lambda $EWC_LAMBDA"
  "perm-si|permuted|SI (c $SI_C)|${perm[*]} --method si --si-c $SI_C"
  "perm-sparse-naive|permuted, sparse + SET|naive|${perm[*]} ${sparse[*]} --method naive"
  "perm-sparse-ewc|permuted, sparse + SET|EWC (lambda $SPARSE_EWC_LAMBDA), protected|${perm[*]} ${sparse[*]} --method ewc --ewc-lambda $SPARSE_EWC_LAMBDA"
  "perm-sparse-ewc-unprotected|permuted, sparse + SET|EWC (lambda $SPARSE_EWC_LAMBDA), unprotected|${perm[*]} ${sparse[*]} --method ewc --ewc-lambda $SPARSE_EWC_LAMBDA --no-protect-rewiring"
  "perm-sparse-si|permuted, sparse + SET|SI (c $SI_C), protected|${perm[*]} ${sparse[*]} --method si --si-c $SI_C"
  "perm-sparse-si-unprotected|permuted, sparse + SET|SI (c $SI_C), unprotected|${perm[*]} ${sparse[*]} --method si --si-c $SI_C --no-protect-rewiring"
)

# field FILE KEY: a number of the one-line JSON report ("" for null).
field() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p" "$1"; }
# array_stat FILE KEY sum|mean: over the non-null entries of an array.
array_stat() {
  sed -n "s/.*\"$2\":\[\([^]]*\)\].*/\1/p" "$1" | tr ',' '\n' |
    awk -v op="$3" '$1 != "null" && $1 != "" { s += $1; n++ }
      END { if (!n) print ""; else if (op == "sum") print s; else print s / n }'
}
# mean_sd VALUES...: "m" or "m ± sd" (percent, one decimal) of fractions.
mean_sd() {
  printf '%s\n' "$@" | awk 'NF { x[n++] = $1 * 100; s += $1 * 100 }
    END { if (!n) { print "n/a"; exit } m = s / n
          if (n == 1) { printf "%.1f", m; exit }
          for (i = 0; i < n; i++) v += (x[i] - m) ^ 2
          printf "%.1f ± %.1f", m, sqrt(v / (n - 1)) }'
}

start=$(date +%s)
for r in "${runs[@]}"; do
  IFS='|' read -r name _ _ args <<<"$r"
  for s in $SEEDS; do
    t0=$(date +%s)
    # shellcheck disable=SC2086
    "$REWIRE" continual $args "${net[@]}" --seed "$s" --quiet \
      --out "$out/$name-seed$s.json" --csv "$out/$name-seed$s.csv" >/dev/null
    printf '%-28s seed %s: average accuracy %s, backward transfer %s (%ss)\n' \
      "$name" "$s" "$(field "$out/$name-seed$s.json" average_accuracy)" \
      "$(field "$out/$name-seed$s.json" backward_transfer)" \
      "$(($(date +%s) - t0))" >&2
  done
done
total=$(($(date +%s) - start))

{
  echo "| Sequence | Method | Average accuracy (%) | Backward transfer (points) | Forward transfer (points) | Importance kept by rewiring (%) | Training time (s) |"
  echo "|---|---|---|---|---|---|---|"
  for r in "${runs[@]}"; do
    IFS='|' read -r name seq method _ <<<"$r"
    avg=() bwt=() fwt=() kept=() secs=()
    for s in $SEEDS; do
      f="$out/$name-seed$s.json"
      avg+=("$(field "$f" average_accuracy)")
      bwt+=("$(field "$f" backward_transfer)")
      fwt+=("$(field "$f" forward_transfer)")
      kept+=("$(array_stat "$f" importance_kept mean)")
      secs+=("$(array_stat "$f" seconds sum)")
    done
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$seq" "$method" \
      "$(mean_sd "${avg[@]}")" "$(mean_sd "${bwt[@]}")" "$(mean_sd "${fwt[@]}")" \
      "$(mean_sd "${kept[@]}")" \
      "$(printf '%s\n' "${secs[@]}" | awk '{ s += $1; n++ } END { printf "%.0f", s / n }')"
  done
  echo
  echo "784-400-400-10 ReLU, Adam (lr 0.001), batch 128; $SPLIT_EPOCHS epochs per split task," \
       "$PERM_EPOCHS per permuted task; seeds: $SEEDS; $THREADS threads;" \
       "wall time of the whole script: ${total} s."
} >"$out/table.md"
cat "$out/table.md"
