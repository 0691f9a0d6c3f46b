#!/usr/bin/env bash
# Runs the benchmarks behind the README's tables, one after another (never
# two at once: on a small machine they would spoil each other's figures),
# for every SIMD path this CPU runs, and names the CPU first.
#
#   bench/run_all.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, bench-out)
#
# Each program's output goes to OUT_DIR/NAME.txt and to the terminal.
# SCALE=1 also trains one tenth of an epoch of the 1,000,000-neuron
# network (784-333333x3-10, epsilon 20) on each path; it needs the
# dataset-fashion-mnist package and about 3 GB of memory.
set -euo pipefail
build=${1:-build}
out=${2:-bench-out}
mkdir -p "$out"
run() {
    local name=$1
    shift
    echo "== $name: $*" | tee "$out/$name.txt"
    "$@" 2>&1 | tee -a "$out/$name.txt"
}
{
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|L[123])'
    printf 'avx512f: %s\n' "$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
    "$build/rewire" --version
} | tee "$out/cpu.txt"
run sparse_1thread "$build/bench/bench_sparse" --isa all 1
run sparse_2threads "$build/bench/bench_sparse" --isa all 2
run memory "$build/bench/bench_memory" 2
run sparse_scale_layer "$build/bench/bench_sparse" --isa all 2 333333 333333 128 0.00012
run train "$build/bench/bench_train" --threads 2 --isa all --torch
run denormal "$build/bench/bench_denormal" --epochs 3
run denormal_1pct "$build/bench/bench_denormal" --epochs 3 --density 0.01
for p in $("$build/rewire" --version | sed -nE 's/.*this CPU runs: ([a-z0-9 ]+)\)/\1/p'); do
    run "main_job_$p" env RW_ISA="$p" "$build/rewire" train --data fashion-mnist \
        --hidden 1000,1000,1000 --epsilon 20 --rewire set --drop-schedule cosine \
        --epochs 1 --optimizer adamw --weight-decay 0.1 --lr 0.002 --schedule cosine \
        --threads 2 --quiet --json
done
if [ "${SCALE:-0}" = 1 ]; then
    # One tenth of an epoch: the first 6000 training images (SET every 10
    # steps, so the tenth rewires as often as a whole epoch rewiring every
    # 100), tested on the first 1000 test images. Times 10 is the epoch.
    src=/usr/share/datasets/fashion-mnist
    sub=$(mktemp -d)
    { printf '\0\0\10\3\0\0\27\160\0\0\0\34\0\0\0\34'
      zcat "$src/train-images-idx3-ubyte.gz" | tail -c +17 | head -c $((6000 * 784)); } >"$sub/tr-img"
    { printf '\0\0\10\1\0\0\27\160'
      zcat "$src/train-labels-idx1-ubyte.gz" | tail -c +9 | head -c 6000; } >"$sub/tr-lab"
    { printf '\0\0\10\3\0\0\3\350\0\0\0\34\0\0\0\34'
      zcat "$src/t10k-images-idx3-ubyte.gz" | tail -c +17 | head -c $((1000 * 784)); } >"$sub/te-img"
    { printf '\0\0\10\1\0\0\3\350'
      zcat "$src/t10k-labels-idx1-ubyte.gz" | tail -c +9 | head -c 1000; } >"$sub/te-lab"
    for p in $("$build/rewire" --version | sed -nE 's/.*this CPU runs: ([a-z0-9 ]+)\)/\1/p'); do
        run "scale_tenth_$p" env RW_ISA="$p" /usr/bin/time -v "$build/rewire" train \
            --data "$sub/tr-img,$sub/tr-lab" --test "$sub/te-img,$sub/te-lab" \
            --hidden 333333,333333,333333 --epsilon 20 --rewire set --rewire-every 10 \
            --epochs 1 --optimizer momentum --lr 0.001 --clip-grad 5 --threads 2 --json
    done
    rm -rf "$sub"
fi
