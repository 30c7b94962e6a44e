/* bench_csv.c: parse rate and memory of the CSV reader on a generated numeric file.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Usage: bench/bench_csv [ROWS [COLS]]   (default 2000000 rows x 10 columns)
 * Writes a CSV of random numbers printed with %.17g, %.6g and as small integers (a mix
 * like real exports) into a temporary file, reads it once with moe_table_read_csv, and
 * prints the file size, the time, the rate in MB/s (1 MB = 1e6 bytes), and the process's
 * peak resident memory (getrusage) against the bytes of the numbers (rows x cols x 8).
 * The file is generated before the peak is measured only through the kernel's page cache,
 * which does not count in RSS. Needs about 170 bytes x ROWS of disk. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "moe.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

int main(int argc, char **argv)
{
    size_t rows = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 2000000;
    size_t cols = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 10;
    if (rows == 0 || cols == 0) {
        fprintf(stderr, "usage: bench_csv [ROWS [COLS]]\n");
        return 64;
    }
    const char *base = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/bench_csv-XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(path);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        perror("bench_csv: temporary file");
        return 73;
    }
    static char obuf[1 << 20];
    setvbuf(fp, obuf, _IOFBF, sizeof obuf);
    for (size_t j = 0; j < cols; j++)
        fprintf(fp, j ? ",x%zu" : "x%zu", j + 1);
    fputc('\n', fp);
    uint64_t s = 0x9e3779b97f4a7c15ULL; /* xorshift64, fixed seed */
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            double u = (double)(s >> 11) * 0x1p-53 * 200.0 - 100.0;
            if (j % 3 == 0)
                fprintf(fp, j ? ",%.17g" : "%.17g", u);
            else if (j % 3 == 1)
                fprintf(fp, ",%.6g", u);
            else
                fprintf(fp, ",%d", (int)u);
        }
        fputc('\n', fp);
    }
    if (fclose(fp) != 0) {
        perror("bench_csv: writing the temporary file");
        unlink(path);
        return 73;
    }
    FILE *sz = fopen(path, "rb");
    fseeko(sz, 0, SEEK_END);
    double bytes = (double)ftello(sz);
    fclose(sz);

    double rss0 = peak_rss_mb();
    moe_table *t = NULL;
    moe_error err;
    double t0 = now(), c0 = cpu_now();
    int st = moe_table_read_csv(path, NULL, &t, &err);
    double secs = now() - t0, cpu = cpu_now() - c0;
    unlink(path);
    if (st != MOE_SUCCESS) {
        fprintf(stderr, "bench_csv: %s\n", err.message);
        return 70;
    }
    double numbers_mb = (double)rows * (double)cols * 8.0 / 1048576.0;
    double rss = peak_rss_mb();
    printf("rows %zu, columns %zu, file %.1f MB\n", moe_table_nrows(t), moe_table_ncols(t),
           bytes / 1e6);
    printf("read in %.3f s: %.1f MB/s (one thread; CPU time %.3f s: %.1f MB/s)\n", secs,
           bytes / 1e6 / secs, cpu, bytes / 1e6 / cpu);
    printf("peak RSS %.1f MiB (before reading %.1f MiB); numbers %.1f MiB; "
           "overhead %.1f MiB (%.1f%%)\n",
           rss, rss0, numbers_mb, rss - numbers_mb, 100.0 * (rss - numbers_mb) / numbers_mb);
    moe_table_free(t);
    return 0;
}
