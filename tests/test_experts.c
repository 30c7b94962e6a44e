/* test_experts.c: every expert family (gaussian, poisson, logistic) checked through its type
 * table only, on a small hand-built data set (design column 0 = 1).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * For each family: the log-density against GSL's closed-form pdfs; the score against central
 * finite differences of sum h log f; for Newton families the objective, gradient and packed
 * negative Hessian of newton_add against sum h log f, score_rows and the finite-difference
 * Jacobian of the score; the means and variances of moments_rows against 20000 draws (within
 * 4 standard errors); check_response on good and bad values; get/set_theta round trips,
 * fields covering the block, report on identity and non-identity scalings; the flags; and the
 * overflow guards (no inf or NaN at extreme linear predictors); long ranges of rows (the
 * slots' chunks) against row-by-row calls. Responsibilities H have K = 2
 * columns and the expert under test is column 1, with column 0 set far off so that reading the
 * wrong column shows; one row has h = 0 and one h = 2 (a weight). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#include "experts/expert.h"
#include "tap.h"

#define N 8
#define NX 2
#define PX (NX + 1)
#define K 2
#define COL 1            /* the expert's column of H */
#define PMAX 8           /* room for any block or theta of these families at NX = 2 */
#define NDRAW 20000
#define FD_REL 1e-6      /* finite differences against analytic derivatives */
#define EXACT_REL 1e-12  /* two evaluations of the same formula */

static const moe_expert_shape SH = {NX, 0, MOE_ACT_TANH};  /* the linear families' shape */

static double X[N * PX] = {
    1, 0.3,  -1.2, 1, -0.8, 0.4, 1, 1.5,  0.9, 1, 0.0, -0.3,
    1, -1.4, 1.1,  1, 0.7,  0.2, 1, -0.2, -1.6, 1, 1.1, 1.3,
};
static double H[N * K] = {
    100, 0.9, 100, 0.3, 100, 0.0, 100, 1.0, 100, 0.55, 100, 2.0, 100, 0.1, 100, 0.75,
};
static double Y_GAUSS[N] = {0.4, -1.3, 2.2, 0.1, -0.7, 1.9, 0.5, -2.4};
static double Y_POIS[N] = {0, 1, 3, 2, 5, 0, 4, 7};
static double OFFSET[N] = {0.2, -0.5, 0.0, 1.1, 0.3, -0.2, 0.6, 0.4};
static double TRIALS[N] = {1, 5, 3, 10, 2, 7, 4, 6};
static double Y_BINOM[N] = {1, 2, 0, 7, 2, 0, 1, 3};
static double Y_BERN[N] = {0, 1, 1, 0, 1, 0, 0, 1};

typedef struct fam_case {
    const char *label;
    const moe_expert_type *t;
    moe_dataset d;
    double par[PMAX];
    int newton;  /* 1: Newton M-step expected, 0: closed form */
    int scales_response, needs_offset, needs_trials;
} fam_case;

static double lin(const moe_dataset *d, const double *b, size_t r)
{
    double e = 0;
    for (size_t j = 0; j < PX; j++)
        e += d->x[r * PX + j] * b[j];
    return e;
}

static double off(const moe_dataset *d, size_t r) { return d->offset ? d->offset[r] : 0; }
static double ntrials(const moe_dataset *d, size_t r) { return d->trials ? d->trials[r] : 1; }

/* Independent closed forms of log f for row R (GSL's pdfs). */
static double ref_logf(const fam_case *c, size_t r)
{
    const moe_dataset *d = &c->d;
    double y = d->y[r], eta = lin(d, c->par, r);
    if (c->t == &moe_expert_gaussian)
        return log(gsl_ran_gaussian_pdf(y - eta, c->par[PX]));
    if (c->t == &moe_expert_poisson)
        return log(gsl_ran_poisson_pdf((unsigned)y, exp(eta + off(d, r))));
    return log(gsl_ran_binomial_pdf((unsigned)y, 1 / (1 + exp(-eta)), (unsigned)ntrials(d, r)));
}

