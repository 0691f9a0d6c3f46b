#!/usr/bin/env bash
# Tests of `rewire continual`: CSV tasks made here, every method, the JSON
# report's fields, the CSV matrix's shape, the per-task progress lines,
# generated sequences (split, permuted) and bad input.
#
# usage: bash tests/cli_continual.sh path/to/rewire tests/fixtures
# Needs only bash and POSIX tools (awk, grep, sed), no Python.
set -u
REWIRE=$1
FIX=$2
. "$(dirname "$0")/lib_cli.sh"
cli_begin cli_continual "$REWIRE"
[ -d "$FIX" ] || echo "cli_continual: note: no fixtures folder $FIX" >&2

# A CSV task of N samples: two blobs (positions P and P+1 on a circle of
# 8), labelled L and L+1; WIDTH features (extra ones are 0).
make_task() {
    local file=$1 n=$2 p=$3 l=$4 width=${5:-2}
    awk -v n="$n" -v p="$p" -v l="$l" -v w="$width" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = i % 2
            a = 6.2831853 * (p + k) / 8
            x = 3 * cos(a) + 0.3 * sin(i * 12.9898)
            y = 3 * sin(a) + 0.3 * sin(i * 78.233)
            line = sprintf("%.4f,%.4f", x, y)
            for (j = 2; j < w; j++) line = line ",0"
            print line "," (l + k)
        }
    }' >"$file"
}
make_task "$tmp/a.csv" 300 0 0
make_task "$tmp/b.csv" 300 2 2
make_task "$tmp/c.csv" 300 4 4
make_task "$tmp/wide.csv" 300 4 4 3

# json_num FILE KEY: the number after "KEY": in a one-line JSON object.
json_num() {
    sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p" "$1"
}

common=(--hidden 16 --epochs 15 --batch 20 --lr 0.02 --threads 2 --seed 3)
tasks="$tmp/a.csv,$tmp/b.csv,$tmp/c.csv"

# ---- every method, JSON fields, CSV shape, progress lines ----
for m in naive replay ewc si; do
    checks=$((checks + 1))
    extra=()
    case $m in
    replay) extra=(--memory 60) ;;
    ewc) extra=(--ewc-lambda 100 --fisher-samples 200) ;;
    si) extra=(--si-c 1) ;;
    esac
    if ! "$REWIRE" continual --tasks "$tasks" --method $m "${extra[@]}" "${common[@]}" \
        --json --csv "$tmp/$m.csv" --out "$tmp/$m.json" >"$tmp/$m.stdout" 2>"$tmp/$m.err"; then
        fail "continual --method $m failed: $(head -c 400 "$tmp/$m.err")"
        continue
    fi
    out="$tmp/$m.stdout"
    [ "$(wc -l <"$out")" -eq 1 ] || fail "$m: --json printed $(wc -l <"$out") lines"
    cmp -s "$out" "$tmp/$m.json" || fail "$m: --out differs from the --json output"
    grep -q "\"method\":\"$m\"" "$out" || fail "$m: no \"method\":\"$m\""
    avg=$(json_num "$out" average_accuracy)
    awk -v a="$avg" 'BEGIN { exit !(a != "" && a >= 0 && a <= 1) }' ||
        fail "$m: average_accuracy '$avg' is not within 0..1"
    [ -n "$(json_num "$out" backward_transfer)" ] || fail "$m: no backward_transfer"
    [ -n "$(json_num "$out" forward_transfer)" ] || fail "$m: no forward_transfer"
    grep -q '"tasks":\["a.csv","b.csv","c.csv"\]' "$out" || fail "$m: task names"
    # The matrix: 3 rows of 3 accuracies.
    rows=$(sed -n 's/.*"matrix":\[\(.*\)\],"average_accuracy".*/\1/p' "$out")
    nrows=$(grep -o '\[[^][]*\]' <<<"$rows" | wc -l)
    [ "$nrows" -eq 3 ] || fail "$m: matrix has $nrows rows: $rows"
    grep -o '\[[^][]*\]' <<<"$rows" | awk -F, -v m="$m" '
        NF != 3 { print "FAIL: " m ": matrix row with " NF " entries: " $0; bad = 1 }
        { for (i = 1; i <= NF; i++) { v = $i; gsub(/[][]/, "", v)
              if (v + 0 < 0 || v + 0 > 1) { print "FAIL: " m ": accuracy " v; bad = 1 } } }
        END { exit bad }' >&2 || fails=$((fails + 1))
    # The CSV: a header and 3 rows of 4 fields; the last row's mean is the
    # average accuracy.
    awk -F, 'NR == 1 && $0 != "after_task,task_1,task_2,task_3" { exit 1 }
             NF != 4 { exit 1 } END { exit NR != 4 }' "$tmp/$m.csv" ||
        fail "$m: CSV matrix has the wrong shape: $(cat "$tmp/$m.csv")"
    mean=$(awk -F, 'NR == 4 { print ($2 + $3 + $4) / 3 }' "$tmp/$m.csv")
    awk -v a="$avg" -v b="$mean" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }' ||
        fail "$m: average_accuracy $avg is not the mean of the CSV's last row ($mean)"
    for t in 1 2 3; do
        grep -q "^task $t/3 ([abc].csv): trained 15 epochs" "$tmp/$m.err" ||
            fail "$m: no progress line for task $t: $(cat "$tmp/$m.err")"
    done
