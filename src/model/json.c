/* json.c: saving and loading models as versioned JSON (moe_model_save/_write/_load).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The format, version 1.  One JSON object; keys may come in any order; every key below is
 * required unless marked optional, and no other key is accepted (a misspelt key is an
 * error, not silently ignored):
 *
 *   {
 *     "format": "moefit-model",          fixed string
 *     "version": 1,                      integer; this loader reads version 1 only
 *     "description": "...",              optional free text, ignored
 *     "expert": "gaussian",              expert family (src/experts, moe_expert_spec_parse):
 *                                        its name, for mlp with its hidden layer, "mlp:8:tanh"
 *     "gate": "softmax",                 gate (src/gates, moe_gate_type_find)
 *     "k": 2,                            experts, 1 <= k <= 64
 *     "tree": [2, 2],                    the tree gate's branching per level (required
 *                                        with gate "tree", refused with any other): 1 to
 *                                        6 whole numbers >= 2 whose product is k
 *     "response": "y",                   response column name
 *     "inputs": ["x1", ...],             expert input names (nx <= 1000, may be empty)
 *     "gate_inputs": ["x1", ...],        gate input names (nz <= 1000, may be empty)
 *     "scaling": {                       optional; absent means centre 0 and scale 1 for
 *       "response": {"center": c, "scale": s},          every column, so that the
 *       "inputs": {"center": [nx], "scale": [nx]},      parameters below are on the
 *       "gate_inputs": {"center": [nz], "scale": [nz]}  data's own scale
 *     },
 *     "offset": "name",                  optional: the column of the experts' offset
 *     "trials": "name",                  optional: the column of the binomial trials
 *     "ranges": {"n": rows,              optional: the data fitted (written by fits since
 *       "inputs": {"min": [nx], "max": [nx]},       issue 13), for predict's warning on
 *       "gate_inputs": {"min": [nz], "max": [nz]}}  inputs outside them; min <= max
 *     "fit": {"loglik": L,               optional: the record of the fit (written by fits
 *       "aic": A, "bic": B, "icl": I,      since issue 13), what `moefit summary` shows:
 *       "prior": [k], "size": [k],         log-likelihood and criteria (data scale), each
 *       "se": [[nc], ..., [nc]],           expert's prior share (0..1) and size (whole
 *                                          numbers >= 0), and k + 1 arrays (the experts',
 *                                          then the gate's) of the standard errors of the
 *                                          reported coefficients (moe_model_coefs: data
 *                                          scale, gaussian beta then sigma; the gate's rows
 *                                          one after the other); an SE or criterion that
 *                                          was not available is null, others are >= 0;
 *       "separated": false,              optional: the gate separated the regimes
 *       "warnings": ["..."]}             optional: the fit's warnings (<= 1000 strings)
 *     "experts": [{...}, ...],           k entries, each the family's block: its fields
 *                                        (moe_param_field), e.g. gaussian
 *                                        {"beta": [nx+1], "sigma": s}, poisson and logistic
 *                                        {"beta": [nx+1]}; beta[0] is the intercept; mlp
 *                                        {"W1": [[nx+1] x H], "w2": [H], "bias": c,
 *                                        "sigma": s} (unit j's row of W1 its bias first)
 *     "gate_coef": [[nz+1], ...]         the gate's fields at the top level: for softmax
 *   }                                    k-1 rows of gate coefficients, intercept first;
 *                                        the last expert is the reference (its row is 0);
 *                                        for tree, every node's rows (its children but
 *                                        the last), node after node, the root first
 *                                        (src/model/tree.c gives the order)
 *
 * The parameters are those of the standardised model (struct moe_model in model.h): a column
 * u is used as (u - center) / scale, and the response is y = center + scale * y_std.  Names
 * are non-empty, free of control characters and unique within their list.  Every number is
 * finite; scales and sigmas are > 0.  Numbers are written with 17 significant digits, so a
 * saved model reloads bit for bit.  Errors name the file and the field, e.g.
 * "model.json: experts[1].sigma: must be a finite number > 0"; syntax errors carry jansson's
 * line and column. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/error.h"
#include "experts/expert.h"
#include "gates/gate.h"
#include "model/model.h"

#define MODEL_FORMAT "moefit-model"
#define MODEL_VERSION 1
#define MODEL_MAX_INPUTS 1000

/* ---------------------------------------------------------------- writing */

/* Appends V to the array A, taking V's reference; when that fails (V is NULL if making it
 * failed) frees A and returns NULL, else returns A. */
static json_t *append_or_free(json_t *a, json_t *v)
{
    if (json_array_append_new(a, v) != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *real_array(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t j = 0; a && j < n; j++)
        a = append_or_free(a, json_real(v[j]));
    return a;
}

static json_t *string_array(char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t j = 0; a && j < n; j++)
        a = append_or_free(a, json_string(names[j]));
    return a;
}

/* Sets KEY of OBJ to V, taking V's reference; a NULL V (failed allocation) is an error. */
static int set(json_t *obj, const char *key, json_t *v)
{
    return v ? json_object_set_new(obj, key, v) : -1;
}

