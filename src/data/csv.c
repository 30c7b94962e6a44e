/* csv.c: the CSV reader: a block-buffered tokenizer that fills numeric columns.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The file is read in large blocks into one buffer; a record (one line, or several when a
 * quoted field holds newlines) is split into fields that point into the buffer, and each
 * field is parsed straight into its column. A record cut by the end of the buffer is moved
 * to the front and the rest read after it; the buffer grows only for a record longer than
 * itself. Lines without a quote take a fast path (memchr for the newline, one scan for the
 * separators); lines with one go through an RFC 4180 state machine.
 *
 * Columns are stored column-major and grown by x1.5, then shrunk to fit, so a table takes
 * the memory of its numbers plus the buffer. Bad cells are NaN; each column keeps only its
 * first bad cell and a count (table.h). Line numbers are physical lines, 1-based; each row
 * keeps the line where its record starts (blank lines and quoted newlines make it differ
 * from the row's index), so that later checks of its values can name the position. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/numparse.h"
#include "data/table.h"

#define BLOCK_SIZE ((size_t)1 << 20) /* initial buffer: reads are up to this large */

moe_csv_options moe_csv_options_default(void)
{
    moe_csv_options o;
    o.sep = 0;
    o.header = -1;
    return o;
}

typedef struct span {
    char *s;        /* the field's text (unquoted), in the buffer */
    size_t len;     /* its length */
    size_t line;    /* physical line where the field starts */
} span;

typedef struct reader {
    FILE *fp;
    const char *name;
    moe_error *err;
    char *buf;          /* cap bytes; buf[pos, len) not consumed yet */
    size_t cap, len, pos;
    int eof;            /* nothing more to read */
    size_t line;        /* physical line of buf[pos] */
    char sep;
    span *f;            /* fields of the current record */
    size_t nf, fcap;
    size_t rec_line;    /* line where the current record starts */
    int first_block;    /* the next fill reads the first block */
    long long base;     /* file offset of buf[0] */
    long long rec_off;  /* file offset where the current record starts */
    long long stop;     /* a range read: no record starting at or after this offset; -1 */
} reader;

/* Reads more input after the unconsumed bytes, moved to the front of the buffer; grows the
 * buffer when they fill it. Rejects NUL and control bytes. Returns a status. */
static int fill(reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += (long long)r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len + 1 >= r->cap) {
        size_t ncap = r->cap * 2;
        char *nb = realloc(r->buf, ncap);
        if (!nb)
            return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s", r->name);
        r->buf = nb;
        r->cap = ncap;
    }
    size_t old = r->len;
    size_t want = r->cap - 1 - r->len; /* one byte spare */
    size_t got = fread(r->buf + r->len, 1, want, r->fp);
    r->len += got;
    if (got < want) {
        if (ferror(r->fp)) {
            int e = errno;
            return moe_error_at(r->err, MOE_EOPEN, r->name, 0, 0, "cannot read: %s",
                                e ? strerror(e) : "read error");
        }
        r->eof = 1;
    }
    /* A text file has no NUL byte (memchr is cheap enough for every block) and no other
     * control bytes but tab, newline, carriage return, form feed, vertical tab and the DOS
     * end-of-file mark (checked in the first 64 KiB only: later ones end up in bad cells,
     * escaped in messages). */
    const unsigned char *u = (const unsigned char *)r->buf + old;
    const unsigned char *bad = memchr(u, 0, got);
    for (size_t i = 0; !bad && r->first_block && i < got && i < 65536; i++)
        if (u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r' && u[i] != '\f' &&
            u[i] != '\v' && u[i] != 0x1a)
            bad = u + i;
    /* Classic Mac files end their lines with a lone CR: say so rather than read one long
     * line (a CR before the first LF and not followed by one marks such a file). */
    if (!bad && r->first_block) {
        size_t lim = got < 65536 ? got : 65536;
        for (size_t i = 0; i < lim && u[i] != '\n'; i++)
            if (u[i] == '\r' && i + 1 < got && u[i + 1] != '\n') {
                r->first_block = 0;
                return moe_error_at(r->err, MOE_EFORMAT, r->name, 1, i + 1,
                                    "lines end with a lone carriage return (classic Mac "
                                    "text), which is not supported; convert it with "
                                    "tr '\\r' '\\n'");
            }
    }
    r->first_block = 0;
    if (bad) {
        size_t line = r->line;
        for (const char *p = r->buf; p < (const char *)bad; p++)
            line += *p == '\n';
        return moe_error_at(r->err, MOE_EFORMAT, r->name, line, 0,
                            "not a text file (byte \\x%02x)", *bad);
    }
    return MOE_SUCCESS;
}

