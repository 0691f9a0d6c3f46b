# Shared by the tests of the command-line tool that count their checks
# (tests/cli_continual.sh, tests/cli_plot.sh); sourced, not run. Named
# lib_*.sh so that the cli_*.sh glob in tests/CMakeLists.txt skips it.
#
#   cli_begin NAME REWIRE: a scratch folder $tmp (removed on exit), the
#     counters $fails and $checks, and a check that REWIRE is a program.
#   fail MESSAGE...: counts a failed check and says why on stderr.
#   expect_fail CODE PATTERN CMD...: the command exits with CODE and its
#     stderr matches PATTERN (grep -E).
#   cli_end: reports the counts; the exit status says whether all passed.

cli_begin() {
    cli_name=$1
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    fails=0
    checks=0
    [ -x "$2" ] || {
        echo "$cli_name: no rewire binary at $2" >&2
        exit 1
    }
}

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

expect_fail() {
    local code=$1 pattern=$2
    shift 2
    checks=$((checks + 1))
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ "$rc" -eq "$code" ] || fail "'$*' exited $rc, expected $code: $(head -c 300 "$tmp/err")"
    grep -Eq -- "$pattern" "$tmp/err" ||
        fail "'$*': stderr '$(head -c 300 "$tmp/err")' does not match /$pattern/"
}

cli_end() {
    if [ "$fails" -gt 0 ]; then
        echo "$cli_name: $fails of $checks checks failed" >&2
        exit 1
    fi
    echo "$cli_name: all $checks checks passed"
}
