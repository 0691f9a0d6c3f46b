#!/usr/bin/env bash
# Times two versions of the sparse kernels against each other in one
# process (bench/kernel_ab.c): the kernels of git revision REV (A) and of
# the working tree (B), both compiled as the build compiles that path.
#
#   bench/kernel_ab.sh REV [avx2|generic|avx512] [DENSITIES] [ROUNDS] [BUILD_DIR]
#   e.g. bench/kernel_ab.sh HEAD~1 avx2 0.2,0.05,0.01 40
#   KAB_LAYER=333333x333333 bench/kernel_ab.sh HEAD avx512 0.00012 6
#
# KAB_LAYER=INxOUT times another layer than 1000x1000 (batch 128).
#
# Run the benchmark before and after a change to a hot loop with this:
# best of ROUNDS runs that alternate A and B every few milliseconds, so
# that the drift of a shared machine's speed falls on both alike. BUILD_DIR
# (default build) must be configured and built (its librewire.a and
# compiler flags are used). One thread; the CPU must run the path.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/kernel_ab.sh REV [avx2|generic|avx512] [DENSITIES] [ROUNDS] [BUILD_DIR]}
isa=${2:-avx2}
dens=${3:-0.2,0.1,0.05,0.02,0.01}
rounds=${4:-40}
build=${5:-build}
case "$isa" in
  avx2) march="-march=x86-64-v3 -mtune=generic" ;;
  avx512) march="-march=x86-64-v4 -mtune=generic -mprefer-vector-width=512" ;;
  generic) march="" ;;
  *) echo "kernel_ab.sh: the path must be avx2, generic or avx512, got \"$isa\"" >&2; exit 2 ;;
esac
need=""
case "$isa" in avx2) need="avx2 fma" ;; avx512) need="avx512f avx512bw avx512dq avx512vl" ;; esac
for f in $need; do
  grep -qw "$f" /proc/cpuinfo ||
    { echo "kernel_ab.sh: this CPU cannot run the $isa path (no $f in /proc/cpuinfo)" >&2; exit 2; }
done
flags=$build/CMakeFiles/librewire.dir/flags.make
[ -f "$flags" ] && [ -f "$build/librewire.a" ] ||
  { echo "kernel_ab.sh: $build is not a built build folder (no $flags or librewire.a)" >&2; exit 2; }
git rev-parse --verify -q "$rev^{commit}" >/dev/null ||
  { echo "kernel_ab.sh: \"$rev\" is not a git revision" >&2; exit 2; }
cflags=$(sed -n 's/^C_FLAGS = //p' "$flags")
cdefs=$(sed -n 's/^C_DEFINES = //p' "$flags")
cincs=$(sed -n 's/^C_INCLUDES = //p' "$flags")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/A/layers/kernels"
for f in sparse_tmpl.h "sparse_$isa.c"; do
  git show "$rev:src/layers/kernels/$f" > "$tmp/A/layers/kernels/$f"
done
# One object per side: the path's file, its table renamed.
for side in A B; do
  if [ $side = A ]; then dir=$tmp/A/layers/kernels; else dir=src/layers/kernels; fi
  # shellcheck disable=SC2086
  gcc $cdefs -Isrc -Isrc/layers/kernels $cincs $cflags $march \
    -D"rw_kernels_$isa=rw_kernels_ab_$side" -c "$dir/sparse_$isa.c" -o "$tmp/$side.o" ||
    { echo "kernel_ab.sh: compiling side $side failed" >&2; exit 1; }
done
# The libraries bench_sparse links, as CMake found them.
link=$build/bench/CMakeFiles/bench_sparse.dir/link.txt
[ -f "$link" ] || { echo "kernel_ab.sh: no $link (build bench_sparse first)" >&2; exit 2; }
libs=$(sed 's/.*librewire\.a//' "$link")
# shellcheck disable=SC2086
gcc $cdefs -Isrc -Ibench $cincs -O2 -std=c11 -fopenmp -Wno-psabi bench/kernel_ab.c \
  "$tmp/A.o" "$tmp/B.o" "$build/librewire.a" $libs -o "$tmp/kernel_ab"
echo "A: $rev ($(git rev-parse --short "$rev")), B: the working tree; path $isa; $(lscpu | sed -n 's/^Model name: *//p')"
"$tmp/kernel_ab" "$dens" "$rounds" "${KAB_LAYER:-1000x1000}"
