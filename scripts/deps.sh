#!/usr/bin/env bash
# Installs the Debian packages rewire needs that are missing on this machine.
#   scripts/deps.sh build     compiler, CMake, oneDNN, zlib, cairo, LAPACK, Open MPI
#   scripts/deps.sh test      build + clang/libFuzzer, valgrind, and the
#                             Python tests' python3-pytest, -numpy, -scipy,
#                             -sklearn, -mpi4py (for Debian's /usr/bin/python3)
#   scripts/deps.sh data      dataset-fashion-mnist (optional; no error if absent)
#   scripts/deps.sh reference python3-torch, python3-numpy (fixture script)
#   scripts/deps.sh bench     python3-torch with OpenBLAS (bench_train --torch)
#   scripts/deps.sh python    python3-numpy (what `import rewire` needs)
set -euo pipefail

want=()
case "${1:-build}" in
  build) want=(gcc make cmake pkg-config libdnnl-dev zlib1g-dev libcairo2-dev liblapack-dev
               libopenmpi-dev openmpi-bin) ;;
  test) want=(gcc make cmake pkg-config libdnnl-dev zlib1g-dev libcairo2-dev liblapack-dev
              libopenmpi-dev openmpi-bin
              clang libclang-rt-14-dev valgrind
              python3 python3-pytest python3-numpy python3-scipy python3-sklearn
              python3-mpi4py) ;;
  data) want=(dataset-fashion-mnist) ;;
  reference) want=(python3-torch python3-numpy) ;;
  bench) want=(python3-torch python3-numpy libopenblas0-pthread) ;;
  python) want=(python3 python3-numpy) ;;
  *) echo "usage: $0 build|test|data|reference|bench|python" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
if [ "${1:-build}" = data ]; then
  # The dataset is optional: the main job falls back to a built-in dataset.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    echo "note: ${missing[*]} could not be installed" >&2
else
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
