/* cmd_plot.c: `moefit plot`: draws the gating, regimes and responsibility plots of a saved
 * model on a data set with gnuplot.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_plot_help(FILE *fp)
{
    fputs(
"Usage: moefit plot [OPTION]... MODEL.json DATA.csv -o DIR\n"
"Draw the plots of a model saved by 'moefit fit -o MODEL.json' on DATA.csv into DIR\n"
"(created if missing): the gating plot (gate probabilities along an input), the regimes\n"
"plot (data coloured by expert, the experts' lines, the mixture mean +- 2 sd) and, when\n"
"DATA.csv holds the response, the responsibility plot. Beside each picture NAME.dat holds\n"
"its data and NAME.gp the gnuplot program, so a figure can be restyled by hand. The\n"
"convergence and model-selection plots need a fit: use 'moefit fit --plot DIR'.\n"
"\n"
"  -o, --output=DIR     folder for the pictures (required)\n"
"      --format=F       png, svg or pdf (default png)\n"
"      --along=COL      input the curves are drawn along, the others held at their means\n"
"                       (default: the model's first input)\n"
"      --sep=C          field separator ',', ';' or 'tab' (default: detected)\n"
"      --no-header      the first line is data (columns V1, V2, ...; default: detected)\n"
"      --na=fail|omit   a missing or non-numeric cell in a used column is an error\n"
"                       (fail, the default) or drops its row (omit)\n"
"  -h, --help           show this help and exit\n"
"\n"
"Needs gnuplot (exit status 69 without it). MOE_PLOTDIR names the folder of the .gp\n"
"templates when they are not the installed ones.\n",
          fp);
}

enum { OPT_FORMAT = 256, OPT_ALONG, OPT_SEP, OPT_NO_HEADER, OPT_NA };

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"along", required_argument, NULL, OPT_ALONG},
    {"sep", required_argument, NULL, OPT_SEP},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"na", required_argument, NULL, OPT_NA},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

int cli_plot(int argc, char **argv)
{
    moe_csv_options csv = moe_csv_options_default();
    moe_plot_options po = moe_plot_options_default();
    moe_na_policy na = MOE_NA_FAIL;

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", long_options, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': po.dir = optarg; break;
        case OPT_FORMAT: bad = cli_parse_format("plot", optarg, &po.format); break;
        case OPT_ALONG: po.along = optarg; break;
        case OPT_SEP: bad = cli_parse_sep("plot", optarg, &csv.sep); break;
        case OPT_NO_HEADER: csv.header = 0; break;
        case OPT_NA: bad = cli_parse_na("plot", optarg, &na); break;
        case 'h': cli_plot_help(stdout); return CLI_OK;
        default: return cli_getopt_error("plot", c, argv);
        }
        if (bad)
            return CLI_USAGE;
    }
    if (argc - optind < 2)
        return cli_usage_error("plot", "needs a model file and a data file");
    if (argc - optind > 2)
        return cli_usage_error("plot", "too many arguments ('%s')", argv[optind + 2]);
    if (!po.dir || !po.dir[0])
        return cli_usage_error("plot", "needs -o DIR, the folder for the pictures");
    const char *model_path = argv[optind], *data_path = argv[optind + 1];
    if (strcmp(model_path, "-") == 0 && strcmp(data_path, "-") == 0)
        return cli_usage_error("plot", "the model and the data cannot both be standard input");
    const char *env = getenv("MOE_PLOTDIR");
    if (env && *env)
        po.templates = env;

    moe_model *model = NULL;
    moe_table *table = NULL;
    moe_dataset *data = NULL;
    moe_error err = {0};
    int rc = 0;
    int s = moe_model_load(model_path, &model, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if ((rc = cli_read_table(data_path, &csv, &table)))
        goto done;
    /* The response is used when the data have it (regimes and responsibility plots). */
    size_t ycol;
    int have_y = moe_table_lookup(table, moe_model_response(model), &ycol, NULL) == MOE_SUCCESS;
    s = moe_dataset_for_model(table, model, have_y, na, &data, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if (moe_dataset_omitted(data) > 0)
        cli_error("omitted %zu row%s with missing values", moe_dataset_omitted(data),
                  moe_dataset_omitted(data) == 1 ? "" : "s");
    s = moe_plot_write(model, NULL, data, &po, &err);
    if (s != MOE_SUCCESS)
        rc = cli_fail(s, &err);

done:
    moe_dataset_free(data);
    moe_table_free(table);
    moe_model_free(model);
    return rc;
}
