/* csv_split.c: the byte ranges of a CSV file for several readers (moe_csv_split): cut at line
 * boundaries near equal shares, each with its count of physical lines so that the readers
 * can number their lines as one reader of the whole file would.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define SCAN 65536

/* The first line start at or after byte AT of FP (SIZE bytes): AT itself when byte AT - 1
 * is a newline, else just after the next newline, else SIZE. */
static int line_start(FILE *fp, long long size, long long at, long long *out)
{
    char buf[SCAN];
    if (at <= 0 || at >= size) {
        *out = at <= 0 ? 0 : size;
        return 0;
    }
    if (fseeko(fp, (off_t)(at - 1), SEEK_SET) != 0)
        return -1;
    long long pos = at - 1;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, fp)) > 0) {
        char *nl = memchr(buf, '\n', got);
        if (nl) {
            *out = pos + (nl - buf) + 1;
            return 0;
        }
        pos += (long long)got;
    }
    if (ferror(fp))
        return -1;
    *out = size;
    return 0;
}

int moe_csv_split(const char *path, size_t part, size_t parts, long long *start,
                  long long *end, size_t *nlines, moe_error *err)
{
    if (!path || !start || !end || !nlines || parts == 0 || part >= parts)
        return moe_error_set(err, MOE_EINVAL, "moe_csv_split: bad argument");
    if (strcmp(path, "-") == 0)
        return moe_error_set(err, MOE_EINVAL, "standard input cannot be split between "
                             "readers; give the data as a file");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return moe_error_at(err, MOE_EOPEN, path, 0, 0, "cannot open: %s", strerror(errno));
    int bad = fseeko(fp, 0, SEEK_END) != 0;
    long long size = bad ? 0 : (long long)ftello(fp);
    long long a = (long long)((double)size * (double)part / (double)parts);
    long long b = (long long)((double)size * (double)(part + 1) / (double)parts);
    if (!bad && size >= 0) {
        bad = line_start(fp, size, part ? a : 0, start) ||
              line_start(fp, size, part + 1 < parts ? b : size, end);
    }
    size_t lines = 0;
    if (!bad && *end > *start) {
        char buf[SCAN];
        long long left = *end - *start;
        bad = fseeko(fp, (off_t)*start, SEEK_SET) != 0;
        while (!bad && left > 0) {
            size_t want = left < (long long)sizeof buf ? (size_t)left : sizeof buf;
            size_t got = fread(buf, 1, want, fp);
            if (got == 0) {
                bad = 1;
                break;
            }
            for (const char *p = buf; (p = memchr(p, '\n', got - (size_t)(p - buf))); p++)
                lines++;
            left -= (long long)got;
        }
    }
    int e = errno;
    fclose(fp);
    if (bad || size < 0)
        return moe_error_at(err, MOE_EOPEN, path, 0, 0, "cannot read: %s",
                            e ? strerror(e) : "read error");
    if (*end < *start)
        *end = *start;
    *nlines = lines;
    return MOE_SUCCESS;
}
