/* mpi.c: moefit under mpirun: starting MPI only when launched by it, the reduction hook of
 * moe_comm as an MPI_Allgatherv, and reading the data file in one byte range per rank with
 * every rank agreeing on the first error. Compiled only when configure found MPI.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Every rank runs the same fit on the same (joined) data; the library's passes compute only
 * each rank's row blocks and gather the rest through this hook, so the ranks stay in step
 * and in agreement bit for bit, and no collective is reached by some ranks only. */
#include <config.h>

#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int started;             /* MPI_Init was called here */
static size_t my_rank, nranks = 1;
static int *counts, *displs;    /* nranks each, for the Allgatherv calls */
static moe_comm comm;

static void end_mpi(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) {
        fflush(stdout);
        MPI_Finalize();
    }
}

/* Stops every rank: a collective that cannot be done in ints (over 2^31 elements). */
static void too_large(const char *what)
{
    fprintf(stderr, "moefit: %s too large for one MPI call\n", what);
    MPI_Abort(MPI_COMM_WORLD, CLI_SOFTWARE);
}

static int set_counts(const size_t *offsets)
{
    for (size_t r = 0; r < nranks; r++) {
        if (offsets[r + 1] > INT_MAX)
            return -1;
        counts[r] = (int)(offsets[r + 1] - offsets[r]);
        displs[r] = (int)offsets[r];
    }
    return 0;
}

static void allgather(double *buf, size_t len, const size_t *offsets, void *data)
{
    (void)len;
    (void)data;
    if (set_counts(offsets))
        too_large("a gather of row statistics");
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_DOUBLE,
                   MPI_COMM_WORLD);
}

int cli_mpi_start(int *argc, char ***argv)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK"))
        return 0;
    MPI_Init(argc, argv);
    started = 1;
    atexit(end_mpi);
    int r, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    my_rank = (size_t)r;
    nranks = (size_t)n;
    counts = malloc(nranks * sizeof *counts);
    displs = malloc(nranks * sizeof *displs);
    if (!counts || !displs) {
        fputs("moefit: out of memory starting MPI\n", stderr);
        MPI_Abort(MPI_COMM_WORLD, CLI_SOFTWARE);
    }
    comm = (moe_comm){my_rank, nranks, allgather, NULL};
    if (my_rank > 0) {  /* rank 0 speaks for all */
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            MPI_Abort(MPI_COMM_WORLD, CLI_SOFTWARE);
    }
    return 0;
}

size_t cli_mpi_rank(void)
{
    return my_rank;
}

size_t cli_mpi_size(void)
{
    return nranks;
}

const moe_comm *cli_mpi_comm(void)
{
    return started && nranks > 1 ? &comm : NULL;
}

int cli_mpi_agree(int rc)
{
    if (!started || nranks < 2)
        return rc;
    int all = 0;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

/* Every rank's STATUS: the lowest failing rank's status, with its ERR copied to every rank;
 * MOE_SUCCESS when none failed. */
static int agree(int status, moe_error *err)
{
    int *all = malloc(nranks * sizeof *all);
    if (!all)
        MPI_Abort(MPI_COMM_WORLD, CLI_SOFTWARE);
    MPI_Allgather(&status, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
    int st = MOE_SUCCESS;
    for (size_t r = 0; r < nranks; r++)
        if (all[r] != MOE_SUCCESS) {
            st = all[r];
            MPI_Bcast(err, (int)sizeof *err, MPI_BYTE, (int)r, MPI_COMM_WORLD);
            break;
        }
    free(all);
    return st;
}

int cli_mpi_read_table(const char *path, const moe_csv_options *csv, moe_table **out,
                       moe_error *err)
{
    *out = NULL;
    if (!started || nranks < 2)
        return moe_table_read_csv(path, csv, out, err);
    long long a = 0, b = 0;
    size_t nl = 0;
    int st = agree(moe_csv_split(path, my_rank, nranks, &a, &b, &nl, err), err);
    if (st)
        return st;
    /* the line where this rank's range starts: 1 + the newlines of the ranges before it */
    unsigned long long mine = nl, *lines = malloc(nranks * sizeof *lines);
    size_t *lens = malloc(nranks * sizeof *lens);
    if (!lines || !lens)
        MPI_Abort(MPI_COMM_WORLD, CLI_SOFTWARE);
    MPI_Allgather(&mine, 1, MPI_UNSIGNED_LONG_LONG, lines, 1, MPI_UNSIGNED_LONG_LONG,
                  MPI_COMM_WORLD);
    size_t first = 1;
    for (size_t r = 0; r < my_rank; r++)
        first += (size_t)lines[r];
    moe_table *part = NULL;
    void *buf = NULL;
    size_t len = 0;
    st = moe_table_read_csv_range(path, csv, a, b, first, &part, err);
    if (!st)
        st = moe_table_pack(part, &buf, &len, err);
    st = agree(st, err);
    unsigned char *all = NULL;
    if (!st) {
        mine = len;
        MPI_Allgather(&mine, 1, MPI_UNSIGNED_LONG_LONG, lines, 1, MPI_UNSIGNED_LONG_LONG,
                      MPI_COMM_WORLD);
        size_t *off = malloc((nranks + 1) * sizeof *off);
        if (!off)
            MPI_Abort(MPI_COMM_WORLD, CLI_SOFTWARE);
        off[0] = 0;
        for (size_t r = 0; r < nranks; r++)
            off[r + 1] = off[r] + (lens[r] = (size_t)lines[r]);
        if (set_counts(off))
            too_large("the data file");
        if (!(all = malloc(off[nranks] ? off[nranks] : 1)))
            MPI_Abort(MPI_COMM_WORLD, CLI_SOFTWARE);
        MPI_Allgatherv(buf, (int)len, MPI_BYTE, all, counts, displs, MPI_BYTE, MPI_COMM_WORLD);
        free(off);
        st = moe_table_join_packed(part, all, lens, nranks, out, err);
    }
    free(all);
    free(buf);
    free(lines);
    free(lens);
    moe_table_free(part);
    return st;
}
