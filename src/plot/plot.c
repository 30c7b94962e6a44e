/* plot.c: the figures of a model and its fit (moe_plot_write): data, gnuplot programs, pictures.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * For every figure NAME the folder receives NAME.dat (the numbers, with a comment header
 * naming the columns), NAME.gp (a short preamble of variables, plots/style.gp and
 * plots/NAME.gp, exactly the program gnuplot ran) and the picture NAME.png|svg|pdf. The
 * programs name their data files relatively, so `gnuplot NAME.gp` in that folder redraws a
 * figure without re-fitting. Curves are drawn on a grid along one input with the other inputs
 * held at their means over the data; the gate map, on a grid over two gate inputs with the
 * other gate inputs held at their means; nothing but the pictures' own files is written.
 *
 * With two or more inputs (any input besides the one drawn along) the data rows cannot follow
 * lines drawn with the other inputs held at their means, so the two figures that put the rows
 * on the model are drawn against the fitted values at each row's own inputs instead (the
 * "fitted view"): regimes, y against the fitted mean of the row's most probable expert, with
 * the diagonal y = fitted; responsibility, each row's posterior responsibility h_i against its
 * own gate probability g_i, with the diagonal h = g (where the response did not move it). */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/error.h"
#include "data/dataset.h"
#include "experts/expert.h"
#include "model/model.h"
#include "plot/gnuplot.h"
#include "infer/fit.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Points of the grid the curves are drawn on. */
#define PLOT_GRID 401

/* The largest tree (in leaves) the tree figure draws. */
#define MOE_PLOT_TREE_MAX 64

/* Points along each side of the gate map's square grid (201 x 201 rows in gatemap.dat: fine
 * enough for a 1280-pixel picture, small enough to re-read by hand in a second). */
#define PLOT_MAP_GRID 201

moe_plot_options moe_plot_options_default(void)
{
    moe_plot_options o;
    o.dir = NULL;
    o.format = MOE_PLOT_PNG;
    o.along = NULL;
    o.templates = NULL;
    o.gnuplot = NULL;
    o.width = 1280;
    o.height = 800;
    return o;
}

/* Everything the figures share. */
typedef struct plot_ctx {
    const moe_model *m;
    const moe_dataset *d;
    const moe_plot_options *opt;
    const char *gnuplot;
    const char *ext;            /* picture extension */
    char tpl[PATH_MAX];         /* templates folder */
    const char *along;          /* the input the curves are drawn along */
    long ax, az;                /* its column among x and z inputs, -1 when not there */
    double lo, hi;              /* its range in the data */
    double *xmean, *zmean;      /* nx and nz means over the data */
    char title[512];            /* the model, for every title */
    char held[512];             /* "other inputs held at their means: ..." or "" */
    char inputs[512];           /* every input, expert and gate, once: "x1, x2" */
    int fitted;                 /* the fitted view: two or more inputs and the response */
} plot_ctx;

/* ---------------------------------------------------------------- small writers */

/* A file being written; BAD remembers a non-finite number (which is never written). */
typedef struct out_file {
    FILE *fp;
    int bad;
    char path[PATH_MAX];
} out_file;

/* Writes V with 12 significant digits. Subnormal numbers (|v| < 2.2e-308, e.g. a gate
 * probability of 1e-317) are written as 0: some tools (mawk, spreadsheets) read them as text,
 * and no picture can show the difference. */
static void put_num(out_file *o, const char *sep, double v)
{
    if (!isfinite(v)) {
        o->bad = 1;
        v = 0.0;
    }
    if (fpclassify(v) == FP_SUBNORMAL)
        v = 0.0;
    fprintf(o->fp, "%s%.12g", sep, v);
}

static int join_path(char *buf, size_t size, const char *dir, const char *name, const char *ext,
                     moe_error *err)
{
    int n = snprintf(buf, size, "%s/%s%s", dir, name, ext);
    if (n < 0 || (size_t)n >= size)
        return moe_error_set(err, MOE_EWRITE, "path too long: %s/%s%s", dir, name, ext);
    return MOE_SUCCESS;
}

/* Creates the file NAME EXT in the plot folder. */
static int open_out(out_file *o, const plot_ctx *c, const char *name, const char *ext,
                    moe_error *err)
{
    int s = join_path(o->path, sizeof o->path, c->opt->dir, name, ext, err);
    if (s)
        return s;
    o->bad = 0;
    o->fp = fopen(o->path, "w");
    if (!o->fp)
        return moe_error_set(err, MOE_EWRITE, "cannot create %s: %s", o->path, strerror(errno));
    return MOE_SUCCESS;
}

/* Closes O; a file that could not be written or holds a non-finite number is removed. */
static int close_out(out_file *o, moe_error *err)
{
    int bad = ferror(o->fp);
    if (fclose(o->fp) != 0)
        bad = 1;
    o->fp = NULL;
    if (bad) {
        remove(o->path);
        return moe_error_set(err, MOE_EWRITE, "cannot write %s", o->path);
    }
    if (o->bad) {
        remove(o->path);
        return moe_error_set(err, MOE_ENUMERIC, "%s: a value to plot is not finite", o->path);
    }
    return MOE_SUCCESS;
}

/* Writes S as a gnuplot single-quoted string (where '' stands for one quote). */
static void put_gp_string(FILE *fp, const char *s)
{
    fputc('\'', fp);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', fp);
        if (*s == '\n' || *s == '\r')
            fputc(' ', fp);
        else
            fputc(*s, fp);
    }
    fputc('\'', fp);
}

/* Appends printf-style text to BUF (SIZE bytes), truncating silently. */
static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

/* Copies the file DIR/NAME into FP. */
static int copy_template(FILE *fp, const char *dir, const char *name, moe_error *err)
{
    char path[PATH_MAX];
    int s = join_path(path, sizeof path, dir, name, ".gp", err);
    if (s)
        return s;
    FILE *in = fopen(path, "r");
    if (!in)
        return moe_error_set(err, MOE_EOPEN, "cannot open the plot template %s: %s", path,
                             strerror(errno));
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, fp);
    int bad = ferror(in);
    fclose(in);
    if (bad)
        return moe_error_set(err, MOE_EOPEN, "cannot read the plot template %s", path);
    return MOE_SUCCESS;
}

/* Writes NAME.gp: a preamble (terminal, output, data file, the variables in VARS, already
 * gnuplot statements), then style.gp and the template NAME.gp; runs gnuplot on it. */
static int draw(const plot_ctx *c, const char *name, const char *what, const char *vars,
                moe_error *err)
{
    out_file o;
    int s = open_out(&o, c, name, ".gp", err);
    if (s)
        return s;
    FILE *fp = o.fp;
    fprintf(fp, "# %s.gp: %s, written by moefit %s.\n", name, what, moe_version());
    fprintf(fp, "# Edit it and redraw the picture in this folder with:  gnuplot %s.gp\n", name);
    fprintf(fp, "# The numbers are in %s.dat; the style and the plot come from moefit's "
                "templates (plots/).\n",
            name);
    unsigned w = c->opt->width, h = c->opt->height;
    switch (c->opt->format) {
    case MOE_PLOT_SVG:
        fprintf(fp, "set terminal svg size %u,%u font 'Sans,16' linewidth 1.5 noenhanced "
                    "background '#ffffff'\n",
                w, h);
        break;
    case MOE_PLOT_PDF:
        /* 160 pixels to the inch: 1280 x 800 becomes 8 x 5 inches. */
        fprintf(fp, "set terminal pdfcairo size %.3fin,%.3fin font 'Sans,14' linewidth 1.5 "
                    "noenhanced\n",
                w / 160.0, h / 160.0);
        break;
    default:
        fprintf(fp, "set terminal pngcairo size %u,%u font 'Sans,16' linewidth 1.5 "
                    "noenhanced\n",
                w, h);
        break;
    }
    fprintf(fp, "set output '%s%s'\n", name, c->ext);
    fprintf(fp, "datafile = '%s.dat'\n", name);
    fputs(vars, fp);
    fputc('\n', fp);
    s = copy_template(fp, c->tpl, "style", err);
    if (!s) {
        fputc('\n', fp);
        s = copy_template(fp, c->tpl, name, err);
    }
    if (s) {
        fclose(fp);
        return s;
    }
    s = close_out(&o, err);
    if (s)
        return s;
    char script[PATH_MAX];
    snprintf(script, sizeof script, "%s.gp", name);
    s = moe_plot_run_gnuplot(c->gnuplot, c->opt->dir, script, err);
    if (s) {
        /* No broken picture is left behind; the .gp and .dat stay for the user to see. */
        char pic[PATH_MAX];
        if (!join_path(pic, sizeof pic, c->opt->dir, name, c->ext, NULL))
            remove(pic);
    }
    return s;
}