/* Independent closed forms of the mean and variance of y for row R. */
static void ref_moments(const fam_case *c, size_t r, double *mean, double *var)
{
    const moe_dataset *d = &c->d;
    double eta = lin(d, c->par, r);
    if (c->t == &moe_expert_gaussian) {
        *mean = eta;
        *var = c->par[PX] * c->par[PX];
    } else if (c->t == &moe_expert_poisson) {
        *mean = *var = exp(eta + off(d, r));
    } else {
        double p = 1 / (1 + exp(-eta)), n = ntrials(d, r);
        *mean = n * p;
        *var = n * p * (1 - p);
    }
}

/* sum_n h_n log f_n at THETA, through set_theta and log_density_rows. */
static double objective(const fam_case *c, const double *theta)
{
    double par[PMAX], logf[N], s = 0;
    memcpy(par, c->par, sizeof par);
    c->t->set_theta(&SH, theta, par);
    c->t->log_density_rows(&c->d, &SH, par, 0, N, logf);
    for (size_t r = 0; r < N; r++)
        s += H[r * K + COL] * logf[r];
    return s;
}

/* score_rows at THETA into G (zeroed first), in two row ranges. */
static void score(const fam_case *c, const double *theta, double *g)
{
    double par[PMAX];
    memcpy(par, c->par, sizeof par);
    c->t->set_theta(&SH, theta, par);
    size_t np = c->t->nparams(&SH);
    for (size_t j = 0; j < np; j++)
        g[j] = 0;
    c->t->score_rows(&c->d, &SH, par, H, K, COL, 0, 3, g);
    c->t->score_rows(&c->d, &SH, par, H, K, COL, 3, N, g);
}

/* |got - want| <= tol * max(1, |want|): relative, with an absolute floor for small values. */
static int near(double got, double want, double tol, const char *what, const char *label,
                size_t a, size_t b)
{
    double scale = fabs(want) > 1 ? fabs(want) : 1;
    int ok = isfinite(got) && fabs(got - want) <= tol * scale;
    if (!ok)
        printf("# got %.17g, want %.17g (tolerance %g)\n", got, want, tol);
    return tap_ok(ok, "%s: %s [%zu,%zu]", label, what, a, b);
}

static void check_flags(const fam_case *c)
{
    const moe_expert_type *t = c->t;
    tap_int(t->scales_response, c->scales_response, "%s: scales_response", c->label);
    tap_int(t->needs_offset, c->needs_offset, "%s: needs_offset", c->label);
    tap_int(t->needs_trials, c->needs_trials, "%s: needs_trials", c->label);
    int closed = t->stat_size && t->stat_add && t->work_size && t->mstep;
    int closed_any = t->stat_size || t->stat_add || t->work_size || t->mstep;
    int newton = t->newton_size && t->newton_add;
    int newton_any = t->newton_size || t->newton_add;
    tap_ok(c->newton ? newton && !closed_any : closed && !newton_any,
           "%s: exactly one M-step form (%s)", c->label, c->newton ? "Newton" : "closed form");
    tap_ok(t->name && t->description && t->label && t->extra_names && t->block_size && t->nparams &&
               t->init && t->from_linear && t->get_theta && t->set_theta &&
               t->check_response && t->log_density_rows && t->moments_rows && t->draw &&
               t->score_rows && t->ncoef && t->report && t->fields,
           "%s: every common slot filled", c->label);
}

/* (a) log-density against the closed form, on all rows and on a sub-range. */
static void check_log_density(const fam_case *c)
{
    double logf[N], sub[N];
    c->t->log_density_rows(&c->d, &SH, c->par, 0, N, logf);
    for (size_t r = 0; r < N; r++)
        near(logf[r], ref_logf(c, r), 1e-11, "log f = closed form", c->label, r, 0);
    c->t->log_density_rows(&c->d, &SH, c->par, 2, 5, sub);
    int same = 1;
    for (size_t r = 2; r < 5; r++)
        same &= sub[r - 2] == logf[r];
    tap_ok(same, "%s: log f on rows [2,5) writes from logf[0]", c->label);
}

