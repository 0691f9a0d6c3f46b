#!/usr/bin/env bash
# Loss of plasticity (Dohare et al., Nature 2024) on online permuted
# Fashion-MNIST, scaled down to fit about 15 CPU-minutes: 784-100-100-10,
# mini-batches of 16, TASKS tasks of SAMPLES images, each image seen once
# (the paper: 784-2000x3-10, batch 1, 800 tasks of 60,000 images).
# Methods: backprop with SGD and with Adam, and on top of Adam: L2 (weight
# decay), L2 Init, shrink and perturb (at task boundaries), ReDo, CBP, SET
# sparse layers, and SET + CBP. Every run writes its JSON report into
# OUT_DIR; the table (online accuracy over the first and last 10 tasks,
# dormant fraction and effective rank after the last task, mean and spread
# over the seeds) goes to OUT_DIR/table.md, and `rewire plot --online`
# draws online_accuracy.png and dormant.png.
#
# usage: scripts/experiment_plasticity_loss.sh [OUT_DIR]  (default out/plasticity-loss)
# environment: REWIRE  the binary (default build/rewire)
#              SEEDS   (default "1 2 3")   TASKS (100)   SAMPLES (5000)
#              JOBS    runs at once (default 2), each on one thread
#              NICE    priority (default 19)
#              ONLY    run only these methods (e.g. "redo cbp"); the table
#                      still covers every method with reports in OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/plasticity-loss}
REWIRE=${REWIRE:-build/rewire}
SEEDS=${SEEDS:-1 2 3}
TASKS=${TASKS:-100}
SAMPLES=${SAMPLES:-5000}
JOBS=${JOBS:-2}
NICE=${NICE:-19}
ONLY=${ONLY:-}
if [ ! -x "$REWIRE" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target rewire_cli >/dev/null
  REWIRE=build/rewire
fi
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "experiment_plasticity_loss: Fashion-MNIST is not installed" \
       "(apt-get install dataset-fashion-mnist)" >&2
  exit 1
fi
mkdir -p "$out"

base=(continual --tasks permuted-fashion-mnist --num-tasks "$TASKS"
      --task-samples "$SAMPLES" --online --hidden 100,100 --batch 16
      --threads 1 --quiet)
adam="--optimizer adam --lr 0.001"
# name | label | arguments
runs=(
  "sgd|backprop, SGD (lr 0.01)|--optimizer sgd --lr 0.01"
  "adam|backprop, Adam (lr 1e-3)|$adam"
  "l2|Adam + L2 (weight decay 1e-4)|$adam --weight-decay 1e-4"
  "l2init|Adam + L2 Init (lambda 1e-3)|$adam --maintain l2init --l2-lambda 1e-3"
  "snp|Adam + S&P at task boundaries (0.8, 0.01)|$adam --maintain snp --snp-at-task --snp-lambda 0.8 --snp-sigma 0.01"
  "redo|Adam + ReDo (every 500, tau 0.1)|$adam --maintain redo --redo-every 500 --redo-tau 0.1"
  "cbp|Adam + CBP (adaptable, rho 3e-3, m 100)|$adam --maintain cbp --cbp-rho 3e-3 --cbp-adaptable"
  "set|Adam, SET sparse (ER 20, 10% every 100 steps)|$adam --sparse --rewire set --drop-fraction 0.1 --rewire-every 100"
  "setcbp|Adam, SET sparse + CBP (adaptable, rho 3e-3)|$adam --sparse --rewire set --drop-fraction 0.1 --rewire-every 100 --maintain cbp --cbp-rho 3e-3 --cbp-adaptable"
)

jobs_list=()
for r in "${runs[@]}"; do
  IFS='|' read -r name label args <<<"$r"
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  for s in $SEEDS; do
    jobs_list+=("$name|$s|$args")
  done
done
run_one() {
  IFS='|' read -r name s args <<<"$1"
  # shellcheck disable=SC2086
  nice -n "$NICE" "$REWIRE" "${base[@]}" $args --seed "$s" \
    --out "$out/$name-seed$s.json" >"$out/$name-seed$s.txt" 2>&1 ||
    echo "run $name seed $s failed (see $out/$name-seed$s.txt)" >&2
}
running=0
for j in "${jobs_list[@]}"; do
  run_one "$j" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

labels=""
for r in "${runs[@]}"; do
  IFS='|' read -r name label args <<<"$r"
  labels+="$name|$label"$'\n'
done
printf '%s' "$labels" >"$out/methods.txt"
/usr/bin/python3 - "$out" "$SEEDS" <<'PY'
import json, math, sys, statistics as st
out, seeds = sys.argv[1], sys.argv[2].split()
rows = [l.split("|", 1) for l in open(f"{out}/methods.txt").read().splitlines() if l]
def ms(v):
    v = [x for x in v if x is not None and not math.isnan(x)]
    if not v: return "n/a"
    m = st.mean(v); s = st.pstdev(v) if len(v) > 1 else 0.0
    return f"{m:.4f} ± {s:.4f}"
lines = ["| method | online acc., tasks 1-10 | online acc., last 10 | change | dormant (layer 1, 2), end | effective rank (layer 1, 2), end | mean abs w (layers), end |",
         "|---|---|---|---|---|---|---|"]
for name, label in rows:
    first, last, d1, d2, r1, r2, ch, w = [], [], [], [], [], [], [], []
    for s in seeds:
        try:
            d = json.load(open(f"{out}/{name}-seed{s}.json"))
        except OSError:
            continue
        a = d["online_accuracy"]; k = min(10, len(a))
        f = sum(a[:k]) / k; l = sum(a[-k:]) / k
        first.append(f); last.append(l); ch.append(l - f)
        d1.append(d["dormant_fraction"][-1][0]); d2.append(d["dormant_fraction"][-1][1])
        r1.append(d["effective_rank"][-1][0]); r2.append(d["effective_rank"][-1][1])
        w.append(sum(d["mean_abs_w"][-1]) / len(d["mean_abs_w"][-1]))
    lines.append(f"| {label} | {ms(first)} | {ms(last)} | {ms(ch)} | {ms(d1)}, {ms(d2)} | {ms(r1)}, {ms(r2)} | {ms(w)} |")
open(f"{out}/table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
# Pictures: one report per method (seed 1).
first_seed=${SEEDS%% *}
reports=()
for r in "${runs[@]}"; do
  IFS='|' read -r name label args <<<"$r"
  reports+=("$out/$name-seed$first_seed.json")
done
if grep -q -- '--online' <<<"$("$REWIRE" plot --help 2>&1)"; then
  "$REWIRE" plot --online "$(IFS=,; echo "${reports[*]}")" -o "$out/online_accuracy.png" \
    --title "Online permuted Fashion-MNIST: online accuracy per task" || true
  "$REWIRE" plot --online "$(IFS=,; echo "${reports[*]}")" --rank -o "$out/rank.png" \
    --title "Effective rank (layer 1) per task" || true
  "$REWIRE" plot --online "$(IFS=,; echo "${reports[*]}")" --dormant -o "$out/dormant.png" \
    --title "Dormant fraction (layer 1) per task" || true
fi