static int push_field(reader *r, char *s, size_t len, size_t line)
{
    if (r->nf == r->fcap) {
        size_t ncap = r->fcap ? r->fcap * 2 : 64;
        span *nf = realloc(r->f, ncap * sizeof *nf);
        if (!nf)
            return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s", r->name);
        r->f = nf;
        r->fcap = ncap;
    }
    r->f[r->nf].s = s;
    r->f[r->nf].len = len;
    r->f[r->nf].line = line;
    r->nf++;
    return MOE_SUCCESS;
}

/* Finds the end of the quoted record starting at P without changing the buffer. Returns 1
 * with *END at its newline (or at the end of the data), 0 when more input is needed, or an
 * error status (negative of it) for an unterminated quote at the end of the input. */
static int scan_quoted(reader *r, const char *p, const char **end, size_t *nlines)
{
    const char *e = r->buf + r->len;
    int inq = 0, at_start = 1;
    size_t lines = 0, qline = 0, qcol = 0, field = 0;
    const char *qpos = NULL;
    for (const char *c = p; c < e; c++) {
        if (inq) {
            if (*c == '"') {
                if (c + 1 < e && c[1] == '"')
                    c++;
                else if (c + 1 == e && !r->eof)
                    return 0; /* the next byte decides */
                else
                    inq = 0;
            } else if (*c == '\n') {
                lines++;
            }
        } else if (*c == '"' && at_start) {
            inq = 1;
            at_start = 0;
            qline = r->line + lines;
            qcol = field + 1;
            qpos = c;
        } else if (*c == r->sep) {
            at_start = 1;
            field++;
        } else if (*c == '\n') {
            *end = c;
            *nlines = lines;
            return 1;
        } else if (*c != ' ') {
            at_start = 0;
        }
    }
    if (!r->eof)
        return 0;
    if (inq) {
        char q[MOE_TABLE_TEXT];
        moe_data_quote(qpos, (size_t)(e - qpos), q);
        return -moe_error_at(r->err, MOE_EFORMAT, r->name, qline, qcol,
                             "unterminated quote: the quoted field opened here never closes (%s)",
                             q);
    }
    *end = e;
    *nlines = lines;
    return 1;
}

/* Splits the quoted record [P, END) into fields, unquoting in place. */
static int split_quoted(reader *r, char *p, char *end)
{
    char *w = p, *fs = p;
    size_t line = r->line, fline = line;
    int inq = 0, at_start = 1;
    for (char *c = p; c < end; c++) {
        if (inq) {
            if (*c == '"') {
                if (c + 1 < end && c[1] == '"') {
                    *w++ = '"';
                    c++;
                } else {
                    inq = 0;
                }
            } else {
                line += *c == '\n';
                *w++ = *c;
            }
        } else if (*c == '"' && at_start) {
            inq = 1;
            at_start = 0;
            w = fs; /* spaces before the opening quote are not part of the field */
        } else if (*c == r->sep) {
            int s = push_field(r, fs, (size_t)(w - fs), fline);
            if (s)
                return s;
            fs = w;
            fline = line;
            at_start = 1;
        } else {
            if (*c != ' ')
                at_start = 0;
            *w++ = *c; /* text after a closing quote is kept, leniently */
        }
    }
    return push_field(r, fs, (size_t)(w - fs), fline);
}

