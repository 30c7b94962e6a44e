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

enum { OPT_POSTERIOR = 256 };

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"posterior", no_argument, NULL, OPT_POSTERIOR},
    CLI_DATA_LONG_OPTIONS,
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

static void write_predictions(const moe_model *m, const moe_prediction *p, FILE *fp)
{
    fputs("mean,sd", fp);
    for (size_t i = 0; i < p->k; i++)
        fprintf(fp, ",g%zu", i + 1);
    char name[64];
    for (size_t j = 0; j < p->nodes; j++) {  /* a tree's inner nodes: g_node1.2 */
        moe_model_node_name(m, j, name, sizeof name);
        fprintf(fp, ",g_node%s", name);
    }
    fputs(",expert", fp);
    if (p->posterior) {
        for (size_t i = 0; i < p->k; i++)
            fprintf(fp, ",h%zu", i + 1);
        for (size_t j = 0; j < p->nodes; j++) {
            moe_model_node_name(m, j, name, sizeof name);
            fprintf(fp, ",h_node%s", name);
        }
    }
    fputc('\n', fp);
    for (size_t r = 0; r < p->n; r++) {
        fprintf(fp, "%.17g,%.17g", p->mean[r], p->sd[r]);
        for (size_t i = 0; i < p->k; i++)
            fprintf(fp, ",%.17g", p->gate[r * p->k + i]);
        for (size_t j = 0; j < p->nodes; j++)
            fprintf(fp, ",%.17g", p->node[r * p->nodes + j]);
        fprintf(fp, ",%zu", p->expert[r] + 1);
        if (p->posterior) {
            for (size_t i = 0; i < p->k; i++)
                fprintf(fp, ",%.17g", p->posterior[r * p->k + i]);
            for (size_t j = 0; j < p->nodes; j++)
                fprintf(fp, ",%.17g", p->node_posterior[r * p->nodes + j]);
        }
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
    while ((c = cli_getopt(argc, argv, ":o:qh", long_options)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': out_path = optarg; break;
        case OPT_POSTERIOR: posterior = 1; break;
        case CLI_OPT_SEP:
        case CLI_OPT_NO_HEADER:
        case CLI_OPT_NA: bad = cli_parse_data_option("predict", c, optarg, &csv, &na); break;
        case 'q': quiet = 1; break;
        case 'h': cli_predict_help(stdout); return CLI_OK;
        default: return cli_getopt_error("predict", c, argv);
        }
        if (bad)
            return CLI_USAGE;
    }
    const char *model_path, *data_path;
    int rc = cli_model_data_args("predict", argc, argv, &model_path, &data_path);
    if (rc)
        return rc;
    if (strcmp(model_path, "-") == 0 && strcmp(data_path, "-") == 0)
        return cli_usage_error("predict", "the model and the data cannot both be standard input");

    moe_model *model = NULL;
    moe_dataset *data = NULL;
    moe_prediction *pred = NULL;
    cli_output out = {0};
    moe_error err = {0};
    if ((rc = cli_load_model(model_path, &model)))
        goto done;
    rc = cli_read_data_for_model(data_path, &csv, model,
                                 posterior ? CLI_WITH_RESPONSE : CLI_WITHOUT_RESPONSE, na, &data);
    if (rc)
        goto done;
    if (!quiet)
        cli_note_omitted(data);
    /* extrapolation is allowed but never silent (a warning: -q keeps it) */
    char why[300];
    size_t outside = moe_model_outside_range(model, data, why, sizeof why);
    if (outside)
        cli_warning("%zu of %zu rows have inputs outside the range the model was fitted on "
                    "(first: %s): those predictions extrapolate", outside,
                    moe_dataset_nrows(data), why);
    int s = moe_predict(model, data, posterior, &pred, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if ((rc = cli_output_open(&out, out_path)))
        goto done;
    write_predictions(model, pred, out.fp);
    rc = cli_output_commit(&out);

done:
    cli_output_abort(&out);
    moe_prediction_free(pred);
    moe_dataset_free(data);
    moe_model_free(model);
    return rc;
}