/* (b) score against central differences of the objective; h = 0 rows contribute nothing. */
static void check_score(const fam_case *c)
{
    size_t np = c->t->nparams(&SH);
    double theta[PMAX], g[PMAX];
    c->t->get_theta(&SH, c->par, theta);
    score(c, theta, g);
    for (size_t j = 0; j < np; j++) {
        double e = 1e-5 * (1 + fabs(theta[j])), tp[PMAX], tm[PMAX];
        memcpy(tp, theta, sizeof tp);
        memcpy(tm, theta, sizeof tm);
        tp[j] += e;
        tm[j] -= e;
        double fd = (objective(c, tp) - objective(c, tm)) / (2 * e);
        near(g[j], fd, FD_REL, "score = finite difference", c->label, j, 0);
    }
    /* score_rows adds: a preset gradient is kept */
    double g2[PMAX];
    for (size_t j = 0; j < np; j++)
        g2[j] = 1;
    c->t->score_rows(&c->d, &SH, c->par, H, K, COL, 0, N, g2);
    int adds = 1;
    for (size_t j = 0; j < np; j++)
        adds &= fabs(g2[j] - 1 - g[j]) <= EXACT_REL * (1 + fabs(g[j]));
    tap_ok(adds, "%s: score_rows adds to GRAD", c->label);
    /* row 2 has h = 0: changing its y changes nothing */
    fam_case c2 = *c;
    double y2[N];
    memcpy(y2, c->d.y, sizeof y2);
    /* NaN for the GLMs, which skip such rows; gaussian.c multiplies by h, so a finite y */
    y2[2] = c->t == &moe_expert_gaussian ? 1e6 : NAN;
    c2.d.y = y2;
    double g3[PMAX];
    score(&c2, theta, g3);
    int same = 1;
    for (size_t j = 0; j < np; j++)
        same &= g3[j] == g[j];
    tap_ok(same, "%s: a row with h = 0 (y changed there) does not enter the score", c->label);
}

/* (c) newton_add: objective, gradient, packed negative Hessian. */
static void check_newton(const fam_case *c)
{
    const moe_expert_type *t = c->t;
    size_t np = t->nparams(&SH), ns = t->newton_size(&SH);
    tap_int((long)ns, (long)(1 + np + np * (np + 1) / 2), "%s: newton_size", c->label);
    double theta[PMAX], stats[64] = {0}, g[PMAX];
    if (ns > 64)
        return;
    t->get_theta(&SH, c->par, theta);
    t->newton_add(&c->d, &SH, theta, H, K, COL, 0, 3, 1, stats);
    t->newton_add(&c->d, &SH, theta, H, K, COL, 3, N, 1, stats);
    near(stats[0], objective(c, theta), EXACT_REL, "newton objective = sum h log f", c->label,
         0, 0);
    score(c, theta, g);
    for (size_t j = 0; j < np; j++)
        near(stats[1 + j], g[j], EXACT_REL, "newton gradient = score_rows", c->label, j, 0);
    /* the finite-difference Jacobian of the score, column b */
    double jac[PMAX][PMAX];
    for (size_t b = 0; b < np; b++) {
        double e = 1e-5 * (1 + fabs(theta[b])), tp[PMAX], tm[PMAX], gp[PMAX], gm[PMAX];
        memcpy(tp, theta, sizeof tp);
        memcpy(tm, theta, sizeof tm);
        tp[b] += e;
        tm[b] -= e;
        score(c, tp, gp);
        score(c, tm, gm);
        for (size_t a = 0; a < np; a++)
            jac[a][b] = (gp[a] - gm[a]) / (2 * e);
    }
    /* every (a, b), so the symmetry of the Jacobian is checked too */
    for (size_t a = 0; a < np; a++)
        for (size_t b = 0; b < np; b++) {
            size_t lo = a < b ? a : b, hi = a < b ? b : a;
            size_t idx = 1 + np + lo * (2 * np - lo + 1) / 2 + (hi - lo);  /* packed rows */
            near(stats[idx], -jac[a][b], FD_REL, "neg Hessian = -d score", c->label, a, b);
        }
    /* deriv = 0: only the objective moves */
    double s0[64];
    for (size_t j = 0; j < ns; j++)
        s0[j] = j ? 7 : 0;
    t->newton_add(&c->d, &SH, theta, H, K, COL, 0, N, 0, s0);
    int untouched = 1;
    for (size_t j = 1; j < ns; j++)
        untouched &= s0[j] == 7;
    tap_ok(untouched && s0[0] == stats[0], "%s: deriv = 0 adds the objective only", c->label);
    /* a row with h = 0 does not enter */
    fam_case c2 = *c;
    double y2[N], s2[64] = {0};
    memcpy(y2, c->d.y, sizeof y2);
    y2[2] = NAN;
    c2.d.y = y2;
    t->newton_add(&c2.d, &SH, theta, H, K, COL, 0, N, 1, s2);
    int same = 1;
    for (size_t j = 0; j < ns; j++)
        same &= fabs(s2[j] - stats[j]) <= EXACT_REL * (1 + fabs(stats[j]));
    tap_ok(same, "%s: a row with h = 0 (y NaN there) does not enter newton_add", c->label);
}

