#!/usr/bin/env bash
# The command-line tool as a user drives it: train, save, eval, predict,
# info with their JSON fields; determinism; and every bad-input path gives
# a clear message and a non-zero exit, never a crash.
#   tests/cli_basic.sh path/to/rewire fixtures-dir
set -u
rw=${1:?path to rewire}
fixtures=${2:?fixtures folder}
# fontconfig keeps caches for the life of the process (--plot draws).
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$fixtures/lsan-fontconfig.supp:print_suppressions=0"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error "what must appear in the message" command...
expect_error() {
  local want=$1; shift
  "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$?
  [ $rc -ne 0 ] || fail "succeeded but should fail: $*"
  [ $rc -lt 128 ] || fail "crashed (exit $rc): $*"
  grep -qF -- "$want" "$tmp/err" || fail "message lacks '$want' for: $* -- got: $(cat "$tmp/err")"
}

# --- a small classification CSV with a header, 3 classes, 6 features
awk 'BEGIN { srand(3); print "a,b,c,d,e,f,label";
  for (i = 0; i < 900; i++) { c = i % 3; line = "";
    for (j = 0; j < 6; j++) line = line sprintf("%.3f,", (j % 3 == c) * 2 + rand());
    print line c } }' > "$tmp/train.csv"
head -1 "$tmp/train.csv" > "$tmp/test.csv"
tail -n 150 "$tmp/train.csv" >> "$tmp/test.csv"

"$rw" train --data "$tmp/train.csv" --test "$tmp/test.csv" --hidden 16,16 --epochs 5 --lr 0.01 \
  --save "$tmp/m.rwm" --log "$tmp/log.jsonl" --json --quiet --threads 2 > "$tmp/train.json" ||
  fail "train"
for f in test_accuracy test_loss train_seconds samples_per_second epochs parameters connections; do
  grep -q "\"$f\":" "$tmp/train.json" || fail "train --json lacks $f"
done
grep -q '"epochs":5' "$tmp/train.json" || fail "epochs in $(cat "$tmp/train.json")"
acc=$(sed 's/.*"test_accuracy":\([0-9.]*\).*/\1/' "$tmp/train.json")
awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }' || fail "test accuracy $acc on an easy problem"
[ "$(wc -l < "$tmp/log.jsonl")" -eq 5 ] || fail "log should have 5 lines"
for f in epoch train_loss train_accuracy test_loss test_accuracy seconds lr; do
  grep -q "\"$f\":" "$tmp/log.jsonl" || fail "log lacks $f"
done

"$rw" eval --model "$tmp/m.rwm" --data "$tmp/test.csv" --json > "$tmp/eval.json" || fail "eval"
grep -q '"samples":150' "$tmp/eval.json" || fail "eval samples: $(cat "$tmp/eval.json")"
grep -q "\"accuracy\":$acc" "$tmp/eval.json" || fail "eval accuracy differs from train's: $(cat "$tmp/eval.json") vs $acc"
"$rw" predict --model "$tmp/m.rwm" --data "$tmp/test.csv" > "$tmp/pred" || fail "predict"
[ "$(wc -l < "$tmp/pred")" -eq 150 ] || fail "predict lines"
grep -qvE '^[0-2]$' "$tmp/pred" && fail "predict printed something other than classes"
"$rw" predict --model "$tmp/m.rwm" --data "$tmp/test.csv" --proba > "$tmp/proba" || fail "predict --proba"
awk -F, '{ s = $1 + $2 + $3; if (NF != 3 || s < 0.999 || s > 1.001) exit 1 }' "$tmp/proba" ||
  fail "probabilities do not sum to 1"
# --- raw samples without a label column: the test set's 6 features alone
tail -n 150 "$tmp/train.csv" | cut -d, -f1-6 > "$tmp/raw.csv"
"$rw" predict --model "$tmp/m.rwm" --data "$tmp/raw.csv" > "$tmp/pred_raw" ||
  fail "predict on raw samples: $(cat "$tmp/pred_raw")"
cmp -s "$tmp/pred" "$tmp/pred_raw" || fail "raw samples predicted differently from labelled ones"
"$rw" predict --model "$tmp/m.rwm" --data "$tmp/raw.csv" --no-labels --proba > "$tmp/proba_raw" ||
  fail "predict --no-labels"
