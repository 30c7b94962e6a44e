/* test_model_io.c: model files: save/load round trip (bit for bit), hand-written models and
 * the rejection of every kind of broken file in tests/models/.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 * The fixtures are read from $srcdir/tests/models (srcdir defaults to "."). */
#include <config.h>

#include <dirent.h>
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

static char models_dir[4096];

static const char *fixture(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", models_dir, name);
    return path;
}

/* Counts the entries of DIR other than . and .. */
static int count_entries(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(dp);
    return n;
}

static int same_doubles(const double *a, const double *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static void round_trip(const char *tmpdir)
{
    moe_sim_options so = moe_sim_options_default();
    so.k = 3;
    so.nx = 2;
    so.seed = 7;
    moe_model *m = NULL;
    moe_error err;
    if (!tap_ok(moe_simulate_model(&so, &m, &err) == MOE_SUCCESS, "simulate a model to save"))
        return;
    /* awkward numbers for the scaling and parameters: not representable in few digits */
    m->y_center = 1.0 / 3;
    m->y_scale = M_PI * 1e7;
    for (size_t j = 0; j < m->nx; j++) {
        m->x_center[j] = -exp(1.0) * (double)(j + 1);
        m->x_scale[j] = sqrt(2.0) * 1e-8;
    }
    for (size_t j = 0; j < m->nz; j++) {
        m->z_center[j] = m->x_center[j];
        m->z_scale[j] = m->x_scale[j];
    }
    BETA(m, 1) = 0.1 + 0.2;
    BETA(m, 2) = -0.0;
    SIGMA(m, 0) = 5e-324 * 1e300;

    /* the fit's record (issue 13): awkward numbers, an SE that is not available (NaN, saved
     * as null) and the gate block's last SE */
    size_t nrec = moe_model_record_len(m);
    double prior[3] = {0.1 + 0.2, 1.0 / 3, 1 - (0.1 + 0.2) - 1.0 / 3};
    size_t size[3] = {17, 0, 983};
    double *rec_se = malloc(nrec * sizeof *rec_se), *blocks[4];
    for (size_t j = 0; rec_se && j < nrec; j++)
        rec_se[j] = sqrt((double)j + 0.5) * 1e-3;
    if (rec_se) {
        rec_se[1] = NAN;
        for (size_t b = 0, at = 0; b <= 3; at += moe_model_ncoef(m, b), b++)
            blocks[b] = rec_se + at;
        tap_int(moe_model_record_set(m, -M_PI * 100, 1e-310, 7.0 / 3, NAN, prior, size, blocks),
                MOE_SUCCESS, "record a fit in the model");
    }

    char path[4200];
    snprintf(path, sizeof path, "%s/model.json", tmpdir);
    tap_int(moe_model_save(m, path, &err), MOE_SUCCESS, "moe_model_save");
    tap_int(count_entries(tmpdir), 1, "no temporary file left beside the model");
    moe_model *l = NULL;
    int st = moe_model_load(path, &l, &err);
    if (!tap_int(st, MOE_SUCCESS, "reload the saved model")) {
        printf("# %s\n", err.message);
        moe_model_free(m);
        return;
    }
    size_t k = m->k;
    tap_ok(l->k == k && l->nx == m->nx && l->nz == m->nz, "same shape");
    tap_ok(l->expert == m->expert && l->gate == m->gate, "same expert family and gate");
    tap_ok(same_doubles(m->expert_par, l->expert_par, k * m->ep), "beta and sigma bit for bit");
    tap_ok(same_doubles(m->gate_par, l->gate_par, m->gp), "gate bit for bit");
    tap_ok(memcmp(&m->y_center, &l->y_center, sizeof(double)) == 0 &&
               memcmp(&m->y_scale, &l->y_scale, sizeof(double)) == 0 &&
               same_doubles(m->x_center, l->x_center, m->nx) &&
               same_doubles(m->x_scale, l->x_scale, m->nx) &&
               same_doubles(m->z_center, l->z_center, m->nz) &&
               same_doubles(m->z_scale, l->z_scale, m->nz),
           "scaling bit for bit");
    tap_ok(strcmp(l->y_name, m->y_name) == 0 && strcmp(l->x_names[1], m->x_names[1]) == 0 &&
               strcmp(l->z_names[0], m->z_names[0]) == 0,
           "names survive");
    tap_ok(l->has_record && memcmp(&l->rec_loglik, &m->rec_loglik, sizeof(double)) == 0 &&
               memcmp(&l->rec_aic, &m->rec_aic, sizeof(double)) == 0 &&
               memcmp(&l->rec_bic, &m->rec_bic, sizeof(double)) == 0 && isnan(l->rec_icl) &&
               same_doubles(l->rec_prior, m->rec_prior, k) &&
               same_doubles(l->rec_size, m->rec_size, k),
           "the fit's record survives: log-likelihood, criteria (null ICL), priors, sizes");
    int se_same = l->has_record && rec_se;
    for (size_t j = 0; se_same && j < nrec; j++)
        se_same = j == 1 ? isnan(l->rec_se[j])
                         : memcmp(&l->rec_se[j], &rec_se[j], sizeof(double)) == 0;
    tap_ok(se_same, "the %zu recorded SEs survive bit for bit, the missing one as NaN", nrec);
    moe_model *cp = moe_model_copy(l);
    tap_ok(cp && cp->has_record && cp->rec_size[2] == 983 && isnan(cp->rec_se[1]) &&
               cp->rec_se[nrec - 1] == l->rec_se[nrec - 1],
           "moe_model_copy keeps the record");
    moe_model_free(cp);
    free(rec_se);

    /* predictions of the two models on simulated rows: identical arrays */
    moe_dataset *d = NULL;
    if (tap_int(moe_simulate(m, 300, 11, &d, NULL, &err), MOE_SUCCESS, "simulate rows")) {
        moe_prediction *p1 = NULL, *p2 = NULL;
        int s1 = moe_predict(m, d, 1, &p1, &err), s2 = moe_predict(l, d, 1, &p2, &err);
        if (tap_ok(s1 == MOE_SUCCESS && s2 == MOE_SUCCESS, "predict with both models")) {
            size_t n = d->n;
            tap_ok(memcmp(p1->mean, p2->mean, n * sizeof(double)) == 0, "means bit for bit");
            tap_ok(memcmp(p1->sd, p2->sd, n * sizeof(double)) == 0, "SDs bit for bit");
            tap_ok(memcmp(p1->gate, p2->gate, n * k * sizeof(double)) == 0,
                   "gate probabilities bit for bit");
            tap_ok(memcmp(p1->posterior, p2->posterior, n * k * sizeof(double)) == 0,
                   "posteriors bit for bit");
            tap_ok(memcmp(p1->expert, p2->expert, n * sizeof(size_t)) == 0,
                   "most probable experts equal");
        }
        moe_prediction_free(p1);
        moe_prediction_free(p2);
    }
    moe_dataset_free(d);

    /* saving again over the file replaces it; a second load gives the same bytes */
    tap_int(moe_model_save(l, path, &err), MOE_SUCCESS, "save the reloaded model over it");
    moe_model *l2 = NULL;
    tap_int(moe_model_load(path, &l2, &err), MOE_SUCCESS, "load it again");
    tap_ok(l2 && same_doubles(l2->expert_par, m->expert_par, k * m->ep), "still bit for bit");
    moe_model_free(l2);
    unlink(path);

    /* a save that cannot succeed leaves nothing behind and says so */
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/model.json", tmpdir);
    tap_int(moe_model_save(m, bad, &err), MOE_EWRITE, "save into a missing folder: MOE_EWRITE");
    tap_ok(strstr(err.message, "no/such/dir/model.json") != NULL, "message names the file (%s)",
           err.message);
    tap_int(count_entries(tmpdir), 0, "nothing left behind after failed saves");

    /* a model with a NaN is refused before anything is written */
    BETA(m, 0) = NAN;
    tap_int(moe_model_save(m, path, &err), MOE_EINVAL, "a NaN parameter cannot be saved");
    tap_int(count_entries(tmpdir), 0, "and no file was created");
    moe_model_free(l);
    moe_model_free(m);
}

static void hand_written(void)
{
    moe_model *m = NULL;
    moe_error err;
    int st = moe_model_load(fixture("good_hand.json"), &m, &err);
    if (!tap_int(st, MOE_SUCCESS, "hand-written model without scaling loads")) {
        printf("# %s\n", err.message);
        return;
    }
    tap_int((long)moe_model_k(m), 2, "k = 2");
    tap_ok(strcmp(moe_model_input(m, 0), "x") == 0 && strcmp(moe_model_response(m), "y") == 0,
           "names x and y");
    /* at x = 0: gate 1/2 each; means 1 and -1, so the mixture mean is 0 and the variance
     * 0.5 (0.25 + 1) + 0.5 (1 + 1) = 1.625 (law of total variance, by hand) */
    double x[2] = {0, 1};
    moe_dataset *d = NULL;
    moe_prediction *p = NULL;
    if (moe_dataset_from_arrays(2, 1, x, 0, NULL, NULL, &d, &err) == MOE_SUCCESS &&
        moe_predict(m, d, 0, &p, &err) == MOE_SUCCESS) {
        tap_abs(p->mean[0], 0, 1e-15, "hand model: mean at x = 0");
        tap_rel(p->sd[0], sqrt(1.625), 1e-15, "hand model: sd at x = 0");
        tap_rel(p->gate[0], 0.5, 1e-15, "hand model: gate at x = 0");
        /* at x = 1: g1 = 1/(1+e^-3); means 3 and -0.5 */
        double g1 = 1 / (1 + exp(-3.0)), mean = g1 * 3 + (1 - g1) * -0.5;
        double var = g1 * (0.25 + (3 - mean) * (3 - mean)) +
                     (1 - g1) * (1 + (-0.5 - mean) * (-0.5 - mean));
        tap_rel(p->mean[1], mean, 1e-14, "hand model: mean at x = 1");
        tap_rel(p->sd[1], sqrt(var), 1e-14, "hand model: sd at x = 1");
        tap_int((long)p->expert[1], 0, "hand model: expert 1 most probable at x = 1");
        tap_ok(p->posterior == NULL, "no posterior without y");
    } else {
        tap_ok(0, "predict with the hand-written model: %s", err.message);
    }
    moe_prediction_free(p);
    moe_dataset_free(d);
    moe_model_free(m);
}

struct bad_case {
    const char *file;  /* fixture */
    const char *want;  /* a substring the message must contain */
    int syntax;        /* 1: a JSON syntax error, with a line number */
};

static const struct bad_case bad_cases[] = {
    {"bad_truncated.json", "JSON syntax", 1},
    {"bad_empty.json", "JSON syntax", 0},
    {"bad_number.json", "JSON syntax", 1},
    {"bad_garbage.json", "JSON syntax", 0},
    {"bad_nan_literal.json", "JSON syntax", 1},
    {"bad_overflow.json", "JSON syntax", 1},
    {"bad_dup_key.json", "duplicate", 1},
    {"bad_not_object.json", "must be a JSON object", 0},
    {"bad_format.json", "format", 0},
    {"bad_version.json", "version: 2 is not supported", 0},
    {"bad_version_type.json", "version: must be an integer", 0},
    {"bad_k_type.json", "k: must be an integer", 0},
    {"bad_k_zero.json", "k: must be between 1 and", 0},
    {"bad_k_huge.json", "k: must be between 1 and", 0},
    {"bad_k_mismatch.json", "experts: must have k = 3", 0},
    {"bad_missing_experts.json", "experts: missing", 0},
    {"bad_missing_response.json", "response: missing", 0},
    {"bad_missing_sigma.json", "experts[1].sigma: missing", 0},
    {"bad_sigma_null.json", "experts[1].sigma: must be a number", 0},
    {"bad_sigma_negative.json", "experts[0].sigma: must be a finite number > 0", 0},
    {"bad_sigma_zero.json", "experts[0].sigma: must be a finite number > 0", 0},
    {"bad_beta_length.json", "experts[0].beta: must have 2 numbers, not 3", 0},
    {"bad_beta_string.json", "experts[0].beta[1]: must be a number", 0},
    {"bad_expert_name.json", "unknown expert family \"weibull\"", 0},
    {"bad_gate_name.json", "unknown gate \"sparsemax\"", 0},
    {"bad_gate_rows.json", "gate_coef: must have 1 row, not 2", 0},
    {"bad_gate_length.json", "gate_coef[0]: must have 2 numbers, not 1", 0},
    {"bad_names_dup.json", "inputs[1]: duplicate name \"x\"", 0},
    {"bad_name_empty.json", "response: must not be empty", 0},
    {"bad_name_type.json", "inputs[0]: must be a string", 0},
    {"bad_unknown_field.json", "unknown field \"experts_extra\"", 0},
    {"bad_scale_zero.json", "scaling.inputs.scale[0]: must be a finite number > 0", 0},
    {"bad_scaling_missing.json", "scaling.gate_inputs: missing", 0},
    /* the tree gate's branching (issue 12) */
    {"bad_tree_product.json", "tree: has 6 leaves but k is 4", 0},
    {"bad_tree_zero.json", "tree[1]: must be between 2 and 64", 0},
    {"bad_tree_missing.json", "tree: missing", 0},
    {"bad_tree_softmax.json", "tree: only the tree gate has a tree", 0},
    {"bad_tree_type.json", "tree: must be an array", 0},
    {"bad_tree_entry.json", "tree[1]: must be a whole number", 0},
    {"bad_tree_rows.json", "gate_coef: must have 3 rows, not 2", 0},
    {"bad_fit_se_length.json", "fit.se[1]: must be an array of 3 numbers or nulls", 0},
    {"bad_fit_se_negative.json", "fit.se[0][2]: must be a finite number >= 0 or null", 0},
    {"bad_fit_prior.json", "fit.prior[1]: must be between 0 and 1", 0},
    {"bad_fit_size.json", "fit.size[0]: must be a whole number >= 0", 0},
    {"bad_fit_missing.json", "fit.loglik: missing", 0},
    {"bad_fit_unknown.json", "fit: unknown field \"logLik\"", 0},
};

static void bad_files(void)
{
    for (size_t c = 0; c < sizeof bad_cases / sizeof bad_cases[0]; c++) {
        const struct bad_case *b = &bad_cases[c];
        moe_model *m = (moe_model *)&m;  /* must be reset to NULL */
        moe_error err;
        const char *path = fixture(b->file);
        int st = moe_model_load(path, &m, &err);
        int ok = st == MOE_EFORMAT && m == NULL && strstr(err.message, b->want) &&
                 strstr(err.message, b->file) && (!b->syntax || err.line > 0);
        if (!ok)
            printf("# status %d, message: %s\n", st, err.message);
        tap_ok(ok, "%s rejected: %s", b->file, err.message);
        if (st == MOE_SUCCESS)
            moe_model_free(m);
    }
    moe_model *m = NULL;
    moe_error err;
    tap_int(moe_model_load(fixture("no_such_model.json"), &m, &err), MOE_EOPEN,
            "a missing file is MOE_EOPEN (%s)", err.message);
}

int main(void)
{
    const char *srcdir = getenv("srcdir");
    snprintf(models_dir, sizeof models_dir, "%s/tests/models", srcdir ? srcdir : ".");
    char tmpdir[] = "test_model_io.XXXXXX";
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 99;
    }
    round_trip(tmpdir);
    hand_written();
    bad_files();
    rmdir(tmpdir);
    return tap_done();
}
