/* cli.h: what the moefit subcommands share: exit statuses, messages, option parsing helpers
 * and output files that appear only on success.
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

/* Reports what getopt_long found wrong (C is '?' or ':', the optstring starts with ':') and
 * returns 64. */
int cli_getopt_error(const char *cmd, int c, char **argv);

/* Option value parsers: each returns 0 on success, -1 (after printing a usage error that
 * names OPTION) when TEXT is not a valid value. */
int cli_parse_size(const char *cmd, const char *option, const char *text, size_t *out);
int cli_parse_ulong(const char *cmd, const char *option, const char *text, unsigned long *out);
int cli_parse_double(const char *cmd, const char *option, const char *text, double *out);
int cli_parse_sep(const char *cmd, const char *text, char *out);
int cli_parse_na(const char *cmd, const char *text, moe_na_policy *out);
int cli_parse_format(const char *cmd, const char *text, moe_plot_format *out);

/* Reads the table at PATH with the CSV options; on failure prints the message and returns
 * the exit status, else 0. */
int cli_read_table(const char *path, const moe_csv_options *csv, moe_table **out);

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

/* Which progress lines to print on stderr: -q, default (only on a terminal), -v. */
typedef enum cli_verbosity { CLI_QUIET = -1, CLI_NORMAL = 0, CLI_VERBOSE = 1 } cli_verbosity;

/* The subcommands: each takes the arguments after the subcommand's name (argv[0] is the
 * subcommand's name) and returns the exit status. */
int cli_fit(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_simulate(int argc, char **argv);
int cli_plot(int argc, char **argv);

/* The subcommands' help texts (stdout). */
void cli_fit_help(FILE *fp);
void cli_predict_help(FILE *fp);
void cli_simulate_help(FILE *fp);
void cli_plot_help(FILE *fp);

#endif