cmp -s "$tmp/proba" "$tmp/proba_raw" || fail "--no-labels probabilities differ"
# integer-valued raw samples (whose last column could pass for a label)
printf '0,0,0,0,0,1
2,2,2,2,2,0
' > "$tmp/raw_int.csv"
"$rw" predict --model "$tmp/m.rwm" --data "$tmp/raw_int.csv" > "$tmp/pred_int" || fail "predict raw integers"
[ "$(wc -l < "$tmp/pred_int")" -eq 2 ] || fail "raw integer rows: $(cat "$tmp/pred_int")"
# --no-labels with a labelled file: 7 features for a 6-input model
expect_error "7 features per sample" "$rw" predict --model "$tmp/m.rwm" --data "$tmp/test.csv" --no-labels
expect_error "exclude each other" "$rw" predict --model "$tmp/m.rwm" --data "$tmp/raw.csv" --no-labels --label-column first
expect_error "does not apply" "$rw" eval --model "$tmp/m.rwm" --data "$tmp/raw.csv" --no-labels
# Options that would do nothing beside the others are refused, naming why.
expect_error "--hidden is empty" "$rw" train --data "$tmp/train.csv" --hidden ""
head -2 "$tmp/train.csv" > "$tmp/row.csv"
expect_error "row.csv: --holdout 0.1: " "$rw" train --data "$tmp/row.csv"
expect_error "this run does not prune" "$rw" train --data "$tmp/train.csv" --prune-to 0.2
expect_error "give one of them" "$rw" train --data "$tmp/train.csv" --test "$tmp/test.csv" --holdout 0.3
expect_error "give --schedule cosine" "$rw" train --data "$tmp/train.csv" --lr-min 0.0001
expect_error "above the learning rate" "$rw" train --data "$tmp/train.csv" --schedule cosine --lr-min 0.5
expect_error "give --schedule step" "$rw" train --data "$tmp/train.csv" --step-gamma 0.5
# eval still needs labels: a raw file is not read as unlabelled there
expect_error "expected a class label" "$rw" eval --model "$tmp/m.rwm" --data "$tmp/raw.csv"
# a regression model (4 inputs, 2 outputs): raw rows, and rows with a float
# target in the label column
mse=$fixtures/../../fuzz/corpus/model/transform_mse.rwm
printf '0.5,1,2,3
-1,0.25,0,1
' > "$tmp/reg_raw.csv"
"$rw" predict --model "$mse" --data "$tmp/reg_raw.csv" > "$tmp/reg1" || fail "regression predict, raw"
printf '0.5,1,2,3,0.75
-1,0.25,0,1,1.5
' > "$tmp/reg_lab.csv"
"$rw" predict --model "$mse" --data "$tmp/reg_lab.csv" > "$tmp/reg2" || fail "regression predict, float target: $(cat "$tmp/err")"
cmp -s "$tmp/reg1" "$tmp/reg2" && [ "$(wc -l < "$tmp/reg1")" -eq 2 ] &&
  awk -F, '{ if (NF != 2) exit 1 }' "$tmp/reg1" || fail "regression predictions: $(cat "$tmp/reg1") / $(cat "$tmp/reg2")"
"$rw" info --model "$tmp/m.rwm" --json > "$tmp/info.json" || fail "info"
# Output that cannot be written is a failure (a full disk: /dev/full).
if [ -w /dev/full ]; then
    for cmd in "info --model $tmp/m.rwm --json" "eval --model $tmp/m.rwm --data $tmp/test.csv" \
               "--version"; do
        # shellcheck disable=SC2086
        "$rw" $cmd > /dev/full 2> "$tmp/err" && fail "'rewire $cmd > /dev/full' exited 0"
        grep -q "cannot write to standard output" "$tmp/err" ||
            fail "'rewire $cmd > /dev/full': $(head -c 300 "$tmp/err")"
    done
fi
grep -q '"layers":\[' "$tmp/info.json" && grep -q '"parameters":' "$tmp/info.json" &&
  grep -q '"neurons":16' "$tmp/info.json" || fail "info json: $(cat "$tmp/info.json")"

# --- progress with stderr in a file: plain lines, no bar (no carriage
# returns); a short epoch prints only its epoch line
"$rw" train --data "$tmp/train.csv" --hidden 8 --epochs 2 --threads 2 --save "$tmp/p.rwm" \
  > /dev/null 2> "$tmp/progress" || fail "train with stderr to a file"
grep -q $'\r' "$tmp/progress" && fail "a progress bar went to a file"
[ "$(grep -c '^epoch ' "$tmp/progress")" -eq 2 ] || fail "epoch lines: $(cat "$tmp/progress")"
grep -q 'batch ' "$tmp/progress" && fail "intermediate lines for a short epoch: $(cat "$tmp/progress")"