/* (d) moments against the closed form and against draws. */
static void check_moments(const fam_case *c, gsl_rng *rng)
{
    double mean[N], var[N], mean2[N], var2[N];
    c->t->moments_rows(&c->d, &SH, c->par, 0, N, mean, var);
    for (size_t r = 0; r < N; r++) {
        double m, v;
        ref_moments(c, r, &m, &v);
        near(mean[r], m, EXACT_REL, "mean = closed form", c->label, r, 0);
        near(var[r], v, EXACT_REL, "variance = closed form", c->label, r, 0);
    }
    c->t->moments_rows(&c->d, &SH, c->par, 0, N, mean2, NULL);
    c->t->moments_rows(&c->d, &SH, c->par, 0, N, NULL, var2);
    int same = 1;
    for (size_t r = 0; r < N; r++)
        same &= mean2[r] == mean[r] && var2[r] == var[r];
    tap_ok(same, "%s: moments with a NULL output", c->label);
    static const size_t rows[] = {0, 3, 5};
    for (size_t q = 0; q < sizeof rows / sizeof *rows; q++) {
        size_t r = rows[q];
        double s = 0, s2 = 0, s4 = 0;
        int valid = 1;
        double draws[NDRAW];
        for (size_t t = 0; t < NDRAW; t++) {
            double v = c->t->draw(&c->d, &SH, c->par, r, rng);
            draws[t] = v;
            s += v;
            if (c->t != &moe_expert_gaussian)
                valid &= v >= 0 && v == floor(v) && (c->t != &moe_expert_logistic ||
                                                      v <= ntrials(&c->d, r));
        }
        double m = s / NDRAW;
        for (size_t t = 0; t < NDRAW; t++) {
            double e = draws[t] - m;
            s2 += e * e;
            s4 += e * e * e * e;
        }
        double sv = s2 / (NDRAW - 1), m4 = s4 / NDRAW;
        tap_ok(valid, "%s: row %zu draws are valid responses", c->label, r);
        tap_abs(m, mean[r], 4 * sqrt(var[r] / NDRAW), "%s: row %zu mean of %d draws", c->label,
                r, NDRAW);
        tap_abs(sv, var[r], 4 * sqrt((m4 - sv * sv) / NDRAW) + 1e-12,
                "%s: row %zu variance of %d draws", c->label, r, NDRAW);
    }
}

