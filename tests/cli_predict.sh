#!/bin/sh
# cli_predict.sh: `moefit predict` on a hand-written model whose predictions are worked out
# here independently (awk), the output format, --posterior, -o, and its errors.
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
. "$top_srcdir/tests/tap.sh"

# Two experts y = 1 + 2x (sd 0.5) and y = -1 + 0.5x (sd 1); the gate's logit of expert 1
# against the reference expert 2 is 3x. The reference values below come from these formulas:
#   g1 = 1 / (1 + exp(-3x)),  mu = g1 mu1 + g2 mu2,
#   sd^2 = g1 (s1^2 + mu1^2) + g2 (s2^2 + mu2^2) - mu^2,
#   h1 = g1 N(y; mu1, s1) / (g1 N(y; mu1, s1) + g2 N(y; mu2, s2)).
cat > "$TMPD/model.json" <<'EOF'
{
  "format": "moefit-model",
  "version": 1,
  "description": "cli_predict.sh: y = 1 + 2x (sd 0.5) and y = -1 + 0.5x (sd 1), gate logit 3x",
  "expert": "gaussian",
  "gate": "softmax",
  "k": 2,
  "response": "y",
  "inputs": ["x"],
  "gate_inputs": ["x"],
  "experts": [
    {"beta": [1, 2], "sigma": 0.5},
    {"beta": [-1, 0.5], "sigma": 1}
  ],
  "gate_coef": [[0, 3]]
}
EOF
printf 'y,x\n-1.5,-1\n2.1,0.5\n4.75,2\n0,-0.25\n' > "$TMPD/data.csv"

# compare FILE POSTERIOR: checks every row of predict's output against the formulas.
compare() {
  paste -d, "$TMPD/data.csv" "$1" | awk -F, -v post="$2" '
    function npdf(y, m, s) {
      return exp(-0.5 * ((y - m) / s)^2) / (s * sqrt(2 * 3.141592653589793))
    }
    function near(a, b) { d = a - b; if (d < 0) d = -d; return d <= 1e-12 * (1 + (b < 0 ? -b : b)) }
    NR == 1 { next }
    {
      y = $1; x = $2
      g1 = 1 / (1 + exp(-3 * x)); g2 = 1 - g1
      m1 = 1 + 2 * x; m2 = -1 + 0.5 * x
      mu = g1 * m1 + g2 * m2
      sd = sqrt(g1 * (0.25 + m1 * m1) + g2 * (1 + m2 * m2) - mu * mu)
      e = g1 > g2 ? 1 : 2
      if (!near($3, mu) || !near($4, sd) || !near($5, g1) || !near($6, g2) || $7 != e) {
        print "# row " NR - 1 ": got " $3 " " $4 " " $5 " " $6 " " $7 \
              ", want " mu " " sd " " g1 " " g2 " " e; bad = 1
      }
      if (post) {
        a = g1 * npdf(y, m1, 0.5); b = g2 * npdf(y, m2, 1)
        if (!near($8, a / (a + b)) || !near($9, b / (a + b))) {
          print "# row " NR - 1 ": posterior " $8 " " $9 ", want " a / (a + b) " " b / (a + b)
          bad = 1
        }
      }
    }
    END { exit bad }'
}

run_status 0 "predict a hand-written model" predict "$TMPD/model.json" "$TMPD/data.csv"
check "header is mean,sd,g1,g2,expert" test "$(head -n 1 "$TMPD/out")" = "mean,sd,g1,g2,expert"
check "one line per data row" test "$(wc -l < "$TMPD/out")" -eq 5
cp "$TMPD/out" "$TMPD/pred.csv"
check "mean, sd, gate and expert match the formulas" compare "$TMPD/pred.csv" 0
check "numbers carry 17 significant digits" grep -qE '[0-9]\.[0-9]{15}' "$TMPD/pred.csv"

run_status 0 "predict --posterior" predict --posterior "$TMPD/model.json" "$TMPD/data.csv"
check "--posterior adds h1,h2" test "$(head -n 1 "$TMPD/out")" = "mean,sd,g1,g2,expert,h1,h2"
cp "$TMPD/out" "$TMPD/post.csv"
check "posterior responsibilities match the formulas" compare "$TMPD/post.csv" 1

run_status 0 "predict -o FILE" predict -o "$TMPD/o.csv" "$TMPD/model.json" "$TMPD/data.csv"
check "-o FILE holds what stdout held" cmp -s "$TMPD/o.csv" "$TMPD/pred.csv"
check "-o FILE: nothing on stdout" test ! -s "$TMPD/out"
run_status 0 "predict reads the data from standard input" predict "$TMPD/model.json" - \
  < "$TMPD/data.csv"
# (run_status redirects only stdout and stderr, so stdin is the file above.)
check "stdin gives the same predictions" cmp -s "$TMPD/out" "$TMPD/pred.csv"

# Inputs are found by name, whatever their position; extra columns are ignored.
printf 'id,x,other\n1,-1,9\n2,0.5,9\n3,2,9\n4,-0.25,9\n' > "$TMPD/noy.csv"
run_status 0 "predict without a response column" predict "$TMPD/model.json" "$TMPD/noy.csv"
check "columns are found by name" cmp -s "$TMPD/out" "$TMPD/pred.csv"
printf 'x;y\n-1;-1.5\n' > "$TMPD/semi.csv"
run_status 0 "predict --sep ';'" predict --sep ';' "$TMPD/model.json" "$TMPD/semi.csv"
check "--sep ';': one prediction" test "$(wc -l < "$TMPD/out")" -eq 2

# --na omit drops rows (and says so); the default is an error with the cell's position.
printf 'x\n-1\nNA\n2\n' > "$TMPD/na.csv"
run_status 65 "a missing input is an error" predict "$TMPD/model.json" "$TMPD/na.csv"
err_has "na.csv:3:1" "the error gives FILE:LINE:COLUMN"
run_status 0 "predict --na omit" predict --na omit "$TMPD/model.json" "$TMPD/na.csv"
check "--na omit: one line per kept row" test "$(wc -l < "$TMPD/out")" -eq 3
err_has "omitted 1 row with missing values" "--na omit says how many rows it dropped"

# Errors.
run_status 65 "--posterior without the response column" predict --posterior "$TMPD/model.json" \
  "$TMPD/noy.csv"
printf 'a,b\n1,2\n' > "$TMPD/wrong.csv"
run_status 65 "data without the model's input" predict "$TMPD/model.json" "$TMPD/wrong.csv"
err_has "wrong.csv: no column 'x', the model's input (columns are: a, b)" \
  "the message names the file, the missing column and the columns there are"
head -c 200 "$TMPD/model.json" > "$TMPD/trunc.json"
run_status 65 "a truncated model is a data error" predict "$TMPD/trunc.json" "$TMPD/data.csv"
err_has "trunc.json" "the message names the model file"
printf 'not json at all\n' > "$TMPD/garbage.json"
run_status 65 "a corrupt model is a data error" predict "$TMPD/garbage.json" "$TMPD/data.csv"
run_status 66 "a missing data file" predict "$TMPD/model.json" "$TMPD/none.csv"
run_status 64 "model and data both on stdin" predict - -

tap_done
