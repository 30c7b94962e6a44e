/* cmd_simulate.c: `moefit simulate`: draws CSV data from a random well-separated mixture of
 * experts or from a saved model, optionally writing the true model and each row's regime.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_simulate_help(FILE *fp)
{
    fputs(
"Usage: moefit simulate [OPTION]...\n"
"Draw N rows of CSV data (header included) from a mixture of experts: a random\n"
"well-separated K-regime model, or the model in --model. Inputs are uniform over the\n"
"model's input range, the regime comes from the gate and y from that regime's expert.\n"
"\n"
"  -k, --experts=K        regimes of the random model (default 3)\n"
"      --tree=B1xB2x...   a random hierarchical mixture instead: a tree of gates, every\n"
"                         node splitting its share of x1 into equal parts (2x2: K = 4)\n"
"  -n, --rows=N           rows to draw (default 200)\n"
"      --seed=S           random seed; the same seed gives the same data (default 1)\n"
"  -d, --inputs=D         inputs x1..xD of the random model (default 1)\n"
"      --noise=SD         residual standard deviation of every expert (default 1)\n"
"      --separation=S     distance between neighbouring regimes' lines at their\n"
"                         boundary, in noise SDs (default 4)\n"
"      --family=F         gaussian (default), poisson or logistic: the lines are then\n"
"                         each expert's log rate or logit (try --separation 1);\n"
"                         mlp:H[:tanh|relu]: networks whose mean is each line\n"
"  -m, --model=FILE       draw from this saved (or hand-written) model instead; not\n"
"                         with -k, --tree, --inputs, --noise or --separation\n"
"      --data=CSV         with --model: keep the inputs of these rows (the model's\n"
"                         columns by name, with its offset and trials) and draw only a\n"
"                         new response for each (a parametric bootstrap sample); not\n"
"                         with -n\n"
"  -o, --output=FILE      write the data to FILE (default '-': standard output)\n"
"      --truth=FILE       write the true model as model JSON (usable by predict and plot)\n"
"      --regimes=FILE     write each row's true regime as CSV 'row,regime' (both 1-based)\n"
"  -h, --help             show this help and exit\n"
"\n"
"The columns are x1..xD and y for a random model, the model's own column names otherwise.\n"
"Example: moefit simulate -k 3 -n 500 --seed 7 --truth truth.json > sim.csv\n",
          fp);
}

enum {
    OPT_SEED = 256, OPT_NOISE, OPT_SEPARATION, OPT_TRUTH, OPT_REGIMES, OPT_FAMILY, OPT_TREE,
    OPT_DATA
};

static const struct option long_options[] = {
    {"experts", required_argument, NULL, 'k'},
    {"tree", required_argument, NULL, OPT_TREE},
    {"rows", required_argument, NULL, 'n'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"inputs", required_argument, NULL, 'd'},
    {"noise", required_argument, NULL, OPT_NOISE},
    {"separation", required_argument, NULL, OPT_SEPARATION},
    {"model", required_argument, NULL, 'm'},
    {"data", required_argument, NULL, OPT_DATA},
    {"output", required_argument, NULL, 'o'},
    {"truth", required_argument, NULL, OPT_TRUTH},
    {"regimes", required_argument, NULL, OPT_REGIMES},
    {"family", required_argument, NULL, OPT_FAMILY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

int cli_simulate(int argc, char **argv)
{
    moe_sim_options so = moe_sim_options_default();
    size_t n = 200;
    int n_given = 0;
    const char *data_path = NULL;
    const char *model_path = NULL, *out_path = "-", *truth_path = NULL, *regimes_path = NULL;
    int shape_given = 0, k_given = 0;

    opterr = 0;
    int c;
    while ((c = cli_getopt(argc, argv, ":k:n:d:m:o:h", long_options)) != -1) {
        int bad = 0;
        switch (c) {
        case 'k':
            bad = cli_parse_size("simulate", "-k", optarg, &so.k);
            shape_given = 1;
            k_given = 1;
            break;
        case OPT_TREE:
            so.tree = optarg;
            shape_given = 1;
            break;
        case 'n':
            bad = cli_parse_size("simulate", "-n", optarg, &n);
            n_given = 1;
            break;
        case OPT_DATA: data_path = optarg; break;
        case OPT_SEED: bad = cli_parse_ulong("simulate", "--seed", optarg, &so.seed); break;
        case 'd':
            bad = cli_parse_size("simulate", "--inputs", optarg, &so.nx);
            shape_given = 1;
            break;
        case OPT_NOISE:
            bad = cli_parse_double("simulate", "--noise", optarg, &so.noise);
            shape_given = 1;
            break;
        case OPT_SEPARATION:
            bad = cli_parse_double("simulate", "--separation", optarg, &so.separation);
            shape_given = 1;
            break;
        case 'm': model_path = optarg; break;
        case 'o': out_path = optarg; break;
        case OPT_TRUTH: truth_path = optarg; break;
        case OPT_REGIMES: regimes_path = optarg; break;
        case OPT_FAMILY:
            bad = cli_parse_family("simulate", optarg, &so.family);
            shape_given = 1;
            break;
        case 'h': cli_simulate_help(stdout); return CLI_OK;
        default: return cli_getopt_error("simulate", c, argv);
        }
        if (bad)
            return CLI_USAGE;
    }
    if (optind < argc)
        return cli_usage_error("simulate", "takes no file arguments ('%s'); use -o or --model",
                               argv[optind]);
    if (model_path && shape_given)
        return cli_usage_error("simulate", "--model cannot be combined with -k, --tree, --inputs, "
                                           "--noise, --separation or --family");
    if (data_path && !model_path)
        return cli_usage_error("simulate", "--data needs --model (the model to draw from)");
    if (data_path && n_given)
        return cli_usage_error("simulate", "--data keeps the rows of the data file: -n cannot "
                                           "be given with it");
    if (so.k < 1)
        return cli_usage_error("simulate", "-k needs at least 1 expert");
    if (so.tree && k_given)
        return cli_usage_error("simulate", "-k and --tree cannot be combined (the tree gives K)");
    if (so.tree) {
        moe_model *probe = NULL;
        moe_error perr = {0};
        if (moe_simulate_model(&so, &probe, &perr) == MOE_EINVAL)
            return cli_usage_error("simulate", "--tree '%s': %s", so.tree,
                                   strncmp(perr.message, "simulate: tree: ", 16) == 0
                                       ? perr.message + 16 : perr.message);
        moe_model_free(probe);
    }
    if (n < 1)
        return cli_usage_error("simulate", "-n needs at least 1 row");
    if (!(so.noise > 0))
        return cli_usage_error("simulate", "--noise must be > 0");
    if (so.separation < 0)
        return cli_usage_error("simulate", "--separation must be >= 0");
    const char *paths[3] = {out_path, truth_path, regimes_path};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (paths[i] && paths[j] && strcmp(paths[i], paths[j]) == 0)
                return cli_usage_error("simulate", "two outputs go to the same place '%s'",
                                       paths[i]);

    moe_model *model = NULL;
    moe_dataset *data = NULL, *inputs = NULL;
    size_t *regime = NULL;
    cli_output out = {0}, truth = {0}, regimes = {0};
    moe_error err = {0};
    int rc = 0, s;
    if (model_path) {
        if ((rc = cli_load_model(model_path, &model)))
            goto done;
    } else {
        s = moe_simulate_model(&so, &model, &err);
        if (s != MOE_SUCCESS) {
            /* The options are the only input here, so an invalid one is a usage error. */
            rc = s == MOE_EINVAL ? cli_usage_error("simulate", "%s", err.message)
                                 : cli_fail(s, &err);
            goto done;
        }
    }
    if (data_path) {
        moe_csv_options csv = moe_csv_options_default();
        if ((rc = cli_read_data_for_model(data_path, &csv, model, CLI_WITHOUT_RESPONSE,
                                          MOE_NA_FAIL, &inputs)))
            goto done;
        n = moe_dataset_nrows(inputs);
    }
    regime = n <= SIZE_MAX / sizeof *regime ? malloc(n * sizeof *regime) : NULL;
    if (!regime) {
        cli_error("out of memory for %zu rows", n);
        rc = CLI_SOFTWARE;
        goto done;
    }
    s = inputs ? moe_simulate_at(model, inputs, so.seed, &data, regime, &err)
               : moe_simulate(model, n, so.seed, &data, regime, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if ((rc = cli_output_open(&out, out_path)))
        goto done;
    if (truth_path && (rc = cli_output_open(&truth, truth_path)))
        goto done;
    if (regimes_path && (rc = cli_output_open(&regimes, regimes_path)))
        goto done;
    s = moe_dataset_write_csv(data, out.fp, &err);
    if (s == MOE_SUCCESS && truth_path)
        s = moe_model_write(model, truth.fp, &err);
    if (s != MOE_SUCCESS) {
        rc = cli_fail(s, &err);
        goto done;
    }
    if (regimes_path) {
        fputs("row,regime\n", regimes.fp);
        for (size_t r = 0; r < n; r++)
            fprintf(regimes.fp, "%zu,%zu\n", r + 1, regime[r] + 1);
    }
    if ((rc = cli_output_commit(&out)) || (rc = cli_output_commit(&truth))
        || (rc = cli_output_commit(&regimes)))
        goto done;

done:
    cli_output_abort(&out);
    cli_output_abort(&truth);
    cli_output_abort(&regimes);
    free(regime);
    moe_dataset_free(data);
    moe_model_free(model);
    moe_dataset_free(inputs);
    return rc;
}