/* (f) theta round trip, init, from_linear, fields, report. */
static void check_params(const fam_case *c)
{
    const moe_expert_type *t = c->t;
    size_t bs = t->block_size(&SH), np = t->nparams(&SH), nc = t->ncoef(&SH);
    tap_ok(bs <= PMAX && np <= bs, "%s: nparams %zu <= block_size %zu", c->label, np, bs);
    double theta[PMAX], par2[PMAX], theta2[PMAX];
    t->get_theta(&SH, c->par, theta);
    for (size_t j = 0; j < PMAX; j++)
        par2[j] = NAN;
    t->set_theta(&SH, theta, par2);
    t->get_theta(&SH, par2, theta2);
    int ok = 1;
    for (size_t j = 0; j < bs; j++)
        ok &= fabs(par2[j] - c->par[j]) <= 1e-15 * fabs(c->par[j]);
    for (size_t j = 0; j < np; j++)
        ok &= fabs(theta2[j] - theta[j]) <= 1e-15 * (1 + fabs(theta[j]));
    tap_ok(ok, "%s: set_theta(get_theta(par)) = par and back", c->label);

    /* init: a complete neutral block */
    double blk[PMAX];
    for (size_t j = 0; j < PMAX; j++)
        blk[j] = NAN;
    t->init(&SH, blk);
    ok = 1;
    for (size_t j = 0; j < bs; j++)
        ok &= isfinite(blk[j]);
    for (size_t j = 0; j < PX; j++)
        ok &= blk[j] == 0;
    tap_ok(ok, "%s: init writes a neutral block", c->label);
    double m0, v0;
    t->moments_rows(&c->d, &SH, blk, 3, 4, &m0, &v0);
    double want0 = t == &moe_expert_gaussian  ? 0
                   : t == &moe_expert_poisson ? exp(off(&c->d, 3))
                                              : ntrials(&c->d, 3) / 2;
    tap_rel(m0, want0, EXACT_REL, "%s: mean at the neutral block", c->label);

    /* from_linear: the linear predictor is BETA */
    const double beta[PX] = {0.1, -0.2, 0.3};
    t->from_linear(&SH, beta, 0.7, blk);
    t->get_theta(&SH, blk, theta2);
    ok = 1;
    for (size_t j = 0; j < PX; j++)
        ok &= theta2[j] == beta[j];
    if (t == &moe_expert_gaussian)
        ok &= fabs(theta2[PX] - log(0.7)) < 1e-15;
    tap_ok(ok, "%s: from_linear sets the linear predictor (and noise)", c->label);

    /* fields cover every double of the block exactly once */
    moe_param_field f[MOE_PARAM_FIELDS_MAX + 4];
    size_t nf = t->fields(&SH, f);
    int cover[PMAX] = {0};
    ok = nf >= 1 && nf <= MOE_PARAM_FIELDS_MAX;
    for (size_t q = 0; ok && q < nf; q++) {
        size_t len = f[q].rows ? f[q].rows * f[q].len : f[q].len;
        ok &= f[q].name != NULL && f[q].offset + len <= bs;
        ok &= !f[q].scalar || (f[q].rows == 0 && f[q].len == 1);
        for (size_t j = f[q].offset; ok && j < f[q].offset + len; j++)
            cover[j]++;
    }
    for (size_t j = 0; ok && j < bs; j++)
        ok &= cover[j] == 1;
    tap_ok(ok, "%s: %zu fields cover the %zu-double block exactly once", c->label, nf, bs);

    /* ncoef = nx + 1 + extras */
    size_t ne = 0;
    while (t->extra_names[ne])
        ne++;
    tap_int((long)nc, (long)(PX + ne), "%s: ncoef = nx + 1 + extras", c->label);

    /* report with an identity scaling: the block's own numbers (beta, then sigma) */
    double xc0[NX] = {0, 0}, xs1[NX] = {1, 1};
    moe_model m = {.expert = t, .k = K, .nx = NX, .y_center = 0, .y_scale = 1,
                   .x_center = xc0, .x_scale = xs1};
    double coef[PMAX];
    t->report(&m, theta, coef);
    ok = 1;
    for (size_t j = 0; j < nc; j++)
        ok &= fabs(coef[j] - c->par[j]) <= 1e-15 * (1 + fabs(c->par[j]));
    tap_ok(ok, "%s: report at identity scaling = coefficients", c->label);

    /* report with a real scaling: slopes / sx, the intercept shifted; the response's centre
     * and scale only when the family scales y */
    double xc[NX] = {1.5, -2}, xs[NX] = {2, 0.5}, cy = 10, sy = 3;
    m.x_center = xc;
    m.x_scale = xs;
    m.y_center = cy;
    m.y_scale = sy;
    t->report(&m, theta, coef);
    double a = c->scales_response ? sy : 1, b0 = c->par[0];
    ok = 1;
    for (size_t j = 0; j < NX; j++) {
        ok &= fabs(coef[j + 1] - a * c->par[j + 1] / xs[j]) <= 1e-14;
        b0 -= c->par[j + 1] * xc[j] / xs[j];
    }
    ok &= fabs(coef[0] - ((c->scales_response ? cy : 0) + a * b0)) <= 1e-13;
    if (t == &moe_expert_gaussian)
        ok &= fabs(coef[PX] - sy * c->par[PX]) <= 1e-14;
    tap_ok(ok, "%s: report unscales %s the response's scale", c->label,
           c->scales_response ? "with" : "without");
}

