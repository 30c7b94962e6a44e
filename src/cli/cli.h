/* cli.h: what the moefit subcommands share: exit statuses, messages, option parsing helpers,
 * reading models and data files, and output files that appear only on success.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The command line is a thin layer over include/moe.h: nothing here reaches into the
 * library's internals. */
#ifndef MOE_CLI_H
#define MOE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "moe.h"

/* Exit statuses (sysexits.h values, spelled out so that no header is needed). */
enum {
    CLI_OK = 0,           /* success */
    CLI_USAGE = 64,       /* EX_USAGE: bad command line */
    CLI_DATAERR = 65,     /* EX_DATAERR: malformed data or model, too few rows, ... */
    CLI_NOINPUT = 66,     /* EX_NOINPUT: an input cannot be opened */
    CLI_UNAVAILABLE = 69, /* EX_UNAVAILABLE: gnuplot cannot be run */
    CLI_SOFTWARE = 70,    /* EX_SOFTWARE: numerical or internal failure, out of memory */
    CLI_CANTCREAT = 73    /* EX_CANTCREAT: an output cannot be created or written */
};

/* The exit status that goes with a library status. */
int cli_exit_status(int status);

/* Prints "moefit: MESSAGE" to stderr (printf-style). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "moefit: warning: MESSAGE" to stderr. */
void cli_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a library failure: prints ERR's message (or moe_strerror) and returns the exit
 * status that goes with it. */
int cli_fail(int status, const moe_error *err);

/* Prints a usage error, a hint to run `moefit CMD --help` (CMD may be NULL) and returns 64. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long (getopt.h) with long options that must be spelled in full: a name that is not
 * exactly one of LONGOPTS (an abbreviation such as --expert for --experts, too) makes it
 * return '?' like an unknown option. SHORTOPTS starts with ':'. Everything else is
 * getopt_long's: --opt=value and --opt value, options after operands, '--' ends options. */
struct option;
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Reports what the latest cli_getopt found wrong (C is '?' or ':') and returns 64. An unknown
 * long option is named with the options of its table that come close, if any: "unknown option
 * '--expert'; did you mean --experts?" (a name it starts, one it runs on from, or one a typo
 * or two away). */
int cli_getopt_error(const char *cmd, int c, char **argv);

/* For the default command, whose first argument may also be one of moefit's own OPTIONS
 * (--help, --version): when ARG, that argument, turns out an unknown option, the names of
 * OPTIONS are suggested as well as the command's. */
void cli_getopt_toplevel(const char *arg, const struct option *options);

/* Option value parsers: each returns 0 on success, -1 (after printing a usage error that
 * names OPTION) when TEXT is not a valid value. */
int cli_parse_size(const char *cmd, const char *option, const char *text, size_t *out);
int cli_parse_ulong(const char *cmd, const char *option, const char *text, unsigned long *out);
int cli_parse_double(const char *cmd, const char *option, const char *text, double *out);
int cli_parse_format(const char *cmd, const char *text, moe_plot_format *out);

/* The options that say how to read a data file, the same in fit, predict and plot: --sep,
 * --no-header and --na. CLI_DATA_LONG_OPTIONS goes into a getopt_long table (getopt.h). */
enum { CLI_OPT_SEP = 1024, CLI_OPT_NO_HEADER, CLI_OPT_NA };
#define CLI_DATA_LONG_OPTIONS                                   \
    {"sep", required_argument, NULL, CLI_OPT_SEP},              \
    {"no-header", no_argument, NULL, CLI_OPT_NO_HEADER},        \
    {"na", required_argument, NULL, CLI_OPT_NA}

/* Takes the expert family ARG (gaussian, poisson, logistic) into *FAMILY; returns 0, or -1
 * after printing a usage error for CMD that lists the families. */
int cli_parse_family(const char *cmd, const char *arg, const char **family);

/* Takes the value ARG of the data option C (a CLI_OPT_ code) into CSV or NA; returns 0, or
 * -1 after printing a usage error for CMD. */
int cli_parse_data_option(const char *cmd, int c, const char *arg, moe_csv_options *csv,
                          moe_na_policy *na);

/* Takes the operands MODEL.json DATA.csv that follow the options (argv[optind] on) into
 * *MODEL_PATH and *DATA_PATH; returns 0, or 64 after a usage error when there are not two. */
int cli_model_data_args(const char *cmd, int argc, char **argv, const char **model_path,
                        const char **data_path);

/* Points PO at the plot templates in $MOE_PLOTDIR when it is set and not empty. */
void cli_plot_templates_from_env(moe_plot_options *po);
/* The templates from the environment and, when PO has a folder, moe_plot_check before any
 * fit: 0, or the exit status after saying why. */
