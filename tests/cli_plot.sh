#!/usr/bin/env bash
# Tests of `rewire plot`: every picture is a valid PNG of the expected size
# and not blank; truncated logs plot their complete epochs with a warning;
# bad inputs fail with a clear message and a non-zero exit status.
#
# usage: bash tests/cli_plot.sh path/to/rewire tests/fixtures
# Needs only bash and POSIX tools (od, sed, grep, awk), no Python.
set -u
REWIRE=$1
FIX=$2
# Under RW_SANITIZE: fontconfig (via cairo) never frees its configuration.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$FIX/lsan-fontconfig.supp:print_suppressions=0"
. "$(dirname "$0")/lib_cli.sh"
cli_begin cli_plot "$REWIRE"

# Prints "WIDTH HEIGHT" of a PNG from its IHDR chunk; fails when the file
# does not start with the PNG signature.
png_size() {
    local sig
    sig=$(od -An -tu1 -N8 "$1" 2>/dev/null | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
    [ "$sig" = "137 80 78 71 13 10 26 10" ] || return 1
    local b
    read -r -a b <<<"$(od -An -tu1 -j16 -N8 "$1")"
    echo "$(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3])) $(((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]))"
}

# check_png FILE WIDTH HEIGHT STATS_OUTPUT: a PNG of that size whose pixels
# vary (the --stats line reports the variance of their brightness).
check_png() {
    checks=$((checks + 1))
    local size var
    if ! size=$(png_size "$1"); then
        fail "$1 is not a PNG"
        return
    fi
    [ "$size" = "$2 $3" ] || fail "$1 is ${size/ /x} px, expected ${2}x${3}"
    grep -q "${2}x${3} px" <<<"$4" || fail "$1: --stats says '$4'"
    var=$(sed -n 's/.*variance \([0-9.]*\).*/\1/p' <<<"$4")
    if [ -z "$var" ]; then
        fail "$1: no variance in --stats output '$4'"
    elif ! awk -v v="$var" 'BEGIN { exit !(v > 200) }'; then
        fail "$1 looks blank (pixel variance $var)"
    fi
}

# run_ok CMD...: the command succeeds; its stdout is left in $out. Returns
# the command's status.
run_ok() {
    checks=$((checks + 1))
    out=$("$@" 2>"$tmp/err")
    local rc=$?
    [ "$rc" -eq 0 ] || fail "'$*' exited $rc: $(cat "$tmp/err")"
    return "$rc"
}

# ---------------- help ----------------
run_ok "$REWIRE" plot --help
for word in --log --rewiring --connectivity --weights --confusion --continual --height; do
    grep -q -- "$word" <<<"$out" || fail "plot --help does not mention $word"
done

# ---------------- pictures of training logs ----------------
run_ok "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/curves.png" --stats
check_png "$tmp/curves.png" 1000 700 "$out"
[ -s "$tmp/err" ] && fail "complete log gave warnings: $(cat "$tmp/err")"

run_ok "$REWIRE" plot --log "$FIX/run_small.jsonl" --rewiring -o "$tmp/rewiring.png" --stats
check_png "$tmp/rewiring.png" 1100 820 "$out"

run_ok "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/small.png" --size 640x480 --stats --title "A custom title"
check_png "$tmp/small.png" 640 480 "$out"

# vector formats by extension
run_ok "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/curves.svg"
grep -q "<svg" "$tmp/curves.svg" || fail "curves.svg is not SVG"
run_ok "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/curves.pdf"
[ "$(head -c 5 "$tmp/curves.pdf")" = "%PDF-" ] || fail "curves.pdf is not PDF"

# a killed run: the last line is cut off; epochs 1-5 are complete
run_ok "$REWIRE" plot --log "$FIX/run_truncated.jsonl" -o "$tmp/trunc.png" --stats
check_png "$tmp/trunc.png" 1000 700 "$out"
grep -q "run_truncated.jsonl: line 6 is incomplete; plotted epochs 1-5" "$tmp/err" ||
    fail "no warning about the incomplete line: '$(cat "$tmp/err")'"

# a dense log has no per-layer statistics to draw
expect_fail 1 "run_truncated.jsonl: .*per-layer" \
    "$REWIRE" plot --log "$FIX/run_truncated.jsonl" --rewiring -o "$tmp/x.png"

# missing, empty and malformed logs
expect_fail 1 "^rewire plot: $tmp/missing.jsonl: cannot read: No such file" \
    "$REWIRE" plot --log "$tmp/missing.jsonl" -o "$tmp/x.png"
: >"$tmp/empty.jsonl"
expect_fail 1 "empty.jsonl: .*empty" "$REWIRE" plot --log "$tmp/empty.jsonl" -o "$tmp/x.png"
printf '{"note":"no epochs here"}\n' >"$tmp/noepoch.jsonl"
expect_fail 1 "noepoch.jsonl: no epochs" "$REWIRE" plot --log "$tmp/noepoch.jsonl" -o "$tmp/x.png"
{
    head -n 1 "$FIX/run_small.jsonl"
    printf '{"epoch":2,"train_loss":0.5,,}\n'
    sed -n 3p "$FIX/run_small.jsonl"
} >"$tmp/broken.jsonl"
byte=$(($(head -n 1 "$FIX/run_small.jsonl" | wc -c) + 28))
expect_fail 1 "broken.jsonl: line 2, column 29 \(byte $byte\): unexpected ','" \
    "$REWIRE" plot --log "$tmp/broken.jsonl" -o "$tmp/x.png"
printf '{"epoch":1,"train_loss":"low"}\n' >"$tmp/badtype.jsonl"
expect_fail 1 'badtype.jsonl: line 1: "train_loss" should be a number, not a string' \
    "$REWIRE" plot --log "$tmp/badtype.jsonl" -o "$tmp/x.png"
[ -e "$tmp/x.png" ] && fail "a failed plot left $tmp/x.png behind"
# a write error is reported (and the device is not removed)
if [ -w /dev/full ]; then
    ln -s /dev/full "$tmp/full.png"
    expect_fail 1 "full.png: cannot write: No space left on device" \
        "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/full.png"
    [ -L "$tmp/full.png" ] || fail "the link to /dev/full was removed"
fi

# ---------------- continual learning ----------------
run_ok "$REWIRE" plot --continual "$FIX/continual_small.json" -o "$tmp/retention.png" --stats
check_png "$tmp/retention.png" 820 720 "$out"
printf '{"tasks":["a","b"],"matrix":[[0.9,null],[0.5,0.8]]}' >"$tmp/nulls.json"
run_ok "$REWIRE" plot --continual "$tmp/nulls.json" -o "$tmp/nulls.png" --stats
check_png "$tmp/nulls.png" 820 720 "$out"
# names are drawn even when they are not valid UTF-8
printf '{"method":"bad \xff\xfe name","tasks":["\xc3\x28","b"],"matrix":[[0.9,0.1],[0.5,0.8]]}' >"$tmp/latin1.json"
run_ok "$REWIRE" plot --continual "$tmp/latin1.json" -o "$tmp/latin1.png" --stats
check_png "$tmp/latin1.png" 820 720 "$out"
printf '{"tasks":["a","b"],"matrix":[[0.9,0.1],[0.5]]}' >"$tmp/ragged.json"
expect_fail 1 "ragged.json: matrix\[1\] should be an array of 2 numbers" \
    "$REWIRE" plot --continual "$tmp/ragged.json" -o "$tmp/x.png"
printf '{"matrix":[[0.9,\n 0.1]' >"$tmp/cut.json"
expect_fail 1 "cut.json: line 2, column 6 \(byte 22\): unexpected end of text" \
    "$REWIRE" plot --continual "$tmp/cut.json" -o "$tmp/x.png"

# ---------------- usage errors ----------------
expect_fail 2 "nothing to plot" "$REWIRE" plot -o "$tmp/x.png"
expect_fail 2 "unknown option '--bogus'" "$REWIRE" plot --log "$FIX/run_small.jsonl" --bogus
expect_fail 2 "no output file" "$REWIRE" plot --log "$FIX/run_small.jsonl"
expect_fail 2 "option --log needs a value" "$REWIRE" plot --log
expect_fail 2 "choose --connectivity, --weights or --confusion" "$REWIRE" plot --model m.rwm -o "$tmp/x.png"
expect_fail 2 "--size needs WIDTHxHEIGHT" "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/x.png" --size big
expect_fail 2 "x.jpg: unknown picture format '.jpg'" \
    "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/x.jpg"
expect_fail 2 "x: the output name needs an extension" \
    "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/x"
expect_fail 1 "nodir/x.png: cannot write: No such file" \
    "$REWIRE" plot --log "$FIX/run_small.jsonl" -o "$tmp/nodir/x.png"

# ---------------- pictures of models ----------------
if run_ok "$REWIRE" train --data spirals --hidden 16 --epochs 1 --save "$tmp/spirals.rwm" --quiet; then
    run_ok "$REWIRE" plot --model "$tmp/spirals.rwm" --weights -o "$tmp/weights.png" --stats
    check_png "$tmp/weights.png" 1000 460 "$out"
    run_ok "$REWIRE" plot --model "$tmp/spirals.rwm" --data spirals --confusion -o "$tmp/cm.png" --stats
    check_png "$tmp/cm.png" 900 820 "$out"
    expect_fail 1 "spirals.rwm: model input \(2 features\) is not image-shaped; pass --height and --width" \
        "$REWIRE" plot --model "$tmp/spirals.rwm" --connectivity -o "$tmp/x.png"
    expect_fail 1 "does not match the model input \(2 features\)" \
        "$REWIRE" plot --model "$tmp/spirals.rwm" --connectivity --height 3 --width 3 -o "$tmp/x.png"
fi
expect_fail 1 "^rewire plot: $tmp/none.rwm: " "$REWIRE" plot --model "$tmp/none.rwm" --weights -o "$tmp/x.png"

# A 4 x 4 "image" data set written here: 16 features, two classes.
awk 'BEGIN {
    s = 12345
    for (i = 0; i < 300; i++) {
        line = ""; sum = 0
        for (j = 0; j < 16; j++) {
            s = (s * 1103515245 + 12345) % 2147483648
            v = (s % 1000) / 1000
            if (j % 4 < 2) sum += v
            line = line sprintf("%.3f,", v)
        }
        print line (sum > 4 ? 1 : 0)
    }
}' >"$tmp/img16.csv"
if run_ok "$REWIRE" train --data "$tmp/img16.csv" --hidden 32 --sparse --density 0.3 \
    --epochs 2 --save "$tmp/img16.rwm" --quiet; then
    run_ok "$REWIRE" plot --model "$tmp/img16.rwm" --connectivity --height 4 --width 4 \
        -o "$tmp/map.png" --stats
    check_png "$tmp/map.png" 760 640 "$out"
    run_ok "$REWIRE" plot --model "$tmp/img16.rwm" --model-start "$tmp/img16.rwm" \
        --connectivity --height 4 --width 4 -o "$tmp/map2.png" --stats
    check_png "$tmp/map2.png" 1180 640 "$out"
    # the counts printed for the map add up to the first layer's connections
    run_ok "$REWIRE" plot --model "$tmp/img16.rwm" --connectivity --height 4 --width 4 --print-counts
    counts=$out
    rows=$(grep -c . <<<"$counts")
    [ "$rows" -eq 4 ] || fail "--print-counts printed $rows rows, expected 4"
    sum=$(awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s + 0 }' <<<"$counts")
    run_ok "$REWIRE" info --model "$tmp/img16.rwm" --json
    first=$(sed -n 's/.*"layers":\[{[^}]*"connections":\([0-9]*\).*/\1/p' <<<"$out")
    [ -n "$first" ] || fail "no first-layer connections in rewire info --json: $out"
    [ "$sum" = "$first" ] || fail "per-input counts add up to $sum, the first layer has $first connections"
    # a 16-input model is square (4 x 4) without --height/--width
    run_ok "$REWIRE" plot --model "$tmp/img16.rwm" --connectivity -o "$tmp/map3.png" --stats
    check_png "$tmp/map3.png" 760 640 "$out"
fi

# train --plot DIR without --log: the log goes to DIR/run.jsonl and the
# learning curves and the rewiring picture are drawn from it.
run_ok "$REWIRE" train --data spirals --hidden 32,32 --sparse --rewire set --epochs 3 \
    --quiet --plot "$tmp/trainplot"
for f in run.jsonl curves.png rewiring.png; do
    checks=$((checks + 1))
    [ -s "$tmp/trainplot/$f" ] || fail "train --plot without --log wrote no $f"
done
png_size "$tmp/trainplot/curves.png" > /dev/null || fail "curves.png is not a PNG"
# An option that would do nothing on its own is refused.
expect_fail 2 "--checkpoint-every needs --checkpoint FILE" \
    "$REWIRE" train --data spirals --checkpoint-every 10

cli_end
