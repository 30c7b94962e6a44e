/* test_plot.c: unit tests of the plot module (moe_plot_write) on a hand-built model.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The model is the true model of datasets/sim_piecewise.csv (datasets/make_simulated.R): three
 * Gaussian lines with a softmax gate on x. The data are 200 deterministic rows on that model
 * (no random numbers). Reference numbers are the model's own predictions (moe_predict), so
 * the checks say that the plots show what the model predicts. Needs gnuplot for the drawing
 * checks (skipped without it); the error paths run everywhere. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "model/model.h"
#include "moe.h"
#include "gauss_layout.h"
#include "tap.h"

#define N 200

static char tmpdir[512];
static char plotdir[600];

static int exists(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* Removes every file of DIR and DIR itself (one level: the plot folders have no subfolders). */
static void remove_dir(const char *dir)
{
    static const char *const names[] = {"gating", "regimes", "responsibility", "convergence",
                                        "selection", "gatemap"};
    static const char *const exts[] = {".png", ".svg", ".pdf", ".dat", ".gp"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        for (size_t j = 0; j < sizeof exts / sizeof *exts; j++) {
            char path[1200];
            snprintf(path, sizeof path, "%s/%s%s", dir, names[i], exts[j]);
            remove(path);
        }
    rmdir(dir);
}

static int file_has(const char *path, const char *text)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, fp))
        found = strstr(line, text) != NULL;
    fclose(fp);
    return found;
}

/* The numeric rows of gating.dat: X (n) and G (n x k). Returns the number of rows. */
static size_t read_gating(const char *path, size_t k, double *x, double *g, size_t max)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char line[2048];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *p = line, *end;
        x[n] = strtod(p, &end);
        p = end;
        for (size_t i = 0; i < k; i++) {
            g[n * k + i] = strtod(p, &end);
            p = end;
        }
        n++;
    }
    fclose(fp);
    return n;
}

static moe_model *true_model(void)
{
    /* datasets/make_simulated.R: eta_1 = 23.5 - 5x, eta_2 = 13 - 2x, eta_3 = 0; lines
     * 1 + 2x, 11 - x, -6 + 1.5x; SD 0.5. Unit scaling, so these are the data-scale values. */
    static const double b0[] = {1, 11, -6}, b1[] = {2, -1, 1.5}, v0[] = {23.5, 13, 0},
                        v1[] = {-5, -2, 0};
    moe_model *m = moe_model_alloc(3, 1, 1);
    if (!m)
        return NULL;
    for (size_t i = 0; i < 3; i++) {
        BETA(m, i * 2) = b0[i];
        BETA(m, i * 2 + 1) = b1[i];
        SIGMA(m, i) = 0.5;
        GATE(m, i * 2) = v0[i];
        GATE(m, i * 2 + 1) = v1[i];
    }
    return m;
}