/* The variables every template uses: K, the model title, the note and the column names. */
static void common_vars(const plot_ctx *c, FILE *fp, const char *note, const char *held_list)
{
    fprintf(fp, "K = %zu\n", moe_model_k(c->m));
    fputs("xname = ", fp);
    put_gp_string(fp, c->along);
    fputs("\nyname = ", fp);
    put_gp_string(fp, moe_model_response(c->m));
    fputs("\nmodel_title = ", fp);
    put_gp_string(fp, c->title);
    fputs("\nnote = ", fp);
    put_gp_string(fp, note);
    /* a third title line, or '' when nothing is held (one input, or a figure of data rows) */
    char held[600] = "";
    if (held_list && held_list[0])
        snprintf(held, sizeof held, "other inputs held at their means: %s", held_list);
    fputs("\nheld = ", fp);
    put_gp_string(fp, held);
    fputc('\n', fp);
}

/* Draws the figure NAME from NAME.dat: the variables every template uses (with NOTE, and
 * HELD_LIST, "a = 1, b = 2", the inputs held at their means, or NULL), then EXTRA (gnuplot
 * statements ending in newlines, or ""). */
static int draw_figure(const plot_ctx *c, const char *name, const char *what, const char *note,
                       const char *held_list, const char *extra, moe_error *err)
{
    char *vars = NULL;
    size_t len = 0;
    FILE *v = open_memstream(&vars, &len);
    if (!v)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    common_vars(c, v, note, held_list);
    fputs(extra, v);
    fclose(v);
    int s = draw(c, name, what, vars, err);
    free(vars);
    return s;
}

/* ---------------------------------------------------------------- set-up */

static void list_names(char *buf, size_t size, size_t n, const char *(*get)(const moe_model *,
                                                                             size_t),
                       const moe_model *m)
{
    for (size_t j = 0; j < n; j++)
        append(buf, size, "%s%s", j ? ", " : "", get(m, j));
}

static int same_names(const moe_model *m)
{
    if (moe_model_nx(m) != moe_model_nz(m))
        return 0;
    for (size_t j = 0; j < moe_model_nx(m); j++)
        if (strcmp(moe_model_input(m, j), moe_model_gate_input(m, j)) != 0)
            return 0;
    return 1;
}

static int ctx_init(plot_ctx *c, const moe_model *m, const moe_dataset *d,
                    const moe_plot_options *opt, moe_error *err)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->d = d;
    c->opt = opt;
    c->ax = c->az = -1;
    size_t nx = moe_model_nx(m), nz = moe_model_nz(m), k = moe_model_k(m);
    if (d->nx != nx || d->nz != nz)
        return moe_error_set(err, MOE_EBADLEN,
                             "the data have %zu inputs and %zu gate inputs, the model %zu and %zu",
                             d->nx, d->nz, nx, nz);
    for (size_t j = 0; j < nx; j++)
        if (!d->x_names || !d->x_names[j] || strcmp(d->x_names[j], moe_model_input(m, j)))
            return moe_error_set(err, MOE_EINVAL, "the data's input %zu is not the model's %s",
                                 j + 1, moe_model_input(m, j));
    for (size_t j = 0; j < nz; j++)
        if (!d->z_names || !d->z_names[j] || strcmp(d->z_names[j], moe_model_gate_input(m, j)))
            return moe_error_set(err, MOE_EINVAL,
                                 "the data's gate input %zu is not the model's %s", j + 1,
                                 moe_model_gate_input(m, j));
    if (d->n == 0)
        return moe_error_set(err, MOE_EINVAL, "no rows to plot");
    if (nx == 0 && nz == 0)
        return moe_error_set(err, MOE_EINVAL,
                             "the model has no inputs: there is nothing to draw the curves along");
    if (opt->width < 200 || opt->height < 150 || opt->width > 20000 || opt->height > 20000)
        return moe_error_set(err, MOE_EINVAL, "picture size %ux%u is out of range (200x150 to "
                             "20000x20000)", opt->width, opt->height);
    switch (opt->format) {
    case MOE_PLOT_PNG: c->ext = ".png"; break;
    case MOE_PLOT_SVG: c->ext = ".svg"; break;
    case MOE_PLOT_PDF: c->ext = ".pdf"; break;
    default: return moe_error_set(err, MOE_EINVAL, "unknown picture format %d", (int)opt->format);
    }
    /* The input to draw along: by name among expert inputs, then gate inputs. */
    c->along = opt->along ? opt->along : (nx ? moe_model_input(m, 0) : moe_model_gate_input(m, 0));
    for (size_t j = 0; j < nx; j++)
        if (!strcmp(moe_model_input(m, j), c->along))
            c->ax = (long)j;
    for (size_t j = 0; j < nz; j++)
        if (!strcmp(moe_model_gate_input(m, j), c->along))
            c->az = (long)j;
    if (c->ax < 0 && c->az < 0) {
        char names[400] = "";
        list_names(names, sizeof names, nx, moe_model_input, m);
        if (!same_names(m)) {
            for (size_t j = 0; j < nz; j++) {
                int dup = 0;
                for (size_t i = 0; i < nx; i++)
                    dup |= !strcmp(moe_model_input(m, i), moe_model_gate_input(m, j));
                if (!dup)
                    append(names, sizeof names, "%s%s", names[0] ? ", " : "",
                           moe_model_gate_input(m, j));
            }
        }
        return moe_error_set(err, MOE_EINVAL, "--along %s: not an input of the model (%s)",
                             c->along, names);
    }
    c->along = c->ax >= 0 ? moe_model_input(m, (size_t)c->ax)
                          : moe_model_gate_input(m, (size_t)c->az);

    /* Means of every input and the range of the one drawn along. */
    c->xmean = calloc(nx + 1, sizeof *c->xmean);
    c->zmean = calloc(nz + 1, sizeof *c->zmean);
    if (!c->xmean || !c->zmean)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    size_t n = d->n;
    for (size_t j = 0; j < nx; j++) {
        double s = 0;
        for (size_t r = 0; r < n; r++)
            s += d->x[r * (nx + 1) + 1 + j];
        c->xmean[j] = s / (double)n;
    }
    for (size_t j = 0; j < nz; j++) {
        double s = 0;
        for (size_t r = 0; r < n; r++)
            s += d->z[r * (nz + 1) + 1 + j];
        c->zmean[j] = s / (double)n;
    }
    c->lo = INFINITY;
    c->hi = -INFINITY;
    for (size_t r = 0; r < n; r++) {
        double v = c->ax >= 0 ? d->x[r * (nx + 1) + 1 + (size_t)c->ax]
                              : d->z[r * (nz + 1) + 1 + (size_t)c->az];
        if (!isfinite(v))
            return moe_error_set(err, MOE_EINVAL, "row %zu: %s is not a finite number", r + 1,
                                 c->along);
        c->lo = v < c->lo ? v : c->lo;
        c->hi = v > c->hi ? v : c->hi;
    }
    if (!(c->hi > c->lo)) {
        c->lo -= 0.5;
        c->hi += 0.5;
    }

    /* Titles: "mixture of 3 Gaussian linear experts, softmax gate on times". */
    char fam[64];
    snprintf(fam, sizeof fam, "%s expert%s", m->expert->label, k == 1 ? "" : "s");
    snprintf(c->title, sizeof c->title, "%s of %zu %s",
             k == 1 ? "model" : moe_model_tree(m, NULL) ? "hierarchical mixture" : "mixture", k,
             fam);
    if (!same_names(m)) {
        append(c->title, sizeof c->title, " on ");
        if (nx)
            list_names(c->title, sizeof c->title, nx, moe_model_input, m);
        else
            append(c->title, sizeof c->title, "no inputs");
    }
    size_t br[8], depth = moe_model_tree(m, br);
    if (k > 1 && depth) {
        append(c->title, sizeof c->title, ", tree of gates ");
        for (size_t l = 0; l < depth; l++)
            append(c->title, sizeof c->title, "%s%zu", l ? "x" : "", br[l]);
        if (nz) {
            append(c->title, sizeof c->title, " on ");
            list_names(c->title, sizeof c->title, nz, moe_model_gate_input, m);
        }
    } else if (k > 1) {
        if (nz) {
            if (m->top_k)
                append(c->title, sizeof c->title, ", sparse top-%zu gate on ", m->top_k);
            else
                append(c->title, sizeof c->title, ", softmax gate on ");
            list_names(c->title, sizeof c->title, nz, moe_model_gate_input, m);
        } else {
            append(c->title, sizeof c->title, ", constant gate (no gate inputs)");
        }
    }
    /* Which other inputs are held, and where. */
    for (size_t j = 0; j < nx; j++)
        if ((long)j != c->ax)
            append(c->held, sizeof c->held, "%s%s = %.4g", c->held[0] ? ", " : "",
                   moe_model_input(m, j), c->xmean[j]);
    for (size_t j = 0; j < nz; j++) {
        if ((long)j == c->az)
            continue;
        int dup = 0;
        for (size_t i = 0; i < nx; i++)
            dup |= !strcmp(moe_model_input(m, i), moe_model_gate_input(m, j));
        if (!dup)
            append(c->held, sizeof c->held, "%s%s = %.4g", c->held[0] ? ", " : "",
                   moe_model_gate_input(m, j), c->zmean[j]);
    }
    list_names(c->inputs, sizeof c->inputs, nx, moe_model_input, m);
    for (size_t j = 0; j < nz; j++) {
        int dup = 0;
        for (size_t i = 0; i < nx; i++)
            dup |= !strcmp(moe_model_input(m, i), moe_model_gate_input(m, j));
        if (!dup)
            append(c->inputs, sizeof c->inputs, "%s%s", c->inputs[0] ? ", " : "",
                   moe_model_gate_input(m, j));
    }
    /* Some input is held at its mean (there are two or more) and there are rows to place. */
    c->fitted = c->held[0] != '\0' && d->y != NULL;
    return MOE_SUCCESS;
}

