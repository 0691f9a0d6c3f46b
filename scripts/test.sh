#!/usr/bin/env bash
# Builds everything and runs the whole test suite:
#   1. the normal build (warnings as errors) and all ctest tests, the
#      Python package's pytest suite among them (scripts/test_python.sh,
#      Debian's /usr/bin/python3; no tests collected counts as a failure);
#   2. a build without MPI and its tests; the same tests under
#      AddressSanitizer and UndefinedBehaviorSanitizer;
#   3. a valgrind leak check of a train/save/load/eval/predict round trip;
#   4. each libFuzzer target for a short, bounded time on its corpus.
# FUZZ_SECONDS (default 30) sets the time per fuzz target; SKIP_SLOW=1 runs
# only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/deps.sh test

echo "== build and test (Release, -Werror)"
cmake -S . -B build-ci -DCMAKE_BUILD_TYPE=Release -DRW_WERROR=ON -DRW_PYTHON_TESTS=ON >/dev/null
cmake --build build-ci -j"$jobs"
(cd build-ci && ctest -j"$jobs" --output-on-failure)

echo "== install, then build the README example against it with pkg-config"
prefix=$(mktemp -d)
cmake --install build-ci --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
# Static: librewire.a by name, since -lrewire now finds librewire.so first.
cc -std=c11 -o "$prefix/minimal" examples/minimal.c \
  $(pkg-config --cflags --libs --static rewire | sed 's/-lrewire\b/-l:librewire.a/')
(cd "$prefix" && ./minimal && "$prefix/bin/rewire" --version >/dev/null)
# Shared: librewire.so.0, found through the run path.
libdir=$(pkg-config --variable=libdir rewire)
cc -std=c11 -o "$prefix/minimal-shared" examples/minimal.c \
  $(pkg-config --cflags --libs rewire) -Wl,-rpath,"$libdir"
(cd "$prefix" && ./minimal-shared && ldd ./minimal-shared >ldd.txt &&
  { grep -qF "librewire.so.0 => $libdir/" ldd.txt ||
    { echo "minimal-shared does not load librewire.so.0 from $libdir:" >&2; cat ldd.txt >&2; exit 1; }; })
echo "== the installed Python package finds the installed librewire.so"
pkg=$(find "$prefix" -path '*-packages/rewire/__init__.py' | head -n 1)
[ -n "$pkg" ] || { echo "the Python package was not installed" >&2; exit 1; }
(cd "$prefix" && env -u REWIRE_LIBRARY PYTHONPATH="$(dirname "$(dirname "$pkg")")" \
  /usr/bin/python3 -c "import rewire; assert rewire.library_path.startswith('$prefix'), rewire.library_path; rewire.Network([2, 4, 2])")
echo "== ... and with its CMake package (find_package(rewire), rewire::rewire)"
cmake -S examples/cmake -B "$prefix/example" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/example" >/dev/null
(cd "$prefix" && "$prefix/example/minimal" >/dev/null)
rm -rf "$prefix"

[ "${SKIP_SLOW:-0}" = 1 ] && exit 0

echo "== a build without MPI (-DRW_MPI=OFF): the same tests but the MPI ones"
cmake -S . -B build-nompi -DCMAKE_BUILD_TYPE=Release -DRW_WERROR=ON -DRW_MPI=OFF \
  -DRW_BUILD_BENCH=OFF -DRW_BUILD_SHARED=OFF >/dev/null
cmake --build build-nompi -j"$jobs"
(cd build-nompi && ctest -j"$jobs" --output-on-failure)
case "$(build-nompi/rewire --version)" in
  *"MPI: no"*) ;;
  *) echo "build-nompi/rewire --version does not say MPI: no" >&2; exit 1 ;;
esac

echo "== sanitizers (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRW_SANITIZE=ON -DRW_WERROR=ON \
  -DRW_BUILD_BENCH=OFF -DRW_BUILD_SHARED=OFF >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j"$jobs" --output-on-failure)

echo "== valgrind: train, save, load, eval, predict"
tests/valgrind_roundtrip.sh build-ci/rewire

echo "== fuzzing (${FUZZ_SECONDS:-30} s per target)"
CC=clang cmake -S . -B build-fuzz -DRW_FUZZ=ON -DRW_BUILD_TESTS=OFF -DRW_BUILD_BENCH=OFF -DRW_BUILD_SHARED=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs"
scripts/fuzz.sh build-fuzz "${FUZZ_SECONDS:-30}"
echo "all test stages passed"
