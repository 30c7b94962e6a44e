/* cmd_fit.c: `moefit fit`: reads a CSV file, fits K experts by EM (or a range of K, picked by
 * a criterion) and prints the summary, optionally writing JSON, the model and plots.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

/* Starts per K under gradient descent when --restarts is not given: a GD start runs every
 * epoch (no short runs), so the EM search's 40 would cost 40 full fits. */
#define CLI_GD_RESTARTS 5

void cli_fit_help(FILE *fp)
{
    fputs(
"Usage: moefit [fit] [OPTION]... DATA.csv\n"
"Fit a mixture of experts (Gaussian linear, Poisson or logistic regressions) with a softmax\n"
"gate by EM and print an R-style summary. DATA.csv may be '-' for standard input.\n"
"\n"
"Model:\n"
"  -k, --experts=K|A:B    fit K experts, or each K from A to B and pick one (default 1:5)\n"
"      --tree=T[,T...]    a hierarchical mixture instead: T = B1xB2x... is a tree of\n"
"                         softmax gates with B1 branches at the root, B2 under each of\n"
"                         those, ..., experts at the leaves (2x2: K = 4); a plain K in\n"
"                         the list is a flat model; the list is chosen from by\n"
"                         --criterion (e.g. --tree 2x2,3x2,4)\n"
"      --family=F         expert family: gaussian (linear regression, the default),\n"
"                         poisson (counts, log link), logistic (0/1 or successes out of\n"
"                         --trials, logit link) or mlp:H[:tanh|relu] (a network of H\n"
"                         hidden units, tanh by default, Gaussian output; by GD)\n"
"      --criterion=C      aic, bic or icl: picks K in a range (default bic)\n"
"      --init=M           kmeans, random or mixed (first start k-means, then in turn\n"
"                         random slabs of the gate inputs, random Voronoi cells of\n"
"                         (x, y) and random responsibilities; default mixed)\n"
"      --restarts=R       starts per K of the global search (default 40; 5 under GD)\n"
"      --short-iter=N     EM iterations of each start before the best are continued\n"
"                         (default 30; 0: every start runs to convergence)\n"
"      --keep=M           best short runs continued to convergence (default 8)\n"
"      --search-rows=N    the search on a random subsample of N rows (at least 100),\n"
"                         its best fit then continued on every row; all: every row\n"
"                         (default auto: from 50000 rows on, max(20000, 2000 K) rows)\n"
"      --no-moves         no moves on the best run (by default, for K >= 3, its gate\n"
"                         softened, and two experts merged while a third is split,\n"
"                         kept while that raises the log-likelihood without a new\n"
"                         spurious expert)\n"
"      --seed=S           random seed; the same seed gives the same fit (default 1)\n"
"      --tol=T            stop when the relative log-likelihood change < T (default 1e-8)\n"
"      --max-iter=N       EM iterations per start (default 1000)\n"
"      --gate-ridge=L     L2 penalty on the gate's slopes, standardised scale (default 0)\n"
"      --gate-steps=N     the gate's Newton steps per EM iteration, at most; 1: one-step\n"
"                         generalised EM, one pass over the rows per iteration\n"
"                         (default auto: 1 from 50000 rows on, else 20)\n"
"      --accel=A          EM acceleration: squarem (an extrapolated point after every\n"
"                         two EM steps, kept where the likelihood did not fall) or\n"
"                         none (default auto: squarem from 50000 rows on)\n"
"      --min-prior=P      drop experts whose prior share falls below P (default 0)\n"
"      --var-floor=F      variance floor as a share of var(y) (default 1e-6)\n"
"      --min-rows=R       an expert on fewer than R effective rows per free parameter,\n"
"                         or at the variance floor, is spurious: warned about, and K\n"
"                         is picked among the fits without such experts (default 5;\n"
"                         0: only the floor counts)\n"
"      --keep-spurious    pick K by the criterion alone (spurious experts still warned)\n"
"      --no-se            do not compute standard errors\n"
"      --no-lrt           skip the likelihood-ratio tests of the gate (each refits the\n"
"                         chosen K or tree with a constant gate, and without each of 2-4\n"
"                         inputs)\n"
"      --bootstrap=B      parametric bootstrap standard errors: refit the chosen K on B\n"
"                         data sets drawn from the fit at the observed inputs (EM from\n"
"                         the fitted model; experts matched to the fit's), reported as\n"
"                         \"Boot SE\" beside the observed-information SEs (flat gates)\n"
"      --bootstrap-search refit each bootstrap data set by the global search (plus a\n"
"                         start from the fit) instead: slower, honest about other maxima\n"
"\n"
"Training:\n"
"      --train=T          em (the default; gd for mlp experts and --gate topk) or gd:\n"
"                         gradient descent on --loss\n"
"      --loss=L           gd: nll (negative log-likelihood, the default), competitive\n"
"                         (sum_i g_i (-log f_i)) or cooperative ((y - sum_i g_i mu_i)^2 / 2)\n"
"      --optimizer=O      gd: adam (the default) or sgd (with --momentum)\n"
"      --lr=R             gd: peak learning rate of the cosine schedule (default 0.05)\n"
"      --momentum=M       gd: SGD momentum in [0, 1) (default 0.9)\n"
"      --batch=B          gd: rows per mini-batch, shuffled each epoch; 0 = full batch\n"
"                         (default 0)\n"
"      --epochs=E         gd: passes over the training rows (default 2000)\n"
"      --validation=F     gd: hold out the share F of the rows; stop early when their\n"
"                         loss has not improved for --patience epochs (default 0: none)\n"
"      --patience=P       gd: epochs without a better validation loss (default 100)\n"
"      --clip=C           gd: scale gradients longer than C down to C (default 0: none)\n"
"      --gate=G           gd: softmax (the default) or topk: the sparse top-k gate, which\n"
"                         keeps the --top-k largest logits of a row (ties: the lower\n"
"                         expert) and gives the others weight 0\n"
"      --top-k=K          topk: experts kept per row, 1 (the Switch form) to -k (default 2)\n"
"      --aux=A            topk: load-balancing loss added per batch: switch (alpha K\n"
"                         sum f_i P_i, the default), shazeer (CV^2 of the importance\n"
"                         and CV^2 of the load, its normal-CDF estimator) or none\n"
"      --aux-weight=W     topk: switch's alpha, shazeer's importance weight (0.01)\n"
"      --load-weight=W    topk, --aux shazeer: the load loss's weight (default 0.01)\n"
"      --z-loss=W         topk: router z-loss W mean (log sum exp logits)^2 per batch\n"
"                         (default 0: none; ST-MoE uses 1e-3)\n"
"      --capacity=F       topk: capacity factor: an expert takes at most\n"
"                         ceil(F batch top-k / K) rows of a training batch, later rows\n"
"                         are dropped from it and counted (default 0: no capacity)\n"
"      --noise=on|off     topk: noisy logits while training, a learned noise scale\n"
"                         per expert, never at predict (default: on for --top-k 2\n"
"                         or more, off for the Switch form --top-k 1)\n"
"\n"
"Data:\n"
"  -y, --response=COL     response column, by name or 1-based index (default: the last)\n"
"  -x, --inputs=COLS      expert inputs, comma-separated (default: all other columns;\n"
"                         '' for none)\n"
"  -z, --gate-inputs=COLS gate inputs (default: the same as --inputs)\n"
"      --weights=COL      observation (frequency) weights, >= 0 (default: every row 1)\n"
"      --offset=COL       poisson: the log exposure added to every expert's linear\n"
"                         predictor (default none)\n"
"      --trials=COL       logistic: the number of trials of each row, y successes out\n"
"                         of it (default 1: y is 0 or 1)\n"
"      --sep=C            field separator ',', ';' or 'tab' (default: detected)\n"
"      --no-header        the first line is data; columns are named V1, V2, ...\n"
"                         (default: header detected)\n"
"      --na=fail|omit     a missing or non-numeric cell in a used column is an error\n"
"                         (fail, the default) or drops its row (omit)\n"
"\n"
"Output:\n"
"      --json=FILE        write the result as JSON to FILE ('-': standard output, and\n"
"                         then no summary)\n"
"  -o, --output=FILE      save the fitted model as JSON for predict and plot\n"
"      --plot=DIR         draw the gating, regimes, responsibility, convergence and\n"
"                         model-selection plots and, with two or more gate inputs, the\n"
"                         gate map (topk: the routing map, and the expert load) into\n"
"                         DIR (needs gnuplot)\n"
"      --format=F         png, svg or pdf for --plot (default png)\n"
"      --along=COL        input the plots are drawn along (default: the first)\n"
"  -q, --quiet            no progress and no notes on standard error (warnings stay)\n"
"  -v, --verbose          progress on standard error even when it is not a terminal\n"
"  -h, --help             show this help and exit\n"
"\n"
"Output files appear only when complete (written under a temporary name, then renamed).\n"
"Under mpirun -np R (moefit --version says whether MPI is built in) each rank reads its\n"
"part of DATA.csv and shares EM's passes; the output is the single-process one, bit for\n"
"bit, written by rank 0 (--train gd and --bootstrap are not yet under MPI).\n"
"Example: moefit fit -k 2:4 --criterion icl -o model.json datasets/mcycle.csv\n",
          fp);
}