static void ctx_free(plot_ctx *c)
{
    free(c->xmean);
    free(c->zmean);
}

/* DIR must be a folder we may write in; with MAY_BE_MISSING a missing one passes too (it is
 * created later). */
static int check_dir(const char *dir, int may_be_missing, moe_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (may_be_missing)
            return MOE_SUCCESS;
        return moe_error_set(err, MOE_EWRITE, "%s is not a folder", dir);
    }
    if (!S_ISDIR(st.st_mode))
        return moe_error_set(err, MOE_EWRITE, "%s is not a folder", dir);
    if (access(dir, W_OK) != 0)
        return moe_error_set(err, MOE_EWRITE, "cannot write in %s: %s", dir, strerror(errno));
    return MOE_SUCCESS;
}

/* mkdir -p DIR. */
static int make_dir(const char *dir, moe_error *err)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path)
        return moe_error_set(err, MOE_EINVAL, "no usable output folder");
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char keep = *p;
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return moe_error_set(err, MOE_EWRITE, "cannot create the folder %s: %s", path,
                                     strerror(errno));
            *p = keep;
            if (keep == '\0')
                break;
        }
    }
    return check_dir(dir, 0, err);
}

int moe_plot_check_data(const moe_plot_options *opt, const moe_dataset *d, moe_error *err)
{
    if (!opt || !d)
        return moe_error_set(err, MOE_EINVAL, "plot: no options or no data");
    if (d->nx == 0 && d->nz == 0)
        return moe_error_set(err, MOE_EINVAL, "the model has no inputs: there is nothing to "
                             "draw the curves along");
    if (!opt->along)
        return MOE_SUCCESS;
    char names[400] = "";
    for (size_t w = 0; w < 2; w++) {
        size_t n = w == 0 ? d->nx : d->nz;
        char *const *nm = w == 0 ? d->x_names : d->z_names;
        for (size_t j = 0; j < n; j++) {
            if (nm && nm[j] && !strcmp(nm[j], opt->along))
                return MOE_SUCCESS;
            if (nm && nm[j] && !strstr(names, nm[j]))
                append(names, sizeof names, "%s%s", names[0] ? ", " : "", nm[j]);
        }
    }
    return moe_error_set(err, MOE_EINVAL, "--along %s: not an input of the model (%s)",
                         opt->along, names);
}

int moe_plot_check(const moe_plot_options *opt, moe_error *err)
{
    if (!opt || !opt->dir || !*opt->dir)
        return moe_error_set(err, MOE_EINVAL, "plot: no output folder");
    int s = moe_plot_check_program(moe_plot_gnuplot_program(opt), err);
    return s ? s : check_dir(opt->dir, 1, err);
}

/* ---------------------------------------------------------------- grid and order */

/* The grid data set: the input drawn along from lo to hi, the others at their means. */
static int make_grid(const plot_ctx *c, double *t, moe_dataset **out, moe_error *err)
{
    const moe_model *m = c->m;
    size_t nx = moe_model_nx(m), nz = moe_model_nz(m);
    moe_dataset *g = moe_dataset_alloc(PLOT_GRID, nx, nz, 0);
    if (!g || moe_dataset_set_names(g, moe_model_response(m), (const char *const *)m->x_names,
                                    (const char *const *)m->z_names)) {
        moe_dataset_free(g);
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < PLOT_GRID; r++) {
        /* the last point is the maximum itself, not lo + (hi - lo) rounded */
        double v = r + 1 == PLOT_GRID ? c->hi
                                      : c->lo + (c->hi - c->lo) * (double)r / (PLOT_GRID - 1);
        t[r] = v;
        for (size_t j = 0; j < nx; j++)
            g->x[r * (nx + 1) + 1 + j] = (long)j == c->ax ? v : c->xmean[j];
        for (size_t j = 0; j < nz; j++) {
            /* the column drawn along may be an expert input and a gate input at once */
            g->z[r * (nz + 1) + 1 + j] = (long)j == c->az ? v : c->zmean[j];
        }
    }
    *out = g;
    return MOE_SUCCESS;
}

typedef struct key_index {
    double key;
    size_t index;
} key_index;

static int by_key(const void *a, const void *b)
{
    const key_index *p = a, *q = b;
    if (p->key < q->key)
        return -1;
    if (p->key > q->key)
        return 1;
    return p->index < q->index ? -1 : p->index > q->index;
}

static double along_value(const plot_ctx *c, size_t r)
{
    const moe_dataset *d = c->d;
    return c->ax >= 0 ? d->x[r * (d->nx + 1) + 1 + (size_t)c->ax]
                      : d->z[r * (d->nz + 1) + 1 + (size_t)c->az];
}

/* ---------------------------------------------------------------- the figures */

static void header_row(FILE *fp, const plot_ctx *c, const char *prefix, size_t k)
{
    fprintf(fp, "# columns: %s", c->along);
    if (prefix)
        for (size_t i = 0; i < k; i++)
            fprintf(fp, " %s_%zu", prefix, i + 1);
}

