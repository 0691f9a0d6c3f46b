#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time on a scratch copy of its
# committed corpus, plus the committed regression inputs.
#   scripts/fuzz.sh BUILD_DIR SECONDS
# For a long run: CC=clang cmake -S . -B build-fuzz -DRW_FUZZ=ON &&
#   cmake --build build-fuzz && scripts/fuzz.sh build-fuzz 3600
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?build dir}; secs=${2:-30}
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); what=${name#fuzz_}
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$what" ] && cp -r "fuzz/corpus/$what/." "$work/"
  if [ -d "fuzz/regressions/$what" ]; then
    "$bin" -runs=0 fuzz/regressions/"$what"/* >/dev/null 2>&1 ||
      { echo "$name: a committed regression input fails again" >&2; exit 1; }
  fi
  echo "$name: ${secs}s"
  "$bin" "$work" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" 2>&1 | grep -E 'stat::number_of_executed_units|Done|ERROR|SUMMARY' || true
  # (ls of the four patterns failed whenever one of them matched nothing,
  # so a crash alone went unreported.)
  found=$(find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' \
            -o -name 'timeout-*' \) -print)
  if [ -n "$found" ]; then
    echo "$name found a failing input: $found" >&2
    exit 1
  fi
  rm -rf "$work" /tmp/rewire-fuzz-log-*.json /tmp/rewire-fuzz-ckpt-*.rwm* /tmp/rewire-fuzz-maint-* \
    /tmp/rewire-fuzz-idx-*
done