/* ---------------------------------------------------------------- progress on stderr */

typedef struct progress_state {
    int tty;              /* stderr is a terminal: one line per start, updated in place */
    int open;             /* a line has been started and not ended */
    size_t k, restart;    /* the start the open line is about */
    moe_progress last;    /* the latest report (for logs, printed when a start ends) */
    int have_last;
    struct timespec shown;
    struct timespec start;  /* when the fit began */
    size_t k_min, k_max;    /* the range of K */
    size_t done, total;     /* starts finished, and in all */
    size_t best_k;          /* the K whose best log-likelihood is BEST */
    double best;            /* the best final log-likelihood of a start of the current K */
    int in_boot;            /* the bootstrap's reports have begun */
    struct timespec boot_start;  /* when the first of them came */
} progress_state;

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + 1e-9 * (double)(now.tv_nsec - t0->tv_nsec);
}

/* One progress line: the start, then where the whole fit stands (which K of the range, the
 * best log-likelihood of this K's finished starts, time spent and an estimate of the time
 * left from the mean time per start so far; larger K take longer, so it is rough). */
static void progress_line(const progress_state *s, const moe_progress *p, FILE *fp)
{
    if (p->bootstrap) {  /* one line for the whole bootstrap, its own estimate of time left */
        double el = seconds_since(&s->boot_start);
        size_t done = p->restart + 1;
        fprintf(fp, "K=%zu bootstrap: %zu of %zu replicates refitted (last: %zu iterations, "
                "logLik %.1f), %.1fs", p->k, done, p->restarts, p->iteration, p->loglik, el);
        if (p->restarts > done)
            fprintf(fp, ", about %.0fs left", el / (double)done * (double)(p->restarts - done));
        return;
    }
    if (p->loss == p->loss)  /* gradient descent */
        fprintf(fp, "K=%zu restart %zu/%zu: epoch %zu, loss %.6g", p->k, p->restart + 1,
                p->restarts, p->iteration, p->loss);
    else
        fprintf(fp, "K=%zu restart %zu/%zu: iteration %zu, logLik %.1f", p->k, p->restart + 1,
                p->restarts, p->iteration, p->loglik);
    if (s->k_max > s->k_min)
        fprintf(fp, " | K %zu of %zu..%zu", p->k, s->k_min, s->k_max);
    if (s->best_k == p->k && isfinite(s->best))
        fprintf(fp, ", best %.1f", s->best);
    double el = seconds_since(&s->start);
    fprintf(fp, ", %.1fs elapsed", el);
    if (s->done > 0 && s->total > s->done)
        fprintf(fp, ", about %.0fs left", el / (double)s->done * (double)(s->total - s->done));
}