/* Writes the row under header_row's columns: KEY, then the K values of P. */
static void put_row(out_file *o, double key, const double *p, size_t k)
{
    put_num(o, "", key);
    for (size_t i = 0; i < k; i++)
        put_num(o, " ", p[i]);
    fputc('\n', o->fp);
}

static int figure_gating(const plot_ctx *c, const double *t, const moe_prediction *pg,
                         moe_error *err)
{
    size_t k = pg->k;
    out_file o;
    int s = open_out(&o, c, "gating", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# gating.dat: gate probabilities g_i along %s (%d points), written by "
                  "moefit %s\n",
            c->along, PLOT_GRID, moe_version());
    fprintf(o.fp, "# other inputs held at their means: %s\n", c->held[0] ? c->held : "(none)");
    header_row(o.fp, c, "gate", k);
    fputc('\n', o.fp);
    for (size_t r = 0; r < pg->n; r++)
        put_row(&o, t[r], pg->gate + r * k, k);
    s = close_out(&o, err);
    if (s)
        return s;
    char note[700], extra[1200] = "";
    snprintf(note, sizeof note, "gate probabilities along %s", c->along);
    if (moe_model_tree(c->m, NULL)) {
        /* a tree: each curve is its leaf's total probability, the product down its path */
        snprintf(note, sizeof note, "each leaf's total gate probability (the product of the "
                 "branch probabilities on its path) along %s", c->along);
        append(extra, sizeof extra, "leafnames = \"");
        for (size_t i = 0; i < k; i++) {
            char leaf[64];
            moe_model_leaf_name(c->m, i, leaf, sizeof leaf);
            append(extra, sizeof extra, "%s%s", i ? " " : "", leaf);
        }
        append(extra, sizeof extra, "\"\n");
    }
    return draw_figure(c, "gating", "every expert's gate probability", note, c->held, extra,
                       err);
}

/* The tree of a hierarchical mixture: its nodes level by level (the root on top, the leaves
 * at the bottom, each node above the middle of its leaves), every branch labelled with its
 * share (of the data's total gate probability reaching the node above, the share going down
 * this branch) and every leaf with its expert's prior and linear predictor. */
static int figure_tree(const plot_ctx *c, const moe_prediction *pd, moe_error *err)
{
    const moe_model *m = c->m;
    size_t k = moe_model_k(m), nn = moe_model_nnodes(m), n = pd->n, px = moe_model_nx(m) + 1;
    size_t br[8], depth = moe_model_tree(m, br);
    /* every node's level, place, mean probability and parent; 0: the root, 1..nn: inner
     * nodes, nn+1..nn+k: leaves */
    size_t tot = 1 + nn + k;
    double xs[3 * MOE_PLOT_TREE_MAX], ys[3 * MOE_PLOT_TREE_MAX], pm[3 * MOE_PLOT_TREE_MAX];
    size_t parent[3 * MOE_PLOT_TREE_MAX];
    char names[3 * MOE_PLOT_TREE_MAX][32];
    snprintf(names[0], sizeof names[0], "root");
    xs[0] = (double)(k - 1) / 2;
    ys[0] = (double)depth;
    pm[0] = 1;
    parent[0] = 0;
    for (size_t j = 0; j < nn + k; j++) {
        size_t first, count, u = 1 + j, level;
        if (j < nn) {
            moe_model_node_leaves(m, j, &first, &count);
            moe_model_node_name(m, j, names[u], sizeof names[u]);
        } else {
            first = j - nn;
            count = 1;
            moe_model_leaf_name(m, first, names[u], sizeof names[u]);
        }
        level = 1;
        for (const char *p = names[u]; *p; p++)
            level += *p == '.';
        xs[u] = (double)first + (double)(count - 1) / 2;
        ys[u] = (double)(depth - level);
        double s = 0;
        for (size_t r = 0; r < n; r++) {
            double g = 0;
            if (j < nn)
                g = pd->node[r * nn + j];
            else
                g = pd->gate[r * k + first];
            s += g;
        }
        pm[u] = n ? s / (double)n : 0;
        /* the parent: the node whose path is this one's without its last part */
        parent[u] = 0;
        const char *dot = strrchr(names[u], '.');
        if (dot)
            for (size_t t = 1; t < u; t++)
                if (strlen(names[t]) == (size_t)(dot - names[u]) &&
                    strncmp(names[t], names[u], (size_t)(dot - names[u])) == 0)
                    parent[u] = t;
    }
    out_file o;
    int s = open_out(&o, c, "tree", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# tree.dat: the tree of gates of a hierarchical mixture (%zu leaves), "
                  "written by moefit %s\n", k, moe_version());
    fprintf(o.fp, "# index 0, the branches: x_from y_from dx dy x_mid y_mid share\n");
    for (size_t u = 1; u < tot; u++) {
        size_t p = parent[u];
        put_num(&o, "", xs[p]);
        put_num(&o, " ", ys[p]);
        put_num(&o, " ", xs[u] - xs[p]);
        put_num(&o, " ", ys[u] - ys[p]);
        put_num(&o, " ", (xs[u] + xs[p]) / 2);
        put_num(&o, " ", (ys[u] + ys[p]) / 2);
        put_num(&o, " ", pm[p] > 0 ? pm[u] / pm[p] : 0);
        fputc('\n', o.fp);
    }
    fprintf(o.fp, "\n\n# index 1, the gates: x y \"name\"\n");
    for (size_t u = 0; u <= nn; u++) {
        put_num(&o, "", xs[u]);
        put_num(&o, " ", ys[u]);
        fprintf(o.fp, " \"%s\"\n", u ? names[u] : "root");
    }
    fprintf(o.fp, "\n\n# index 2, the leaves: x y expert prior \"leaf path\" "
                  "\"linear predictor\"\n");
    double *coef = malloc((moe_model_ncoef(m, 0) + 1) * sizeof *coef);
    if (!coef) {
        close_out(&o, err);
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        size_t u = 1 + nn + i;
        moe_model_coefs(m, i, coef);
        put_num(&o, "", xs[u]);
        put_num(&o, " ", ys[u]);
        fprintf(o.fp, " %zu", i + 1);
        put_num(&o, " ", pm[u]);
        fprintf(o.fp, " \"%s\" \"%.3g", names[u], coef[0]);
        for (size_t j = 1; j < px && j < 3; j++)
            fprintf(o.fp, " %+.3g %s", coef[j], moe_model_input(m, j - 1));
        fprintf(o.fp, "%s\"\n", px > 3 ? " ..." : "");
    }
    free(coef);
    s = close_out(&o, err);
    if (s)
        return s;
    char extra[200];
    snprintf(extra, sizeof extra, "depth = %zu\n", depth);
    return draw_figure(c, "tree", "the tree of gates: nodes, branch shares and leaf experts",
                       "on each branch: its share of the probability reaching the node above "
                       "(mean over the data)",
                       NULL, extra, err);
}

/* The most probable expert of data row R by the posterior (0-based). */
static size_t row_expert(const moe_prediction *pd, size_t r)
{
    size_t k = pd->k, best = 0;
    for (size_t i = 1; i < k; i++)
        if (pd->posterior[r * k + i] > pd->posterior[r * k + best])
            best = i;
    return best;
}

/* "inputs = 'x1, x2'", the fitted view's flag, for the fitted-view templates. */
static int fitted_vars(const plot_ctx *c, char **out, moe_error *err)
{
    size_t len = 0;
    FILE *v = open_memstream(out, &len);
    if (!v)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    fputs("fitted = 1\ninputs = ", v);
    put_gp_string(v, c->inputs);
    fputs("\nhas_y = 1\n", v);
    fclose(v);
    return MOE_SUCCESS;
}

/* The regimes figure with two or more inputs: every row's y against the fitted mean of its
 * most probable expert at the row's own inputs, coloured by that expert, over the diagonal
 * y = fitted (which the rows follow up to the experts' noise). */