static json_t *scaling_pair(const double *center, const double *scale, size_t n)
{
    json_t *o = json_object();
    if (!o || set(o, "center", real_array(center, n)) || set(o, "scale", real_array(scale, n))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int all_finite(const double *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return 0;
    return 1;
}

/* Checks that M can be written: names present, numbers finite. */
static int check_model(const moe_model *m, moe_error *err)
{
    if (!m || !m->expert || !m->gate || m->k == 0)
        return moe_error_set(err, MOE_EINVAL, "model: no model to save");
    if (!m->y_name || (m->nx && !m->x_names) || (m->nz && !m->z_names))
        return moe_error_set(err, MOE_EINVAL, "model: column names missing");
    for (size_t j = 0; j < m->nx; j++)
        if (!m->x_names[j])
            return moe_error_set(err, MOE_EINVAL, "model: input name %zu missing", j + 1);
    for (size_t j = 0; j < m->nz; j++)
        if (!m->z_names[j])
            return moe_error_set(err, MOE_EINVAL, "model: gate input name %zu missing", j + 1);
    if (!isfinite(m->y_center) || !isfinite(m->y_scale) || !all_finite(m->x_center, m->nx) ||
        !all_finite(m->x_scale, m->nx) || !all_finite(m->z_center, m->nz) ||
        !all_finite(m->z_scale, m->nz) || !all_finite(m->expert_par, m->k * m->ep) ||
        !all_finite(m->gate_par, m->gp))
        return moe_error_set(err, MOE_EINVAL, "model: parameters are not all finite");
    if (m->has_record && (!all_finite(m->rec_prior, m->k) || !all_finite(m->rec_size, m->k)))
        return moe_error_set(err, MOE_EINVAL, "model: the fit's expert shares are not finite");
    return MOE_SUCCESS;
}

/* Sets the fields F (NF of them) of block PAR as members of OBJ. */
static int set_fields(json_t *obj, const moe_param_field *f, size_t nf, const double *par)
{
    for (size_t t = 0; t < nf; t++) {
        json_t *v;
        if (f[t].scalar) {
            v = json_real(par[f[t].offset]);
        } else if (f[t].rows == 0) {
            v = real_array(par + f[t].offset, f[t].len);
        } else {
            v = json_array();
            for (size_t r = 0; v && r < f[t].rows; r++)
                v = append_or_free(v, real_array(par + f[t].offset + r * f[t].len, f[t].len));
        }
        if (set(obj, f[t].name, v))
            return -1;
    }
    return 0;
}

/* The tree's branching as an array of integers. */
static json_t *tree_array(const moe_model *m)
{
    json_t *a = json_array();
    for (size_t l = 0; a && l < m->tree_depth; l++)
        a = append_or_free(a, json_integer((json_int_t)m->tree[l]));
    return a;
}

/* {"min": [n], "max": [n]} from N (min, max) pairs. */
static json_t *range_pair(const double *rg, size_t n)
{
    json_t *o = json_object(), *lo = json_array(), *hi = json_array();
    if (!o || !lo || !hi) {
        json_decref(o);
        json_decref(lo);
        json_decref(hi);
        return NULL;
    }
    for (size_t j = 0; j < n; j++)
        if (json_array_append_new(lo, json_real(rg[2 * j])) ||
            json_array_append_new(hi, json_real(rg[2 * j + 1]))) {
            json_decref(lo);
            json_decref(hi);
            json_decref(o);
            return NULL;
        }
    if (json_object_set_new(o, "min", lo) || json_object_set_new(o, "max", hi)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* X as a JSON number, or null when it is not finite (an SE that was not available). */
static json_t *real_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *real_or_null_array(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t j = 0; a && j < n; j++)
        a = append_or_free(a, real_or_null(v[j]));
    return a;
}

/* The fit's record: {"loglik", "aic", "bic", "icl", "prior", "size", "se"}. */
static json_t *record_to_json(const moe_model *m)
{
    json_t *o = json_object(), *se = json_array(), *size = json_array();
    if (!o || !se || !size)
        goto fail;
    for (size_t i = 0; size && i < m->k; i++)
        size = append_or_free(size, json_integer((json_int_t)m->rec_size[i]));
    if (set(o, "loglik", real_or_null(m->rec_loglik)) ||
        set(o, "aic", real_or_null(m->rec_aic)) || set(o, "bic", real_or_null(m->rec_bic)) ||
        set(o, "icl", real_or_null(m->rec_icl)) ||
        set(o, "prior", real_array(m->rec_prior, m->k)) || set(o, "size", size)) {
        size = NULL;
        goto fail;
    }
    size_t at = 0;
    for (size_t b = 0; se && b <= m->k; b++) {
        size_t nc = moe_model_ncoef(m, b);
        se = append_or_free(se, real_or_null_array(m->rec_se + at, nc));
        at += nc;
    }
    if (set(o, "se", se) || set(o, "separated", json_boolean(m->rec_separated)) ||
        set(o, "warnings", string_array(m->rec_warnings, m->rec_nwarnings))) {
        json_decref(o);
        return NULL;
    }
    return o;
fail:
    json_decref(size);
    json_decref(se);
    json_decref(o);
    return NULL;
}

static json_t *model_to_json(const moe_model *m)
{
    moe_gate_shape gs = moe_model_gate_shape(m);
    moe_param_field ef[MOE_PARAM_FIELDS_MAX], gf[MOE_PARAM_FIELDS_MAX];
    moe_expert_shape es = moe_model_expert_shape(m);
    size_t nef = m->expert->fields(&es, ef), ngf = m->gate->fields(&gs, gf);
    char spec[64];
    moe_expert_spec_format(m->expert, &es, spec, sizeof spec);
    json_t *root = json_object();
    json_t *scaling = json_object(), *experts = json_array(), *gate = json_array();
    if (!root || !scaling || !experts || !gate)
        goto fail;
    if (set(root, "format", json_string(MODEL_FORMAT)) ||
        set(root, "version", json_integer(MODEL_VERSION)) ||
        set(root, "expert", json_string(spec)) ||
        set(root, "gate", json_string(m->gate->name)) ||
        set(root, "k", json_integer((json_int_t)m->k)) ||
        (m->tree_depth && set(root, "tree", tree_array(m))) ||
        (m->top_k && set(root, "top_k", json_integer((json_int_t)m->top_k))) ||
        set(root, "response", json_string(m->y_name)) ||
        set(root, "inputs", string_array(m->x_names, m->nx)) ||
        set(root, "gate_inputs", string_array(m->z_names, m->nz)) ||
        (m->offset_name && set(root, "offset", json_string(m->offset_name))) ||
        (m->trials_name && set(root, "trials", json_string(m->trials_name))))
        goto fail;
    json_t *resp = json_object();  /* the response's centre and scale are scalars */
    if (set(scaling, "response", resp) || set(resp, "center", json_real(m->y_center)) ||
        set(resp, "scale", json_real(m->y_scale)) ||
        set(scaling, "inputs", scaling_pair(m->x_center, m->x_scale, m->nx)) ||
        set(scaling, "gate_inputs", scaling_pair(m->z_center, m->z_scale, m->nz)))
        goto fail;
    if (m->has_ranges) {
        json_t *rg = json_object();
        if (set(root, "ranges", rg) || set(rg, "n", json_integer((json_int_t)m->n_fit)) ||
            set(rg, "inputs", range_pair(m->x_range, m->nx)) ||
            set(rg, "gate_inputs", range_pair(m->z_range, m->nz)))
            goto fail;
    }
    if (m->has_record && set(root, "fit", record_to_json(m)))
        goto fail;
    for (size_t i = 0; i < m->k; i++) {
        json_t *e = json_object();
        if (!e || json_array_append_new(experts, e) ||
            set_fields(e, ef, nef, m->expert_par + i * m->ep))
            goto fail;
    }
    json_decref(gate);
    gate = NULL;
    if (json_object_set_new(root, "scaling", scaling)) {
        scaling = NULL;
        goto fail;
    }
    scaling = NULL;
    if (json_object_set_new(root, "experts", experts)) {
        experts = NULL;
        goto fail;
    }
    experts = NULL;
    if (set_fields(root, gf, ngf, m->gate_par))
        goto fail;
    return root;
fail:
    json_decref(scaling);
    json_decref(experts);
    json_decref(gate);
    json_decref(root);
    return NULL;
}

/* Checks M (check_model) and builds its JSON document into *ROOT, a new reference. */
static int checked_model_json(const moe_model *m, json_t **root, moe_error *err)
{
    int status = check_model(m, err);
    if (status)
        return status;
    if (!(*root = model_to_json(m)))
        return moe_error_set(err, MOE_ENOMEM, "model: out of memory building the JSON");
    return MOE_SUCCESS;
}

static const size_t dump_flags = JSON_INDENT(2) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER;

int moe_model_write(const moe_model *m, FILE *fp, moe_error *err)
{
    json_t *root;
    int status = checked_model_json(m, &root, err);
    if (status)
        return status;
    int bad = json_dumpf(root, fp, dump_flags) != 0 || fputc('\n', fp) == EOF || fflush(fp);
    json_decref(root);
    if (bad || ferror(fp))
        return moe_error_set(err, MOE_EWRITE, "cannot write the model: %s", strerror(errno));
    return MOE_SUCCESS;
}

/* Writes all of BUF to FD. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Makes the rename itself durable by syncing PATH's folder; failures are ignored (some file
 * systems cannot sync a folder, and the file's own data is already synced). */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int moe_model_save(const moe_model *m, const char *path, moe_error *err)
{
    if (!path || !*path)
        return moe_error_set(err, MOE_EINVAL, "model: no file name to save to");
    json_t *root;
    int status = checked_model_json(m, &root, err);
    if (status)
        return status;
    char *text = json_dumps(root, dump_flags);
    json_decref(root);
    if (!text)
        return moe_error_set(err, MOE_ENOMEM, "model: out of memory building the JSON");

    /* A temporary file beside the target (so that rename stays within one file system),
     * created with O_EXCL and mode 0666 so that the umask applies as for any new file. */
    size_t len = strlen(path) + 64;
    char *tmp = malloc(len);
    if (!tmp) {
        free(text);
        return moe_error_set(err, MOE_ENOMEM, "model: out of memory");
    }
    static unsigned long counter = 0;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned long c = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        snprintf(tmp, len, "%s.tmp.%ld.%lu", path, (long)getpid(), c);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(text);
        free(tmp);
        return moe_error_at(err, MOE_EWRITE, path, 0, 0, "cannot create a file here: %s",
                            strerror(e));
    }
    size_t tlen = strlen(text);
    int bad = write_all(fd, text, tlen) || write_all(fd, "\n", 1) || fsync(fd);
    int e = errno;
    if (close(fd) && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && rename(tmp, path)) {
        bad = 1;
        e = errno;
    }
    free(text);
    if (bad) {
        unlink(tmp);
        free(tmp);
        return moe_error_at(err, MOE_EWRITE, path, 0, 0, "cannot write the model: %s",
                            strerror(e));
    }
    free(tmp);
    sync_parent_dir(path);
    return MOE_SUCCESS;
}

/* ---------------------------------------------------------------- reading */

/* Validation context: the file name for messages and the error to fill. */
typedef struct loader {
    const char *path;
    moe_error *err;
} loader;

static int bad_field(const loader *ld, const char *field, const char *what)
{
    return moe_error_at(ld->err, MOE_EFORMAT, ld->path, 0, 0, "%s: %s", field, what);
}

/* Gets a required member KEY of OBJ into *OUT (FIELD names it in messages). */
static int member(const loader *ld, const json_t *obj, const char *key, const char *field,
                  json_t **out)
{
    *out = json_object_get(obj, key);
    if (!*out)
        return moe_error_at(ld->err, MOE_EFORMAT, ld->path, 0, 0, "%s: missing", field);
    return MOE_SUCCESS;
}

/* An error for FIELD that quotes NAME, cut to 100 bytes: 'WHAT "NAME"'. */
static int bad_name(const loader *ld, const char *field, const char *what, const char *name)
{
    return moe_error_at(ld->err, MOE_EFORMAT, ld->path, 0, 0, "%s: %s \"%.100s\"", field, what,
                        name);
}

/* Gets a required member KEY of OBJ, of jansson type TYPE, into *OUT; KEY names it in
 * messages, and MUST_BE says what it has to be ("must be a string"). */
static int typed_member(const loader *ld, const json_t *obj, const char *key, json_type type,
                        const char *must_be, json_t **out)
{
    int status = member(ld, obj, key, key, out);
    if (status)
        return status;
    if (json_typeof(*out) != type)
        return bad_field(ld, key, must_be);
    return MOE_SUCCESS;
}

/* A finite number (integer or real) into *X. */
static int get_number(const loader *ld, const json_t *v, const char *field, int positive,
                      double *x)
{
    if (!json_is_number(v))
        return bad_field(ld, field, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d))
        return bad_field(ld, field, "must be a finite number");
    if (positive && !(d > 0))
        return bad_field(ld, field, "must be a finite number > 0");
    *x = d;
    return MOE_SUCCESS;
}

/* An array of exactly N finite numbers into X. */
static int get_numbers(const loader *ld, const json_t *v, const char *field, size_t n,
                       int positive, double *x)
{
    char sub[160];
    if (!json_is_array(v))
        return bad_field(ld, field, "must be an array of numbers");
    if (json_array_size(v) != n) {
        snprintf(sub, sizeof sub, "must have %zu numbers, not %zu", n, json_array_size(v));
        return bad_field(ld, field, sub);
    }
    for (size_t j = 0; j < n; j++) {
        snprintf(sub, sizeof sub, "%s[%zu]", field, j);
        int status = get_number(ld, json_array_get(v, j), sub, positive, x + j);
        if (status)
            return status;
    }
    return MOE_SUCCESS;
}

/* A name: a non-empty string without control characters. */
static int check_name(const loader *ld, const json_t *v, const char *field)
{
    if (!json_is_string(v))
        return bad_field(ld, field, "must be a string");
    const char *s = json_string_value(v);
    if (json_string_length(v) == 0)
        return bad_field(ld, field, "must not be empty");
    if (strlen(s) != json_string_length(v))
        return bad_field(ld, field, "must not contain NUL characters");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return bad_field(ld, field, "must not contain control characters");
    return MOE_SUCCESS;
}

/* A list of unique names; its length into *N. */
static int check_names(const loader *ld, const json_t *v, const char *field, size_t *n)
{
    char sub[160];
    if (!json_is_array(v))
        return bad_field(ld, field, "must be an array of names");
    *n = json_array_size(v);
    if (*n > MODEL_MAX_INPUTS) {
        snprintf(sub, sizeof sub, "has %zu names, more than the %d allowed", *n,
                 MODEL_MAX_INPUTS);
        return bad_field(ld, field, sub);
    }
    for (size_t j = 0; j < *n; j++) {
        snprintf(sub, sizeof sub, "%s[%zu]", field, j);
        int status = check_name(ld, json_array_get(v, j), sub);
        if (status)
            return status;
        const char *s = json_string_value(json_array_get(v, j));
        for (size_t i = 0; i < j; i++)
            if (strcmp(s, json_string_value(json_array_get(v, i))) == 0) {
                char what[200];
                snprintf(what, sizeof what, "duplicate name \"%.100s\" (also at [%zu])", s, i);
                return bad_field(ld, sub, what);
            }
    }
    return MOE_SUCCESS;
}

static int copy_names(moe_model *m, const json_t *xs, const json_t *zs, const json_t *resp)
{
    if (!m->x_names && m->nx && !(m->x_names = calloc(m->nx, sizeof *m->x_names)))
        return MOE_ENOMEM;
    if (!m->z_names && m->nz && !(m->z_names = calloc(m->nz, sizeof *m->z_names)))
        return MOE_ENOMEM;
    for (size_t j = 0; j < m->nx; j++) {
        free(m->x_names[j]);
        if (!(m->x_names[j] = strdup(json_string_value(json_array_get(xs, j)))))
            return MOE_ENOMEM;
    }
    for (size_t j = 0; j < m->nz; j++) {
        free(m->z_names[j]);
        if (!(m->z_names[j] = strdup(json_string_value(json_array_get(zs, j)))))
            return MOE_ENOMEM;
    }
    free(m->y_name);
    if (!(m->y_name = strdup(json_string_value(resp))))
        return MOE_ENOMEM;
    return MOE_SUCCESS;
}

/* Reads the optional scaling object into M (which has unit scaling to start with). */
static int read_scaling(const loader *ld, const json_t *s, moe_model *m)
{
    if (!json_is_object(s))
        return bad_field(ld, "scaling", "must be an object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)s, key, v) {
        if (strcmp(key, "response") && strcmp(key, "inputs") && strcmp(key, "gate_inputs")) {
            char what[200];
            snprintf(what, sizeof what, "unknown field \"%.100s\"", key);
            return bad_field(ld, "scaling", what);
        }
    }
    json_t *r, *c, *sc;
    int status;
    if ((status = member(ld, s, "response", "scaling.response", &r)))
        return status;
    if (!json_is_object(r) || json_object_size(r) != 2)
        return bad_field(ld, "scaling.response", "must be an object {\"center\", \"scale\"}");
    if ((status = member(ld, r, "center", "scaling.response.center", &c)) ||
        (status = get_number(ld, c, "scaling.response.center", 0, &m->y_center)) ||
        (status = member(ld, r, "scale", "scaling.response.scale", &sc)) ||
        (status = get_number(ld, sc, "scaling.response.scale", 1, &m->y_scale)))
        return status;
    static const char *const which[2] = {"inputs", "gate_inputs"};
    for (int w = 0; w < 2; w++) {
        char field[64], sub[80];
        snprintf(field, sizeof field, "scaling.%s", which[w]);
        size_t n = w == 0 ? m->nx : m->nz;
        double *center = w == 0 ? m->x_center : m->z_center;
        double *scale = w == 0 ? m->x_scale : m->z_scale;
        if ((status = member(ld, s, which[w], field, &r)))
            return status;
        if (!json_is_object(r) || json_object_size(r) != 2)
            return bad_field(ld, field, "must be an object {\"center\", \"scale\"}");
        snprintf(sub, sizeof sub, "%s.center", field);
        if ((status = member(ld, r, "center", sub, &c)) ||
            (status = get_numbers(ld, c, sub, n, 0, center)))
            return status;
        snprintf(sub, sizeof sub, "%s.scale", field);
        if ((status = member(ld, r, "scale", sub, &sc)) ||
            (status = get_numbers(ld, sc, sub, n, 1, scale)))
            return status;
    }
    return MOE_SUCCESS;
}

/* The optional "ranges": {"n": rows, "inputs": {"min": [nx], "max": [nx]}, "gate_inputs":
 * {"min": [nz], "max": [nz]}} of the data the model was fitted on (min <= max). */
static int read_ranges(const loader *ld, const json_t *r, moe_model *m)
{
    int status;
    json_t *v, *lo = NULL, *hi = NULL;
    if (!json_is_object(r))
        return bad_field(ld, "ranges", "must be an object {\"n\", \"inputs\", \"gate_inputs\"}");
    if ((status = typed_member(ld, r, "n", JSON_INTEGER, "must be an integer", &v)))
        return status;
    if (json_integer_value(v) < 1)
        return bad_field(ld, "ranges.n", "must be at least 1");
    m->n_fit = (size_t)json_integer_value(v);
    for (size_t w = 0; w < 2; w++) {
        const char *field = w == 0 ? "ranges.inputs" : "ranges.gate_inputs";
        size_t n = w == 0 ? m->nx : m->nz;
        double *rg = w == 0 ? m->x_range : m->z_range;
        double *tmp = malloc((2 * n + 2) * sizeof *tmp);
        char sub[64];
        if (!tmp)
            return moe_error_set(ld->err, MOE_ENOMEM, "out of memory");
        json_t *o = json_object_get(r, w == 0 ? "inputs" : "gate_inputs");
        status = MOE_SUCCESS;
        if (!o || !json_is_object(o) || !(lo = json_object_get(o, "min")) ||
            !(hi = json_object_get(o, "max")))
            status = bad_field(ld, field, "must be an object {\"min\", \"max\"}");
        if (!status) {
            snprintf(sub, sizeof sub, "%s.min", field);
            status = get_numbers(ld, lo, sub, n, 0, tmp);
        }
        if (!status) {
            snprintf(sub, sizeof sub, "%s.max", field);
            status = get_numbers(ld, hi, sub, n, 0, tmp + n);
        }
        for (size_t j = 0; !status && j < n; j++) {
            if (!(tmp[j] <= tmp[n + j]))
                status = bad_field(ld, field, "min must not exceed max");
            rg[2 * j] = tmp[j];
            rg[2 * j + 1] = tmp[n + j];
        }
        free(tmp);
        if (status)
            return status;
    }
    m->has_ranges = 1;
    return MOE_SUCCESS;
}

/* A number >= 0 or null (read as NaN) into *X: a recorded SE or criterion (NONNEG 0: any
 * finite number). */
static int get_number_or_null(const loader *ld, const json_t *v, const char *field,
                              int nonneg, double *x)
{
    if (json_is_null(v)) {
        *x = NAN;
        return MOE_SUCCESS;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
        (nonneg && !(json_number_value(v) >= 0)))
        return bad_field(ld, field, nonneg ? "must be a finite number >= 0 or null"
                                           : "must be a finite number or null");
    *x = json_number_value(v);
    return MOE_SUCCESS;
}

/* The optional "fit" record (the header comment gives its layout) into M's record. */
static int read_record(const loader *ld, const json_t *r, moe_model *m)
{
    static const char *const keys[] = {"loglik", "aic", "bic", "icl", "prior", "size", "se",
                                       "separated", "warnings", NULL};
    double *crit[4] = {&m->rec_loglik, &m->rec_aic, &m->rec_bic, &m->rec_icl};
    char sub[96];
    json_t *v;
    const char *key;
    int status;
    if (!json_is_object(r))
        return bad_field(ld, "fit", "must be an object {\"loglik\", \"aic\", \"bic\", "
                         "\"icl\", \"prior\", \"size\", \"se\"}");
    json_object_foreach((json_t *)r, key, v) {
        int known = 0;
        for (const char *const *kk = keys; *kk; kk++)
            known |= strcmp(key, *kk) == 0;
        if (!known)
            return bad_name(ld, "fit", "unknown field", key);
    }
    if (moe_model_record_alloc(m))
        return moe_error_set(ld->err, MOE_ENOMEM, "%s: out of memory", ld->path);
    for (int c = 0; c < 4; c++) {
        snprintf(sub, sizeof sub, "fit.%s", keys[c]);
        if ((status = member(ld, r, keys[c], sub, &v)) ||
            (status = get_number_or_null(ld, v, sub, 0, crit[c])))
            return status;
    }
    if ((status = member(ld, r, "prior", "fit.prior", &v)) ||
        (status = get_numbers(ld, v, "fit.prior", m->k, 0, m->rec_prior)))
        return status;
    for (size_t i = 0; i < m->k; i++)
        if (!(m->rec_prior[i] >= 0 && m->rec_prior[i] <= 1)) {
            snprintf(sub, sizeof sub, "fit.prior[%zu]", i);
            return bad_field(ld, sub, "must be between 0 and 1");
        }
    if ((status = member(ld, r, "size", "fit.size", &v)))
        return status;
    if (!json_is_array(v) || json_array_size(v) != m->k) {
        snprintf(sub, sizeof sub, "must be an array of k = %zu whole numbers", m->k);
        return bad_field(ld, "fit.size", sub);
    }
    for (size_t i = 0; i < m->k; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0) {
            snprintf(sub, sizeof sub, "fit.size[%zu]", i);
            return bad_field(ld, sub, "must be a whole number >= 0");
        }
        m->rec_size[i] = (double)json_integer_value(e);
    }
    if ((status = member(ld, r, "se", "fit.se", &v)))
        return status;
    if (!json_is_array(v) || json_array_size(v) != m->k + 1) {
        snprintf(sub, sizeof sub, "must be an array of k + 1 = %zu arrays (the experts', then "
                 "the gate's)", m->k + 1);
        return bad_field(ld, "fit.se", sub);
    }
    size_t at = 0;
    for (size_t b = 0; b <= m->k; b++) {
        size_t nc = moe_model_ncoef(m, b);
        json_t *a = json_array_get(v, b);
        snprintf(sub, sizeof sub, "fit.se[%zu]", b);
        if (!json_is_array(a) || json_array_size(a) != nc) {
            char what[96];
            snprintf(what, sizeof what, "must be an array of %zu numbers or nulls", nc);
            return bad_field(ld, sub, what);
        }
        for (size_t j = 0; j < nc; j++) {
            char el[112];
            snprintf(el, sizeof el, "%s[%zu]", sub, j);
            if ((status = get_number_or_null(ld, json_array_get(a, j), el, 1, m->rec_se + at)))
                return status;
            at++;
        }
    }
    if ((v = json_object_get(r, "separated")) && !json_is_boolean(v))
        return bad_field(ld, "fit.separated", "must be true or false");
    int separated = v && json_is_true(v);
    size_t nw = 0;
    if ((v = json_object_get(r, "warnings"))) {
        if (!json_is_array(v) || json_array_size(v) > 1000)
            return bad_field(ld, "fit.warnings", "must be an array of at most 1000 strings");
        nw = json_array_size(v);
        for (size_t j = 0; j < nw; j++) {
            json_t *w = json_array_get(v, j);
            if (!json_is_string(w) || strlen(json_string_value(w)) != json_string_length(w)) {
                snprintf(sub, sizeof sub, "fit.warnings[%zu]", j);
                return bad_field(ld, sub, "must be a string (without NUL characters)");
            }
        }
    }
    char **w = nw ? calloc(nw, sizeof *w) : NULL;
    if (nw && !w)
        return moe_error_set(ld->err, MOE_ENOMEM, "%s: out of memory", ld->path);
    for (size_t j = 0; j < nw; j++)
        w[j] = (char *)json_string_value(json_array_get(v, j));
    status = moe_model_record_notes(m, separated, w, nw);
    free(w);
    if (status)
        return moe_error_set(ld->err, MOE_ENOMEM, "%s: out of memory", ld->path);
    m->has_record = 1;
    return MOE_SUCCESS;
}

