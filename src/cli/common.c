/* common.c: what the moefit subcommands share: exit statuses from library statuses, error
 * messages, option value parsers, reading models and data files, and output files that are
 * renamed into place on success.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_exit_status(int status)
{
    switch (status) {
    case MOE_SUCCESS: return CLI_OK;
    case MOE_EINVAL:  /* options are checked before any work, so this is about the data */
    case MOE_EFORMAT: return CLI_DATAERR;
    case MOE_EOPEN: return CLI_NOINPUT;
    case MOE_EWRITE: return CLI_CANTCREAT;
    case MOE_EUNAVAIL: return CLI_UNAVAILABLE;
    default: return CLI_SOFTWARE;   /* ENOMEM, EBADLEN, ESING, EMAXITER, ENUMERIC, ... */
    }
}

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs("moefit: ", stderr);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("warning: ", fmt, ap);
    va_end(ap);
}

int cli_fail(int status, const moe_error *err)
{
    if (err && err->message[0])
        cli_error("%s", err->message);
    else
        cli_error("%s", moe_strerror(status));
    return cli_exit_status(status);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "Try 'moefit %s --help' for more information.\n", cmd);
    else
        fputs("Try 'moefit --help' for more information.\n", stderr);
    return CLI_USAGE;
}

/* ---------------------------------------------------------------- option values */

/* Long options must be spelled in full: getopt_long would take `--expert` for `--experts`,
 * and the option a user meant may be another one (or one a later version adds). cli_getopt
 * lets getopt_long do the work, then looks at the argument it read and turns every name
 * that is not exactly an option of the table into an error; cli_getopt_error reports it with
 * the nearest names of the same table, so that new options need no list of their own. */

static const struct option *getopt_table;  /* the long options of the latest cli_getopt */
static const char *getopt_abbrev;          /* the argument of an abbreviated long option */
static const char *toplevel_arg;           /* see cli_getopt_toplevel */
static const struct option *toplevel_table;

/* The length of the option name in ARG ("--NAME" or "--NAME=VALUE"), past the dashes. */
static size_t name_length(const char *arg)
{
    return strcspn(arg + 2, "=");
}

/* The entry of TABLE named exactly NAME (LEN bytes), or NULL. */
static const struct option *find_long(const struct option *table, const char *name, size_t len)
{
    for (const struct option *o = table; o && o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    getopt_table = longopts;
    getopt_abbrev = NULL;
    opterr = 0;
    optarg = NULL;
    int index = -1;
    int c = getopt_long(argc, argv, shortopts, longopts, &index);
    if (index < 0)
        return c;
    /* A long option: its value, when given apart, is the argument just read, and the option
     * the one before it. getopt_long has not moved either yet (it permutes on its next call). */
    const char *arg = argv[optind - 1];
    if (optarg == arg && optind >= 2)
        arg = argv[optind - 2];
    if (find_long(longopts, arg + 2, name_length(arg)) != &longopts[index]) {
        getopt_abbrev = arg;
        optopt = 0;
        return '?';
    }
    return c;
}

void cli_getopt_toplevel(const char *arg, const struct option *options)
{
    toplevel_arg = arg;
    toplevel_table = options;
}

/* The edit distance between A and B (lengths LA, LB) with adjacent transpositions counted as
 * one edit (optimal string alignment); any distance above LIMIT is returned as LIMIT + 1. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb, size_t limit)
{
    enum { MAXLEN = 64 };
    if (la > MAXLEN || lb > MAXLEN)
        return limit + 1;
    if ((la > lb ? la - lb : lb - la) > limit)
        return limit + 1;
    size_t d[MAXLEN + 1][MAXLEN + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb] < limit + 1 ? d[la][lb] : limit + 1;
}

/* How well option name O matches what the user wrote (NAME, LEN bytes): 0 when NAME is the
 * start of O (an abbreviation), 1 for an edit distance of 1 (a typo: --gateridge is
 * --gate-ridge, not --gate run on), 2 when O is the start of NAME (NAME runs on), 2 + the edit
 * distance when that is small for NAME's length, else SIZE_MAX (not close). */
static size_t closeness(const char *o, const char *name, size_t len)
{
    size_t lo = strlen(o);
    if (len > 0 && len < lo && memcmp(o, name, len) == 0)
        return 0;
    size_t limit = len < 4 ? 1 : 2;
    size_t d = distance(name, len, o, lo, limit);
    if (d == 1)
        return 1;
    if (lo < len && memcmp(o, name, lo) == 0 && lo >= 3)
        return 2;
    return d <= limit ? 2 + d : SIZE_MAX;
}

/* Appends to BUF the option names that match NAME (LEN bytes) best, from TABLE and then TOP:
 * "; did you mean --a?", "; did you mean --a or --b?", ... or nothing when none is close. */
static void suggest(char *buf, size_t size, const char *name, size_t len,
                    const struct option *table, const struct option *top)
{
    enum { MAXNAMES = 64 };
    const char *names[MAXNAMES];
    size_t n = 0, best = SIZE_MAX;
    const struct option *tables[2] = {table, top};
    for (size_t t = 0; t < 2; t++)
        for (const struct option *o = tables[t]; o && o->name && n < MAXNAMES; o++) {
            size_t c = closeness(o->name, name, len);
            if (c > best || c == SIZE_MAX || (t == 1 && find_long(table, o->name,
                                                                  strlen(o->name))))
                continue;
            if (c < best) {
                best = c;
                n = 0;
            }
            names[n++] = o->name;
        }
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s--%s%s",
                                 i == 0 ? "; did you mean " : i + 1 == n ? " or " : ", ",
                                 names[i], i + 1 == n ? "?" : "");
}