static int figure_regimes_fitted(const plot_ctx *c, const moe_prediction *pd, moe_error *err)
{
    const moe_dataset *d = c->d;
    size_t k = pd->k;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t r = 0; r < d->n; r++) {
        double f = pd->expert_mean[r * k + row_expert(pd, r)];
        lo = fmin(lo, fmin(f, d->y[r]));
        hi = fmax(hi, fmax(f, d->y[r]));
    }
    out_file o;
    int s = open_out(&o, c, "regimes", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# regimes.dat: written by moefit %s\n", moe_version());
    fprintf(o.fp, "# fitted view (inputs %s): every row at its own inputs, none held at a "
                  "mean\n",
            c->inputs);
    fprintf(o.fp, "# index 0: the diagonal %s = fitted over the range of both\n",
            moe_model_response(c->m));
    fprintf(o.fp, "# columns: fitted %s\n", moe_model_response(c->m));
    put_num(&o, "", lo);
    put_num(&o, " ", lo);
    fputc('\n', o.fp);
    put_num(&o, "", hi);
    put_num(&o, " ", hi);
    fputc('\n', o.fp);
    fprintf(o.fp, "\n\n# index 1: the data (%zu rows, in their order); expert: the most probable "
                  "expert by the posterior (1-based); fitted: that expert's mean at the row; "
                  "mean: the mixture mean at the row\n",
            d->n);
    fprintf(o.fp, "# columns: fitted %s expert mean %s\n", moe_model_response(c->m), c->along);
    for (size_t r = 0; r < d->n; r++) {
        size_t best = row_expert(pd, r);
        put_num(&o, "", pd->expert_mean[r * k + best]);
        put_num(&o, " ", d->y[r]);
        fprintf(o.fp, " %zu", best + 1);
        put_num(&o, " ", pd->mean[r]);
        put_num(&o, " ", along_value(c, r));
        fputc('\n', o.fp);
    }
    s = close_out(&o, err);
    if (s)
        return s;
    char note[700];
    snprintf(note, sizeof note, "%zu rows by their most probable expert, each at its own %s",
             d->n, c->inputs);
    char *extra = NULL;
    s = fitted_vars(c, &extra, err);
    if (s)
        return s;
    s = draw_figure(c, "regimes", "the data by regime against their experts' fitted means", note,
                    NULL, extra, err);
    free(extra);
    return s;
}

/* The responsibility figure with two or more inputs: every row's posterior responsibility
 * h_i against its own gate probability g_i (the prior the response updates), over the
 * diagonal h = g. */
static int figure_responsibility_fitted(const plot_ctx *c, const moe_prediction *pd,
                                        moe_error *err)
{
    size_t k = pd->k;
    out_file o;
    int s = open_out(&o, c, "responsibility", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# responsibility.dat: gate probabilities g_i and posterior responsibilities "
                  "h_i of every row (in their order) at its own inputs (%s), written by moefit "
                  "%s\n",
            c->inputs, moe_version());
    header_row(o.fp, c, "gate", k);
    for (size_t i = 0; i < k; i++)
        fprintf(o.fp, " post_%zu", i + 1);
    fputc('\n', o.fp);
    for (size_t r = 0; r < pd->n; r++) {
        put_num(&o, "", along_value(c, r));
        for (size_t i = 0; i < k; i++)
            put_num(&o, " ", pd->gate[r * k + i]);
        for (size_t i = 0; i < k; i++)
            put_num(&o, " ", pd->posterior[r * k + i]);
        fputc('\n', o.fp);
    }
    s = close_out(&o, err);
    if (s)
        return s;
    char note[700];
    snprintf(note, sizeof note, "%zu rows, each at its own %s; on the diagonal y did not move "
                                "the gate", pd->n, c->inputs);
    char *extra = NULL;
    s = fitted_vars(c, &extra, err);
    if (s)
        return s;
    s = draw_figure(c, "responsibility", "posterior responsibilities against the gate "
                    "probabilities", note, NULL, extra, err);
    free(extra);
    return s;
}