static int is(const char *got, const char *want)
{
    return got && want ? strcmp(got, want) == 0 : got == want;
}

/* (e) check_response. */
static void check_responses(void)
{
    const moe_expert_type *g = &moe_expert_gaussian, *p = &moe_expert_poisson,
                          *l = &moe_expert_logistic;
    const char *cnt = "must be a non-negative integer count";
    const char *tri = "the number of trials must be a positive integer";
    const char *bern = "must be 0 or 1";
    const char *bin = "must be an integer between 0 and the number of trials";

    tap_ok(!g->check_response(1.5, 1) && !g->check_response(-3, 1) && !g->check_response(0, 1),
           "gaussian: finite responses accepted");
    tap_ok(g->check_response(NAN, 1) && g->check_response(INFINITY, 1) &&
               g->check_response(-INFINITY, 1),
           "gaussian: NaN and infinities rejected");

    tap_ok(!p->check_response(0, 1) && !p->check_response(3, 1) && !p->check_response(1e6, 1) &&
               !p->check_response(-0.0, 1),
           "poisson: counts accepted");
    tap_ok(is(p->check_response(-1, 1), cnt), "poisson: -1 rejected");
    tap_ok(is(p->check_response(2.5, 1), cnt), "poisson: 2.5 rejected");
    tap_ok(is(p->check_response(1e-9, 1), cnt), "poisson: 1e-9 rejected");
    tap_ok(is(p->check_response(NAN, 1), cnt), "poisson: NaN rejected");
    tap_ok(is(p->check_response(INFINITY, 1), cnt), "poisson: infinity rejected");
    tap_ok(p->check_response(1e20, 1) != NULL, "poisson: a count above 2^53 rejected");

    tap_ok(!l->check_response(0, 1) && !l->check_response(1, 1), "logistic: 0 and 1 accepted");
    tap_ok(is(l->check_response(2, 1), bern), "logistic: 2 of 1 rejected");
    tap_ok(is(l->check_response(-1, 1), bern), "logistic: -1 of 1 rejected");
    tap_ok(is(l->check_response(0.5, 1), bern), "logistic: 0.5 of 1 rejected");
    tap_ok(is(l->check_response(NAN, 1), bern), "logistic: NaN of 1 rejected");
    int all = 1;
    for (int y = 0; y <= 5; y++)
        all &= l->check_response(y, 5) == NULL;
    tap_ok(all, "logistic: 0..5 of 5 accepted");
    tap_ok(is(l->check_response(6, 5), bin), "logistic: 6 of 5 rejected");
    tap_ok(is(l->check_response(2.5, 5), bin), "logistic: 2.5 of 5 rejected");
    tap_ok(is(l->check_response(-1, 5), bin), "logistic: -1 of 5 rejected");
    tap_ok(is(l->check_response(NAN, 5), bin), "logistic: NaN of 5 rejected");
    tap_ok(is(l->check_response(0, 0), tri), "logistic: 0 trials rejected");
    tap_ok(is(l->check_response(0, -2), tri), "logistic: -2 trials rejected");
    tap_ok(is(l->check_response(1, 2.5), tri), "logistic: 2.5 trials rejected");
    tap_ok(is(l->check_response(1, NAN), tri), "logistic: NaN trials rejected");
    tap_ok(is(l->check_response(1, INFINITY), tri), "logistic: infinite trials rejected");
    tap_ok(l->check_response(1, 1e10) != NULL, "logistic: trials above 2^32 - 1 rejected");
}

static int all_finite(const double *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return 0;
    return 1;
}

