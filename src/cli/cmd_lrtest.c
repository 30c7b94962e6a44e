/* cmd_lrtest.c: `moefit lrtest`: the likelihood-ratio test of two nested saved models on one
 * data file (issue 13): which is the smaller, whether it is nested in the other, the
 * statistic 2 (L_big - L_small), its degrees of freedom and chi-square p-value.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Nested means: the same family, response and number of experts, every expert input and every
 * gate input of the smaller model among the bigger one's, and fewer free parameters. Models
 * with different K are refused: the smaller is then on the boundary of the bigger's parameter
 * space and the statistic has no chi-square reference. Both models are evaluated on the same
 * rows of DATA.csv (rows dropped by --na omit for either model are dropped for both). */
#include <config.h>

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void cli_lrtest_help(FILE *fp)
{
    fputs(
"Usage: moefit lrtest [OPTION]... A.json B.json DATA.csv\n"
"Likelihood-ratio test of two nested models saved by 'moefit fit -o', evaluated on the\n"
"rows of DATA.csv (the data they were fitted to): which model is nested in the other, the\n"
"statistic 2 (logLik big - logLik small), its degrees of freedom (the difference of the\n"
"free parameters) and its chi-square p-value. Nested: the same family, response and number\n"
"of experts, and every input and gate input of the smaller model in the bigger one.\n"
"Models that are not nested are refused (exit 64).\n"
"\n"
"      --sep=C          field separator ',', ';' or 'tab' (default: detected)\n"
"      --no-header      the first line is data (columns V1, V2, ...; default: detected)\n"
"  -h, --help           show this help and exit\n",
          fp);
}

static const struct option long_options[] = {
    {"sep", required_argument, NULL, CLI_OPT_SEP},
    {"no-header", no_argument, NULL, CLI_OPT_NO_HEADER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

static size_t nfree(const moe_model *m)
{
    size_t s = 0;
    for (size_t b = 0; b <= moe_model_k(m); b++)
        s += moe_model_ncoef(m, b);
    return s;
}

/* Whether every name of SMALL's inputs (GATE: gate inputs) is among BIG's. */
static int inputs_within(const moe_model *small, const moe_model *big, int gate)
{
    size_t ns = gate ? moe_model_nz(small) : moe_model_nx(small);
    size_t nb = gate ? moe_model_nz(big) : moe_model_nx(big);
    for (size_t j = 0; j < ns; j++) {
        const char *a = gate ? moe_model_gate_input(small, j) : moe_model_input(small, j);
        int found = 0;
        for (size_t t = 0; t < nb && !found; t++) {
            const char *b = gate ? moe_model_gate_input(big, t) : moe_model_input(big, t);
            found = a && b && strcmp(a, b) == 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}

int cli_lrtest(int argc, char **argv)
{
    moe_csv_options csv = moe_csv_options_default();
    moe_na_policy na = MOE_NA_FAIL;
    opterr = 0;
    int c;
    while ((c = cli_getopt(argc, argv, ":h", long_options)) != -1) {
        switch (c) {
        case CLI_OPT_SEP:
        case CLI_OPT_NO_HEADER:
            if (cli_parse_data_option("lrtest", c, optarg, &csv, &na))
                return CLI_USAGE;
            break;
        case 'h': cli_lrtest_help(stdout); return CLI_OK;
        default: return cli_getopt_error("lrtest", c, argv);
        }
    }
    if (argc - optind != 3)
        return cli_usage_error("lrtest", "expected A.json B.json DATA.csv, got %d operand%s",
                               argc - optind, argc - optind == 1 ? "" : "s");
    const char *pa = argv[optind], *pb = argv[optind + 1], *pd = argv[optind + 2];
    moe_model *a = NULL, *b = NULL;
    moe_dataset *da = NULL, *db = NULL;
    moe_error err = {0};
    int rc;
    if ((rc = cli_load_model(pa, &a)) || (rc = cli_load_model(pb, &b)))
        goto done;
    const moe_model *big = a, *small = b;
    const char *pbig = pa, *psmall = pb;
    if (nfree(b) > nfree(a)) {
        big = b;
        small = a;
        pbig = pb;
        psmall = pa;
    }
    const char *why = NULL;
    if (strcmp(moe_model_family(a), moe_model_family(b)) != 0)
        why = "their expert families differ";
    else if (!moe_model_response(a) || !moe_model_response(b) ||
             strcmp(moe_model_response(a), moe_model_response(b)) != 0)
        why = "their responses differ";
    else if (moe_model_k(a) != moe_model_k(b))
        why = "their numbers of experts differ (the smaller model is on the boundary of the "
              "bigger one's parameters: no chi-square reference; compare K by BIC instead)";
    else if (nfree(a) == nfree(b))
        why = "they have the same number of free parameters";
    else if (!inputs_within(small, big, 0) || !inputs_within(small, big, 1))
        why = "the smaller model's inputs or gate inputs are not all among the bigger one's";
    if (why) {
        rc = cli_usage_error("lrtest", "%s and %s are not nested: %s", pa, pb, why);
        goto done;
    }
    if ((rc = cli_read_data_for_model(pd, &csv, big, CLI_WITH_RESPONSE, na, &da)) ||
        (rc = cli_read_data_for_model(pd, &csv, small, CLI_WITH_RESPONSE, na, &db)))
        goto done;
    double lb, ls;
    int s = moe_model_loglik(big, da, &lb, &err);
    if (s == MOE_SUCCESS)
        s = moe_model_loglik(small, db, &ls, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    size_t df = nfree(big) - nfree(small);
    double stat = 2 * (lb - ls);
    printf("Likelihood-ratio test on %s (n = %zu)\n", pd, moe_dataset_nrows(da));
    printf("  bigger:  %s, logLik %.6f, df %zu\n", pbig, lb, nfree(big));
    printf("  smaller: %s, logLik %.6f, df %zu\n", psmall, ls, nfree(small));
    if (stat < 0)
        printf("LR statistic: %.4f < 0 on %zu df: the bigger model fits worse, so it is not "
               "its maximum on these data (refit it with more --restarts, or check that both "
               "were fitted to %s)\n", stat, df, pd);
    else
        printf("LR statistic: %.4f on %zu df, Pr(>Chisq) = %.3g\n", stat, df,
               moe_chisq_upper(stat, (double)df));
    rc = CLI_OK;
done:
    moe_dataset_free(da);
    moe_dataset_free(db);
    moe_model_free(a);
    moe_model_free(b);
    return rc;
}
