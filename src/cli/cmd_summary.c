/* cmd_summary.c: `moefit summary`: prints the summary of a saved model again, without the
 * data and without refitting (moe_model_write_summary).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

void cli_summary_help(FILE *fp)
{
    fputs(
"Usage: moefit summary MODEL.json\n"
"Print the summary of a model saved by 'moefit fit -o MODEL.json' again, without the data\n"
"and without refitting: the same coefficient tables (estimates, standard errors, z values,\n"
"p-values), priors and sizes, log-likelihood, AIC, BIC and ICL as the fit printed. The\n"
"iterations, the model-selection table and the warnings are not in a model file and are not\n"
"shown. A model file without the fit's record (written before the \"fit\" field existed, or\n"
"by hand) shows its estimates with NA for the standard errors, z, p and the\n"
"log-likelihood.\n"
"\n"
"  -h, --help           show this help and exit\n",
          fp);
}

static const struct option long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

int cli_summary(int argc, char **argv)
{
    opterr = 0;
    int c;
    while ((c = cli_getopt(argc, argv, ":h", long_options)) != -1) {
        switch (c) {
        case 'h': cli_summary_help(stdout); return CLI_OK;
        default: return cli_getopt_error("summary", c, argv);
        }
    }
    if (argc - optind < 1)
        return cli_usage_error("summary", "needs a model file");
    if (argc - optind > 1)
        return cli_usage_error("summary", "too many arguments ('%s')", argv[optind + 1]);
    moe_model *model = NULL;
    int rc = cli_load_model(argv[optind], &model);
    if (rc)
        return rc;
    moe_error err = {0};
    int s = moe_model_write_summary(model, stdout, &err);
    if (s != MOE_SUCCESS)
        rc = cli_fail(s, &err);
    moe_model_free(model);
    return rc;
}