/* Reads the next non-blank record into r->f. Returns 1 with a record, 0 at the end of the
 * input, or -status on error. */
static int next_record(reader *r)
{
    for (;;) {
        if (r->stop >= 0 && r->base + (long long)r->pos >= r->stop)
            return 0;
        if (r->pos == r->len) {
            if (r->eof)
                return 0;
            int s = fill(r);
            if (s)
                return -s;
            continue;
        }
        char *p = r->buf + r->pos, *e = r->buf + r->len;
        char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl && !r->eof) {
            int s = fill(r);
            if (s)
                return -s;
            continue;
        }
        char *le = nl ? nl : e;
        r->nf = 0;
        r->rec_line = r->line;
        r->rec_off = r->base + (long long)(p - r->buf);
        if (!memchr(p, '"', (size_t)(le - p))) {
            char *rend = le;
            if (rend > p && rend[-1] == '\r')
                rend--;
            r->pos = nl ? (size_t)(nl + 1 - r->buf) : r->len;
            r->line++;
            if (rend == p)
                continue; /* a blank line */
            const char sep = r->sep;
            char *s = p;
            for (;;) {
                char *t = s;
                while (t < rend && *t != sep)
                    t++;
                if (r->nf < r->fcap) { /* inline the common case of push_field */
                    span *f = &r->f[r->nf++];
                    f->s = s;
                    f->len = (size_t)(t - s);
                    f->line = r->rec_line;
                } else {
                    int st = push_field(r, s, (size_t)(t - s), r->rec_line);
                    if (st)
                        return -st;
                }
                if (t == rend)
                    break;
                s = t + 1;
            }
            return 1;
        }
        const char *qend = NULL;
        size_t nlines = 0;
        int got = scan_quoted(r, p, &qend, &nlines);
        if (got < 0)
            return got;
        if (got == 0) {
            int s = fill(r);
            if (s)
                return -s;
            continue;
        }
        char *rend = (char *)qend;
        int has_nl = rend < e; /* *rend == '\n' */
        if (rend > p && rend[-1] == '\r')
            rend--;
        int s = split_quoted(r, p, rend);
        if (s)
            return -s;
        r->pos = has_nl ? (size_t)(qend + 1 - r->buf) : r->len;
        r->line += nlines + 1;
        return 1;
    }
}

/* The separator most frequent outside quotes on the first line of the buffer (',' on a
 * tie or when there is none). */
