# tap.sh: shared helpers for the command-line tests (sourced, POSIX sh). Every check prints one
# TAP line; tap_done prints the plan. $MOEFIT is the tool under test, $top_srcdir the sources.
tap_n=0
tap_fails=0
: "${MOEFIT:=./moefit}"
: "${top_srcdir:=.}"
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/moefit-test.XXXXXX") || exit 99
trap 'rm -rf "$TMPD"' EXIT INT TERM

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_fails=$((tap_fails + 1)); echo "not ok $tap_n - $*"; }

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

# run_status WANT DESCRIPTION ARGS...: runs moefit ARGS, keeps stdout in $TMPD/out and stderr
# in $TMPD/err, and passes when the exit status is WANT.
run_status() {
  want=$1; d=$2; shift 2
  "$MOEFIT" "$@" >"$TMPD/out" 2>"$TMPD/err"; got=$?
  if [ "$got" -eq "$want" ]; then ok "$d (exit $got)"; else
    not_ok "$d (exit $got, want $want)"; sed 's/^/# /' "$TMPD/err"; fi
}

# err_has TEXT DESCRIPTION: passes when the last stderr contains TEXT (fixed string).
err_has() { if grep -qF -- "$1" "$TMPD/err"; then ok "$2"; else
  not_ok "$2"; echo "# stderr lacks: $1"; sed 's/^/# /' "$TMPD/err"; fi; }

tap_done() { echo "1..$tap_n"; [ "$tap_fails" -eq 0 ]; }