/* Overflow guards: extreme linear predictors give finite numbers everywhere. */
static void check_extremes(const fam_case *c, gsl_rng *rng)
{
    const moe_expert_type *t = c->t;
    static const double big[] = {1000, -1000, 40};
    for (size_t q = 0; q < 3; q++) {
        double par[PMAX], theta[PMAX], logf[N], mean[N], var[N], g[PMAX] = {0}, st[64] = {0};
        memcpy(par, c->par, sizeof par);
        par[0] = big[q];
        par[1] = big[q] / 10;
        t->get_theta(&SH, par, theta);
        t->log_density_rows(&c->d, &SH, par, 0, N, logf);
        t->moments_rows(&c->d, &SH, par, 0, N, mean, var);
        t->score_rows(&c->d, &SH, par, H, K, COL, 0, N, g);
        size_t ns = t->newton_size ? t->newton_size(&SH) : 0;
        if (ns && ns <= 64)
            t->newton_add(&c->d, &SH, theta, H, K, COL, 0, N, 1, st);
        double dr = t->draw(&c->d, &SH, par, 1, rng);
        tap_ok(all_finite(logf, N) && all_finite(mean, N) && all_finite(var, N) &&
                   all_finite(g, t->nparams(&SH)) && all_finite(st, ns) && isfinite(dr),
               "%s: finite everywhere at intercept %g", c->label, big[q]);
    }
}

/* The logistic log f at |eta| = 800 (p rounds to 0 or 1) still has its exact limits. */
static void check_logistic_limits(const fam_case *c)
{
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        double par[PMAX] = {800.0 * sgn, 0, 0}, logf[N];
        c->t->log_density_rows(&c->d, &SH, par, 0, N, logf);
        int ok = 1;
        for (size_t r = 0; r < N; r++) {
            double n = ntrials(&c->d, r), y = c->d.y[r];
            double lc = lgamma(n + 1) - lgamma(y + 1) - lgamma(n - y + 1);
            double want = lc - 800 * (sgn > 0 ? n - y : y);
            ok &= fabs(logf[r] - want) <= 1e-12 * (1 + fabs(want));
        }
        tap_ok(ok, "%s: log f at eta = %d * 800 is log C(n,y) - 800 * (failures or successes)",
               c->label, sgn);
    }
}

/* The Poisson draw for a mean beyond gsl_ran_poisson's unsigned range (normal approximation). */
static void check_poisson_huge_draw(const fam_case *c, gsl_rng *rng)
{
    double par[PMAX] = {log(1e12), 0, 0};
    fam_case c2 = *c;
    c2.d.offset = NULL;
    double s = 0;
    int valid = 1;
    for (int t = 0; t < 2000; t++) {
        double v = c->t->draw(&c2.d, &SH, par, 0, rng);
        valid &= v >= 0 && v == floor(v);
        s += v;
    }
    tap_ok(valid, "%s: draws at mean 1e12 are counts", c->label);
    tap_abs(s / 2000, 1e12, 4 * sqrt(1e12 / 2000), "%s: mean of draws at mean 1e12", c->label);
}

/* Long ranges: on LONG_N rows that tile the small set (its y, offsets and trials), the slots
 * over rows [3, LONG_N - 2) (chunks of every size and an offset start) equal the same slots
 * called one row at a time, bit for bit: log_density_rows, moments_rows, score_rows and
 * mean_grad_rows where the family has it (every sum is taken in row order either way). */
