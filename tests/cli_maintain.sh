#!/usr/bin/env bash
# Tests of the maintenance options and the online continual protocol:
# `rewire train --maintain ...` logs the diagnostics per epoch, `rewire
# continual --online` reports one online accuracy and one list of
# diagnostics per task, and bad values are refused.
#
# usage: bash tests/cli_maintain.sh path/to/rewire tests/fixtures
set -u
REWIRE=$1
FIX=${2:-$(dirname "$0")/fixtures}
# fontconfig keeps caches for the life of the process (rewire plot).
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$FIX/lsan-fontconfig.supp:print_suppressions=0"
. "$(dirname "$0")/lib_cli.sh"
cli_begin cli_maintain "$REWIRE"

for m in cbp redo snp l2init; do
    checks=$((checks + 1))
    case $m in
        cbp) own="--cbp-maturity 5 --cbp-rho 0.05" ;;
        redo) own="--redo-every 3" ;;
        *) own="" ;;
    esac
    # shellcheck disable=SC2086
    "$REWIRE" train --data spirals --epochs 2 --hidden 16,16 --maintain "$m" \
        $own --threads 1 --quiet \
        --log "$tmp/$m.jsonl" >"$tmp/out" 2>"$tmp/err" ||
        fail "train --maintain $m: $(head -c 300 "$tmp/err")"
    [ "$(wc -l <"$tmp/$m.jsonl")" -eq 2 ] || fail "$m: log has not 2 lines"
    grep -Eq '"dormant_fraction":\[[0-9.e-]+,[0-9.e-]+\],"effective_rank":\[[0-9.e-]+,[0-9.e-]+\],"mean_abs_w":\[[0-9.e-]+,[0-9.e-]+,[0-9.e-]+\]' \
        "$tmp/$m.jsonl" || fail "$m: no diagnostics in the log: $(head -c 600 "$tmp/$m.jsonl")"
done
# Each layer object carries its own diagnostics (rewire plot reads them).
checks=$((checks + 1))
grep -Eq '"neurons_added":0,"dormant_fraction":[0-9.e-]+,"effective_rank":[0-9.e-]+,"mean_abs_w":[0-9.e-]+\}' \
    "$tmp/cbp.jsonl" || fail "no per-layer diagnostics in the log"
# CBP with these settings replaces units: the log counts them.
checks=$((checks + 1))
grep -q '"units_reset":\[0,0\]' "$tmp/cbp.jsonl" && fail "cbp replaced no unit"

checks=$((checks + 1))
"$REWIRE" continual --tasks permuted-spirals --num-tasks 4 --task-samples 200 \
    --online --batch 8 --hidden 16,16 --maintain cbp --cbp-maturity 5 \
    --threads 1 --quiet --out "$tmp/online.json" >"$tmp/out" 2>"$tmp/err" ||
    fail "continual --online: $(head -c 300 "$tmp/err")"
grep -Eq '"online_accuracy":\[[0-9.e-]+,[0-9.e-]+,[0-9.e-]+,[0-9.e-]+\]' "$tmp/online.json" ||
    fail "online_accuracy has not 4 numbers: $(head -c 800 "$tmp/online.json")"
grep -Eq '"dormant_fraction":\[(\[[0-9.e-]+,[0-9.e-]+\],){3}\[[0-9.e-]+,[0-9.e-]+\]\]' "$tmp/online.json" ||
    fail "dormant_fraction is not 4 lists of 2"
grep -Eq '"effective_rank":\[(\[[0-9.e-]+,[0-9.e-]+\],){3}\[[0-9.e-]+,[0-9.e-]+\]\]' "$tmp/online.json" ||
    fail "effective_rank is not 4 lists of 2"
grep -q '"maintain":"cbp"' "$tmp/online.json" || fail "method not in the report"
grep -q 'online accuracy: first 4 tasks' "$tmp/out" || fail "no online summary"

# The picture of online reports (builds with cairo only).
if grep -q -- '--online' <<<"$("$REWIRE" plot --help 2>&1)"; then
    checks=$((checks + 1))
    if "$REWIRE" plot --online "$tmp/online.json,$tmp/online.json" -o "$tmp/on.png" \
        --stats >"$tmp/out" 2>"$tmp/err"; then
        [ -s "$tmp/on.png" ] || fail "plot --online wrote no picture"
        "$REWIRE" plot --online "$tmp/online.json" --dormant -o "$tmp/d.png" 2>"$tmp/err" ||
            fail "plot --online --dormant: $(head -c 300 "$tmp/err")"
    elif ! grep -q "cairo" "$tmp/err"; then
        fail "plot --online: $(head -c 300 "$tmp/err")"
    fi
    checks=$((checks + 1))
    if "$REWIRE" plot --log "$tmp/cbp.jsonl" --rewiring -o "$tmp/rw.png" --stats \
        >"$tmp/out" 2>"$tmp/err"; then
        grep -q '1100x1150 px' "$tmp/out" || fail "rewiring picture without the diagnostics row: $(cat "$tmp/out")"
    elif ! grep -q "cairo" "$tmp/err"; then
        fail "plot --rewiring: $(head -c 300 "$tmp/err")"
    fi
    expect_fail 2 'dormant and --rank go with --online' "$REWIRE" plot --log x.jsonl --dormant -o x.png
fi
expect_fail 2 'maintain must be' "$REWIRE" train --data spirals --maintain bogus
expect_fail 2 'cbp-rho' "$REWIRE" train --data spirals --cbp-rho 2
expect_fail 2 'num-tasks applies' "$REWIRE" continual --tasks split-spirals --num-tasks 3
cli_end