/* Reports the long option ARG, whose name is not in the table. */
static int unknown_long(const char *cmd, const char *arg)
{
    size_t len = name_length(arg);
    char hint[1024];
    suggest(hint, sizeof hint, arg + 2, len, getopt_table,
            arg == toplevel_arg ? toplevel_table : NULL);
    if (len == 0)   /* "--=VALUE": no name to show but the whole argument */
        len = strlen(arg + 2);
    return cli_usage_error(cmd, "unknown option '--%.*s'%s", (int)len, arg + 2, hint);
}

int cli_getopt_error(const char *cmd, int c, char **argv)
{
    if (getopt_abbrev)
        return unknown_long(cmd, getopt_abbrev);
    const char *arg = argv[optind - 1];
    /* Which argument failed: a long option's error ends its argument, so ARG is that option
     * when no option was found (OPTOPT 0) or when it names, in full or not, the one that
     * failed; a short option's error may leave ARG an earlier argument (-Qk). */
    int is_long = 0;
    if (strncmp(arg, "--", 2) == 0 && arg[2] != '\0') {
        size_t len = name_length(arg);
        is_long = optopt == 0;
        for (const struct option *o = getopt_table; o && o->name && !is_long; o++)
            is_long = o->val == optopt && strncmp(o->name, arg + 2, len) == 0;
    }
    if (!is_long) {
        if (c == ':')
            return cli_usage_error(cmd, "option '-%c' needs a value", optopt);
        return cli_usage_error(cmd, "unknown option '-%c'", optopt);
    }
    const struct option *o = find_long(getopt_table, arg + 2, name_length(arg));
    if (!o)   /* unknown, ambiguous, or an abbreviation lacking a value or given one */
        return unknown_long(cmd, arg);
    if (c == ':')
        return cli_usage_error(cmd, "option '--%s' needs a value", o->name);
    return cli_usage_error(cmd, "option '--%s' takes no value", o->name);
}

int cli_parse_ulong(const char *cmd, const char *option, const char *text, unsigned long *out)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    if (*p == '-' || *p == '+' || *p == '\0') {
        cli_usage_error(cmd, "%s needs a non-negative integer, not '%s'", option, text);
        return -1;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || *end != '\0') {
        cli_usage_error(cmd, "%s needs a non-negative integer, not '%s'", option, text);
        return -1;
    }
    if (errno == ERANGE || v > ULONG_MAX) {
        cli_usage_error(cmd, "%s value '%s' is too large", option, text);
        return -1;
    }
    *out = (unsigned long)v;
    return 0;
}

