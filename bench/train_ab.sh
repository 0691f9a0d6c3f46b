#!/usr/bin/env bash
# Times a training epoch of two builds against each other: the `rewire` of
# git revision REV (A, built once into a cache folder) and of the working
# tree's build folder (B), alternating A and B ROUNDS times, so that the
# drift of a shared machine's speed falls on both alike.
#
#   bench/train_ab.sh REV [DENSITY] [ROUNDS] [BUILD_DIR] [-- more rewire train options]
#   e.g. bench/train_ab.sh HEAD~2 0.05 8
#        bench/train_ab.sh HEAD 0.05 6 build -- --optimizer adamw
#
# Each run trains 784-1000-1000-1000-10 at DENSITY (default 0.05) on
# Fashion-MNIST (the built-in spirals without the dataset package) for two
# epochs on 2 threads, SGD with momentum, and reads its seconds per epoch
# from `--json` (train_seconds / epochs: the epochs' own time, without the
# loading, the test set or the diagnostics). It prints each side's times
# sorted, the medians, B/A of the medians and of the best times, and
# whether both sides reached the same test accuracy (they should, unless
# the change alters results). Read the medians. RW_ISA, GOMP_SPINCOUNT and
# the like pass through to both sides.
#
# A's build lives in ${XDG_CACHE_HOME:-~/.cache}/rewire-train-ab/SHA and is
# reused; BUILD_DIR (default build) must hold a built `rewire`.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bench/train_ab.sh REV [DENSITY] [ROUNDS] [BUILD_DIR] [-- rewire train options]"
rev=${1:?$usage}
shift
dens=0.05
rounds=6
build=build
for v in dens rounds build; do
  if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    printf -v "$v" '%s' "$1"
    shift
  fi
done
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
case "$dens" in
  ''|*[!0-9.]*) echo "train_ab.sh: DENSITY must be a number in (0, 1], got \"$dens\"" >&2; exit 2 ;;
esac
case "$rounds" in
  ''|*[!0-9]*|0) echo "train_ab.sh: ROUNDS must be a whole number from 1, got \"$rounds\"" >&2; exit 2 ;;
esac
[ -x "$build/rewire" ] ||
  { echo "train_ab.sh: $build/rewire is not there (build the working tree first)" >&2; exit 2; }
sha=$(git rev-parse --verify -q "$rev^{commit}") ||
  { echo "train_ab.sh: \"$rev\" is not a git revision" >&2; exit 2; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/rewire-train-ab/$sha
if [ ! -x "$cache/build/rewire" ]; then
  echo "train_ab.sh: building $rev ($(git rev-parse --short "$sha")) in $cache" >&2
  rm -rf "$cache"
  mkdir -p "$cache/src"
  git archive "$sha" | tar -x -C "$cache/src"
  cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$cache/build" -j"$(nproc)" --target rewire_cli >/dev/null 2>&1 ||
    cmake --build "$cache/build" -j"$(nproc)" >/dev/null
fi
data=fashion-mnist
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || data=spirals
# Seconds per epoch and test accuracy of one run, from its JSON line.
one() {
  local json
  json=$("$1" train --data "$data" --hidden 1000,1000,1000 --density "$dens" \
    --optimizer momentum --lr 0.01 --epochs 2 --threads 2 --json "${@:2}" 2>"$err") ||
    { echo "train_ab.sh: $1 train failed:" >&2; tail -3 "$err" >&2; return 1; }
  local secs epochs acc
  secs=$(printf '%s' "$json" | sed -n 's/.*"train_seconds":\([0-9.e+-]*\).*/\1/p')
  epochs=$(printf '%s' "$json" | sed -n 's/.*"epochs":\([0-9]*\).*/\1/p')
  acc=$(printf '%s' "$json" | sed -n 's/.*"test_accuracy":\([0-9.e+-]*\).*/\1/p')
  awk -v s="$secs" -v e="$epochs" -v a="$acc" 'BEGIN { printf "%.4f %s\n", s / e, a }'
}
echo "A: $rev ($(git rev-parse --short "$sha")), B: $build (the working tree); density $dens," \
  "$data, 2 epochs, 2 threads, $rounds rounds; $(lscpu | sed -n 's/^Model name: *//p')"
res=$(mktemp)
err=$(mktemp)
trap 'rm -f "$res" "$err"' EXIT
for ((r = 0; r < rounds; r++)); do
  # ABBA: neither side always goes first
  if ((r % 2 == 0)); then order="A B"; else order="B A"; fi
  for side in $order; do
    if [ "$side" = A ]; then bin=$cache/build/rewire; else bin=$build/rewire; fi
    line=$(one "$bin" "$@") || exit 1
    echo "$side $line" >> "$res"
  done
done
awk '
  { t[$1, ++n[$1]] = $2; acc[$1] = acc[$1] == "" || acc[$1] == $3 ? $3 : "differs" }
  function median(s,   i, j, k, x, m) {
    m = n[s]
    for (i = 1; i <= m; i++) x[i] = t[s, i]
    for (i = 2; i <= m; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { k = x[j]; x[j] = x[j - 1]; x[j - 1] = k }
    line = ""
    for (i = 1; i <= m; i++) line = line sprintf(" %.3f", x[i])
    best[s] = x[1]
    return m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
  }
  END {
    for (s = 0; s < 2; s++) {
      side = s ? "B" : "A"
      med[side] = median(side)
      printf "%s  s/epoch sorted:%s  median %.3f  test accuracy %s\n", side, line, med[side], acc[side]
    }
    printf "B/A: median %.3f, best %.3f; test accuracy %s\n", med["B"] / med["A"],
           best["B"] / best["A"], acc["A"] == acc["B"] ? "the same" : "DIFFERS"
  }' "$res"