static const char *const known_keys[] = {"format", "version", "description", "expert", "gate",
                                         "k", "response", "inputs", "gate_inputs", "scaling",
                                         "offset", "trials", "experts", "tree", "ranges",
                                         "fit", "top_k", NULL};

/* Reads the optional "tree" of ROOT into DEPTH and BRANCH: required for the tree gate GT,
 * refused for any other; whole numbers >= 2 whose product is K. */
static int read_tree(const loader *ld, const json_t *root, const moe_gate_type *gt, size_t k,
                     size_t *depth, size_t *branch)
{
    json_t *t = json_object_get(root, "tree");
    int is_tree = strcmp(gt->name, "tree") == 0;
    *depth = 0;
    if (!t) {
        if (is_tree)
            return bad_field(ld, "tree", "missing (the tree gate needs its branching, e.g. "
                             "[2, 2])");
        return MOE_SUCCESS;
    }
    if (!is_tree)
        return bad_field(ld, "tree", "only the tree gate has a tree");
    size_t n = json_is_array(t) ? json_array_size(t) : 0;
    if (n < 1 || n > MOE_TREE_DEPTH_MAX)
        return bad_field(ld, "tree", "must be an array of 1 to 6 whole numbers (the branching "
                         "per level)");
    size_t prod = 1;
    for (size_t l = 0; l < n; l++) {
        char sub[64];
        json_t *b = json_array_get(t, l);
        snprintf(sub, sizeof sub, "tree[%zu]", l);
        if (!json_is_integer(b))
            return bad_field(ld, sub, "must be a whole number");
        if (json_integer_value(b) < 2 || json_integer_value(b) > MOE_K_MAX)
            return bad_field(ld, sub, "must be between 2 and 64 (a node has at least two "
                             "branches)");
        branch[l] = (size_t)json_integer_value(b);
        prod *= branch[l];
        if (prod > MOE_K_MAX)
            return bad_field(ld, "tree", "has more than 64 leaves");
    }
    if (prod != k) {
        char what[120];
        snprintf(what, sizeof what, "has %zu leaves but k is %zu", prod, k);
        return bad_field(ld, "tree", what);
    }
    *depth = n;
    return MOE_SUCCESS;
}