static void progress_end(progress_state *s)
{
    if (s->have_last) {
        s->done++;
        if (s->best_k != s->last.k || s->last.loglik > s->best)
            s->best = s->last.loglik;
        s->best_k = s->last.k;
    }
    if (s->tty) {
        if (s->have_last) {   /* the start's final state, which throttling may have skipped */
            fputc('\r', stderr);
            progress_line(s, &s->last, stderr);
            fputs("\033[K\n", stderr);
        }
    } else if (s->have_last) {
        fputs("moefit: ", stderr);
        progress_line(s, &s->last, stderr);
        fputc('\n', stderr);
    }
    s->open = 0;
    s->have_last = 0;
    fflush(stderr);
}

static void progress(const moe_progress *p, void *data)
{
    progress_state *s = data;
#ifdef _OPENMP
#pragma omp critical(moefit_progress)
#endif
    {
        int same = (s->open || s->have_last) && s->k == p->k && s->restart == p->restart;
        if (p->bootstrap && !s->in_boot) {
            progress_end(s);  /* the fit's last start */
            s->in_boot = 1;
            clock_gettime(CLOCK_MONOTONIC, &s->boot_start);
        }
        if (p->bootstrap)  /* one line, updated in place, for all the replicates */
            same = 1;
        else if (!same)
            progress_end(s);
        s->k = p->k;
        s->restart = p->restart;
        s->last = *p;
        s->have_last = 1;
        if (s->tty) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double dt = (double)(now.tv_sec - s->shown.tv_sec)
                        + 1e-9 * (double)(now.tv_nsec - s->shown.tv_nsec);
            if (!same || dt >= 0.1 || p->iteration <= 1) {
                fputc('\r', stderr);
                progress_line(s, p, stderr);
                fputs("\033[K", stderr);
                fflush(stderr);
                s->shown = now;
                s->open = 1;
            }
        } else if (p->bootstrap && p->restarts >= 10 && (p->restart + 1) % (p->restarts / 10) == 0
                   && p->restart + 1 < p->restarts) {
            /* a log: a line at every tenth of the replicates (progress_end prints the last) */
            fputs("moefit: ", stderr);
            progress_line(s, p, stderr);
            fputc('\n', stderr);
            fflush(stderr);
        }
    }
}

/* ---------------------------------------------------------------- options */