#define LONG_N 1000
static void check_long_ranges(const fam_case *c)
{
    static double x[LONG_N * PX], y[LONG_N], o[LONG_N], tr[LONG_N], h[LONG_N * K];
    static double a1[LONG_N], a2[LONG_N], m1[LONG_N], m2[LONG_N], v1[LONG_N], v2[LONG_N];
    moe_dataset d = c->d;
    for (size_t r = 0; r < LONG_N; r++) {
        size_t s = r % N;
        memcpy(x + r * PX, X + s * PX, sizeof(double) * PX);
        x[r * PX + 1] += 0.001 * (double)r / LONG_N;  /* rows that differ */
        y[r] = c->d.y[s];
        o[r] = c->d.offset ? c->d.offset[s] : 0;
        tr[r] = c->d.trials ? c->d.trials[s] : 1;
        h[r * K] = H[s * K];
        h[r * K + 1] = H[s * K + 1];
    }
    d.n = LONG_N;
    d.x = x;
    d.y = y;
    d.offset = c->d.offset ? o : NULL;
    d.trials = c->d.trials ? tr : NULL;
    const moe_expert_type *t = c->t;
    size_t r0 = 3, r1 = LONG_N - 2, np = t->nparams(&SH);
    double g1[PMAX] = {0}, g2[PMAX] = {0}, q1[PMAX] = {0}, q2[PMAX] = {0};
    t->log_density_rows(&d, &SH, c->par, r0, r1, a1);
    t->moments_rows(&d, &SH, c->par, r0, r1, m1, v1);
    t->score_rows(&d, &SH, c->par, h, K, COL, r0, r1, g1);
    if (t->mean_grad_rows)
        t->mean_grad_rows(&d, &SH, c->par, h, K, COL, r0, r1, q1);
    for (size_t r = r0; r < r1; r++) {
        t->log_density_rows(&d, &SH, c->par, r, r + 1, a2 + r - r0);
        t->moments_rows(&d, &SH, c->par, r, r + 1, m2 + r - r0, v2 + r - r0);
        t->score_rows(&d, &SH, c->par, h, K, COL, r, r + 1, g2);
        if (t->mean_grad_rows)
            t->mean_grad_rows(&d, &SH, c->par, h, K, COL, r, r + 1, q2);
    }
    size_t len = (r1 - r0) * sizeof(double);
    tap_ok(memcmp(a1, a2, len) == 0 && memcmp(m1, m2, len) == 0 && memcmp(v1, v2, len) == 0,
           "%s: log-densities and moments of %zu rows at once = row by row", c->label, r1 - r0);
    tap_ok(memcmp(g1, g2, np * sizeof *g1) == 0 && memcmp(q1, q2, np * sizeof *q1) == 0,
           "%s: score_rows and mean_grad_rows over %zu rows = row by row", c->label, r1 - r0);
}

int main(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20260101);
    moe_dataset base = {.n = N, .nx = NX, .nz = 0, .x = X};

    fam_case cases[5];
    cases[0] = (fam_case){.label = "gaussian", .t = &moe_expert_gaussian, .d = base,
                          .par = {0.2, 0.5, -0.4, 0.8}, .scales_response = 1};
    cases[0].d.y = Y_GAUSS;
    cases[1] = (fam_case){.label = "poisson (offset)", .t = &moe_expert_poisson, .d = base,
                          .par = {0.8, 0.5, -0.3}, .newton = 1, .needs_offset = 1};
    cases[1].d.y = Y_POIS;
    cases[1].d.offset = OFFSET;
    cases[2] = (fam_case){.label = "poisson", .t = &moe_expert_poisson, .d = base,
                          .par = {0.4, -0.6, 0.7}, .newton = 1, .needs_offset = 1};
    cases[2].d.y = Y_POIS;
    cases[3] = (fam_case){.label = "logistic (trials)", .t = &moe_expert_logistic, .d = base,
                          .par = {0.3, -0.7, 0.4}, .newton = 1, .needs_trials = 1};
    cases[3].d.y = Y_BINOM;
    cases[3].d.trials = TRIALS;
    cases[4] = (fam_case){.label = "logistic (0/1)", .t = &moe_expert_logistic, .d = base,
                          .par = {-0.2, 0.9, -0.5}, .newton = 1, .needs_trials = 1};
    cases[4].d.y = Y_BERN;

    tap_ok(strcmp(moe_expert_gaussian.name, "gaussian") == 0 &&
               strcmp(moe_expert_poisson.name, "poisson") == 0 &&
               strcmp(moe_expert_logistic.name, "logistic") == 0,
           "family names");
    for (size_t q = 0; q < sizeof cases / sizeof *cases; q++) {
        const fam_case *c = &cases[q];
        check_flags(c);
        check_log_density(c);
        check_score(c);
        if (c->newton)
            check_newton(c);
        check_moments(c, rng);
        check_params(c);
        check_extremes(c, rng);
        check_long_ranges(c);
    }
    check_logistic_limits(&cases[3]);
    check_logistic_limits(&cases[4]);
    check_poisson_huge_draw(&cases[1], rng);
    check_responses();
    gsl_rng_free(rng);
    return tap_done();
}