static char detect_sep(const char *p, const char *e)
{
    size_t comma = 0, semi = 0, tab = 0;
    int inq = 0;
    for (; p < e; p++) {
        if (*p == '"')
            inq = !inq;
        else if (!inq && *p == '\n')
            break;
        else if (!inq)
            comma += *p == ',', semi += *p == ';', tab += *p == '\t';
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

typedef struct named {
    const char *name;
    size_t col;
} named;

static int named_cmp(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->col > y->col) - (x->col < y->col);
}

/* Duplicate names, found by sorting (a wide header must not cost ncols^2): reports the
 * duplicate whose second occurrence comes first. */
static int check_duplicates(reader *r, moe_table *t)
{
    if (t->ncols < 2)
        return MOE_SUCCESS;
    named *v = malloc(t->ncols * sizeof *v);
    if (!v)
        return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s", r->name);
    for (size_t j = 0; j < t->ncols; j++) {
        v[j].name = t->names[j];
        v[j].col = j;
    }
    qsort(v, t->ncols, sizeof *v, named_cmp);
    size_t first = SIZE_MAX, second = SIZE_MAX;
    for (size_t i = 1; i < t->ncols; i++) {
        /* v[i-1] is the earliest column of a run of equal names only at the run's start */
        if (strcmp(v[i - 1].name, v[i].name) == 0 &&
            (i == 1 || strcmp(v[i - 2].name, v[i].name) != 0) && v[i].col < second) {
            first = v[i - 1].col;
            second = v[i].col;
        }
    }
    free(v);
    if (second == SIZE_MAX)
        return MOE_SUCCESS;
    char q[MOE_TABLE_TEXT];
    moe_data_quote(t->names[second], strlen(t->names[second]), q);
    return moe_error_at(r->err, MOE_EFORMAT, r->name, r->rec_line, second + 1,
                        "duplicate column name, the same as column %zu (%s)", first + 1, q);
}

/* Sets the column names from the header record in r->f (or V1..Vn when HEADER is 0). */
static int set_names(reader *r, moe_table *t, int header)
{
    t->names = calloc(t->ncols, sizeof *t->names);
    if (!t->names)
        return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s", r->name);
    for (size_t j = 0; j < t->ncols; j++) {
        const char *s = header ? r->f[j].s : "";
        size_t len = header ? r->f[j].len : 0;
        while (len && (*s == ' ' || *s == '\t'))
            s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        char *name;
        if (len == 0) {
            char tmp[32];
            int n = snprintf(tmp, sizeof tmp, "V%zu", j + 1);
            name = malloc((size_t)n + 1);
            if (name)
                memcpy(name, tmp, (size_t)n + 1);
        } else {
            name = malloc(len + 1);
            if (name) {
                memcpy(name, s, len);
                name[len] = '\0';
            }
        }
        if (!name)
            return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s", r->name);
        t->names[j] = name;
    }
    return check_duplicates(r, t);
}

static int grow_columns(reader *r, moe_table *t, size_t *cap)
{
    size_t ncap = *cap < 16 ? 64 : *cap + *cap / 2;
    for (size_t j = 0; j < t->ncols; j++) {
        double *c = realloc(t->cols[j], ncap * sizeof *c);
        if (!c)
            return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s (%zu rows)",
                                 r->name, t->nrows);
        t->cols[j] = c;
    }
    size_t *l = realloc(t->lines, ncap * sizeof *l);
    if (!l)
        return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s (%zu rows)", r->name,
                             t->nrows);
    t->lines = l;
    *cap = ncap;
    return MOE_SUCCESS;
}

/* Parses the fields of r->f into row t->nrows, and records the line where it starts. */
static void store_row(reader *r, moe_table *t)
{
    size_t row = t->nrows;
    t->lines[row] = r->rec_line;
    for (size_t j = 0; j < t->ncols; j++) {
        double v;
        int kind = moe_data_parse_double(r->f[j].s, r->f[j].len, &v);
        t->cols[j][row] = v;
        if (kind != MOE_NUM_OK) {
            moe_table_bad *b = &t->bad[j];
            if (b->count++ == 0) {
                b->line = r->f[j].line;
                b->kind = kind;
                const char *s = r->f[j].s;
                size_t len = r->f[j].len;
                while (len && (*s == ' ' || *s == '\t'))
                    s++, len--;
                while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                    len--;
                moe_data_quote(s, len, b->text);
            }
        }
    }
    t->nrows++;
}

static int ragged(reader *r, moe_table *t, int header)
{
    size_t col = r->nf > t->ncols ? t->ncols + 1 : r->nf;
    size_t line = col <= r->nf ? r->f[col - 1].line : r->rec_line;
    return moe_error_at(r->err, MOE_EFORMAT, r->name, line, col, "row has %zu field%s, %s has %zu",
                        r->nf, r->nf == 1 ? "" : "s", header ? "the header" : "the first row",
                        t->ncols);
}

/* Reads the first record: the header (or, when OPT says there is none or it looks like
 * data, the first data record, left in r->f with *HEADER = 0). Sets the names. */