enum {
    OPT_CRITERION = 256, OPT_INIT, OPT_RESTARTS, OPT_SEED, OPT_TOL, OPT_MAX_ITER,
    OPT_GATE_RIDGE, OPT_MIN_PRIOR, OPT_VAR_FLOOR, OPT_NO_SE, OPT_JSON, OPT_PLOT, OPT_FORMAT,
    OPT_ALONG, OPT_FAMILY, OPT_WEIGHTS, OPT_OFFSET, OPT_TRIALS, OPT_TREE, OPT_MIN_ROWS,
    OPT_KEEP_SPURIOUS, OPT_TRAIN, OPT_LOSS, OPT_OPTIMIZER, OPT_LR, OPT_MOMENTUM, OPT_BATCH,
    OPT_EPOCHS, OPT_VALIDATION, OPT_PATIENCE, OPT_CLIP, OPT_SHORT_ITER,
    OPT_KEEP, OPT_NO_MOVES, OPT_NO_LRT, OPT_BOOTSTRAP, OPT_BOOTSTRAP_SEARCH, OPT_GATE,
    OPT_TOP_K, OPT_AUX, OPT_AUX_WEIGHT, OPT_LOAD_WEIGHT, OPT_Z_LOSS, OPT_CAPACITY,
    OPT_NOISE, OPT_GATE_STEPS, OPT_SEARCH_ROWS, OPT_ACCEL
};

static const struct option long_options[] = {
    {"experts", required_argument, NULL, 'k'},
    {"tree", required_argument, NULL, OPT_TREE},
    {"criterion", required_argument, NULL, OPT_CRITERION},
    {"init", required_argument, NULL, OPT_INIT},
    {"restarts", required_argument, NULL, OPT_RESTARTS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"short-iter", required_argument, NULL, OPT_SHORT_ITER},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"no-moves", no_argument, NULL, OPT_NO_MOVES},
    {"tol", required_argument, NULL, OPT_TOL},
    {"max-iter", required_argument, NULL, OPT_MAX_ITER},
    {"gate-ridge", required_argument, NULL, OPT_GATE_RIDGE},
    {"gate-steps", required_argument, NULL, OPT_GATE_STEPS},
    {"search-rows", required_argument, NULL, OPT_SEARCH_ROWS},
    {"accel", required_argument, NULL, OPT_ACCEL},
    {"min-prior", required_argument, NULL, OPT_MIN_PRIOR},
    {"var-floor", required_argument, NULL, OPT_VAR_FLOOR},
    {"min-rows", required_argument, NULL, OPT_MIN_ROWS},
    {"keep-spurious", no_argument, NULL, OPT_KEEP_SPURIOUS},
    {"no-se", no_argument, NULL, OPT_NO_SE},
    {"no-lrt", no_argument, NULL, OPT_NO_LRT},
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
    {"bootstrap-search", no_argument, NULL, OPT_BOOTSTRAP_SEARCH},
    {"family", required_argument, NULL, OPT_FAMILY},
    {"train", required_argument, NULL, OPT_TRAIN},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"lr", required_argument, NULL, OPT_LR},
    {"momentum", required_argument, NULL, OPT_MOMENTUM},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"validation", required_argument, NULL, OPT_VALIDATION},
    {"patience", required_argument, NULL, OPT_PATIENCE},
    {"clip", required_argument, NULL, OPT_CLIP},
    {"gate", required_argument, NULL, OPT_GATE},
    {"top-k", required_argument, NULL, OPT_TOP_K},
    {"aux", required_argument, NULL, OPT_AUX},
    {"aux-weight", required_argument, NULL, OPT_AUX_WEIGHT},
    {"load-weight", required_argument, NULL, OPT_LOAD_WEIGHT},
    {"z-loss", required_argument, NULL, OPT_Z_LOSS},
    {"capacity", required_argument, NULL, OPT_CAPACITY},
    {"noise", required_argument, NULL, OPT_NOISE},
    {"weights", required_argument, NULL, OPT_WEIGHTS},
    {"offset", required_argument, NULL, OPT_OFFSET},
    {"trials", required_argument, NULL, OPT_TRIALS},
    {"response", required_argument, NULL, 'y'},
    {"inputs", required_argument, NULL, 'x'},
    {"gate-inputs", required_argument, NULL, 'z'},
    CLI_DATA_LONG_OPTIONS,
    {"json", required_argument, NULL, OPT_JSON},
    {"output", required_argument, NULL, 'o'},
    {"plot", required_argument, NULL, OPT_PLOT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"along", required_argument, NULL, OPT_ALONG},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

/* Parses K or A:B (whole numbers) into *LO and *HI. */
static int parse_k(const char *text, size_t *lo, size_t *hi)
{
    unsigned long long v[2] = {0, 0};
    size_t nv = 0, digits = 0;
    int ok = 1;
    for (const char *p = text;; p++) {
        if (*p >= '0' && *p <= '9') {
            if (v[nv] > (unsigned long long)SIZE_MAX / 10)
                ok = 0;
            else
                v[nv] = 10 * v[nv] + (unsigned long long)(*p - '0');
            digits++;
        } else if ((*p == ':' || *p == '\0') && digits > 0) {
            nv++;
            digits = 0;
            if (*p == '\0' || nv == 2)
                break;
        } else {
            ok = 0;
            break;
        }
    }
    if (!ok || nv == 0 || strchr(text, ':') != strrchr(text, ':')) {
        cli_usage_error("fit", "-k needs K or A:B (whole numbers), not '%s'", text);
        return -1;
    }
    *lo = (size_t)v[0];
    *hi = nv == 2 ? (size_t)v[1] : *lo;
    if (*lo < 1) {
        cli_usage_error("fit", "-k needs at least 1 expert, not '%s'", text);
        return -1;
    }
    if (*lo > *hi) {
        cli_usage_error("fit", "-k A:B needs A <= B, not '%s'", text);
        return -1;
    }
    return 0;
}