/* Reads the optional "top_k" of ROOT into *TOP_K: required for the top-k gate GT (a whole
 * number from 1 to K), refused for any other. */
static int read_top_k(const loader *ld, const json_t *root, const moe_gate_type *gt, size_t k,
                      size_t *top_k)
{
    json_t *t = json_object_get(root, "top_k");
    int is_topk = strcmp(gt->name, "topk") == 0;
    *top_k = 0;
    if (!t)
        return is_topk ? bad_field(ld, "top_k", "missing (the topk gate needs the number of "
                                   "experts it keeps per row)")
                       : MOE_SUCCESS;
    if (!is_topk)
        return bad_field(ld, "top_k", "only the topk gate has top_k");
    if (!json_is_integer(t) || json_integer_value(t) < 1 || (size_t)json_integer_value(t) > k)
        return bad_field(ld, "top_k", "must be a whole number from 1 to k");
    *top_k = (size_t)json_integer_value(t);
    return MOE_SUCCESS;
}

/* Reads the fields F (NF of them) of a block from OBJ (FIELD names it in messages) into PAR.
 * Every field is required; UNKNOWN_OK: OBJ may have other members (the top level). */
static int read_fields(const loader *ld, const json_t *obj, const char *field,
                       const moe_param_field *f, size_t nf, int unknown_ok, double *par)
{
    char sub[160];
    if (!unknown_ok) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
            int known = 0;
            for (size_t t = 0; t < nf; t++)
                known |= strcmp(key, f[t].name) == 0;
            if (!known)
                return bad_name(ld, field, "unknown field", key);
        }
    }
    for (size_t t = 0; t < nf; t++) {
        json_t *v;
        int status;
        if (*field)
            snprintf(sub, sizeof sub, "%s.%s", field, f[t].name);
        else
            snprintf(sub, sizeof sub, "%s", f[t].name);
        if ((status = member(ld, obj, f[t].name, sub, &v)))
            return status;
        if (f[t].scalar) {
            status = get_number(ld, v, sub, f[t].positive, par + f[t].offset);
        } else if (f[t].rows == 0) {
            status = get_numbers(ld, v, sub, f[t].len, f[t].positive, par + f[t].offset);
        } else {
            if (!json_is_array(v))
                return bad_field(ld, sub, "must be an array of arrays of numbers");
            if (json_array_size(v) != f[t].rows) {
                char what[120];
                snprintf(what, sizeof what, "must have %zu row%s, not %zu", f[t].rows,
                         f[t].rows == 1 ? "" : "s", json_array_size(v));
                return bad_field(ld, sub, what);
            }
            for (size_t r = 0; !status && r < f[t].rows; r++) {
                char rf[200];
                snprintf(rf, sizeof rf, "%s[%zu]", sub, r);
                status = get_numbers(ld, json_array_get(v, r), rf, f[t].len, f[t].positive,
                                     par + f[t].offset + r * f[t].len);
            }
        }
        if (status)
            return status;
    }
    return MOE_SUCCESS;
}

