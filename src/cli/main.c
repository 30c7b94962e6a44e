/* main.c: the moefit command: picks the subcommand (fit by default) and hands over to it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void help(FILE *fp)
{
    fputs("Usage: moefit [fit] [OPTION]... DATA.csv\n"
          "       moefit predict [OPTION]... MODEL.json DATA.csv\n"
          "       moefit simulate [OPTION]...\n"
          "       moefit plot [OPTION]... MODEL.json DATA.csv -o DIR\n"
          "       moefit compare-losses [OPTION]... DATA.csv\n"
          "       moefit summary MODEL.json\n"
          "       moefit lrtest [OPTION]... A.json B.json DATA.csv\n"
          "       moefit help [COMMAND]\n"
          "Fit, use and draw mixtures of experts: regression models whose regimes are chosen by a\n"
          "softmax gate (Jordan & Jacobs 1994).\n"
          "\n"
          "Commands:\n"
          "  fit        fit K experts by EM (or gradient descent) and print an R-style summary\n"
          "             (the default command)\n"
          "  predict    predict with a saved model: mixture mean, sd, gate probabilities\n"
          "  simulate   draw data from a random or a saved mixture of experts\n"
          "  plot       draw the gating, regimes and responsibility plots of a saved model\n"
          "  compare-losses  fit the nll, competitive and cooperative losses by gradient\n"
          "             descent from one start and compare how they divide the data\n"
          "  summary    print a saved model's summary again, without refitting\n"
          "  lrtest     likelihood-ratio test of two nested saved models on their data\n"
          "  help       show this help, or a command's (same as COMMAND --help)\n"
          "\n"
          "Options:\n"
          "  -h, --help     show this help and exit\n"
          "  -V, --version  show the version and exit\n"
          "\n"
          "Example: moefit -k 1:5 datasets/mcycle.csv\n"
          "'moefit COMMAND --help' lists a command's options; see also moefit(1).\n"
          "Exit status: 0 success, 64 usage error, 65 data error, 66 cannot open input,\n"
          "69 gnuplot unavailable, 70 internal or numerical failure, 73 cannot create output.\n",
          fp);
}

static void version(void)
{
    printf("moefit %s\n", PACKAGE_VERSION);
    printf("libmoe %s\n", moe_version());
    printf("kernels %s\n", moe_kernels_name());
#ifdef MOE_HAVE_MPI
    printf("mpi yes (moefit fit runs under mpirun -np R)\n");
#else
    printf("mpi no (configure found no MPI)\n");
#endif
    printf("Copyright (C) 2026 the moefit developers.\n"
           "License GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\n"
           "This is free software: you are free to change and redistribute it.\n"
           "There is NO WARRANTY, to the extent permitted by law.\n");
}

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *fp);
};

static const struct command commands[] = {
    {"fit", cli_fit, cli_fit_help},
    {"predict", cli_predict, cli_predict_help},
    {"simulate", cli_simulate, cli_simulate_help},
    {"lrtest", cli_lrtest, cli_lrtest_help},
    {"plot", cli_plot, cli_plot_help},
    {"compare-losses", cli_compare, cli_compare_help},
    {"summary", cli_summary, cli_summary_help},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("moefit: standard output: write error\n", stderr);
        return status ? status : CLI_CANTCREAT;
    }
    return status;
}

int main(int argc, char **argv)
{
    cli_mpi_start(&argc, &argv);
    if (argc < 2)
        return cli_usage_error(NULL, "no data file given");
    const char *first = argv[1];
    if (strcmp(first, "-h") == 0 || strcmp(first, "--help") == 0) {
        help(stdout);
        return finish(0);
    }
    moe_error kerr = {0};
    if (moe_kernels_init(&kerr))
        return cli_usage_error(NULL, "%s", kerr.message);
    if (strcmp(first, "-V") == 0 || strcmp(first, "--version") == 0) {
        version();
        return finish(0);
    }
    if (strcmp(first, "help") == 0) {
        if (argc == 2) {
            help(stdout);
            return finish(0);
        }
        if (argc > 3)
            return cli_usage_error(NULL, "help takes at most one command");
        const struct command *c = find(argv[2]);
        if (!c)
            return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        c->help(stdout);
        return finish(0);
    }
    const struct command *c = find(first);
    if (c && c->run != cli_fit && cli_mpi_size() > 1)
        return cli_usage_error(NULL, "'moefit %s' is not yet under MPI: run it without "
                               "mpirun (only fit is spread over ranks)", first);
    if (c) {
        argv[1] = argv[0];   /* messages show the tool's name; the command knows its own */
        return finish(c->run(argc - 1, argv + 1));
    }
    /* Not a command: `moefit DATA.csv` and `moefit -k 3 DATA.csv` fit. A bare word that is
     * no file is most likely a mistyped command. */
    if (first[0] != '-' && !strchr(first, '.') && !strchr(first, '/') && access(first, F_OK) != 0)
        return cli_usage_error(NULL, "unknown command '%s' (and no file of that name)", first);
    /* A mistyped --version in first place is fit's unknown option: name the tool's too. */
    static const struct option own_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}
    };
    cli_getopt_toplevel(first, own_options);
    return finish(cli_fit(argc, argv));
}