int cli_plot_prepare(moe_plot_options *po);

/* Each of these prints why it failed and returns the exit status, else returns 0. */

/* Loads the model saved at PATH. */
int cli_load_model(const char *path, moe_model **out);

/* Reads the CSV file at PATH with the CSV options and takes the columns SEL names. */
int cli_read_data(const char *path, const moe_csv_options *csv, const moe_selection *sel,
                  moe_dataset **out);

/* Whether the data read for a model hold its response column. */
typedef enum cli_response {
    CLI_WITHOUT_RESPONSE,     /* not read */
    CLI_WITH_RESPONSE,        /* read; a file without it is an error */
    CLI_RESPONSE_IF_PRESENT   /* read when the file has it */
} cli_response;

/* Reads the CSV file at PATH with the CSV options and takes the columns model M uses, by name;
 * NA says what a bad cell in one of them does. */
int cli_read_data_for_model(const char *path, const moe_csv_options *csv, const moe_model *m,
                            cli_response response, moe_na_policy na, moe_dataset **out);

/* Tells on stderr how many rows of D were dropped for missing values, if any. */
void cli_note_omitted(const moe_dataset *d);

/* An output file that appears only when everything went well: the data are written to a
 * temporary file in the same folder, which is renamed over PATH by cli_output_commit.
 * PATH "-" is standard output. */
typedef struct cli_output {
    const char *path;     /* the final name, or "-" */
    char *tmp;            /* the temporary name (NULL for standard output) */
    FILE *fp;             /* where to write */
} cli_output;

/* Opens OUT for PATH; on failure prints why and returns 73, else 0. */
int cli_output_open(cli_output *out, const char *path);

/* Flushes and closes OUT and renames it into place; on failure removes the temporary file,
 * prints why and returns 73, else 0. */
int cli_output_commit(cli_output *out);

/* Closes and removes OUT's temporary file (after a failure); a no-op for an unopened OUT. */
void cli_output_abort(cli_output *out);

/* moefit under mpirun (src/cli/mpi.c, built when configure found MPI). MPI is started only
 * when the process was launched by mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set),
 * so the plain binary runs alone (and under valgrind) without it. Rank 0 writes every output;
 * the others' standard output and error go to /dev/null. */
#ifdef MOE_HAVE_MPI
/* Starts MPI when launched by mpirun and registers its end at exit. Returns 0. */
int cli_mpi_start(int *argc, char ***argv);
/* This process's rank and the number of ranks (0 and 1 without mpirun). */
size_t cli_mpi_rank(void);
size_t cli_mpi_size(void);
/* The reduction hook for moe_fit_options.comm: NULL with one rank. */
const moe_comm *cli_mpi_comm(void);
/* Each rank reads its byte range of PATH (moe_csv_split, moe_table_read_csv_range) and the
 * parts are joined on every rank; an error on any rank is every rank's: the status and
 * message of the lowest failing rank (the first in the file). Returns a library status. */
int cli_mpi_read_table(const char *path, const moe_csv_options *csv, moe_table **out,
                       moe_error *err);
/* Every rank's exit status RC agreed: the largest, on every rank (a collective); for a
 * failure that only rank 0 can meet, such as opening an output, before the fit's
 * collectives, which the other ranks would otherwise wait in for ever. */
int cli_mpi_agree(int rc);
#else
static inline int cli_mpi_start(int *argc, char ***argv) { (void)argc; (void)argv; return 0; }
static inline size_t cli_mpi_rank(void) { return 0; }
static inline size_t cli_mpi_size(void) { return 1; }
static inline const moe_comm *cli_mpi_comm(void) { return NULL; }
static inline int cli_mpi_agree(int rc) { return rc; }
static inline int cli_mpi_read_table(const char *path, const moe_csv_options *csv,
                                     moe_table **out, moe_error *err)
{
    return moe_table_read_csv(path, csv, out, err);
}
#endif

/* Which progress lines to print on stderr: -q, default (only on a terminal), -v. */
typedef enum cli_verbosity { CLI_QUIET = -1, CLI_NORMAL = 0, CLI_VERBOSE = 1 } cli_verbosity;

/* The subcommands: each takes the arguments after the subcommand's name (argv[0] is the
 * subcommand's name) and returns the exit status. */
int cli_fit(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_plot(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_summary(int argc, char **argv);
int cli_lrtest(int argc, char **argv);

/* The subcommands' help texts (stdout). */
void cli_fit_help(FILE *fp);
void cli_predict_help(FILE *fp);
void cli_simulate_help(FILE *fp);
void cli_plot_help(FILE *fp);
void cli_compare_help(FILE *fp);
void cli_summary_help(FILE *fp);
void cli_lrtest_help(FILE *fp);

#endif