static int read_header(reader *r, const moe_csv_options *opt, moe_table *t, int *header_out)
{
    int s = fill(r);
    if (s)
        return s;
    if (r->len >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
        r->pos = 3;
    r->sep = opt->sep ? opt->sep : detect_sep(r->buf + r->pos, r->buf + r->len);
    int got = next_record(r);
    if (got < 0)
        return -got;
    if (got == 0)
        return moe_error_at(r->err, MOE_EFORMAT, r->name, 0, 0, "empty file (no header, no rows)");
    int header = opt->header;
    if (header < 0) {
        header = 0;
        for (size_t j = 0; j < r->nf && !header; j++) {
            double v;
            header = moe_data_parse_double(r->f[j].s, r->f[j].len, &v) == MOE_NUM_TEXT;
        }
    }
    t->ncols = r->nf;
    t->header_line = r->rec_line;
    t->cols = calloc(t->ncols, sizeof *t->cols);
    t->bad = calloc(t->ncols, sizeof *t->bad);
    if (!t->cols || !t->bad)
        return moe_error_set(r->err, MOE_ENOMEM, "out of memory reading %s", r->name);
    *header_out = header;
    return set_names(r, t, header);
}

/* Reads the data records after the header into T (rows already in T, CAP, kept). */
static int read_rows(reader *r, moe_table *t, int header, size_t *capp)
{
    int s, got;
    size_t cap = *capp;
    while ((got = next_record(r)) == 1) {
        if (r->nf != t->ncols)
            return ragged(r, t, header);
        if (t->nrows == cap && (s = grow_columns(r, t, &cap)))
            return s;
        store_row(r, t);
    }
    *capp = cap;
    return got < 0 ? -got : MOE_SUCCESS;
}

/* Columns and lines shrunk to the rows read. */
static void shrink(moe_table *t)
{
    if (t->nrows == 0)
        return;
    for (size_t j = 0; j < t->ncols; j++) { /* shrink to fit */
        double *c = realloc(t->cols[j], t->nrows * sizeof *c);
        if (c)
            t->cols[j] = c;
    }
    size_t *l = realloc(t->lines, t->nrows * sizeof *l);
    if (l)
        t->lines = l;
}

static int read_table(reader *r, const moe_csv_options *opt, moe_table *t)
{
    int header, s = read_header(r, opt, t, &header);
    if (s)
        return s;
    size_t header_line = r->rec_line, cap = 0;
    if (!header) { /* the first record is data */
        if ((s = grow_columns(r, t, &cap)))
            return s;
        store_row(r, t);
    }
    if ((s = read_rows(r, t, header, &cap)))
        return s;
    if (t->nrows == 0)
        return moe_error_at(r->err, MOE_EFORMAT, r->name, header_line, 0,
                            "a header but no data rows");
    shrink(t);
    return MOE_SUCCESS;
}

/* A range read: the header from the file's start, then the records that start in
 * [START, END), the first of them on physical line FIRST_LINE (when START is past the
 * header). No rows is not an error here. */
static int read_table_range(reader *r, const moe_csv_options *opt, long long start,
                            long long end, size_t first_line, moe_table *t)
{
    int header, s = read_header(r, opt, t, &header);
    if (s)
        return s;
    size_t cap = 0;
    if (!header && r->rec_off >= start && r->rec_off < end) {
        if ((s = grow_columns(r, t, &cap)))
            return s;
        store_row(r, t);
    }
    long long after = r->base + (long long)r->pos, from = after > start ? after : start;
    if (from >= end)
        return MOE_SUCCESS;
    if (from > after) {  /* jump to the range (else it starts right after the header) */
        if (fseeko(r->fp, (off_t)from, SEEK_SET) != 0)
            return moe_error_at(r->err, MOE_EOPEN, r->name, 0, 0, "cannot seek to byte %lld: %s",
                                from, strerror(errno));
        r->pos = r->len = 0;
        r->eof = 0;
        r->base = from;
        r->line = first_line;
    }
    r->stop = end;
    if ((s = read_rows(r, t, header, &cap)))
        return s;
    shrink(t);
    return MOE_SUCCESS;
}

static int check_options(const moe_csv_options *opt, moe_error *err)
{
    if (opt->sep && opt->sep != ',' && opt->sep != ';' && opt->sep != '\t')
        return moe_error_set(err, MOE_EINVAL, "the separator must be ',', ';' or a tab");
    if (opt->header < -1 || opt->header > 1)
        return moe_error_set(err, MOE_EINVAL, "header must be -1 (detect), 0 or 1");
    return MOE_SUCCESS;
}

int moe_table_read_stream(FILE *fp, const char *name, const moe_csv_options *opt,
                          moe_table **out, moe_error *err)
{
    if (out)
        *out = NULL;
    if (!fp || !out)
        return moe_error_set(err, MOE_EINVAL, "moe_table_read_stream: NULL argument");
    moe_csv_options def = moe_csv_options_default();
    if (!opt)
        opt = &def;
    if (!name)
        name = "<stream>";
    int s = check_options(opt, err);
    if (s)
        return s;
    moe_table *t = calloc(1, sizeof *t);
    reader r = {0};
    r.fp = fp;
    r.name = name;
    r.err = err;
    r.line = 1;
    r.first_block = 1;
    r.stop = -1;
    r.cap = BLOCK_SIZE;
    r.buf = malloc(r.cap);
    if (t)
        t->name = strdup(name);
    if (!t || !r.buf || !t->name)
        s = moe_error_set(err, MOE_ENOMEM, "out of memory reading %s", name);
    else
        s = read_table(&r, opt, t);
    free(r.buf);
    free(r.f);
    if (s) {
        moe_table_free(t);
        return s;
    }
    moe_error_clear(err);
    *out = t;
    return MOE_SUCCESS;
}

int moe_table_read_csv(const char *path, const moe_csv_options *opt, moe_table **out,
                       moe_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return moe_error_set(err, MOE_EINVAL, "moe_table_read_csv: NULL argument");
    if (opt) {
        int s = check_options(opt, err);
        if (s)
            return s;
    }
    if (strcmp(path, "-") == 0)
        return moe_table_read_stream(stdin, "<stdin>", opt, out, err);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return moe_error_at(err, MOE_EOPEN, path, 0, 0, "cannot open: %s", strerror(errno));
    int s = moe_table_read_stream(fp, path, opt, out, err);
    fclose(fp);
    return s;
}

int moe_table_read_csv_range(const char *path, const moe_csv_options *opt, long long start,
                             long long end, size_t first_line, moe_table **out, moe_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out || start < 0 || end < start || first_line == 0)
        return moe_error_set(err, MOE_EINVAL, "moe_table_read_csv_range: bad argument");
    moe_csv_options def = moe_csv_options_default();
    int s = check_options(opt ? opt : &def, err);
    if (s)
        return s;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return moe_error_at(err, MOE_EOPEN, path, 0, 0, "cannot open: %s", strerror(errno));
    moe_table *t = calloc(1, sizeof *t);
    reader r = {0};
    r.fp = fp;
    r.name = path;
    r.err = err;
    r.line = 1;
    r.first_block = 1;
    r.stop = -1;
    r.cap = BLOCK_SIZE;
    r.buf = malloc(r.cap);
    if (t)
        t->name = strdup(path);
    if (!t || !r.buf || !t->name)
        s = moe_error_set(err, MOE_ENOMEM, "out of memory reading %s", path);
    else
        s = read_table_range(&r, opt ? opt : &def, start, end, first_line, t);
    free(r.buf);
    free(r.f);
    fclose(fp);
    if (s) {
        moe_table_free(t);
        return s;
    }
    moe_error_clear(err);
    *out = t;
    return MOE_SUCCESS;
}
