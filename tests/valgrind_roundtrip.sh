#!/usr/bin/env bash
# valgrind must report no definite leaks and no memory errors on a train,
# save, load, eval and predict round trip of the command-line tool.
#   tests/valgrind_roundtrip.sh path/to/rewire
set -euo pipefail
rw=${1:?path to rewire}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite
    --error-exitcode=99 --suppressions="$(dirname "$0")/valgrind.supp")
export OMP_NUM_THREADS=1
# Set, so that the tool does not start itself again (outside valgrind).
export OMP_WAIT_POLICY=passive
"${vg[@]}" "$rw" train --data spirals --hidden 16,16 --epsilon 2 --epochs 2 \
  --save "$tmp/m.rwm" --log "$tmp/log.jsonl" --quiet > /dev/null
"${vg[@]}" "$rw" train --data spirals --hidden 16 --epochs 1 --quiet \
  --optimizer momentum > /dev/null
"${vg[@]}" "$rw" info --model "$tmp/m.rwm" --json > /dev/null
"${vg[@]}" "$rw" eval --model "$tmp/m.rwm" --data spirals > /dev/null
"${vg[@]}" "$rw" predict --model "$tmp/m.rwm" --data spirals > /dev/null
# error paths free what they allocated too
"${vg[@]}" "$rw" eval --model "$tmp/missing.rwm" --data spirals 2>/dev/null && exit 1
[ $? -ne 99 ] || exit 1
echo "valgrind: no leaks or memory errors"
