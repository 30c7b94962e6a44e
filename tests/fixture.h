/* fixture.h: temporary fixture files for the data tests (test_csv.c, test_dataset.c), and
 * checks of error messages that name them. A test calls make_tmpdir() before anything else
 * and removes the folder with rmdir(tmpdir) at the end; fixture() writes a file into it.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#ifndef MOE_TESTS_FIXTURE_H
#define MOE_TESTS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "moe.h"

static char tmpdir[512]; /* the test's temporary folder */
static char path[600];   /* the file fixture() wrote last */

/* Makes the folder $TMPDIR/NAME-XXXXXX (/tmp without TMPDIR) into tmpdir; exits 99 (a hard
 * error for automake) when it cannot. */
static inline __attribute__((unused)) void make_tmpdir(const char *name)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/%s-XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(99);
    }
}

/* Writes LEN bytes of TEXT to a fresh file in tmpdir; returns its path (static). */
static inline __attribute__((unused)) const char *fixture(const char *text, size_t len)
{
    snprintf(path, sizeof path, "%s/fixture-XXXXXX", tmpdir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        exit(99);
    }
    FILE *fp = fdopen(fd, "wb");
    if (!fp || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
        perror("fixture");
        exit(99);
    }
    return path;
}

/* Whether HAY contains NEEDLE; says what it lacks when not. */
static inline __attribute__((unused)) int has(const char *hay, const char *needle)
{
    int ok = strstr(hay, needle) != NULL;
    if (!ok)
        printf("# '%s' lacks '%s'\n", hay, needle);
    return ok;
}

/* The message of ERR with the last fixture's path replaced by "F" (static). */
static inline __attribute__((unused)) const char *msg(const moe_error *err)
{
    static char buf[1200];
    size_t n = strlen(path);
    if (n && strncmp(err->message, path, n) == 0)
        snprintf(buf, sizeof buf, "F%s", err->message + n);
    else
        snprintf(buf, sizeof buf, "%s", err->message);
    return buf;
}

#endif
