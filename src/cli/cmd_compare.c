/* cmd_compare.c: `moefit compare-losses`: the classroom demonstration of Jacobs, Jordan,
 * Nowlan & Hinton (1991): the nll, competitive and cooperative losses fitted by gradient
 * descent from the same start on the same data, side by side, and with --plot one figure of
 * their gating and regimes plots.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_compare_help(FILE *fp)
{
    fputs(
"Usage: moefit compare-losses [OPTION]... DATA.csv\n"
"Fit K experts by gradient descent on each of the three losses of Jacobs, Jordan, Nowlan &\n"
"Hinton (1991), nll, competitive and cooperative, from the same start (EM's first M-step\n"
"from k-means), and print side by side: the mean squared error of the mixture mean, the\n"
"log-likelihood, each expert's share (mean gate probability) and hard size, and how sharply\n"
"the gate specialises (mean of max_i g_i, and the mean gate entropy in nats).\n"
"\n"
"  -k, --experts=K        experts (default 3)\n"
"      --family=F         expert family: gaussian (default), poisson, logistic or\n"
"                         mlp:H[:tanh|relu] (as for fit)\n"
"      --seed=S           random seed (default 1)\n"
"      --optimizer=O      adam (default) or sgd\n"
"      --lr=R             peak learning rate (default 0.05)\n"
"      --batch=B          rows per mini-batch, 0 = full batch (default 0)\n"
"      --epochs=E         epochs (default 2000)\n"
"  -y, --response=COL     response column (default: the last)\n"
"  -x, --inputs=COLS      expert inputs (default: all other columns)\n"
"  -z, --gate-inputs=COLS gate inputs (default: the same as --inputs)\n"
"      --sep=C, --no-header, --na=fail|omit   as for fit\n"
"      --plot=DIR         the three gating and regimes plots side by side in\n"
"                         DIR/compare.png (each loss's own figures in DIR/LOSS/)\n"
"      --format=F         png, svg or pdf for --plot (default png)\n"
"      --along=COL        input the plots are drawn along (default: the first)\n"
"  -h, --help             show this help and exit\n"
"\n"
"Example: moefit compare-losses -k 3 --plot figs datasets/mcycle.csv\n",
          fp);
}

enum { OPT_SEED = 256, OPT_OPTIMIZER, OPT_LR, OPT_BATCH, OPT_EPOCHS, OPT_PLOT, OPT_FORMAT,
       OPT_ALONG, OPT_FAMILY };

static const struct option long_options[] = {
    {"experts", required_argument, NULL, 'k'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"family", required_argument, NULL, OPT_FAMILY},
    {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
    {"lr", required_argument, NULL, OPT_LR},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"response", required_argument, NULL, 'y'},
    {"inputs", required_argument, NULL, 'x'},
    {"gate-inputs", required_argument, NULL, 'z'},
    CLI_DATA_LONG_OPTIONS,
    {"plot", required_argument, NULL, OPT_PLOT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"along", required_argument, NULL, OPT_ALONG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

#define NLOSS 3

/* What the table shows of one fit. */
typedef struct loss_row {
    double mse, loglik, sharp, entropy;
    double share[64];
    size_t size[64];
} loss_row;

static int describe(const moe_fit *f, const moe_dataset *d, loss_row *r, moe_error *err)
{
    const moe_model *m = moe_fit_model(f);
    moe_prediction *p = NULL;
    int s = moe_predict(m, d, 0, &p, err);
    if (s)
        return s;
    const double *y = moe_dataset_response(d);
    size_t n = p->n, k = p->k;
    r->mse = r->sharp = r->entropy = 0;
    for (size_t t = 0; t < n; t++) {
        double e = y[t] - p->mean[t], mx = 0, ent = 0;
        r->mse += e * e / (double)n;
        for (size_t i = 0; i < k; i++) {
            double g = p->gate[t * k + i];
            if (g > mx)
                mx = g;
            if (g > 0)
                ent -= g * log(g);
        }
        r->sharp += mx / (double)n;
        r->entropy += ent / (double)n;
    }
    r->loglik = moe_fit_get_stats(f).loglik;
    for (size_t i = 0; i < k; i++)
        moe_fit_expert(f, i, NULL, NULL, NULL, &r->share[i], &r->size[i]);
    moe_prediction_free(p);
    return MOE_SUCCESS;
}

