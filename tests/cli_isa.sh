#!/usr/bin/env bash
# The SIMD path of the sparse kernels from the command line: rewire names
# it (--version, the train header, train --json "sparse_isa"), RW_ISA forces
# each path the CPU runs, and a path it cannot run, or a name that is no
# path, is refused with a clear message and exit status 2. Every path
# trains the same small network to a close result.
#
# usage: bash tests/cli_isa.sh path/to/rewire tests/fixtures
set -u
REWIRE=$1
. "$(dirname "$0")/lib_cli.sh"
cli_begin cli_isa "$REWIRE"

ver=$("$REWIRE" --version)
checks=$((checks + 1))
line=$(grep '^sparse kernels: ' <<<"$ver") || fail "--version names no sparse kernels: $ver"
best=$(sed -E 's/^sparse kernels: ([a-z0-9]+) .*/\1/' <<<"$line")
runs=$(sed -E 's/.*this CPU runs: ([a-z0-9 ]+)\)/\1/' <<<"$line")
case "$best" in avx512 | avx2 | generic) ;; *) fail "--version: path '$best'" ;; esac
checks=$((checks + 1))
grep -qw generic <<<"$runs" || fail "the generic path is not listed: $line"

expect_fail 2 'RW_ISA=sse9: unknown SIMD path \(expected avx512, avx2, generic or auto\)' \
    env RW_ISA=sse9 "$REWIRE" train --data xor --epochs 1
expect_fail 2 'RW_ISA=AVX2: unknown SIMD path' env RW_ISA=AVX2 "$REWIRE" --version
for p in avx512 avx2; do
    if ! grep -qw "$p" <<<"$runs"; then
        expect_fail 2 "RW_ISA=$p: this CPU cannot run the $p path \(it runs: " \
            env RW_ISA=$p "$REWIRE" train --data xor --epochs 1
    fi
done

acc_of() { sed -E 's/.*"test_accuracy":([0-9.eE+-]+).*/\1/' <<<"$1"; }
first=""
for p in $runs auto; do
    out=$(RW_ISA=$p "$REWIRE" train --data spirals --hidden 32,32 --density 0.3 \
        --rewire set --epochs 5 --seed 3 --threads 1 --json 2>"$tmp/err")
    checks=$((checks + 1))
    want=$p
    [ "$p" = auto ] && want=$best
    grep -q "\"sparse_isa\":\"$want\"" <<<"$out" || fail "RW_ISA=$p: json $out"
    checks=$((checks + 1))
    grep -q "sparse kernels: $want" "$tmp/err" || fail "RW_ISA=$p: header $(head -c 300 "$tmp/err")"
    acc=$(acc_of "$out")
    if [ -z "$first" ]; then
        first=$acc
    else
        # The paths round differently (FMA, lane sums), never by much.
        checks=$((checks + 1))
        awk -v a="$acc" -v b="$first" 'BEGIN { d = a - b; exit !(d < 0.05 && d > -0.05) }' ||
            fail "RW_ISA=$p: accuracy $acc against $first"
    fi
    # The same path twice gives the very same result.
    out2=$(RW_ISA=$p "$REWIRE" train --data spirals --hidden 32,32 --density 0.3 \
        --rewire set --epochs 5 --seed 3 --threads 1 --json 2>/dev/null)
    checks=$((checks + 1))
    [ "$(acc_of "$out2")" = "$acc" ] && [ "$(sed -E 's/.*"test_loss":([^,]*).*/\1/' <<<"$out2")" = \
        "$(sed -E 's/.*"test_loss":([^,]*).*/\1/' <<<"$out")" ] ||
        fail "RW_ISA=$p: two runs differ"
done
# The data-parallel switches are refused when wrong, with one rank too;
# empty is unset.
expect_fail 1 "RW_DIST_ALLREDUCE=tcp: expected shm, ring or mpi" \
    env RW_DIST_ALLREDUCE=tcp "$REWIRE" train --data spirals --hidden 8 --epochs 1 --quiet
expect_fail 1 "RW_DIST_SHARD=yes: expected 0 or 1" \
    env RW_DIST_SHARD=yes "$REWIRE" train --data spirals --hidden 8 --epochs 1 --quiet
checks=$((checks + 1))
RW_DIST_ALLREDUCE= RW_DIST_SHARD= "$REWIRE" train --data spirals --hidden 8 --epochs 1 \
    --quiet > /dev/null 2>&1 || fail "empty RW_DIST_ALLREDUCE and RW_DIST_SHARD were refused"
# --precision bf16: the header and "precision" say so, the run is as
# deterministic as fp32's, lands close to it, and a bad value is refused.
expect_fail 2 '--precision must be fp32 or bf16, got "fp16"' \
    "$REWIRE" train --data xor --epochs 1 --precision fp16
prec_run() {
    "$REWIRE" train --data spirals --hidden 32,32 --density 0.3 --rewire set \
        --epochs 5 --seed 3 --threads 2 --json --precision "$1" 2>"$tmp/err"
}
p32=$(prec_run fp32)
checks=$((checks + 1))
grep -q '"precision":"fp32"' <<<"$p32" || fail "fp32: json $p32"
p16=$(prec_run bf16)
checks=$((checks + 1))
grep -q '"precision":"bf16"' <<<"$p16" || fail "bf16: json $p16"
checks=$((checks + 1))
grep -q 'sparse kernels: [a-z0-9]*, bf16 rows' "$tmp/err" || fail "bf16: header $(head -c 300 "$tmp/err")"
checks=$((checks + 1))
loss_of() { grep -q '"test_loss":' <<<"$1" && sed -E 's/.*"test_loss":([^,]*).*/\1/' <<<"$1"; }
checks=$((checks + 1))
loss_of "$p16" > /dev/null && loss_of "$p32" > /dev/null || fail "no test_loss: $p32 / $p16"
[ "$(loss_of "$(prec_run bf16)")" = "$(loss_of "$p16")" ] || fail "bf16: two runs differ"
checks=$((checks + 1))
[ "$(loss_of "$p16")" != "$(loss_of "$p32")" ] || fail "bf16: the same test loss as fp32"
checks=$((checks + 1))
awk -v a="$(acc_of "$p16")" -v b="$(acc_of "$p32")" 'BEGIN { d = a - b; exit !(d < 0.05 && d > -0.05) }' ||
    fail "bf16: accuracy $(acc_of "$p16") against fp32's $(acc_of "$p32")"
cli_end