int main(void)
{
    const char *top = getenv("top_srcdir");
    char templates[1024];
    snprintf(templates, sizeof templates, "%s/plots", top ? top : ".");
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/moefit-test-plot.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! cannot create a temporary folder: %s\n", strerror(errno));
        return 99;
    }
    snprintf(plotdir, sizeof plotdir, "%s/p", tmpdir);

    moe_plot_options o = moe_plot_options_default();
    tap_ok(o.width == 1280 && o.height == 800 && o.format == MOE_PLOT_PNG && !o.dir && !o.along,
           "defaults: 1280x800 PNG, no folder, first input");

    /* 200 rows: x evenly spread over (0, 10), y on the line of the regime the gate prefers,
     * with a deterministic wiggle instead of noise. */
    double x[N], y[N];
    moe_model *m = true_model();
    for (size_t r = 0; r < N; r++) {
        x[r] = 10.0 * ((double)r + 0.5) / N;
        int reg = x[r] < 3.5 ? 0 : x[r] < 6.5 ? 1 : 2;
        y[r] = BETA(m, reg * 2) + BETA(m, reg * 2 + 1) * x[r] + 0.3 * sin(7.0 * (double)r);
    }
    moe_dataset *d = NULL, *dnoy = NULL;
    moe_error err = {0};
    int s = moe_dataset_from_arrays(N, 1, x, 0, NULL, y, &d, &err);
    if (s == MOE_SUCCESS)
        s = moe_dataset_from_arrays(N, 1, x, 0, NULL, NULL, &dnoy, &err);
    if (s != MOE_SUCCESS || !m || moe_model_set_names(m, d) != MOE_SUCCESS) {
        printf("Bail out! cannot build the test data: %s\n", err.message);
        return 99;
    }

    /* Error paths that need no gnuplot. */
    s = moe_plot_write(m, NULL, d, &o, &err);
    tap_ok(s == MOE_EINVAL, "no folder: MOE_EINVAL (%d: %s)", s, err.message);
    o.dir = plotdir;
    o.templates = templates;
    o.along = "nosuch";
    s = moe_plot_write(m, NULL, d, &o, &err);
    tap_ok(s == MOE_EINVAL && strstr(err.message, "nosuch"),
           "--along a column the model lacks: MOE_EINVAL naming it (%s)", err.message);
    o.along = NULL;
    o.templates = "/nonexistent/plots";
    s = moe_plot_write(m, NULL, d, &o, &err);
    tap_ok(s == MOE_EOPEN && strstr(err.message, "template"),
           "templates missing: MOE_EOPEN (%s)", err.message);
    o.templates = templates;
    o.gnuplot = "/nonexistent/gnuplot";
    s = moe_plot_write(m, NULL, d, &o, &err);
    tap_ok(s == MOE_EUNAVAIL && strstr(err.message, "gnuplot"),
           "gnuplot missing: MOE_EUNAVAIL (%s)", err.message);
    tap_ok(access(plotdir, F_OK) != 0, "gnuplot missing: the folder is not even created");
    o.gnuplot = NULL;
    o.width = 10;
    s = moe_plot_write(m, NULL, d, &o, &err);
    tap_ok(s == MOE_EINVAL, "a picture 10 pixels wide is refused (%s)", err.message);
    o.width = 1280;

    /* A gnuplot that fails with a message: the message comes back, no picture stays. */
    char fake[700];
    snprintf(fake, sizeof fake, "%s/fake-gnuplot", tmpdir);
    FILE *fp = fopen(fake, "w");
    if (fp) {
        fputs("#!/bin/sh\necho \"\\\"$1\\\" line 7: undefined variable: frob\" >&2\nexit 1\n", fp);
        fclose(fp);
        chmod(fake, 0755);
    }
    o.gnuplot = fake;
    s = moe_plot_write(m, NULL, d, &o, &err);
    tap_ok(s == MOE_EWRITE && strstr(err.message, "line 7: undefined variable: frob"),
           "gnuplot's own error message is returned (%s)", err.message);
    tap_ok(!exists(plotdir, "gating.png") && exists(plotdir, "gating.gp"),
           "no picture after a failure; the program stays to be inspected");
    o.gnuplot = NULL;
    remove_dir(plotdir);
    remove(fake);

    /* Drawing. */
    s = moe_plot_write(m, NULL, d, &o, &err);
    if (s == MOE_EUNAVAIL) {
        printf("# gnuplot is not available: %s\n", err.message);
        tap_ok(1, "drawing checks # SKIP gnuplot not installed");
    } else {
        tap_ok(s == MOE_SUCCESS, "plots of the true model drawn (%s)", err.message);
        tap_ok(exists(plotdir, "gating.png") && exists(plotdir, "regimes.png") &&
                   exists(plotdir, "responsibility.png"),
               "gating, regimes and responsibility pictures written");
        tap_ok(!exists(plotdir, "convergence.dat") && !exists(plotdir, "selection.dat"),
               "no convergence or selection plot without a fit");
        char path[1200];
        snprintf(path, sizeof path, "%s/gating.dat", plotdir);
        double gx[500], gg[1500];
        size_t ng = read_gating(path, 3, gx, gg, 500);
        tap_ok(ng == 401, "gating.dat has 401 rows (%zu)", ng);
        tap_abs(gx[0], x[0], 0, "the grid starts at the smallest x");
        tap_abs(gx[ng - 1], x[N - 1], 0, "and ends at the largest x exactly");
        double worst = 0;
        for (size_t r = 0; r < ng; r++)
            worst = fmax(worst, fabs(gg[r * 3] + gg[r * 3 + 1] + gg[r * 3 + 2] - 1));
        tap_abs(worst, 0, 1e-10, "every row's gate probabilities sum to 1");
        /* The same grid through moe_predict: the written numbers are the model's. */
        moe_dataset *gd = NULL;
        moe_prediction *p = NULL;
        s = moe_dataset_from_arrays(ng, 1, gx, 0, NULL, NULL, &gd, &err);
        if (s == MOE_SUCCESS)
            s = moe_predict(m, gd, 0, &p, &err);
        worst = s == MOE_SUCCESS ? 0 : INFINITY;
        for (size_t r = 0; s == MOE_SUCCESS && r < ng * 3; r++)
            worst = fmax(worst, fabs(gg[r] - p->gate[r]));
        tap_abs(worst, 0, 1e-11, "gating.dat equals moe_predict's gate (12 digits)");
        /* On the true model, x = 2 belongs to expert 1, x = 5 to 2, x = 9 to 3. */
        tap_ok(gg[80 * 3] > 0.95 && gg[200 * 3 + 1] > 0.9 && gg[360 * 3 + 2] > 0.9,
               "the regimes are where the model puts them");
        moe_prediction_free(p);
        moe_dataset_free(gd);
        snprintf(path, sizeof path, "%s/gating.gp", plotdir);
        tap_ok(file_has(path, "model_title = 'mixture of 3 Gaussian linear experts, softmax "
                              "gate on x1'"),
               "the title states the model");
        tap_ok(file_has(path, "set terminal pngcairo size 1280,800"),
               "the program draws a 1280x800 PNG");
        snprintf(path, sizeof path, "%s/regimes.dat", plotdir);
        tap_ok(file_has(path, "# columns: x1 y expert"), "regimes.dat names its columns");
        remove_dir(plotdir);

        /* Without the response: no responsibility plot; SVG. */
        o.format = MOE_PLOT_SVG;
        s = moe_plot_write(m, NULL, dnoy, &o, &err);
        tap_ok(s == MOE_SUCCESS && exists(plotdir, "gating.svg") &&
                   exists(plotdir, "regimes.svg") && !exists(plotdir, "responsibility.dat"),
               "data without y: gating and regimes only, in SVG (%s)", err.message);
        remove_dir(plotdir);
    }
    rmdir(tmpdir);
    moe_dataset_free(d);
    moe_dataset_free(dnoy);
    moe_model_free(m);
    return tap_done();
}