int cli_compare(int argc, char **argv)
{
    moe_fit_options fo = moe_fit_options_default();
    moe_csv_options csv = moe_csv_options_default();
    moe_selection sel = moe_selection_default();
    moe_plot_options po = moe_plot_options_default();
    int format_given = 0;
    fo.k_min = fo.k_max = 3;
    fo.train = MOE_TRAIN_GD;
    fo.init = MOE_INIT_KMEANS;
    fo.restarts = 1;
    fo.standard_errors = 0;
    opterr = 0;
    int c;
    while ((c = cli_getopt(argc, argv, ":k:y:x:z:h", long_options)) != -1) {
        int bad = 0;
        switch (c) {
        case 'k':
            bad = cli_parse_size("compare-losses", "-k", optarg, &fo.k_min);
            fo.k_max = fo.k_min;
            break;
        case OPT_SEED: bad = cli_parse_ulong("compare-losses", "--seed", optarg, &fo.seed); break;
        case OPT_OPTIMIZER:
            if (strcmp(optarg, "adam") == 0)
                fo.optimizer = MOE_OPTIM_ADAM;
            else if (strcmp(optarg, "sgd") == 0)
                fo.optimizer = MOE_OPTIM_SGD;
            else
                return cli_usage_error("compare-losses", "--optimizer must be adam or sgd, not "
                                       "'%s'", optarg);
            break;
        case OPT_LR: bad = cli_parse_double("compare-losses", "--lr", optarg, &fo.lr); break;
        case OPT_BATCH:
            bad = cli_parse_size("compare-losses", "--batch", optarg, &fo.batch);
            break;
        case OPT_EPOCHS:
            bad = cli_parse_size("compare-losses", "--epochs", optarg, &fo.epochs);
            break;
        case 'y': sel.response = optarg; break;
        case 'x': sel.inputs = optarg; break;
        case 'z': sel.gate_inputs = optarg; break;
        case CLI_OPT_SEP:
        case CLI_OPT_NO_HEADER:
        case CLI_OPT_NA:
            bad = cli_parse_data_option("compare-losses", c, optarg, &csv, &sel.na);
            break;
        case OPT_FAMILY: fo.family = optarg; break;
        case OPT_PLOT: po.dir = optarg; break;
        case OPT_FORMAT:
            bad = cli_parse_format("compare-losses", optarg, &po.format);
            format_given = 1;
            break;
        case OPT_ALONG: po.along = optarg; break;
        case 'h': cli_compare_help(stdout); return CLI_OK;
        default: return cli_getopt_error("compare-losses", c, argv);
        }
        if (bad)
            return CLI_USAGE;
    }
    if (optind >= argc)
        return cli_usage_error("compare-losses", "no data file given");
    if (argc - optind > 1)
        return cli_usage_error("compare-losses", "one data file at a time ('%s' is one too "
                               "many)", argv[optind + 1]);
    if (fo.k_min < 1)
        return cli_usage_error("compare-losses", "-k needs at least 1 expert");
    if (!po.dir && (format_given || po.along))
        return cli_usage_error("compare-losses", "--format and --along need --plot DIR");
    if (po.dir && po.dir[0] == '\0')
        return cli_usage_error("compare-losses", "--plot needs a folder name");
    const char *why = moe_fit_options_check(&fo);
    if (why)
        return cli_usage_error("compare-losses", "%s", why);
    int prc = cli_plot_prepare(&po);
    if (prc)
        return prc;

    moe_dataset *data = NULL;
    moe_fit *fit[NLOSS] = {NULL, NULL, NULL};
    moe_error err = {0};
    loss_row row[NLOSS];
    const moe_loss loss[NLOSS] = {MOE_LOSS_NLL, MOE_LOSS_COMPETITIVE, MOE_LOSS_COOPERATIVE};
    int rc = cli_read_data(argv[optind], &csv, &sel, &data);
    if (rc)
        goto done;
    cli_note_omitted(data);
    for (size_t l = 0; l < NLOSS; l++) {
        fo.loss = loss[l];
        int s = moe_fit_run(data, &fo, &fit[l], &err);
        if (!s)
            s = describe(fit[l], data, &row[l], &err);
        if (s) {
            rc = cli_fail(s, &err);
            goto done;
        }
    }
    size_t k = fo.k_min;
    printf("Three losses by gradient descent from the same start: K = %zu %s experts, %s, "
           "%zu epochs, lr %g, seed %lu, n = %zu\n\n", k, fo.family ? fo.family : "gaussian",
           fo.optimizer == MOE_OPTIM_SGD ? "SGD" : "Adam", fo.epochs, fo.lr, fo.seed,
           moe_dataset_nrows(data));
    printf("%-22s %14s %14s %14s\n", "", "nll", "competitive", "cooperative");
    printf("%-22s", "MSE of the mixture mean");
    for (size_t l = 0; l < NLOSS; l++)
        printf(" %14.6g", row[l].mse);
    printf("\n%-22s", "log-likelihood");
    for (size_t l = 0; l < NLOSS; l++)
        printf(" %14.4f", row[l].loglik);
    printf("\n%-22s", "mean max_i g_i");
    for (size_t l = 0; l < NLOSS; l++)
        printf(" %14.4f", row[l].sharp);
    printf("\n%-22s", "gate entropy (nats)");
    for (size_t l = 0; l < NLOSS; l++)
        printf(" %14.4f", row[l].entropy);
    for (size_t i = 0; i < k; i++) {
        char lab[40];
        snprintf(lab, sizeof lab, "expert %zu share", i + 1);
        printf("\n%-22s", lab);
        for (size_t l = 0; l < NLOSS; l++)
            printf(" %14.4f", row[l].share[i]);
        snprintf(lab, sizeof lab, "expert %zu hard size", i + 1);
        printf("\n%-22s", lab);
        for (size_t l = 0; l < NLOSS; l++)
            printf(" %14zu", row[l].size[i]);
    }
    printf("\n\nShare: the expert's mean gate probability; hard size: rows whose most probable "
           "expert (posterior) it is.\nA gate that specialises has mean max_i g_i near 1 and "
           "entropy near 0; one that blends, less and more.\n");
    fflush(stdout);  /* the table before any plotting message; main checks the stream */
    if (po.dir) {
        const moe_model *models[NLOSS];
        const char *labels[NLOSS];
        for (size_t l = 0; l < NLOSS; l++) {
            models[l] = moe_fit_model(fit[l]);
            labels[l] = moe_loss_name(loss[l]);
        }
        int s = moe_plot_compare(models, labels, NLOSS, data, &po, &err);
        if (s)
            rc = cli_fail(s, &err);
    }
done:
    for (size_t l = 0; l < NLOSS; l++)
        moe_fit_free(fit[l]);
    moe_dataset_free(data);
    return rc;
}
