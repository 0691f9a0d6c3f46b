# Sourced by the tests that run jobs under mpirun (mpi_train.sh,
# mpi_python.sh): a scratch folder removed at exit, fail, within, and one
# thread per rank.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export OMP_NUM_THREADS=1
# Open MPI's session files and its transport's shared-memory segments in
# $tmp: jobs that are killed cannot remove theirs, and the trap then does.
# (rewire's own segments in /dev/shm are unlinked as soon as every rank
# has mapped them.)
mkdir -p "$tmp/ompi"
export TMPDIR=$tmp/ompi OMPI_MCA_btl_vader_backing_directory=$tmp/ompi
# within A B D: whether A and B are numbers and |A - B| <= D. An empty or
# non-numeric A or B (a field missing from a JSON result, or null) fails,
# with a message, instead of counting as 0.
num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
within() {
  num "$1" && num "$2" || { echo "within: not numbers: '$1' and '$2'" >&2; return 1; }
  awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { x = a - b; if (x < 0) x = -x; exit !(x <= d) }'
}