static int figure_regimes(const plot_ctx *c, const double *t, const moe_prediction *pg,
                          const moe_prediction *pd, const key_index *order, moe_error *err)
{
    if (c->fitted)
        return figure_regimes_fitted(c, pd, err);
    const moe_model *m = c->m;
    const moe_dataset *d = c->d;
    size_t k = pg->k;
    out_file o;
    int s = open_out(&o, c, "regimes", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# regimes.dat: written by moefit %s\n", moe_version());
    fprintf(o.fp, "# index 0: the model on a grid of %d values of %s; other inputs held at their "
                  "means: %s\n",
            PLOT_GRID, c->along, c->held[0] ? c->held : "(none)");
    fprintf(o.fp, "# mean: mixture mean; sd: predictive SD; lower, upper: mean -+ 2 sd; mu_i: "
                  "expert i's mean; gate_i: its gate probability\n");
    header_row(o.fp, c, NULL, 0);
    fputs(" mean sd lower upper", o.fp);
    for (size_t i = 0; i < k; i++)
        fprintf(o.fp, " mu_%zu", i + 1);
    for (size_t i = 0; i < k; i++)
        fprintf(o.fp, " gate_%zu", i + 1);
    fputc('\n', o.fp);
    /* Expert means on the data's scale at every grid row. */
    for (size_t r = 0; r < pg->n; r++) {
        put_num(&o, "", t[r]);
        put_num(&o, " ", pg->mean[r]);
        put_num(&o, " ", pg->sd[r]);
        put_num(&o, " ", pg->mean[r] - 2 * pg->sd[r]);
        put_num(&o, " ", pg->mean[r] + 2 * pg->sd[r]);
        for (size_t i = 0; i < k; i++)
            put_num(&o, " ", pg->expert_mean[r * k + i]);
        for (size_t i = 0; i < k; i++)
            put_num(&o, " ", pg->gate[r * k + i]);
        fputc('\n', o.fp);
    }
    if (d->y) {
        fprintf(o.fp, "\n\n# index 1: the data (%zu rows) sorted by %s; expert: the most probable "
                      "expert by the posterior (1-based)\n",
                d->n, c->along);
        fprintf(o.fp, "# columns: %s %s expert\n", c->along, moe_model_response(m));
        for (size_t q = 0; q < d->n; q++) {
            size_t r = order[q].index, best = 0;
            for (size_t i = 1; i < k; i++)
                if (pd->posterior[r * k + i] > pd->posterior[r * k + best])
                    best = i;
            put_num(&o, "", order[q].key);
            put_num(&o, " ", d->y[r]);
            fprintf(o.fp, " %zu\n", best + 1);
        }
    }
    s = close_out(&o, err);
    if (s)
        return s;
    char note[700];
    if (d->y)
        snprintf(note, sizeof note, "%zu rows coloured by their most probable expert (posterior)",
                 d->n);
    else
        snprintf(note, sizeof note, "expert lines and mixture mean along %s", c->along);
    return draw_figure(c, "regimes",
                       "the data by regime with the experts' lines and the mixture mean", note,
                       c->held, d->y ? "has_y = 1\n" : "has_y = 0\n", err);
}

static int figure_responsibility(const plot_ctx *c, const moe_prediction *pd,
                                 const key_index *order, moe_error *err)
{
    if (c->fitted)
        return figure_responsibility_fitted(c, pd, err);
    size_t k = pd->k;
    out_file o;
    int s = open_out(&o, c, "responsibility", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# responsibility.dat: posterior responsibilities h_i of every row (sorted by "
                  "%s), written by moefit %s\n",
            c->along, moe_version());
    header_row(o.fp, c, "post", k);
    fputc('\n', o.fp);
    for (size_t q = 0; q < pd->n; q++)
        put_row(&o, order[q].key, pd->posterior + order[q].index * k, k);
    s = close_out(&o, err);
    if (s)
        return s;
    char note[700];
    snprintf(note, sizeof note, "posterior responsibility of each expert for each of %zu rows; "
                                "dashed: gate probabilities",
             pd->n);
    return draw_figure(c, "responsibility", "posterior responsibilities along one input", note,
                       c->held, "gatefile = 'gating.dat'\n", err);
}

static int figure_convergence(const plot_ctx *c, const moe_fit *f, moe_error *err)
{
    size_t nt = moe_fit_ntraces(f), best = moe_fit_best_trace(f), blocks = 0, best_block = 0;
    int have_best = 0;
    out_file o;
    int s = open_out(&o, c, "convergence", ".dat", err);
    if (s)
        return s;
    int gd = moe_fit_trainer(f) == MOE_TRAIN_GD;
    const char *lname = moe_loss_name(moe_fit_loss(f));
    if (gd) {
        fprintf(o.fp, "# convergence.dat: training %s loss per row (standardised scale) of every "
                      "gradient-descent start of the chosen K, per epoch, written by moefit "
                      "%s\n", lname, moe_version());
        fprintf(o.fp, "# one block (gnuplot index) per start that ran, then (when rows were held "
                      "out) one of the kept start's validation loss; columns: start epoch loss\n");
    } else {
        fprintf(o.fp, "# convergence.dat: log-likelihood of every EM start of the chosen K, "
                      "written by moefit %s\n",
                moe_version());
        fprintf(o.fp, "# one block (gnuplot index) per start that ran; columns: start iteration "
                      "loglik\n");
    }
    for (size_t r = 0; r < nt; r++) {
        size_t len = 0;
        const double *tr = moe_fit_trace(f, r, &len);
        size_t finite = 0;
        for (size_t i = 0; tr && i < len; i++)
            finite += isfinite(tr[i]) != 0;
        if (finite == 0)
            continue;
        if (blocks)
            fputs("\n\n", o.fp);
        fprintf(o.fp, "# start %zu%s\n", r + 1, r == best ? " (kept)" : "");
        for (size_t i = 0; i < len; i++) {
            if (!isfinite(tr[i]))
                continue;
            fprintf(o.fp, "%zu %zu", r + 1, i + 1);
            put_num(&o, " ", tr[i]);
            fputc('\n', o.fp);
        }
        if (r == best) {
            best_block = blocks;
            have_best = 1;
        }
        blocks++;
    }
    size_t vlen = 0;
    const double *vt = gd ? moe_fit_validation_trace(f, &vlen) : NULL;
    long valid_block = -1;
    if (vt && vlen && blocks) {
        fprintf(o.fp, "\n\n# validation loss of the kept start\n");
        for (size_t i = 0; i < vlen; i++) {
            if (!isfinite(vt[i]))
                continue;
            fprintf(o.fp, "%zu %zu", best + 1, i + 1);
            put_num(&o, " ", vt[i]);
            fputc('\n', o.fp);
        }
        valid_block = (long)blocks;
    }
    s = close_out(&o, err);
    if (s)
        return s;
    if (!blocks || !have_best) {
        remove(o.path);
        return MOE_SUCCESS;   /* nothing to draw: no traces were recorded */
    }
    moe_fit_stats st = moe_fit_get_stats(f);
    char note[700];
    if (gd)
        snprintf(note, sizeof note, "%zu start%s; the kept one ended at %s loss %.6g per row "
                                    "after %zu epochs (log-likelihood %.6g)",
                 blocks, blocks == 1 ? "" : "s", lname, moe_fit_train_loss(f), st.iterations,
                 st.loglik);
    else
        snprintf(note, sizeof note, "%zu start%s; the kept one reached log-likelihood %.6g "
                                    "after %zu iterations (%s)",
                 blocks, blocks == 1 ? "" : "s", st.loglik, st.iterations,
                 st.converged ? "converged" : "not converged");
    char extra[300];
    if (gd)
        snprintf(extra, sizeof extra, "nstarts = %zu\nbest = %zu\nvalid = %ld\n"
                 "xlab = 'epoch'\nylab = '%s loss per row (standardised scale)'\n", blocks,
                 best_block, valid_block, lname);
    else
        snprintf(extra, sizeof extra, "nstarts = %zu\nbest = %zu\n", blocks, best_block);
    return draw_figure(c, "convergence", gd ? "training (and validation) loss against epoch "
                       "for every start" : "log-likelihood against EM iteration for every start",
                       note, NULL, extra, err);
}

static int figure_selection(const plot_ctx *c, const moe_fit *f, moe_error *err)
{
    size_t ns = moe_fit_nselection(f);
    out_file o;
    int s = open_out(&o, c, "selection", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# selection.dat: the best fit of every K tried, written by moefit %s\n",
            moe_version());
    /* with trees in the selection, models are placed 1, 2, ... in their order and named on
     * the axis (a tree and a flat model may have the same K) */
    int trees = 0;
    for (size_t j = 0; j < ns; j++)
        trees |= moe_fit_selection(f, j).tree[0] != 0;
    fprintf(o.fp, "# columns: %s loglik df aic bic icl\n", trees ? "model" : "k");
    for (size_t j = 0; j < ns; j++) {
        moe_fit_stats st = moe_fit_selection(f, j);
        fprintf(o.fp, "%zu", trees ? j + 1 : st.k);
        put_num(&o, " ", st.loglik);
        fprintf(o.fp, " %zu", st.df);
        put_num(&o, " ", st.aic);
        put_num(&o, " ", st.bic);
        put_num(&o, " ", st.icl);
        fputc('\n', o.fp);
    }
    s = close_out(&o, err);
    if (s)
        return s;
    moe_fit_stats st = moe_fit_get_stats(f);
    char note[700];
    snprintf(note, sizeof note, "model selection over K = %zu..%zu; K = %zu was kept",
             moe_fit_selection(f, 0).k, moe_fit_selection(f, ns - 1).k, st.k);
    char extra[1600];
    snprintf(extra, sizeof extra, "chosen = %zu\n", st.k);
    if (trees) {
        size_t at = 0;
        for (size_t j = 0; j < ns; j++) {
            moe_fit_stats sj = moe_fit_selection(f, j);
            if (sj.k == st.k && strcmp(sj.tree, st.tree) == 0)
                at = j + 1;
        }
        snprintf(note, sizeof note, "model selection over trees and flat models; %s%s was kept",
                 st.tree[0] ? "tree " : "K = ", st.tree[0] ? st.tree : "");
        if (!st.tree[0])
            append(note, sizeof note, "%zu", st.k);
        snprintf(extra, sizeof extra, "chosen = %zu\nmodel_tics = \"set xtics (", at);
        for (size_t j = 0; j < ns; j++) {
            moe_fit_stats sj = moe_fit_selection(f, j);
            char lab[48];
            if (sj.tree[0])
                snprintf(lab, sizeof lab, "%s", sj.tree);
            else
                snprintf(lab, sizeof lab, "K=%zu", sj.k);
            append(extra, sizeof extra, "%s'%s' %zu", j ? ", " : "", lab, j + 1);
        }
        append(extra, sizeof extra, ")\"\n");
    }
    return draw_figure(c, "selection", "AIC, BIC and ICL against the number of experts", note,
                       NULL, extra, err);
}

/* The gate map: the gate's most probable expert over a square grid of two gate inputs, the
 * first two or the --along one and the next (the others at their means), and the data on it.
 * Drawn only for K >= 2 and two or more gate inputs: with one gate input the gating plot
 * already shows the whole partition. PD: the predictions of the data rows (posterior with y). */
static int figure_gatemap(const plot_ctx *c, const moe_prediction *pd, moe_error *err)
{
    const moe_model *m = c->m;
    const moe_dataset *d = c->d;
    size_t nx = moe_model_nx(m), nz = moe_model_nz(m), k = moe_model_k(m), pz = nz + 1;
    /* The two gate inputs: --along when it is one, and the next (wrapping round). */
    size_t a = c->az >= 0 ? (size_t)c->az : 0, b = (a + 1) % nz;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    const size_t col[2] = {a, b};
    for (size_t r = 0; r < d->n; r++)
        for (size_t q = 0; q < 2; q++) {
            double v = d->z[r * pz + 1 + col[q]];
            if (!isfinite(v))
                return moe_error_set(err, MOE_EINVAL, "row %zu: %s is not a finite number",
                                     r + 1, moe_model_gate_input(m, col[q]));
            lo[q] = v < lo[q] ? v : lo[q];
            hi[q] = v > hi[q] ? v : hi[q];
        }
    for (size_t q = 0; q < 2; q++)
        if (!(hi[q] > lo[q])) {
            lo[q] -= 0.5;
            hi[q] += 0.5;
        }

    /* The grid: z_a in the outer loop (one gnuplot scan per value), z_b inner. */
    const size_t g = PLOT_MAP_GRID, rows = g * g;
    moe_dataset *grid = moe_dataset_alloc(rows, nx, nz, 0);
    if (!grid || moe_dataset_set_names(grid, moe_model_response(m),
                                       (const char *const *)m->x_names,
                                       (const char *const *)m->z_names)) {
        moe_dataset_free(grid);
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    }
    double t[2][PLOT_MAP_GRID];
    for (size_t q = 0; q < 2; q++)
        for (size_t r = 0; r < g; r++)
            /* the last point is the maximum itself, not lo + (hi - lo) rounded */
            t[q][r] = r + 1 == g ? hi[q] : lo[q] + (hi[q] - lo[q]) * (double)r / (double)(g - 1);
    for (size_t i = 0; i < g; i++)
        for (size_t j = 0; j < g; j++) {
            size_t r = i * g + j;
            /* expert inputs do not move the gate: they stay at their means */
            for (size_t v = 0; v < nx; v++)
                grid->x[r * (nx + 1) + 1 + v] = c->xmean[v];
            for (size_t v = 0; v < nz; v++)
                grid->z[r * pz + 1 + v] = v == a ? t[0][i] : v == b ? t[1][j] : c->zmean[v];
        }
    moe_prediction *pg = NULL;
    int s = moe_predict(m, grid, 0, &pg, err);
    moe_dataset_free(grid);
    if (s)
        return s;

    /* Which other gate inputs are held, and where. */
    char held[512] = "";
    for (size_t v = 0; v < nz; v++)
        if (v != a && v != b)
            append(held, sizeof held, "%s%s = %.4g", held[0] ? ", " : "",
                   moe_model_gate_input(m, v), c->zmean[v]);
    const char *za = moe_model_gate_input(m, a), *zb = moe_model_gate_input(m, b);

    out_file o;
    s = open_out(&o, c, "gatemap", ".dat", err);
    if (s) {
        moe_prediction_free(pg);
        return s;
    }
    fprintf(o.fp, "# gatemap.dat: the gate's most probable expert over %s and %s, written by "
                  "moefit %s\n",
            za, zb, moe_version());
    fprintf(o.fp, "# index 0: a %zu x %zu grid, one block per value of %s; other inputs held at "
                  "their means: %s\n",
            g, g, za, held[0] ? held : "(none)");
    fprintf(o.fp, "# expert: the most probable expert by the gate (1-based); gate_i: expert i's "
                  "gate probability\n");
    fprintf(o.fp, "# columns: %s %s expert", za, zb);
    for (size_t i = 0; i < k; i++)
        fprintf(o.fp, " gate_%zu", i + 1);
    fputc('\n', o.fp);
    for (size_t i = 0; i < g; i++) {
        if (i)
            fputc('\n', o.fp);
        for (size_t j = 0; j < g; j++) {
            size_t r = i * g + j;
            put_num(&o, "", t[0][i]);
            put_num(&o, " ", t[1][j]);
            fprintf(o.fp, " %zu", pg->expert[r] + 1);
            for (size_t q = 0; q < k; q++)
                put_num(&o, " ", pg->gate[r * k + q]);
            fputc('\n', o.fp);
        }
    }
    moe_prediction_free(pg);
    fprintf(o.fp, "\n\n# index 1: the data (%zu rows)%s\n", d->n,
            d->y ? "; expert: the most probable expert by the posterior (1-based)" : "");
    fprintf(o.fp, "# columns: %s %s%s\n", za, zb, d->y ? " expert" : "");
    unsigned char taken[MOE_K_MAX] = {0};  /* the experts that take a data row */
    for (size_t r = 0; r < d->n; r++) {
        put_num(&o, "", d->z[r * pz + 1 + a]);
        put_num(&o, " ", d->z[r * pz + 1 + b]);
        if (d->y) {
            size_t best = 0;
            for (size_t i = 1; i < k; i++)
                if (pd->posterior[r * k + i] > pd->posterior[r * k + best])
                    best = i;
            fprintf(o.fp, " %zu", best + 1);
            taken[best] = 1;
        }
        fputc('\n', o.fp);
    }
    s = close_out(&o, err);
    if (s)
        return s;

    char note[700];
    if (m->top_k)  /* a top-k gate: the routing map */
        snprintf(note, sizeof note, "routing map: the heaviest of the top %zu experts; "
                 "points: %zu rows%s", m->top_k, d->n, d->y ? " by their posterior" : "");
    else if (d->y)
        snprintf(note, sizeof note, "shading: the gate's most probable expert; points: %zu rows "
                                    "by their posterior",
                 d->n);
    else
        snprintf(note, sizeof note, "shading: the gate's most probable expert; points: the %zu "
                                    "rows", d->n);
    char *extra = NULL;
    size_t len = 0;
    FILE *v = open_memstream(&extra, &len);
    if (!v)
        return moe_error_set(err, MOE_ENOMEM, "out of memory");
    fputs("zname1 = ", v);
    put_gp_string(v, za);
    fputs("\nzname2 = ", v);
    put_gp_string(v, zb);
    fprintf(v, "\nhas_y = %d\n", d->y != NULL);
    if (d->y) {
        fputs("data_experts = '", v);
        for (size_t i = 0, first = 1; i < k; i++)
            if (taken[i]) {
                fprintf(v, "%s%zu", first ? "" : " ", i + 1);
                first = 0;
            }
        fputs("'\n", v);
    }
    fclose(v);
    s = draw_figure(c, "gatemap", "the gate's most probable expert over two gate inputs", note,
                    held, extra, err);
    free(extra);
    return s;
}

/* The expert load of a top-k gate: a bar per expert of the rows that keep it (g > 0 at the
 * clean logits, as the summary's routing table counts them) and its share of the summed gate
 * weights, with the balanced load top_k n / K as a dashed line. PD: the predictions of the
 * data rows. */
static int figure_load(const plot_ctx *c, const moe_prediction *pd, moe_error *err)
{
    const moe_model *m = c->m;
    size_t k = moe_model_k(m), n = c->d->n, rows[MOE_K_MAX] = {0};
    double imp[MOE_K_MAX] = {0}, tot = 0, mean = 0, var = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < k; i++) {
            double g = pd->gate[r * k + i];
            rows[i] += g > 0;
            imp[i] += g;
            tot += g;
        }
    out_file o;
    int s = open_out(&o, c, "load", ".dat", err);
    if (s)
        return s;
    fprintf(o.fp, "# load.dat: the rows a top-%zu gate routes to each expert, written by "
                  "moefit %s\n", m->top_k, moe_version());
    fprintf(o.fp, "# rows: the data rows (of %zu) that keep the expert among their %zu largest "
                  "logits; importance: its share of the summed gate weights\n", n, m->top_k);
    fprintf(o.fp, "# columns: expert rows importance\n");
    for (size_t i = 0; i < k; i++) {
        fprintf(o.fp, "%zu %zu", i + 1, rows[i]);
        put_num(&o, " ", tot > 0 ? imp[i] / tot : 0);
        fputc('\n', o.fp);
        mean += (double)rows[i] / (double)k;
    }
    for (size_t i = 0; i < k; i++)
        var += ((double)rows[i] - mean) * ((double)rows[i] - mean) / (double)k;
    s = close_out(&o, err);
    if (s)
        return s;
    char note[300], extra[200];
    snprintf(note, sizeof note, "expert load: rows routed to each expert (top %zu of %zu); "
             "CV^2 %.3g, dashed: balanced", m->top_k, k, mean > 0 ? var / (mean * mean) : 0);
    snprintf(extra, sizeof extra, "balanced = %.10g\n", mean);
    return draw_figure(c, "load", "the rows a top-k gate routes to each expert", note, NULL,
                       extra, err);
}