int cli_fit(int argc, char **argv)
{
    moe_fit_options fo = moe_fit_options_default();
    moe_csv_options csv = moe_csv_options_default();
    moe_selection sel = moe_selection_default();
    moe_plot_options po = moe_plot_options_default();
    const char *json_path = NULL, *model_path = NULL;
    int verbosity = CLI_NORMAL, format_given = 0, k_given = 0;
    int train_given = 0;          /* --train seen; else a GD-only family or gate picks GD */
    int restarts_given = 0;       /* --restarts seen; else GD takes CLI_GD_RESTARTS */
    const char *gd_given = NULL;  /* a GD-only option seen (for the message without --train gd) */
    const char *topk_given = NULL;  /* a topk-only option seen */

    opterr = 0;
    int c;
    while ((c = cli_getopt(argc, argv, ":k:y:x:z:o:qvh", long_options)) != -1) {
        int bad = 0;
        switch (c) {
        case 'k':
            bad = parse_k(optarg, &fo.k_min, &fo.k_max);
            k_given = 1;
            break;
        case OPT_TREE: fo.tree = optarg; break;
        case OPT_CRITERION:
            if (strcmp(optarg, "bic") == 0)
                fo.criterion = MOE_CRIT_BIC;
            else if (strcmp(optarg, "aic") == 0)
                fo.criterion = MOE_CRIT_AIC;
            else if (strcmp(optarg, "icl") == 0)
                fo.criterion = MOE_CRIT_ICL;
            else
                return cli_usage_error("fit", "--criterion must be aic, bic or icl, not '%s'",
                                       optarg);
            break;
        case OPT_INIT:
            if (strcmp(optarg, "kmeans") == 0)
                fo.init = MOE_INIT_KMEANS;
            else if (strcmp(optarg, "random") == 0)
                fo.init = MOE_INIT_RANDOM;
            else if (strcmp(optarg, "mixed") == 0)
                fo.init = MOE_INIT_MIXED;
            else
                return cli_usage_error("fit", "--init must be kmeans, random or mixed, not '%s'",
                                       optarg);
            break;
        case OPT_RESTARTS:
            bad = cli_parse_size("fit", "--restarts", optarg, &fo.restarts);
            restarts_given = 1;
            break;
        case OPT_SEED: bad = cli_parse_ulong("fit", "--seed", optarg, &fo.seed); break;
        case OPT_SHORT_ITER:
            bad = cli_parse_size("fit", "--short-iter", optarg, &fo.short_iter);
            break;
        case OPT_NO_LRT: fo.gate_lrt = 0; break;
        case OPT_BOOTSTRAP:
            bad = cli_parse_size("fit", "--bootstrap", optarg, &fo.bootstrap);
            if (!bad && fo.bootstrap == 0)
                return cli_usage_error("fit", "--bootstrap needs a positive number of "
                                       "replicates, not '%s'", optarg);
            break;
        case OPT_BOOTSTRAP_SEARCH: fo.bootstrap_search = 1; break;
        case OPT_KEEP: bad = cli_parse_size("fit", "--keep", optarg, &fo.keep); break;
        case OPT_NO_MOVES: fo.moves = 0; break;
        case OPT_TOL: bad = cli_parse_double("fit", "--tol", optarg, &fo.tol); break;
        case OPT_MAX_ITER: bad = cli_parse_size("fit", "--max-iter", optarg, &fo.max_iter); break;
        case OPT_GATE_RIDGE:
            bad = cli_parse_double("fit", "--gate-ridge", optarg, &fo.gate_ridge);
            break;
        case OPT_GATE_STEPS:
            if (strcmp(optarg, "auto") == 0)
                fo.gate_steps = 0;
            else if (!(bad = cli_parse_size("fit", "--gate-steps", optarg, &fo.gate_steps)) &&
                     fo.gate_steps < 1) {
                cli_usage_error("fit", "--gate-steps must be at least 1, or auto (not '%s')",
                                optarg);
                bad = 1;
            }
            break;
        case OPT_SEARCH_ROWS:
            if (strcmp(optarg, "auto") == 0)
                fo.search_rows = 0;
            else if (strcmp(optarg, "all") == 0)
                fo.search_rows = MOE_SEARCH_ALL_ROWS;
            else if (!(bad = cli_parse_size("fit", "--search-rows", optarg, &fo.search_rows)) &&
                     fo.search_rows < 100) {
                cli_usage_error("fit", "--search-rows must be at least 100, all or auto "
                                "(not '%s')", optarg);
                bad = 1;
            }
            break;
        case OPT_ACCEL:
            if (strcmp(optarg, "auto") == 0)
                fo.accel = 0;
            else if (strcmp(optarg, "squarem") == 0)
                fo.accel = 1;
            else if (strcmp(optarg, "none") == 0)
                fo.accel = -1;
            else
                return cli_usage_error("fit", "--accel must be squarem, none or auto (not "
                                       "'%s')", optarg);
            break;
        case OPT_MIN_PRIOR:
            bad = cli_parse_double("fit", "--min-prior", optarg, &fo.min_prior);
            break;
        case OPT_VAR_FLOOR:
            bad = cli_parse_double("fit", "--var-floor", optarg, &fo.var_floor);
            break;
        case OPT_MIN_ROWS:
            bad = cli_parse_double("fit", "--min-rows", optarg, &fo.min_rows);
            break;
        case OPT_KEEP_SPURIOUS: fo.keep_spurious = 1; break;
        case OPT_NO_SE: fo.standard_errors = 0; break;
        case OPT_TRAIN:
            train_given = 1;
            if (strcmp(optarg, "em") == 0)
                fo.train = MOE_TRAIN_EM;
            else if (strcmp(optarg, "gd") == 0)
                fo.train = MOE_TRAIN_GD;
            else
                return cli_usage_error("fit", "--train must be em or gd, not '%s'", optarg);
            break;
        case OPT_LOSS:
            if (strcmp(optarg, "nll") == 0)
                fo.loss = MOE_LOSS_NLL;
            else if (strcmp(optarg, "competitive") == 0)
                fo.loss = MOE_LOSS_COMPETITIVE;
            else if (strcmp(optarg, "cooperative") == 0)
                fo.loss = MOE_LOSS_COOPERATIVE;
            else
                return cli_usage_error("fit", "--loss must be nll, competitive or cooperative, "
                                       "not '%s'", optarg);
            gd_given = "--loss";
            break;
        case OPT_OPTIMIZER:
            if (strcmp(optarg, "adam") == 0)
                fo.optimizer = MOE_OPTIM_ADAM;
            else if (strcmp(optarg, "sgd") == 0)
                fo.optimizer = MOE_OPTIM_SGD;
            else
                return cli_usage_error("fit", "--optimizer must be adam or sgd, not '%s'",
                                       optarg);
            gd_given = "--optimizer";
            break;
        case OPT_LR:
            bad = cli_parse_double("fit", "--lr", optarg, &fo.lr);
            gd_given = "--lr";
            break;
        case OPT_MOMENTUM:
            bad = cli_parse_double("fit", "--momentum", optarg, &fo.momentum);
            gd_given = "--momentum";
            break;
        case OPT_BATCH:
            bad = cli_parse_size("fit", "--batch", optarg, &fo.batch);
            gd_given = "--batch";
            break;
        case OPT_EPOCHS:
            bad = cli_parse_size("fit", "--epochs", optarg, &fo.epochs);
            gd_given = "--epochs";
            break;
        case OPT_VALIDATION:
            bad = cli_parse_double("fit", "--validation", optarg, &fo.validation);
            gd_given = "--validation";
            break;
        case OPT_PATIENCE:
            bad = cli_parse_size("fit", "--patience", optarg, &fo.patience);
            gd_given = "--patience";
            break;
        case OPT_CLIP:
            bad = cli_parse_double("fit", "--clip", optarg, &fo.clip);
            gd_given = "--clip";
            break;
        case OPT_GATE:
            if (strcmp(optarg, "softmax") != 0 && strcmp(optarg, "topk") != 0)
                return cli_usage_error("fit", "--gate must be softmax or topk, not '%s' (a "
                                       "tree of gates: --tree)", optarg);
            fo.gate = optarg;
            break;
        case OPT_TOP_K:
            bad = cli_parse_size("fit", "--top-k", optarg, &fo.top_k);
            topk_given = "--top-k";
            break;
        case OPT_AUX:
            if (strcmp(optarg, "switch") == 0)
                fo.aux = MOE_AUX_SWITCH;
            else if (strcmp(optarg, "shazeer") == 0)
                fo.aux = MOE_AUX_SHAZEER;
            else if (strcmp(optarg, "none") == 0)
                fo.aux = MOE_AUX_NONE;
            else
                return cli_usage_error("fit", "--aux must be switch, shazeer or none, not '%s'",
                                       optarg);
            topk_given = "--aux";
            break;
        case OPT_AUX_WEIGHT:
            bad = cli_parse_double("fit", "--aux-weight", optarg, &fo.aux_weight);
            topk_given = "--aux-weight";
            break;
        case OPT_LOAD_WEIGHT:
            bad = cli_parse_double("fit", "--load-weight", optarg, &fo.load_weight);
            topk_given = "--load-weight";
            break;
        case OPT_Z_LOSS:
            bad = cli_parse_double("fit", "--z-loss", optarg, &fo.z_loss);
            topk_given = "--z-loss";
            break;
        case OPT_CAPACITY:
            bad = cli_parse_double("fit", "--capacity", optarg, &fo.capacity);
            topk_given = "--capacity";
            break;
        case OPT_NOISE:
            if (strcmp(optarg, "on") == 0)
                fo.noise = 1;
            else if (strcmp(optarg, "off") == 0)
                fo.noise = 0;
            else
                return cli_usage_error("fit", "--noise must be on or off, not '%s'", optarg);
            topk_given = "--noise";
            break;
        case OPT_FAMILY: bad = cli_parse_family("fit", optarg, &fo.family); break;
        case OPT_WEIGHTS: sel.weights = optarg; break;
        case OPT_OFFSET: sel.offset = optarg; break;
        case OPT_TRIALS: sel.trials = optarg; break;
        case 'y': sel.response = optarg; break;
        case 'x': sel.inputs = optarg; break;
        case 'z': sel.gate_inputs = optarg; break;
        case CLI_OPT_SEP:
        case CLI_OPT_NO_HEADER:
        case CLI_OPT_NA: bad = cli_parse_data_option("fit", c, optarg, &csv, &sel.na); break;
        case OPT_JSON: json_path = optarg; break;
        case 'o': model_path = optarg; break;
        case OPT_PLOT: po.dir = optarg; break;
        case OPT_FORMAT:
            bad = cli_parse_format("fit", optarg, &po.format);
            format_given = 1;
            break;
        case OPT_ALONG: po.along = optarg; break;
        case 'q': verbosity = CLI_QUIET; break;
        case 'v': verbosity = CLI_VERBOSE; break;
        case 'h': cli_fit_help(stdout); return CLI_OK;
        default: return cli_getopt_error("fit", c, argv);
        }
        if (bad)
            return CLI_USAGE;
    }
    if (optind >= argc)
        return cli_usage_error("fit", "no data file given");
    if (argc - optind > 1)
        return cli_usage_error("fit", "one data file at a time ('%s' is one too many)",
                               argv[optind + 1]);
    const char *data_path = argv[optind];
    if (json_path && model_path && strcmp(json_path, "-") == 0 && strcmp(model_path, "-") == 0)
        return cli_usage_error("fit", "--json and --output cannot both be standard output");
    if (json_path && model_path && strcmp(json_path, model_path) == 0)
        return cli_usage_error("fit", "--json and --output name the same file '%s'", json_path);
    if (!po.dir && (format_given || po.along))
        return cli_usage_error("fit", "--format and --along need --plot DIR");
    if (po.dir && po.dir[0] == '\0')
        return cli_usage_error("fit", "--plot needs a folder name");
    const char *colmsg = moe_family_check_columns(fo.family, sel.offset != NULL,
                                                  sel.trials != NULL);
    if (colmsg)
        return cli_usage_error("fit", "%s %s: %s", sel.offset ? "--offset" : "--trials",
                               sel.offset ? sel.offset : sel.trials, colmsg);
    if (fo.tree && k_given)
        return cli_usage_error("fit", "-k and --tree cannot be combined (list flat K in "
                               "--tree, e.g. --tree 2x2,4)");
    if (fo.tree && fo.min_prior > 0)
        return cli_usage_error("fit", "--min-prior cannot be used with --tree (a tree's "
                               "branching is fixed, so no leaf can be dropped)");
    if (!train_given && moe_fit_gd_only(&fo))
        fo.train = MOE_TRAIN_GD;
    if (!restarts_given && fo.train == MOE_TRAIN_GD)
        fo.restarts = CLI_GD_RESTARTS;  /* each GD start runs every epoch: not 40 of them */
    if (gd_given && fo.train != MOE_TRAIN_GD)
        return cli_usage_error("fit", "%s needs --train gd", gd_given);
    int topk = fo.gate && strcmp(fo.gate, "topk") == 0;
    if (topk_given && !topk)
        return cli_usage_error("fit", "%s needs --gate topk", topk_given);
    if (topk && fo.train != MOE_TRAIN_GD)
        return cli_usage_error("fit", "--gate topk is trained by gradient descent only (EM "
                               "has no M-step for KeepTopK): leave out --train em");
    if (fo.bootstrap_search && !fo.bootstrap)
        return cli_usage_error("fit", "--bootstrap-search needs --bootstrap B");
    if (fo.bootstrap && fo.train == MOE_TRAIN_GD)
        return cli_usage_error("fit", "--bootstrap refits by EM: it cannot be used with "
                               "--train gd");
    if (fo.bootstrap && fo.tree)
        return cli_usage_error("fit", "--bootstrap does not support --tree yet (a tree's "
                               "leaves cannot be relabelled freely to match the refits)");
    if (cli_mpi_size() > 1) {
        /* what is not spread over the ranks yet is refused rather than run on every rank */
        if (fo.train == MOE_TRAIN_GD)
            return cli_usage_error("fit", "--train gd is not yet under MPI (gradient descent "
                                   "does not use the ranks' reduction hook yet): run it "
                                   "without mpirun");
        if (fo.bootstrap)
            return cli_usage_error("fit", "--bootstrap is not yet under MPI (its refits are "
                                   "not spread over the ranks): run it without mpirun");
        if (strcmp(data_path, "-") == 0)
            return cli_usage_error("fit", "standard input is not yet under MPI (every rank "
                                   "reads its own part of the file): give a file");
        fo.comm = cli_mpi_comm();
    }
    const char *why = moe_fit_options_check(&fo);
    if (why && fo.tree && strncmp(why, "tree: ", 6) == 0)
        return cli_usage_error("fit", "--tree '%s': %s", fo.tree, why + 6);
    if (why)
        return cli_usage_error("fit", "%s", why);
    int prc = cli_plot_prepare(&po);
    if (prc)
        return prc;

    moe_dataset *data = NULL;
    moe_fit *fit = NULL;
    cli_output json_out = {0}, model_out = {0};
    moe_error err = {0};
    int rc = cli_read_data(data_path, &csv, &sel, &data);
    if (rc)
        goto done;
    if (verbosity != CLI_QUIET)
        cli_note_omitted(data);
    /* a tree too large for the rows is a usage error (as a malformed --tree is); too many
     * flat experts for -k stays a data error (65), as it always was */
    char rows_msg[256];
    if (fo.tree && moe_fit_check_rows(&fo, data, rows_msg, sizeof rows_msg)) {
        rc = cli_usage_error("fit", "--tree '%s': %s", fo.tree, rows_msg);
        goto done;
    }
    if (po.dir) {
        /* --along must name an input of this data set: said before the fit, not after */
        int ps = moe_plot_check_data(&po, data, &err);
        if (ps != MOE_SUCCESS) {
            rc = cli_fail(ps, &err);
            goto done;
        }
    }

    if (cli_mpi_rank() > 0)  /* under mpirun rank 0 writes every output */
        json_path = model_path = po.dir = NULL;
    /* Outputs are opened before the (long) fit so that an unwritable place fails at once. */
    if (json_path)
        rc = cli_output_open(&json_out, json_path);
    if (!rc && model_path)
        rc = cli_output_open(&model_out, model_path);
    if ((rc = cli_mpi_agree(rc)))  /* rank 0 alone opens them: the others stop with it */
        goto done;

    progress_state ps;
    memset(&ps, 0, sizeof ps);
    ps.tty = isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &ps.start);
    ps.k_min = fo.k_min;
    ps.k_max = fo.k_max;
    ps.total = (fo.k_max - fo.k_min + 1) * fo.restarts;
    ps.best = -INFINITY;
    if (verbosity == CLI_VERBOSE || (verbosity == CLI_NORMAL && ps.tty)) {
        fo.progress = progress;
        fo.progress_data = &ps;
    }
    int s = moe_fit_run(data, &fo, &fit, &err);
    if (fo.progress)
        progress_end(&ps);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    int stdout_taken = (json_path && strcmp(json_path, "-") == 0)
                       || (model_path && strcmp(model_path, "-") == 0);
    /* Each warning is printed once: in the summary's Warnings section when there is a
     * summary, else on standard error. A summary that goes to a file or a pipe while standard
     * error is a terminal gets one line there saying how many it lists. */
    size_t nwarn = moe_fit_nwarnings(fit);
    if (stdout_taken)
        for (size_t i = 0; i < nwarn; i++)
            cli_warning("%s", moe_fit_warning(fit, i));
    else if (nwarn && !isatty(STDOUT_FILENO) && isatty(STDERR_FILENO))
        cli_warning("%zu warning%s, listed at the end of the summary", nwarn,
                    nwarn == 1 ? "" : "s");
    if (!stdout_taken) {
        s = moe_fit_write_summary(fit, stdout, &err);
        if (s != MOE_SUCCESS) {
            rc = cli_fail(s, &err);
            goto done;
        }
    }
    if (json_path) {
        s = moe_fit_write_json(fit, json_out.fp, &err);
        if (s != MOE_SUCCESS) {
            rc = cli_fail(s, &err);
            goto done;
        }
    }
    if (model_path) {
        s = moe_model_write(moe_fit_model(fit), model_out.fp, &err);
        if (s != MOE_SUCCESS) {
            rc = cli_fail(s, &err);
            goto done;
        }
    }
    /* The JSON and the model are complete: they are kept even if plotting fails below. */
    if ((rc = cli_output_commit(&json_out)) || (rc = cli_output_commit(&model_out)))
        goto done;
    if (po.dir) {
        s = moe_plot_write(moe_fit_model(fit), fit, data, &po, &err);
        if (s != MOE_SUCCESS) {
            rc = cli_fail(s, &err);
            goto done;
        }
    }

done:
    cli_output_abort(&json_out);
    cli_output_abort(&model_out);
    moe_fit_free(fit);
    moe_dataset_free(data);
    return rc;
}