int cli_parse_size(const char *cmd, const char *option, const char *text, size_t *out)
{
    unsigned long v;
    if (cli_parse_ulong(cmd, option, text, &v) != 0)
        return -1;
    if ((unsigned long long)v > (unsigned long long)SIZE_MAX) {
        cli_usage_error(cmd, "%s value '%s' is too large", option, text);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *option, const char *text, double *out)
{
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v) || errno == ERANGE) {
        cli_usage_error(cmd, "%s needs a finite number, not '%s'", option, text);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_sep(const char *cmd, const char *text, char *out)
{
    if (strcmp(text, ",") == 0 || strcmp(text, "comma") == 0)
        *out = ',';
    else if (strcmp(text, ";") == 0 || strcmp(text, "semicolon") == 0)
        *out = ';';
    else if (strcmp(text, "tab") == 0 || strcmp(text, "\\t") == 0 || strcmp(text, "\t") == 0)
        *out = '\t';
    else {
        cli_usage_error(cmd, "--sep must be ',', ';' or 'tab', not '%s'", text);
        return -1;
    }
    return 0;
}

static int parse_na(const char *cmd, const char *text, moe_na_policy *out)
{
    if (strcmp(text, "fail") == 0)
        *out = MOE_NA_FAIL;
    else if (strcmp(text, "omit") == 0)
        *out = MOE_NA_OMIT;
    else {
        cli_usage_error(cmd, "--na must be 'fail' or 'omit', not '%s'", text);
        return -1;
    }
    return 0;
}

int cli_parse_format(const char *cmd, const char *text, moe_plot_format *out)
{
    if (strcmp(text, "png") == 0)
        *out = MOE_PLOT_PNG;
    else if (strcmp(text, "svg") == 0)
        *out = MOE_PLOT_SVG;
    else if (strcmp(text, "pdf") == 0)
        *out = MOE_PLOT_PDF;
    else {
        cli_usage_error(cmd, "--format must be 'png', 'svg' or 'pdf', not '%s'", text);
        return -1;
    }
    return 0;
}

int cli_parse_data_option(const char *cmd, int c, const char *arg, moe_csv_options *csv,
                          moe_na_policy *na)
{
    switch (c) {
    case CLI_OPT_SEP: return parse_sep(cmd, arg, &csv->sep);
    case CLI_OPT_NO_HEADER: csv->header = 0; return 0;
    case CLI_OPT_NA: return parse_na(cmd, arg, na);
    default: return -1;   /* not a data option: a caller's mistake */
    }
}

int cli_model_data_args(const char *cmd, int argc, char **argv, const char **model_path,
                        const char **data_path)
{
    if (argc - optind < 2)
        return cli_usage_error(cmd, "needs a model file and a data file");
    if (argc - optind > 2)
        return cli_usage_error(cmd, "too many arguments ('%s')", argv[optind + 2]);
    *model_path = argv[optind];
    *data_path = argv[optind + 1];
    return 0;
}

void cli_plot_templates_from_env(moe_plot_options *po)
{
    const char *env = getenv("MOE_PLOTDIR");
    if (env && *env)
        po->templates = env;
}

int cli_plot_prepare(moe_plot_options *po)
{
    cli_plot_templates_from_env(po);
    if (!po->dir)
        return 0;
    /* no gnuplot, or a --plot DIR that cannot be used, fails before the fit */
    moe_error perr = {0};
    int ps = moe_plot_check(po, &perr);
    return ps != MOE_SUCCESS ? cli_fail(ps, &perr) : 0;
}

/* ---------------------------------------------------------------- models and data */

int cli_load_model(const char *path, moe_model **out)
{
    moe_error err = {0};
    int s = moe_model_load(path, out, &err);
    if (s != MOE_SUCCESS)
        return cli_fail(s, &err);
    return 0;
}

static int read_table(const char *path, const moe_csv_options *csv, moe_table **out)
{
    moe_error err = {0};
    int s = cli_mpi_read_table(path, csv, out, &err);  /* moe_table_read_csv alone */
    if (s != MOE_SUCCESS)
        return cli_fail(s, &err);
    return 0;
}

int cli_read_data(const char *path, const moe_csv_options *csv, const moe_selection *sel,
                  moe_dataset **out)
{
    moe_table *table = NULL;
    int rc = read_table(path, csv, &table);
    if (rc)
        return rc;
    moe_error err = {0};
    int s = moe_dataset_from_table(table, sel, out, &err);
    moe_table_free(table);
    return s != MOE_SUCCESS ? cli_fail(s, &err) : 0;
}

int cli_read_data_for_model(const char *path, const moe_csv_options *csv, const moe_model *m,
                            cli_response response, moe_na_policy na, moe_dataset **out)
{
    moe_table *table = NULL;
    int rc = read_table(path, csv, &table);
    if (rc)
        return rc;
    int with_y = response == CLI_WITH_RESPONSE;
    size_t ycol;
    if (response == CLI_RESPONSE_IF_PRESENT)
        with_y = moe_table_lookup(table, moe_model_response(m), &ycol, NULL) == MOE_SUCCESS;
    moe_error err = {0};
    int s = moe_dataset_for_model(table, m, with_y, na, out, &err);
    moe_table_free(table);
    return s != MOE_SUCCESS ? cli_fail(s, &err) : 0;
}

void cli_note_omitted(const moe_dataset *d)
{
    size_t n = moe_dataset_omitted(d);
    if (n > 0)
        cli_error("omitted %zu row%s with missing values", n, n == 1 ? "" : "s");
}

/* ---------------------------------------------------------------- output files */

/* Temporary files that exist right now, removed if a signal ends the program. The array is
 * only touched outside signal handlers by the main thread; a handler only reads it. */
#define MAX_TEMPS 8
static char *volatile temps[MAX_TEMPS];

static void on_signal(int sig)
{
    for (size_t i = 0; i < MAX_TEMPS; i++)
        if (temps[i])
            unlink(temps[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void remember_temp(char *path)
{
    static int handlers;
    if (!handlers) {
        handlers = 1;
        const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_signal;
            sigemptyset(&sa.sa_mask);
            struct sigaction old;
            /* Leave a signal alone that the caller ignores (nohup, a pipeline's SIGPIPE). */
            if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
                continue;
            sigaction(sigs[i], &sa, NULL);
        }
    }
    for (size_t i = 0; i < MAX_TEMPS; i++)
        if (!temps[i]) {
            temps[i] = path;
            return;
        }
}

static void forget_temp(const char *path)
{
    for (size_t i = 0; i < MAX_TEMPS; i++)
        if (temps[i] == path)
            temps[i] = NULL;
}

int cli_output_open(cli_output *out, const char *path)
{
    out->path = path;
    out->tmp = NULL;
    out->fp = NULL;
    if (strcmp(path, "-") == 0) {
        out->fp = stdout;
        return 0;
    }
    /* DIR/.BASE.XXXXXX: the same folder, so that rename() is atomic. */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    if (*base == '\0') {
        cli_error("%s: is a folder, not a file name", path);
        return CLI_CANTCREAT;
    }
    size_t len = dirlen + 1 + strlen(base) + 8;
    char *tmp = malloc(len);
    if (!tmp) {
        cli_error("out of memory");
        return CLI_SOFTWARE;
    }
    snprintf(tmp, len, "%.*s.%s.XXXXXX", (int)dirlen, path, base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cli_error("%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        return CLI_CANTCREAT;
    }
    /* mkstemp makes the file 0600; give it the permissions a plain fopen would. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    out->fp = fdopen(fd, "w");
    if (!out->fp) {
        cli_error("%s: cannot create: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return CLI_CANTCREAT;
    }
    out->tmp = tmp;
    remember_temp(tmp);
    return 0;
}

int cli_output_commit(cli_output *out)
{
    if (!out->fp)
        return 0;
    if (!out->tmp) {   /* standard output */
        int bad = fflush(out->fp) != 0 || ferror(out->fp);
        out->fp = NULL;
        if (bad) {
            cli_error("standard output: write error: %s", strerror(errno));
            return CLI_CANTCREAT;
        }
        return 0;
    }
    int bad = fflush(out->fp) != 0 || ferror(out->fp);
    int e = errno;
    if (fclose(out->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    out->fp = NULL;
    if (!bad && rename(out->tmp, out->path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        cli_error("%s: cannot write: %s", out->path, strerror(e));
        unlink(out->tmp);
    }
    forget_temp(out->tmp);
    free(out->tmp);
    out->tmp = NULL;
    return bad ? CLI_CANTCREAT : 0;
}

void cli_output_abort(cli_output *out)
{
    if (!out->fp)
        return;
    if (out->tmp) {
        fclose(out->fp);
        unlink(out->tmp);
        forget_temp(out->tmp);
        free(out->tmp);
        out->tmp = NULL;
    } else {
        fflush(out->fp);
    }
    out->fp = NULL;
}

int cli_parse_family(const char *cmd, const char *arg, const char **family)
{
    const char *why = moe_family_check(arg);
    if (!why) {
        *family = arg;
        return 0;
    }
    char list[256] = "";
    size_t name_len = strcspn(arg, ":");
    for (size_t j = 0; moe_family_name(j); j++) {
        const char *nm = moe_family_name(j);
        if (strlen(nm) == name_len && strncmp(arg, nm, name_len) == 0) {
            cli_usage_error(cmd, "--family: %s", why);  /* a family, with bad options */
            return -1;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "", nm);
    }
    cli_usage_error(cmd, "--family must be one of %s, not '%s'", list, arg);
    return -1;
}