done
# Forgetting and its remedy, on data where both are clear-cut.
naive_avg=$(json_num "$tmp/naive.stdout" average_accuracy)
replay_avg=$(json_num "$tmp/replay.stdout" average_accuracy)
checks=$((checks + 1))
awk -v n="$naive_avg" -v r="$replay_avg" 'BEGIN { exit !(n < 0.8 && r > n + 0.1) }' ||
    fail "expected naive to forget and replay to remember: naive $naive_avg, replay $replay_avg"

# Same command, same numbers.
checks=$((checks + 1))
"$REWIRE" continual --tasks "$tasks" --method naive "${common[@]}" --json --quiet >"$tmp/again" 2>&1 ||
    fail "second naive run failed"
sed 's/"seconds":\[[^]]*\]//' "$tmp/again" >"$tmp/a1"
sed 's/"seconds":\[[^]]*\]//' "$tmp/naive.stdout" >"$tmp/a2"
cmp -s "$tmp/a1" "$tmp/a2" || fail "two runs with the same seed differ"
[ -s "$tmp/again" ] && ! grep -q "^task" "$tmp/again" || fail "--quiet printed progress lines"

# The table (no --json), task-incremental, sparse layers with rewiring.
checks=$((checks + 1))
if "$REWIRE" continual --tasks "$tasks" --method si --task-incremental --sparse --density 0.5 \
    --rewire set "${common[@]}" >"$tmp/table" 2>"$tmp/table.err"; then
    grep -q "^after 3 " "$tmp/table" || fail "no 'after 3' row in the table: $(cat "$tmp/table")"
    grep -q "^average accuracy [0-9.]*, backward transfer" "$tmp/table" ||
        fail "no summary line in the table"
    # The rows' numbers line up: each ends at the same columns as the
    # header's task names.
    ends() { awk -v row="$1" 'index($0, row) == 1 { s = $0; e = ""; p = 0
        while (match(s, /[0-9]+\.[0-9]+/)) { p += RSTART + RLENGTH - 1; e = e " " p; s = substr(s, RSTART + RLENGTH) }
        print e; exit }' "$tmp/table"; }
    [ "$(ends "after 1 ")" = "$(ends "untrained")" ] ||
        fail "the untrained row is not aligned with the others: $(cat "$tmp/table")"
    grep -q "importance kept by rewiring" "$tmp/table.err" ||
        fail "sparse SI run does not report the importance kept: $(cat "$tmp/table.err")"
else
    fail "task-incremental sparse SI run failed: $(head -c 400 "$tmp/table.err")"
fi

# Generated sequences from built-in synthetic data.
# expect_tasks SPEC TASKS_JSON ARGS...: the run succeeds and its JSON names
# the tasks TASKS_JSON.
expect_tasks() {
    local spec=$1 want=$2
    shift 2
    checks=$((checks + 1))
    if "$REWIRE" continual --tasks "$spec" --hidden 8 --threads 2 --json --quiet "$@" \
        >"$tmp/gen" 2>"$tmp/gen.err"; then
        grep -qF "\"tasks\":$want" "$tmp/gen" || fail "$spec tasks: $(cat "$tmp/gen")"
    else
        fail "$spec failed: $(cat "$tmp/gen.err")"
    fi
}
expect_tasks split-blobs '["classes 0,1","classes 2,3"]' --method ewc --epochs 2
expect_tasks permuted-moons:3 '["permutation 1","permutation 2","permutation 3"]' \
    --method naive --epochs 1

