#!/usr/bin/env bash
# Runs the Python package's tests (tests/python) with pytest under Debian's
# /usr/bin/python3, against one build:
#   scripts/test_python.sh [BUILD_DIR] [pytest options...]
# BUILD_DIR (default build) holds librewire.so and the rewire CLI. pytest's
# exit status 5 (no tests collected) counts as a failure, as any other.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
py=/usr/bin/python3
export REWIRE_LIBRARY=${REWIRE_LIBRARY:-$PWD/$build/librewire.so}
export REWIRE_CLI=${REWIRE_CLI:-$PWD/$build/rewire}
[ -z "${REWIRE_ABI_SIZES:-}" ] && [ -x "$build/tests/python_abi_sizes" ] &&
  export REWIRE_ABI_SIZES=$PWD/$build/tests/python_abi_sizes
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
rc=0
"$py" -m pytest -q -p no:cacheprovider tests/python "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test_python.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
