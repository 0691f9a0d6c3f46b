#!/usr/bin/env bash
# Builds everything and runs the whole test suite:
#   1. the normal build (warnings as errors) and all ctest tests;
#   2. the same tests under AddressSanitizer and UndefinedBehaviorSanitizer;
#   3. a valgrind leak check of a train/save/load/eval/predict round trip;
#   4. each libFuzzer target for a short, bounded time on its corpus.
# FUZZ_SECONDS (default 30) sets the time per fuzz target; SKIP_SLOW=1 runs
# only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/deps.sh test

echo "== build and test (Release, -Werror)"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release -DRW_WERROR=ON >/dev/null
cmake --build build-ci -j"$jobs"
(cd build-ci && ctest -j"$jobs" --output-on-failure)

echo "== install, then build the README example against it with pkg-config"
prefix=$(mktemp -d)
cmake --install build-ci --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -std=c11 -o "$prefix/minimal" examples/minimal.c $(pkg-config --cflags --libs --static rewire)
(cd "$prefix" && ./minimal && "$prefix/bin/rewire" --version >/dev/null)
echo "== ... and with its CMake package (find_package(rewire), rewire::rewire)"
cmake -S examples/cmake -B "$prefix/example" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/example" >/dev/null
(cd "$prefix" && "$prefix/example/minimal" >/dev/null)
rm -rf "$prefix"

[ "${SKIP_SLOW:-0}" = 1 ] && exit 0

echo "== sanitizers (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRW_SANITIZE=ON -DRW_WERROR=ON \
  -DRW_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j"$jobs" --output-on-failure)

echo "== valgrind: train, save, load, eval, predict"
tests/valgrind_roundtrip.sh build-ci/rewire

echo "== fuzzing (${FUZZ_SECONDS:-30} s per target)"
CC=clang cmake -S . -B build-fuzz -DRW_FUZZ=ON -DRW_BUILD_TESTS=OFF -DRW_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs"
scripts/fuzz.sh build-fuzz "${FUZZ_SECONDS:-30}"
echo "all test stages passed"
