# tap.sh: shared helpers for the command-line tests (sourced, POSIX sh). Every check prints one
# TAP line; tap_done prints the plan. $MOEFIT is the tool under test, $top_srcdir the sources.
tap_n=0
tap_fails=0
: "${MOEFIT:=./moefit}"
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
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

# same_numbers GOT WANT [REL]: GOT has the lines of the stored file WANT, with the same text
# between the numbers and every number within REL relative (default 1e-10) of WANT's:
# |a - b| <= REL max(|a|, |b|), or |a - b| <= 1e-12 where one of them is exactly 0. For
# outputs whose digits could move with the libm (formatted doubles); text and integer outputs
# are compared byte for byte with cmp. Prints the first differences as TAP comments.
same_numbers() {
  [ -f "$2" ] || { echo "# no stored file $2"; return 1; }
  awk -v want="$2" -v rel="${3:-1e-10}" '
    function nums(s, arr,   n, t) {
      n = 0; t = ""
      while (match(s, /[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?/)) {
        t = t substr(s, 1, RSTART - 1) "#"; arr[++n] = substr(s, RSTART, RLENGTH)
        s = substr(s, RSTART + RLENGTH)
      }
      skel = t s; return n
    }
    function abs(v) { return v < 0 ? -v : v }
    function report(msg) { bad++; if (bad <= 5) print "# line " NR ": " msg }
    {
      if ((getline w < want) <= 0) { report("more lines than " want); exit }
      n1 = nums($0, a); s1 = skel; n2 = nums(w, b); s2 = skel
      if (s1 != s2 || n1 != n2) { report("got \"" $0 "\", want \"" w "\""); next }
      for (i = 1; i <= n1; i++) {
        x = a[i] + 0; y = b[i] + 0; d = abs(x - y); m = abs(x) > abs(y) ? abs(x) : abs(y)
        if ((x == 0 || y == 0) ? d > 1e-12 : d > rel * m) {
          report("number " i ": got " a[i] ", want " b[i]); break
        }
      }
    }
    END {
      if (!bad && (getline w < want) > 0) { NR++; report("fewer lines than " want) }
      exit bad > 0
    }' "$1"
}

# same_json GOT WANT [REL]: the JSON file GOT equals the stored JSON WANT, every number within
# REL relative (default 1e-10), through tests/golden/golden_compare (a null or a missing or
# extra key fails; see golden_compare.c). Prints the differences as TAP comments.
same_json() {
  "$top_builddir/tests/golden/golden_compare" -r "${3:-1e-10}" "$2" "$1" >"$TMPD/json.diff" 2>&1 \
    && return 0
  sed 's/^/# /' "$TMPD/json.diff" | head -20
  return 1
}

# jget FILE PATH...: values of the JSON file FILE, one line per PATH (tests/golden/json_get.c:
# e.g. experts[0].coef.(Intercept); "null" or "missing" when it is not a number).
jget() { "$top_builddir/tests/golden/json_get" "$@"; }

# near GOT WANT REL [ABS]: passes when |GOT - WANT| <= REL |WANT| + ABS (ABS default 0), both
# finite numbers; says what it got otherwise.
near() {
  awk -v g="$1" -v w="$2" -v r="$3" -v a="${4:-0}" 'BEGIN {
    if (g !~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/) { print "# got " g; exit 1 }
    d = g - w; if (d < 0) d = -d; t = w < 0 ? -w : w
    if (d <= r * t + a) exit 0; print "# got " g ", want " w; exit 1 }'
}

# ols FILE.csv: the least-squares line of the second column on the first (header skipped),
# worked out here: "b0 b1 sigma loglik se_b0 se_b1 sigma_se n" with the maximum-likelihood
# sigma = sqrt(RSS / n), loglik = -n/2 (log(2 pi sigma^2) + 1), and the standard errors of the
# observed information at the maximum: se_b1 = sigma / sqrt(Sxx), se_b0 = sigma sqrt(1/n +
# mean(x)^2 / Sxx), se_sigma = sigma / sqrt(2n). A one-expert fit must give these numbers.
ols() {
  awk -F, 'NR > 1 {n++; x[n] = $1; y[n] = $2; sx += $1; sy += $2}
    END {mx = sx / n; my = sy / n
      for (i = 1; i <= n; i++) {sxx += (x[i] - mx) ^ 2; sxy += (x[i] - mx) * (y[i] - my)}
      b1 = sxy / sxx; b0 = my - b1 * mx
      for (i = 1; i <= n; i++) rss += (y[i] - b0 - b1 * x[i]) ^ 2
      s2 = rss / n
      printf "%.17g %.17g %.17g %.17g %.17g %.17g %.17g %d\n", b0, b1, sqrt(s2),
        -n / 2 * (log(2 * 3.14159265358979324 * s2) + 1), sqrt(s2 * (1 / n + mx * mx / sxx)),
        sqrt(s2 / sxx), sqrt(s2 / (2 * n)), n}' "$1"
}
