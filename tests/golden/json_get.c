/* json_get.c: prints values of a JSON file by path, for the shell tests (no python needed).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: json_get FILE PATH...
 * A PATH is keys and indices, e.g. experts[0].coef.(Intercept), selection[2].bic or k (keys
 * may hold anything but '.' and '['). Prints one line per PATH: a number as %.17g, a string
 * as it is, true or false, null, or the size of an array or object as "[N]" or "{N}".
 * Exit status: 0, or 1 when a PATH is not in the file (and "missing" is printed for it), or 99
 * when the file cannot be read or parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Follows PATH from ROOT; NULL when a step is missing. */
static json_t *follow(json_t *root, const char *path)
{
    json_t *v = root;
    const char *p = path;
    while (v && *p) {
        if (*p == '[') {
            char *end;
            unsigned long i = strtoul(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || !json_is_array(v))
                return NULL;
            v = json_array_get(v, i);
            p = end + 1;
        } else {
            if (*p == '.')
                p++;
            size_t len = strcspn(p, ".[");
            char key[256];
            if (len == 0 || len >= sizeof key || !json_is_object(v))
                return NULL;
            memcpy(key, p, len);
            key[len] = '\0';
            v = json_object_get(v, key);
            p += len;
        }
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: json_get FILE PATH...\n");
        return 99;
    }
    json_error_t e;
    json_t *root = json_load_file(argv[1], 0, &e);
    if (!root) {
        fprintf(stderr, "json_get: %s:%d:%d: %s\n", argv[1], e.line, e.column, e.text);
        return 99;
    }
    int rc = 0;
    for (int a = 2; a < argc; a++) {
        json_t *v = follow(root, argv[a]);
        if (!v) {
            printf("missing\n");
            rc = 1;
        } else if (json_is_number(v)) {
            printf("%.17g\n", json_number_value(v));
        } else if (json_is_string(v)) {
            printf("%s\n", json_string_value(v));
        } else if (json_is_boolean(v)) {
            printf("%s\n", json_is_true(v) ? "true" : "false");
        } else if (json_is_null(v)) {
            printf("null\n");
        } else if (json_is_array(v)) {
            printf("[%zu]\n", json_array_size(v));
        } else {
            printf("{%zu}\n", json_object_size(v));
        }
    }
    json_decref(root);
    return rc;
}