# --- same seed and threads: identical models; another seed: different
"$rw" train --data "$tmp/train.csv" --hidden 16 --epsilon 2 --epochs 3 --seed 9 --threads 2 \
  --quiet --save "$tmp/a.rwm" > /dev/null || fail "train a"
"$rw" train --data "$tmp/train.csv" --hidden 16 --epsilon 2 --epochs 3 --seed 9 --threads 2 \
  --quiet --save "$tmp/b.rwm" > /dev/null || fail "train b"
cmp -s "$tmp/a.rwm" "$tmp/b.rwm" || fail "same seed gave different models"
"$rw" train --data "$tmp/train.csv" --hidden 16 --epsilon 2 --epochs 3 --seed 10 --threads 2 \
  --quiet --save "$tmp/c.rwm" > /dev/null || fail "train c"
cmp -s "$tmp/a.rwm" "$tmp/c.rwm" && fail "different seeds gave the same model"

# --- bad input: model files
expect_error "cannot open model" "$rw" eval --model "$tmp/missing.rwm" --data "$tmp/test.csv"
head -c 100 "$tmp/m.rwm" > "$tmp/trunc.rwm"
expect_error "trunc.rwm" "$rw" info --model "$tmp/trunc.rwm"
printf 'NOTAMODEL-------------------' > "$tmp/magic.rwm"
expect_error "bad magic" "$rw" info --model "$tmp/magic.rwm"
: > "$tmp/empty.rwm"
expect_error "empty" "$rw" info --model "$tmp/empty.rwm"
cp "$tmp/m.rwm" "$tmp/flip.rwm"
printf '\x55' | dd of="$tmp/flip.rwm" bs=1 seek=200 conv=notrunc status=none
expect_error "CRC" "$rw" info --model "$tmp/flip.rwm"

# --- bad input: data
printf 'a,b,c,d,e,f,label\n1,2,3,4,5,6,0\n1,2,x3,4,5,6,1\n' > "$tmp/bad.csv"
expect_error "line 3, column 3" "$rw" train --data "$tmp/bad.csv"
: > "$tmp/empty.csv"
expect_error "empty.csv" "$rw" train --data "$tmp/empty.csv"
printf '1,2,3,4,5,6,7\n' > "$tmp/label.csv"
cat "$tmp/label.csv" "$tmp/label.csv" > "$tmp/label2.csv"
expect_error "label" "$rw" eval --model "$tmp/m.rwm" --data "$tmp/label2.csv"
# the whole message, once: the file's name already holds "label"
grep -qxF "rewire eval: label2.csv: 2 x 6, 8 classes: sample 0: label 7 is outside the model's 3 classes (0..2)" "$tmp/err" ||
  fail "label message: $(cat "$tmp/err")"
printf '1,2,0\n3,4,1\n' > "$tmp/narrow.csv"
expect_error "features" "$rw" eval --model "$tmp/m.rwm" --data "$tmp/narrow.csv"
# IDX whose header claims 60000 images of 28x28 but holds 10 bytes
printf '\x00\x00\x08\x03\x00\x00\xea\x60\x00\x00\x00\x1c\x00\x00\x00\x1c0123456789' > "$tmp/img.idx"
printf '\x00\x00\x08\x01\x00\x00\xea\x60' > "$tmp/lab.idx"
expect_error "img.idx" "$rw" train --data "$tmp/img.idx,$tmp/lab.idx"
# ... or billions of them: must fail fast, not allocate
printf '\x00\x00\x08\x03\x7f\xff\xff\xff\x00\x00\x00\x1c\x00\x00\x00\x1c' > "$tmp/huge.idx"
expect_error "huge.idx" "$rw" train --data "$tmp/huge.idx,$tmp/lab.idx"
expect_error "not found" "$rw" train --data "$tmp/nothing.csv"

# --- a network too large for the machine is refused up front
expect_error "GiB" "$rw" train --data spirals --hidden 2000000,2000000 --epochs 1

# --- bad input: options
expect_error "unknown option '--bogus'" "$rw" train --data spirals --bogus
expect_error "--epochs expects a whole number" "$rw" train --data spirals --epochs x
expect_error "--lr expects a number" "$rw" train --data spirals --lr fast
expect_error "--optimizer must be" "$rw" train --data spirals --optimizer rmsprop
expect_error "--hidden expects positive sizes" "$rw" train --data spirals --hidden 10,,4
# A first line taken for a header though it holds numbers is reported
# (a data line with a typo would otherwise vanish); a header of names is not.
{ echo "1,,1,1,1,1,0"; tail -n 3 "$tmp/test.csv"; } > "$tmp/typo.csv"
"$rw" predict --model "$tmp/m.rwm" --data "$tmp/typo.csv" > "$tmp/out" 2> "$tmp/err" ||
  fail "predict on typo.csv: $(cat "$tmp/err")"