# The report is what `rewire plot --continual` reads (when it can draw).
checks=$((checks + 1))
if "$REWIRE" plot --continual "$tmp/replay.json" -o "$tmp/r.png" >/dev/null 2>"$tmp/plot.err"; then
    [ -s "$tmp/r.png" ] || fail "plot --continual wrote no picture"
elif grep -q "replay.json" "$tmp/plot.err"; then
    fail "plot --continual rejects the report: $(cat "$tmp/plot.err")"
fi

# ---- bad input ----
expect_fail 2 "--method must be naive, replay, ewc or si" \
    "$REWIRE" continual --tasks "$tasks" --method magic
expect_fail 2 "--tasks is required" "$REWIRE" continual --method naive
expect_fail 1 "nothere.csv.*not found" \
    "$REWIRE" continual --tasks "$tmp/a.csv,$tmp/nothere.csv" --method naive
expect_fail 1 "task 2: .*3 features per sample but the first task has 2" \
    "$REWIRE" continual --tasks "$tmp/a.csv,$tmp/wide.csv" --method naive
expect_fail 2 "--memory applies to --method replay" \
    "$REWIRE" continual --tasks "$tasks" --method ewc --memory 10
expect_fail 2 "EWC options apply to --method ewc" \
    "$REWIRE" continual --tasks "$tasks" --method si --ewc-lambda 10
expect_fail 2 "--data does not apply" \
    "$REWIRE" continual --tasks "$tasks" --data "$tmp/a.csv"
expect_fail 1 "permuted-NAME" "$REWIRE" continual --tasks permuted-moons:0 --method naive
expect_fail 1 "nosuchset is not a built-in dataset" \
    "$REWIRE" continual --tasks split-nosuchset --method naive
expect_fail 1 "tasks 1 and 2 share class" \
    "$REWIRE" continual --tasks "$tmp/a.csv,$tmp/a.csv" --method naive --task-incremental \
    --epochs 1 --hidden 4
expect_fail 2 "--ewc-lambda expects a number" \
    "$REWIRE" continual --tasks "$tasks" --method ewc --ewc-lambda lots
checks=$((checks + 1))
"$REWIRE" continual --tasks "$tmp/a.csv" --epochs 1 --hidden 4 --quiet >"$tmp/one" 2>&1 ||
    fail "one-task run failed: $(cat "$tmp/one")"
grep -q "backward transfer n/a, forward transfer n/a" "$tmp/one" ||
    fail "one task: transfers are not n/a: $(cat "$tmp/one")"
expect_fail 2 "--checkpoint does not apply to continual learning" \
    "$REWIRE" continual --tasks "$tasks" --checkpoint "$tmp/ck.rwc"
expect_fail 2 "--resume does not apply to continual learning" \
    "$REWIRE" continual --tasks "$tasks" --resume "$tmp/ck.rwc"
# No output overwrites a task's data or another output, and the files
# written after the last task are checked before the first.
cp "$tmp/b.csv" "$tmp/b.keep"
expect_fail 2 "--out $tmp/b.csv would overwrite the file that --tasks reads" \
    "$REWIRE" continual --tasks "$tasks" --out "$tmp/b.csv"
cmp -s "$tmp/b.csv" "$tmp/b.keep" || fail "--out over a task changed it"
expect_fail 2 "--save $tmp/a.csv would overwrite the file that --tasks reads" \
    "$REWIRE" continual --tasks "$tasks" --save "$tmp/a.csv"
expect_fail 2 "--out and --csv name the same file" \
    "$REWIRE" continual --tasks "$tasks" --out "$tmp/r.json" --csv "$tmp/r.json"
expect_fail 2 "no/such/m.rwm: cannot write the model there .checked before training" \
    "$REWIRE" continual --tasks "$tasks" --save "$tmp/no/such/m.rwm"
expect_fail 2 "--csv $tmp/no/such/r.csv: cannot write there .checked before training" \
    "$REWIRE" continual --tasks "$tasks" --csv "$tmp/no/such/r.csv"
checks=$((checks + 1))
"$REWIRE" continual --help >"$tmp/help" 2>&1 && grep -q -- "--task-incremental" "$tmp/help" ||
    fail "continual --help"

cli_end
