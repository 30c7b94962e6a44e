/* golden_compare.c: compares the JSON of a fresh `moefit fit --json` with a committed golden
 * file (tests/golden/), field by field, and names every field that differs.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: golden_compare [-r REL] GOLDEN.json FIT.json
 * (-r sets the relative tolerance, default 1e-6; the shell tests use it on other JSON outputs,
 * such as a model file, that are pure functions of their inputs and so can be held tighter.)
 * Exit status: 0 when they agree, 1 when they differ (one line per difference on stdout, each
 * starting with the field's path, e.g. "experts[1].se.times"), 99 when a file cannot be read or
 * parsed (a NaN or Inf literal is not JSON, so a non-finite number fails here).
 *
 * The rule, the same in both directions:
 *   - numbers (integers and reals alike): |a - b| <= REL max(|a|, |b|), REL = 1e-6; only where one of the
 *     two is exactly 0 may they differ by the absolute floor 1e-12 (so a 0 golden value is not
 *     a test that nothing can pass). Both must be finite.
 *   - strings and booleans: equal.
 *   - objects: the same keys (a missing or an extra key is a difference), except the ignored
 *     key "iterations" (how many EM steps it took is the path, not the answer).
 *   - arrays: the same length, element by element.
 *   - null: a difference wherever the fit has it, except a gate standard error
 *     (gate[i].se.NAME) of a fit whose golden file says "separated": true, where the golden file
 *     holds null too: moefit does not report gate SEs of a separated fit, by design. A null
 *     anywhere else in a golden file is an error in the golden file. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define GOLDEN_REL 1e-6
#define GOLDEN_ZERO_FLOOR 1e-12

static int n_diff;    /* differences found */
static int n_numbers; /* numbers compared */
static int separated; /* the golden fit says "separated": true */
static double rel = GOLDEN_REL; /* the relative tolerance */

/* diff PATH FORMAT...: counts a difference and prints "PATH: message". */
static void diff(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diff(const char *path, const char *fmt, ...)
{
    va_list ap;
    n_diff++;
    printf("%s: ", path[0] ? path : "(top)");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* Is PATH a gate standard error, gate[i].se.NAME? */
static int is_gate_se(const char *path)
{
    unsigned i;
    int used = 0;
    return sscanf(path, "gate[%u].se.%n", &i, &used) == 1 && used > 0 && path[used] != '\0';
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static void compare(const json_t *g, const json_t *f, const char *path);

static void compare_numbers(double a, double b, const char *path)
{
    char sa[64], sb[64];
    n_numbers++;
    snprintf(sa, sizeof sa, "%.17g", b);
    snprintf(sb, sizeof sb, "%.17g", a);
    if (!isfinite(a) || !isfinite(b)) {
        diff(path, "not finite: fit %s, golden %s", sa, sb);
        return;
    }
    double d = fabs(a - b), m = fmax(fabs(a), fabs(b));
    int same = (a == 0 || b == 0) ? d <= GOLDEN_ZERO_FLOOR : d <= rel * m;
    if (!same) {
        diff(path, "fit %s, golden %s (relative difference %.3g)", sa, sb, m > 0 ? d / m : 0.0);
    }
}

static void compare(const json_t *g, const json_t *f, const char *path)
{
    char sub[512];
    if (json_is_null(g)) {
        if (!(separated && is_gate_se(path)))
            diff(path, "golden file holds null here (only a separated fit's gate SE may be)");
        else if (!json_is_null(f))
            diff(path, "fit gives %s where the golden (separated) fit reports no SE",
                 type_name(f));
        return;
    }
    if (json_is_null(f)) {
        diff(path, "fit gives null, golden has %s", type_name(g));
        return;
    }
    if (json_is_number(g) && json_is_number(f)) {
        compare_numbers(json_number_value(g), json_number_value(f), path);
        return;
    }
    if (json_typeof(g) != json_typeof(f) &&
        !(json_is_boolean(g) && json_is_boolean(f))) {
        diff(path, "fit gives %s, golden has %s", type_name(f), type_name(g));
        return;
    }
    switch (json_typeof(g)) {
    case JSON_STRING:
        if (strcmp(json_string_value(g), json_string_value(f)) != 0)
            diff(path, "fit \"%s\", golden \"%s\"", json_string_value(f), json_string_value(g));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        if (json_is_true(g) != json_is_true(f))
            diff(path, "fit %s, golden %s", json_is_true(f) ? "true" : "false",
                 json_is_true(g) ? "true" : "false");
        break;
    case JSON_ARRAY: {
        size_t ng = json_array_size(g), nf = json_array_size(f);
        if (ng != nf) {
            diff(path, "fit has %zu elements, golden %zu", nf, ng);
        }
        for (size_t i = 0; i < ng && i < nf; i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            compare(json_array_get(g, i), json_array_get(f, i), sub);
        }
        break;
    }
    case JSON_OBJECT: {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)g, key, v) {
            if (strcmp(key, "iterations") == 0)
                continue;
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
            const json_t *w = json_object_get(f, key);
            if (!w)
                diff(sub, "missing from the fit (golden has %s)", type_name(v));
            else
                compare(v, w, sub);
        }
        json_object_foreach((json_t *)f, key, v) {
            if (strcmp(key, "iterations") == 0 || json_object_get(g, key))
                continue;
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
            diff(sub, "extra in the fit (%s), not in the golden file", type_name(v));
        }
        break;
    }
    default:
        break;
    }
}

static json_t *load(const char *file)
{
    json_error_t e;
    json_t *r = json_load_file(file, JSON_REJECT_DUPLICATES, &e);
    if (!r)
        fprintf(stderr, "golden_compare: %s:%d:%d: %s\n", file, e.line, e.column, e.text);
    return r;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "-r") == 0) {
        char *end;
        rel = strtod(argv[2], &end);
        if (*end || !(rel >= 0 && rel < 1)) {
            fprintf(stderr, "golden_compare: -r needs a number in [0, 1), not '%s'\n", argv[2]);
            return 99;
        }
        argv += 2;
        argc -= 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: golden_compare [-r REL] GOLDEN.json FIT.json\n");
        return 99;
    }
    json_t *g = load(argv[1]), *f = load(argv[2]);
    if (!g || !f) {
        json_decref(g);
        json_decref(f);
        return 99;
    }
    separated = json_is_true(json_object_get(g, "separated"));
    compare(g, f, "");
    printf("# %d numbers compared, %d difference%s\n", n_numbers, n_diff, n_diff == 1 ? "" : "s");
    json_decref(g);
    json_decref(f);
    return n_diff ? 1 : 0;
}
