/* cmd_predict.c: `moefit predict`: applies a saved model to the rows of a CSV file and writes
 * the mixture mean, predictive sd, gate probabilities and most probable expert as CSV.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void cli_predict_help(FILE *fp)
{
    fputs(
"Usage: moefit predict [OPTION]... MODEL.json DATA.csv\n"
"Predict with a model saved by 'moefit fit -o MODEL.json' for every row of DATA.csv ('-':\n"
"standard input), which must hold the model's input columns (by name).\n"
"\n"
"  -o, --output=FILE    write the predictions to FILE (default '-': standard output)\n"
"      --posterior      also write the posterior responsibilities h1..hK (DATA.csv must\n"
"                       hold the response column)\n"
"      --sep=C          field separator ',', ';' or 'tab' (default: detected)\n"
"      --no-header      the first line is data (columns V1, V2, ...; default: detected)\n"
"      --na=fail|omit   a missing or non-numeric cell in a used column is an error\n"
"                       (fail, the default) or drops its row (omit)\n"
"  -q, --quiet          no notes on standard error\n"
"  -h, --help           show this help and exit\n"
"\n"
"Output: CSV with the header mean,sd,g1,...,gK,expert[,h1,...,hK] and one line per data\n"
"row (per kept row with --na omit): the mixture mean, the predictive standard deviation,\n"
"each expert's gate probability, the most probable expert by the gate (1-based) and,\n"
"with --posterior, each expert's posterior responsibility given y. Numbers are written\n"
"with 17 significant digits.\n",
          fp);
}

enum { OPT_POSTERIOR = 256, OPT_SEP, OPT_NO_HEADER, OPT_NA };

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"posterior", no_argument, NULL, OPT_POSTERIOR},
    {"sep", required_argument, NULL, OPT_SEP},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"na", required_argument, NULL, OPT_NA},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

static void write_predictions(const moe_prediction *p, FILE *fp)
{
    fputs("mean,sd", fp);
    for (size_t i = 0; i < p->k; i++)
        fprintf(fp, ",g%zu", i + 1);
    fputs(",expert", fp);
    if (p->posterior)
        for (size_t i = 0; i < p->k; i++)
            fprintf(fp, ",h%zu", i + 1);
    fputc('\n', fp);
    for (size_t r = 0; r < p->n; r++) {
        fprintf(fp, "%.17g,%.17g", p->mean[r], p->sd[r]);
        for (size_t i = 0; i < p->k; i++)
            fprintf(fp, ",%.17g", p->gate[r * p->k + i]);
        fprintf(fp, ",%zu", p->expert[r] + 1);
        if (p->posterior)
            for (size_t i = 0; i < p->k; i++)
                fprintf(fp, ",%.17g", p->posterior[r * p->k + i]);
        fputc('\n', fp);
    }
}

int cli_predict(int argc, char **argv)
{
    moe_csv_options csv = moe_csv_options_default();
    moe_na_policy na = MOE_NA_FAIL;
    const char *out_path = "-";
    int posterior = 0, quiet = 0;

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:qh", long_options, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': out_path = optarg; break;
        case OPT_POSTERIOR: posterior = 1; break;
        case OPT_SEP: bad = cli_parse_sep("predict", optarg, &csv.sep); break;
        case OPT_NO_HEADER: csv.header = 0; break;
        case OPT_NA: bad = cli_parse_na("predict", optarg, &na); break;
        case 'q': quiet = 1; break;
        case 'h': cli_predict_help(stdout); return CLI_OK;
        default: return cli_getopt_error("predict", c, argv);
        }
        if (bad)
            return CLI_USAGE;
    }
    if (argc - optind < 2)
        return cli_usage_error("predict", "needs a model file and a data file");
    if (argc - optind > 2)
        return cli_usage_error("predict", "too many arguments ('%s')", argv[optind + 2]);
    const char *model_path = argv[optind], *data_path = argv[optind + 1];
    if (strcmp(model_path, "-") == 0 && strcmp(data_path, "-") == 0)
        return cli_usage_error("predict", "the model and the data cannot both be standard input");

    moe_model *model = NULL;
    moe_table *table = NULL;
    moe_dataset *data = NULL;
    moe_prediction *pred = NULL;
    cli_output out = {0};
    moe_error err = {0};
    int rc = 0;
    int s = moe_model_load(model_path, &model, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if ((rc = cli_read_table(data_path, &csv, &table)))
        goto done;
    s = moe_dataset_for_model(table, model, posterior, na, &data, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if (moe_dataset_omitted(data) > 0 && !quiet)
        cli_error("omitted %zu row%s with missing values", moe_dataset_omitted(data),
                  moe_dataset_omitted(data) == 1 ? "" : "s");
    s = moe_predict(model, data, posterior, &pred, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if ((rc = cli_output_open(&out, out_path)))
        goto done;
    write_predictions(pred, out.fp);
    rc = cli_output_commit(&out);

done:
    cli_output_abort(&out);
    moe_prediction_free(pred);
    moe_dataset_free(data);
    moe_table_free(table);
    moe_model_free(model);
    return rc;
}