/* ---------------------------------------------------------------- the entry point */

int moe_plot_write(const moe_model *m, const moe_fit *f, const moe_dataset *d,
                   const moe_plot_options *opt, moe_error *err)
{
    moe_error_clear(err);
    if (!m || !d || !opt)
        return moe_error_set(err, MOE_EINVAL, "moe_plot_write: no model, data or options");
    if (!opt->dir || !*opt->dir)
        return moe_error_set(err, MOE_EINVAL, "no output folder for the plots");
    plot_ctx c;
    int s = ctx_init(&c, m, d, opt, err);
    if (s) {
        ctx_free(&c);
        return s;
    }
    s = moe_plot_find_templates(opt, c.tpl, sizeof c.tpl, err);
    if (s) {
        ctx_free(&c);
        return s;
    }
    c.gnuplot = moe_plot_gnuplot_program(opt);
    s = moe_plot_check_program(c.gnuplot, err);
    if (!s)
        s = make_dir(opt->dir, err);
    if (s) {
        ctx_free(&c);
        return s;
    }

    double *t = malloc(PLOT_GRID * sizeof *t);
    key_index *order = malloc(d->n * sizeof *order);
    moe_dataset *grid = NULL;
    moe_prediction *pg = NULL, *pd = NULL;
    if (!t || !order) {
        s = moe_error_set(err, MOE_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < d->n; r++) {
        order[r].key = along_value(&c, r);
        order[r].index = r;
    }
    qsort(order, d->n, sizeof *order, by_key);
    s = make_grid(&c, t, &grid, err);
    if (s)
        goto done;
    s = moe_predict(m, grid, 0, &pg, err);
    if (s)
        goto done;
    s = moe_predict(m, d, d->y != NULL, &pd, err);
    if (s)
        goto done;
    s = figure_gating(&c, t, pg, err);
    if (!s)
        s = figure_regimes(&c, t, pg, pd, order, err);
    if (!s && d->y)
        s = figure_responsibility(&c, pd, order, err);
    if (!s && moe_model_k(m) >= 2 && moe_model_nz(m) >= 2)
        s = figure_gatemap(&c, pd, err);
    if (!s && m->top_k && moe_model_k(m) >= 2)
        s = figure_load(&c, pd, err);
    if (!s && moe_model_tree(m, NULL) && moe_model_k(m) <= MOE_PLOT_TREE_MAX)
        s = figure_tree(&c, pd, err);
    if (!s && f && moe_fit_ntraces(f) > 0)
        s = figure_convergence(&c, f, err);
    if (!s && f && moe_fit_nselection(f) > 1)
        s = figure_selection(&c, f, err);
done:
    moe_prediction_free(pg);
    moe_prediction_free(pd);
    moe_dataset_free(grid);
    free(order);
    free(t);
    ctx_free(&c);
    return s;
}

/* ---------------------------------------------------------------- side-by-side comparison */

int moe_plot_compare(const moe_model *const *models, const char *const *labels, size_t n,
                     const moe_dataset *d, const moe_plot_options *opt, moe_error *err)
{
    moe_error_clear(err);
    if (!models || !labels || n == 0 || !d || !opt || !opt->dir || !*opt->dir)
        return moe_error_set(err, MOE_EINVAL, "moe_plot_compare: no models, data or folder");
    int s = make_dir(opt->dir, err);
    if (s)
        return s;
    /* every model's own figures in DIR/LABEL */
    for (size_t j = 0; j < n; j++) {
        char sub[PATH_MAX];
        if ((s = join_path(sub, sizeof sub, opt->dir, labels[j], "", err)))
            return s;
        moe_plot_options o = *opt;
        o.dir = sub;
        if ((s = moe_plot_write(models[j], NULL, d, &o, err)))
            return s;
    }
    plot_ctx c;
    if ((s = ctx_init(&c, models[0], d, opt, err)) ||
        (s = moe_plot_find_templates(opt, c.tpl, sizeof c.tpl, err))) {
        ctx_free(&c);
        return s;
    }
    c.gnuplot = moe_plot_gnuplot_program(opt);
    out_file o;
    if ((s = open_out(&o, &c, "compare", ".gp", err))) {
        ctx_free(&c);
        return s;
    }
    FILE *fp = o.fp;
    unsigned w = opt->width * (unsigned)(n < 2 ? 1 : n) * 3 / 4, h = opt->height * 3 / 2;
    fprintf(fp, "# compare.gp: the gating (top) and regimes (bottom) plots of %zu models side by "
                "side, written by moefit %s.\n# The numbers are in each model's folder "
                "(LABEL/gating.dat, LABEL/regimes.dat).\n", n, moe_version());
    switch (opt->format) {
    case MOE_PLOT_SVG:
        fprintf(fp, "set terminal svg size %u,%u font 'Sans,16' linewidth 1.5 noenhanced "
                    "background '#ffffff'\n", w, h);
        break;
    case MOE_PLOT_PDF:
        fprintf(fp, "set terminal pdfcairo size %.3fin,%.3fin font 'Sans,14' linewidth 1.5 "
                    "noenhanced\n", w / 160.0, h / 160.0);
        break;
    default:
        fprintf(fp, "set terminal pngcairo size %u,%u font 'Sans,16' linewidth 1.5 "
                    "noenhanced\n", w, h);
        break;
    }
    fprintf(fp, "set output 'compare%s'\n", c.ext);
    s = copy_template(fp, c.tpl, "style", err);
    fprintf(fp, "set key inside top right\nset multiplot layout 2,%zu\n", n);
    for (int row = 0; !s && row < 2; row++)
        for (size_t j = 0; !s && j < n; j++) {
            fprintf(fp, "\n# %s: %s\n", labels[j], row == 0 ? "gating" : "regimes");
            fputs("datafile = ", fp);
            char df[PATH_MAX];
            snprintf(df, sizeof df, "%s/%s.dat", labels[j], row == 0 ? "gating" : "regimes");
            put_gp_string(fp, df);
            fprintf(fp, "\nK = %zu\nxname = ", moe_model_k(models[j]));
            put_gp_string(fp, c.along);
            fputs("\nyname = ", fp);
            put_gp_string(fp, moe_model_response(models[j]));
            fputs("\nmodel_title = ", fp);
            put_gp_string(fp, labels[j]);
            fprintf(fp, "\nnote = '%s'\nheld = ''\nhas_y = %d\n",
                    row == 0 ? "gate probabilities" : "data by posterior expert, expert lines",
                    d->y != NULL);
            if (row == 1)
                fputs("set autoscale y\nset ytics autofreq\n", fp);
            s = copy_template(fp, c.tpl, row == 0 ? "gating" : "regimes", err);
        }
    fputs("\nunset multiplot\n", fp);
    if (s) {
        fclose(fp);
        remove(o.path);
        ctx_free(&c);
        return s;
    }
    if ((s = close_out(&o, err))) {
        ctx_free(&c);
        return s;
    }
    s = moe_plot_run_gnuplot(c.gnuplot, opt->dir, "compare.gp", err);
    if (s) {
        char pic[PATH_MAX];
        if (!join_path(pic, sizeof pic, opt->dir, "compare", c.ext, NULL))
            remove(pic);
    }
    ctx_free(&c);
    return s;
}