/* Validates ROOT and builds the model; *OUT stays NULL on any error. */
static int model_from_json(const loader *ld, const json_t *root, moe_model **out)
{
    int status;
    json_t *v;
    if (!json_is_object(root))
        return bad_field(ld, "(top level)", "must be a JSON object");
    const char *key;
    json_object_foreach((json_t *)root, key, v) {
        int known = 0;
        for (const char *const *k = known_keys; *k; k++)
            known |= strcmp(key, *k) == 0;
        /* the gate's own fields are checked once the gate is known */
        if (!known && !(json_is_array(v) && strncmp(key, "gate", 4) == 0))
            return bad_name(ld, "(top level)", "unknown field", key);
    }
    if ((status = member(ld, root, "format", "format", &v)))
        return status;
    if (!json_is_string(v) || strcmp(json_string_value(v), MODEL_FORMAT) != 0)
        return bad_field(ld, "format", "must be \"" MODEL_FORMAT "\" (not a moefit model file)");
    if ((status = typed_member(ld, root, "version", JSON_INTEGER, "must be an integer", &v)))
        return status;
    if (json_integer_value(v) != MODEL_VERSION) {
        char what[160];
        snprintf(what, sizeof what, "%lld is not supported (this moefit reads version %d)",
                 (long long)json_integer_value(v), MODEL_VERSION);
        return bad_field(ld, "version", what);
    }
    if ((v = json_object_get(root, "description")) && !json_is_string(v))
        return bad_field(ld, "description", "must be a string");

    const moe_expert_type *etype;
    const moe_gate_type *gtype;
    moe_expert_shape es;
    if ((status = typed_member(ld, root, "expert", JSON_STRING, "must be a string", &v)))
        return status;
    const char *why = moe_expert_spec_parse(json_string_value(v), &etype, &es);
    if (!etype)
        return bad_name(ld, "expert", "unknown expert family", json_string_value(v));
    if (why)
        return bad_field(ld, "expert", why);
    if ((status = typed_member(ld, root, "gate", JSON_STRING, "must be a string", &v)))
        return status;
    if (!(gtype = moe_gate_type_find(json_string_value(v))))
        return bad_name(ld, "gate", "unknown gate", json_string_value(v));

    if ((status = typed_member(ld, root, "k", JSON_INTEGER, "must be an integer", &v)))
        return status;
    if (json_integer_value(v) < 1 || json_integer_value(v) > MOE_K_MAX) {
        char what[120];
        snprintf(what, sizeof what, "must be between 1 and %d", MOE_K_MAX);
        return bad_field(ld, "k", what);
    }
    size_t k = (size_t)json_integer_value(v), nx, nz;
    json_t *resp, *xs, *zs, *experts, *offset, *trials;
    if ((status = member(ld, root, "response", "response", &resp)) ||
        (status = check_name(ld, resp, "response")) ||
        (status = member(ld, root, "inputs", "inputs", &xs)) ||
        (status = check_names(ld, xs, "inputs", &nx)) ||
        (status = member(ld, root, "gate_inputs", "gate_inputs", &zs)) ||
        (status = check_names(ld, zs, "gate_inputs", &nz)) ||
        (status = member(ld, root, "experts", "experts", &experts)))
        return status;
    if ((offset = json_object_get(root, "offset")) && (status = check_name(ld, offset, "offset")))
        return status;
    if ((trials = json_object_get(root, "trials")) && (status = check_name(ld, trials, "trials")))
        return status;
    if (!json_is_array(experts))
        return bad_field(ld, "experts", "must be an array of objects");
    if (json_array_size(experts) != k) {
        char what[120];
        snprintf(what, sizeof what, "must have k = %zu entries, not %zu", k,
                 json_array_size(experts));
        return bad_field(ld, "experts", what);
    }
    size_t depth, branch[MOE_TREE_DEPTH_MAX];
    if ((status = read_tree(ld, root, gtype, k, &depth, branch)))
        return status;
    size_t top_k;
    if ((status = read_top_k(ld, root, gtype, k, &top_k)))
        return status;
    moe_gate_shape gs;
    memset(&gs, 0, sizeof gs);
    gs.k = k;
    gs.nz = nz;
    gs.depth = depth;
    gs.top_k = top_k;
    for (size_t l = 0; l < depth; l++)
        gs.branch[l] = branch[l];
    moe_param_field ef[MOE_PARAM_FIELDS_MAX], gf[MOE_PARAM_FIELDS_MAX];
    es.nx = nx;
    size_t nef = etype->fields(&es, ef), ngf = gtype->fields(&gs, gf);
    json_object_foreach((json_t *)root, key, v) {  /* top-level keys the gate does not own */
        int known = 0;
        for (const char *const *kk = known_keys; *kk; kk++)
            known |= strcmp(key, *kk) == 0;
        for (size_t t = 0; t < ngf; t++)
            known |= strcmp(key, gf[t].name) == 0;
        if (!known)
            return bad_name(ld, "(top level)", "unknown field", key);
    }

    moe_model *m = moe_model_alloc_typed(etype, gtype, k, &es, nz);
    if (!m)
        return moe_error_set(ld->err, MOE_ENOMEM, "%s: out of memory", ld->path);
    if (depth && moe_model_set_tree(m, depth, branch)) {
        moe_model_free(m);
        return moe_error_set(ld->err, MOE_ENOMEM, "%s: out of memory", ld->path);
    }
    m->top_k = top_k;
    /* moe_model_alloc's unit scaling stays unless the file gives one */
    if ((v = json_object_get(root, "ranges")) && (status = read_ranges(ld, v, m)))
        goto fail;
    if ((v = json_object_get(root, "fit")) && (status = read_record(ld, v, m)))
        goto fail;
    if ((v = json_object_get(root, "scaling")) && (status = read_scaling(ld, v, m)))
        goto fail;
    for (size_t i = 0; i < k; i++) {
        char field[64];
        json_t *e = json_array_get(experts, i);
        snprintf(field, sizeof field, "experts[%zu]", i);
        if (!json_is_object(e)) {
            status = bad_field(ld, field, "must be an object of the family's fields");
            goto fail;
        }
        if ((status = read_fields(ld, e, field, ef, nef, 0, m->expert_par + i * m->ep)))
            goto fail;
    }
    if ((status = read_fields(ld, root, "", gf, ngf, 1, m->gate_par)))
        goto fail;
    if ((offset && !(m->offset_name = strdup(json_string_value(offset)))) ||
        (trials && !(m->trials_name = strdup(json_string_value(trials))))) {
        status = moe_error_set(ld->err, MOE_ENOMEM, "%s: out of memory", ld->path);
        goto fail;
    }
    if (copy_names(m, xs, zs, resp)) {
        status = moe_error_set(ld->err, MOE_ENOMEM, "%s: out of memory", ld->path);
        goto fail;
    }
    *out = m;
    return MOE_SUCCESS;
fail:
    moe_model_free(m);
    return status;
}

int moe_model_load(const char *path, moe_model **out, moe_error *err)
{
    if (!out)
        return moe_error_set(err, MOE_EINVAL, "moe_model_load: no place for the result");
    *out = NULL;
    if (!path || !*path)
        return moe_error_set(err, MOE_EINVAL, "model: no file name to load");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return moe_error_at(err, MOE_EOPEN, path, 0, 0, "cannot open: %s", strerror(errno));
    json_error_t jerr;
    json_t *root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    int read_failed = ferror(fp);
    fclose(fp);
    if (!root) {
        if (read_failed)
            return moe_error_at(err, MOE_EOPEN, path, 0, 0, "cannot read: %s", jerr.text);
        size_t line = jerr.line > 0 ? (size_t)jerr.line : 0;
        size_t col = jerr.column > 0 ? (size_t)jerr.column : 0;
        return moe_error_at(err, MOE_EFORMAT, path, line, line ? col : 0,
                            "not a valid model file (JSON syntax: %s)", jerr.text);
    }
    loader ld = {path, err};
    int status = model_from_json(&ld, root, out);
    json_decref(root);
    return status;
}