grep -q "typo.csv: line 1 is read as a header and not used, though 6 of its 7 fields are numbers" "$tmp/err" ||
  fail "no header note for typo.csv: $(cat "$tmp/err")"
"$rw" predict --model "$tmp/m.rwm" --data "$tmp/test.csv" > "$tmp/out" 2> "$tmp/err" || fail "predict"
grep -q "read as a header" "$tmp/err" && fail "a header of names was reported: $(cat "$tmp/err")"
# No output overwrites an input or another output.
cp "$tmp/test.csv" "$tmp/test_copy.csv"
expect_error "--log $tmp/test.csv would overwrite the file that --test reads" \
  "$rw" train --data "$tmp/train.csv" --test "$tmp/test.csv" --hidden 4 --epochs 1 --log "$tmp/test.csv"
cmp -s "$tmp/test.csv" "$tmp/test_copy.csv" || fail "--log over the test data changed it"
expect_error "--save and --checkpoint name the same file" \
  "$rw" train --data spirals --hidden 4 --epochs 1 --save "$tmp/same.rwm" --checkpoint "$tmp/./same.rwm"
expect_error "--save and --log name the same file" \
  "$rw" train --data spirals --hidden 4 --epochs 1 --save "$tmp/m.rwm" --log "$tmp/m.rwm"
# --plot DIR's pictures and log count as outputs, in a folder that exists
# or one that --plot makes; --resume may name only the --checkpoint.
mkdir -p "$tmp/pd"
cp "$tmp/train.csv" "$tmp/pd/run.jsonl"
expect_error "--plot $tmp/pd/run.jsonl would overwrite the file that --data reads" \
  "$rw" train --data "$tmp/pd/run.jsonl" --hidden 4 --epochs 1 --plot "$tmp/pd"
cmp -s "$tmp/train.csv" "$tmp/pd/run.jsonl" || fail "--plot over the data changed it"
expect_error "--save and --plot name the same file ($tmp/pd/curves.png)" \
  "$rw" train --data spirals --hidden 4 --epochs 1 --plot "$tmp/pd" --save "$tmp/pd/curves.png"
expect_error "--log and --plot name the same file ($tmp/new_pd/rewiring.png)" \
  "$rw" train --data spirals --hidden 4 --epochs 1 --plot "$tmp/new_pd" --log "$tmp/new_pd/rewiring.png"
"$rw" train --data spirals --hidden 4 --epochs 1 --quiet --plot "$tmp/pd2" --save "$tmp/pd2/m.rwm" \
  > "$tmp/out" 2> "$tmp/err" || fail "--save into the folder --plot makes: $(cat "$tmp/err")"
"$rw" train --data spirals --hidden 4 --epochs 1 --quiet --checkpoint "$tmp/rck.rwm" > /dev/null 2>&1 ||
  fail "checkpoint for --resume"
expect_error "--save $tmp/rck.rwm would overwrite the file that --resume reads" \
  "$rw" train --data spirals --hidden 4 --epochs 1 --resume "$tmp/rck.rwm" --save "$tmp/rck.rwm"
expect_error "--log $tmp/rck.rwm would overwrite the file that --resume reads" \
  "$rw" train --data spirals --hidden 4 --epochs 1 --resume "$tmp/rck.rwm" --log "$tmp/rck.rwm"
# A model given as data is named as such; an IDX pair with an empty name
# says which; plot's sizes give their range.
expect_error "$tmp/m.rwm: is a rewire model file (\"RWMODEL\" at byte 0), not data" \
  "$rw" eval --model "$tmp/m.rwm" --data "$tmp/m.rwm"
expect_error "--version takes no arguments, got 'extra'" "$rw" --version extra
expect_error "the labels file's name is empty: expected an IDX pair IMAGES,LABELS" \
  "$rw" train --data "$tmp/m.rwm,"
expect_error "--height must be between 1 and 1048576, got 99999999" \
  "$rw" plot --model "$tmp/m.rwm" --connectivity --height 99999999 --out "$tmp/c.png"
# A device or a pipe is never replaced by a saved model, and a pipe is
# refused as a model instead of waited on.
mkfifo "$tmp/pipe"
expect_error "$tmp/pipe: is not a regular file (a device, pipe or socket), which saving the model would replace" \
  "$rw" train --data spirals --hidden 4 --epochs 1 --save "$tmp/pipe"
