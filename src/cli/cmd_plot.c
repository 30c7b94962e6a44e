/* cmd_plot.c: `moefit plot`: draws the gating, regimes, responsibility and gate-map plots of a
 * saved model on a data set with gnuplot.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void cli_plot_help(FILE *fp)
{
    fputs(
"Usage: moefit plot [OPTION]... MODEL.json DATA.csv -o DIR\n"
"Draw the plots of a model saved by 'moefit fit -o MODEL.json' on DATA.csv into DIR\n"
"(created if missing): the gating plot (gate probabilities along an input), the regimes\n"
"plot (data coloured by expert, the experts' lines, the mixture mean +- 2 sd) and, when\n"
"DATA.csv holds the response, the responsibility plot; with two or more gate inputs also\n"
"the gate map (the gate's most probable expert over two gate inputs, the --along one or the\n"
"first, and the next; for a topk gate the routing map) and, for a topk gate, the expert\n"
"load (rows routed to each expert). Beside each picture NAME.dat holds its data and\n"
"NAME.gp the gnuplot program, so a figure can be restyled by hand. The convergence and\n"
"model-selection plots need a fit: use 'moefit fit --plot DIR'.\n"
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

enum { OPT_FORMAT = 256, OPT_ALONG };

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"along", required_argument, NULL, OPT_ALONG},
    CLI_DATA_LONG_OPTIONS,
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
    while ((c = cli_getopt(argc, argv, ":o:h", long_options)) != -1) {
        int bad = 0;
        switch (c) {
        case 'o': po.dir = optarg; break;
        case OPT_FORMAT: bad = cli_parse_format("plot", optarg, &po.format); break;
        case OPT_ALONG: po.along = optarg; break;
        case CLI_OPT_SEP:
        case CLI_OPT_NO_HEADER:
        case CLI_OPT_NA: bad = cli_parse_data_option("plot", c, optarg, &csv, &na); break;
        case 'h': cli_plot_help(stdout); return CLI_OK;
        default: return cli_getopt_error("plot", c, argv);
        }
        if (bad)
            return CLI_USAGE;
    }
    const char *model_path, *data_path;
    int rc = cli_model_data_args("plot", argc, argv, &model_path, &data_path);
    if (rc)
        return rc;
    if (!po.dir || !po.dir[0])
        return cli_usage_error("plot", "needs -o DIR, the folder for the pictures");
    if (strcmp(model_path, "-") == 0 && strcmp(data_path, "-") == 0)
        return cli_usage_error("plot", "the model and the data cannot both be standard input");
    cli_plot_templates_from_env(&po);

    moe_model *model = NULL;
    moe_dataset *data = NULL;
    moe_error err = {0};
    if ((rc = cli_load_model(model_path, &model)))
        goto done;
    /* The response is used when the data have it (regimes and responsibility plots). */
    rc = cli_read_data_for_model(data_path, &csv, model, CLI_RESPONSE_IF_PRESENT, na, &data);
    if (rc)
        goto done;
    cli_note_omitted(data);
    int s = moe_plot_write(model, NULL, data, &po, &err);
    if (s != MOE_SUCCESS)
        rc = cli_fail(s, &err);

done:
    moe_dataset_free(data);
    moe_model_free(model);
    return rc;
}