[ -p "$tmp/pipe" ] || fail "--save replaced the pipe"
expect_error "cannot open model $tmp/pipe: not a regular file (a pipe, device or socket)" \
  timeout 20 "$rw" info --model "$tmp/pipe"
expect_error "$tmp/pipe: not a regular file (a pipe, device or socket)" \
  timeout 20 "$rw" plot --log "$tmp/pipe" --out "$tmp/p.png"
expect_error "--epochs must be between 1 and 1000000, got -1" "$rw" train --data spirals --epochs -1
expect_error "--epochs must be between 1 and 1000000, got 99999999999999999999" "$rw" train --data spirals --epochs 99999999999999999999
expect_error "--seed expects a whole number of 0 or more, got -1" "$rw" train --data spirals --seed -1
expect_error "--seed expects a whole number" "$rw" train --data spirals --seed " -1"
expect_error "--hidden expects positive sizes" "$rw" train --data spirals --hidden "10, -5"
expect_error "--hidden: a layer of 100000000000 neurons is too large" \
  "$rw" train --data spirals --hidden 100000000000
expect_error "give one of --epsilon, --density and --erk" \
  "$rw" train --data spirals --epsilon 20 --density 0.1
awk 'BEGIN { for (i = 0; i < 40; i++) print i "," 2 * i ",0" }' > "$tmp/oneclass.csv"
expect_error "every training sample has label 0; a classifier needs at least 2 classes" \
  "$rw" train --data "$tmp/oneclass.csv"
"$rw" train --data spirals --epsilon 1000000 --epochs 1 > /dev/null 2> "$tmp/err" ||
  fail "train at a huge epsilon"
grep -q "rewiring: SET (every layer is fully connected: there is nothing to rewire)" "$tmp/err" ||
  fail "a fully connected run does not say there is nothing to rewire: $(cat "$tmp/err")"
# The model keeps where training found the labels: eval and predict read
# a CSV of that layout without --label-column.
awk -F, '{ printf "%s", $NF; for (i = 1; i < NF; i++) printf ",%s", $i; print "" }' \
  "$tmp/train.csv" > "$tmp/first.csv"
"$rw" train --data "$tmp/first.csv" --label-column first --hidden 8 --epochs 2 \
  --quiet --save "$tmp/first.rwm" > /dev/null || fail "train with labels first"
"$rw" eval --model "$tmp/first.rwm" --data "$tmp/first.csv" --json > "$tmp/o" ||
  fail "eval without --label-column: $(cat "$tmp/o")"
grep -q '"samples":900' "$tmp/o" || fail "eval of labels-first data: $(cat "$tmp/o")"
"$rw" predict --model "$tmp/first.rwm" --data "$tmp/first.csv" > "$tmp/o" ||
  fail "predict without --label-column"
[ "$(wc -l < "$tmp/o")" -eq 900 ] || fail "predict of labels-first data: $(wc -l < "$tmp/o") lines"
"$rw" info --model "$tmp/first.rwm" --json | grep -q '"label_column":0' ||
  fail "info does not show the label column"
"$rw" info --model "$tmp/m.rwm" --json | grep -q '"label_column":"last"' ||
  fail "info: the default label column"
# Likely slips get a hint: another CSV separator, an IDX pair swapped.
printf 'a;b;label\n1;2;0\n' > "$tmp/semi.csv"
expect_error "semi.csv: line 1: expected at least 2 columns (features and a label), found 1 (the columns must be separated by commas; this line has ';' instead)" \
  "$rw" train --data "$tmp/semi.csv"
printf '\0\0\10\1\0\0\0\2\0\1' > "$tmp/lab.idx"
printf '\0\0\10\3\0\0\0\2\0\0\0\2\0\0\0\2\1\2\3\4\5\6\7\10' > "$tmp/img.idx"
expect_error "img.idx: byte 3: expected 1 dimension for labels, found 3 (this looks like an images file: give the pair as IMAGES,LABELS)" \
  "$rw" train --data "$tmp/lab.idx,$tmp/img.idx"
expect_error "--data SPEC is required" "$rw" train
expect_error "--model FILE is required" "$rw" eval --data spirals
expect_error "unknown command" "$rw" frobnicate
expect_error "does not apply" "$rw" info --model "$tmp/m.rwm" --proba
for cmd in train eval predict info plot continual; do
  "$rw" $cmd --help > "$tmp/help" 2>&1 || fail "$cmd --help"
  grep -qi "usage: rewire $cmd" "$tmp/help" || fail "$cmd --help has no usage line"
done
echo "cli tests passed"
