/* test_comm.c: the reduction hook moe_comm (src/model/comm.c and its uses in
 * src/train/em.c, src/train/smem.c) without MPI: R threads of one process each run
 * moe_fit_run as one rank of a fake moe_comm whose allgather copies the other threads'
 * segments through a barrier; every rank's fit must be the single-process fit bit for bit
 * (the --json text compared byte for byte), for R = 2 and 3, for a flat K = 3 fit with its
 * split-and-merge moves (which read the responsibilities of every row), a tree and Poisson
 * experts (whose M-step is Newton passes), and a search on a subsample of the rows; and the
 * responsibilities of every row, gathered by moe_em_full_h after EM iterations and right
 * after the k-means start (which each rank computes on its own row blocks), are the
 * single-process ones.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * The reference is moe_fit_run with comm = NULL on the same data and options. */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "moe.h"
#include "data/dataset.h"
#include "tap.h"
#include "train/em.h"

#define RMAX 3

/* The fake collective: rank r publishes BUF, all wait, each copies the others' segments
 * from theirs, all wait again (so that no buffer is reused before everyone has read it). */
typedef struct fake_world {
    size_t size;
    pthread_barrier_t bar;
    double *bufs[RMAX];
} fake_world;

typedef struct rank_ctx {
    fake_world *world;
    moe_comm comm;
    const moe_dataset *d;
    moe_fit_options opt;
    char *json;       /* the rank's --json text */
    int status;
} rank_ctx;

static void fake_allgather(double *buf, size_t len, const size_t *off, void *data)
{
    rank_ctx *c = data;
    fake_world *w = c->world;
    (void)len;
    w->bufs[c->comm.rank] = buf;
    pthread_barrier_wait(&w->bar);
    for (size_t r = 0; r < w->size; r++)
        if (r != c->comm.rank)
            memcpy(buf + off[r], w->bufs[r] + off[r], (off[r + 1] - off[r]) * sizeof *buf);
    pthread_barrier_wait(&w->bar);
}

/* The fit's JSON as a malloc'd string (NULL on failure, *STATUS says why). */
static char *fit_json(const moe_dataset *d, const moe_fit_options *opt, int *status)
{
    moe_fit *f = NULL;
    moe_error err = {0};
    char *text = NULL;
    size_t len = 0;
    *status = moe_fit_run(d, opt, &f, &err);
    if (*status == MOE_SUCCESS) {
        FILE *fp = open_memstream(&text, &len);
        if (!fp || moe_fit_write_json(f, fp, &err) != MOE_SUCCESS)
            *status = MOE_EWRITE;
        if (fp)
            fclose(fp);
    } else {
        printf("# %s\n", err.message);
    }
    moe_fit_free(f);
    return text;
}

/* K = 3: ITERS EM iterations from fixed responsibilities H0 (NULL: from the k-means start
 * of seed 7); the rank's moe_em_full_h into *H. */
static int em_h(const moe_dataset *d, const moe_comm *comm, const double *h0, int iters,
                double **h)
{
    moe_em_params par = {1e-12, 100, 0, 1e-6, 0, NULL, NULL, 0, {0}, 0, MOE_ACT_TANH, 0,
                         comm, 0};
    moe_em_work *w = moe_em_alloc(d, 3, &par);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    int st = !w || !rng ? MOE_ENOMEM : h0 ? moe_em_init_h(w, h0) : moe_em_init(w, 1, rng);
    gsl_rng_free(rng);
    for (int it = 0; it < iters && st == MOE_SUCCESS; it++)
        st = moe_em_iterate(w);
    *h = NULL;
    if (st == MOE_SUCCESS && (*h = malloc(d->n * 3 * sizeof **h)))
        memcpy(*h, moe_em_full_h(w), d->n * 3 * sizeof **h);
    moe_em_free(w);
    return st;
}

typedef struct h_ctx {
    rank_ctx rank;
    const double *h0;
    int iters;
    double *h;
} h_ctx;

static void *run_rank_h(void *arg)
{
    h_ctx *c = arg;
    c->rank.status = em_h(c->rank.d, &c->rank.comm, c->h0, c->iters, &c->h);
    return NULL;
}

/* Every rank's moe_em_full_h equals the single-process one: after 3 EM iterations from a
 * fixed start, and (KMEANS) right after the k-means start, whose rows each rank computes in
 * its own blocks only. */
static void check_full_h(const moe_dataset *d, int kmeans)
{
    size_t n = d->n;
    double *h0 = kmeans ? NULL : malloc(n * 3 * sizeof *h0), *want = NULL;
    for (size_t r = 0; h0 && r < n; r++)  /* a soft start along x: the regimes' order */
        for (size_t i = 0; i < 3; i++)
            h0[r * 3 + i] = 0.2 + 0.6 * (i == r * 3 / n);
    int iters = kmeans ? 0 : 3;
    const char *what = kmeans ? "k-means start" : "3 iterations";
    int st = em_h(d, NULL, h0, iters, &want);
    tap_ok(st == MOE_SUCCESS && want, "EM's h after the %s: the single-process run", what);
    size_t size = 3;
    fake_world w = {size, {{0}}, {NULL}};
    pthread_barrier_init(&w.bar, NULL, (unsigned)size);
    h_ctx ctx[RMAX];
    pthread_t th[RMAX];
    for (size_t r = 0; r < size; r++) {
        ctx[r] = (h_ctx){{&w, {r, size, fake_allgather, &ctx[r].rank}, d, {0}, NULL, 0}, h0,
                         iters, NULL};
        pthread_create(&th[r], NULL, run_rank_h, &ctx[r]);
    }
    for (size_t r = 0; r < size; r++)
        pthread_join(th[r], NULL);
    for (size_t r = 0; r < size; r++) {
        tap_ok(want && ctx[r].rank.status == MOE_SUCCESS && ctx[r].h &&
               memcmp(ctx[r].h, want, n * 3 * sizeof *want) == 0,
               "EM's h after the %s, every row, rank %zu of 3: the single-process h", what,
               r);
        free(ctx[r].h);
    }
    pthread_barrier_destroy(&w.bar);
    free(want);
    free(h0);
}

static void *run_rank(void *arg)
{
    rank_ctx *c = arg;
    c->opt.comm = &c->comm;
    c->json = fit_json(c->d, &c->opt, &c->status);
    return NULL;
}

/* Rows along x in K regimes of slopes -2, 2, -2, ...; y Gaussian, or Poisson counts. */
static moe_dataset *simulate(size_t n, int poisson)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        x[r] = gsl_ran_flat(rng, -3, 3);
        int reg = x[r] < -1 ? 0 : x[r] < 1 ? 1 : 2;
        double eta = (reg == 1 ? 0.8 : -0.8) * x[r] + (reg == 2 ? 1.5 : 0);
        y[r] = poisson ? (double)gsl_ran_poisson(rng, exp(0.5 * eta + 1))
                       : eta + gsl_ran_gaussian(rng, 0.3);
    }
    moe_dataset *d = NULL;
    moe_dataset_from_arrays(n, 1, x, 0, NULL, y, &d, NULL);
    free(x);
    free(y);
    gsl_rng_free(rng);
    return d;
}

static void check_case(const char *what, const moe_dataset *d, const moe_fit_options *opt)
{
    int st;
    char *want = fit_json(d, opt, &st);
    tap_ok(st == MOE_SUCCESS && want, "%s: the single-process fit", what);
    for (size_t size = 2; size <= RMAX; size++) {
        fake_world w = {size, {{0}}, {NULL}};
        pthread_barrier_init(&w.bar, NULL, (unsigned)size);
        rank_ctx ctx[RMAX];
        pthread_t th[RMAX];
        for (size_t r = 0; r < size; r++) {
            ctx[r] = (rank_ctx){&w, {r, size, fake_allgather, &ctx[r]}, d, *opt, NULL, 0};
            pthread_create(&th[r], NULL, run_rank, &ctx[r]);
        }
        for (size_t r = 0; r < size; r++)
            pthread_join(th[r], NULL);
        for (size_t r = 0; r < size; r++) {
            tap_ok(want && ctx[r].status == MOE_SUCCESS && ctx[r].json &&
                   strcmp(ctx[r].json, want) == 0,
                   "%s: rank %zu of %zu gives the single-process JSON", what, r, size);
            free(ctx[r].json);
        }
        pthread_barrier_destroy(&w.bar);
    }
    free(want);
}

int main(void)
{
    /* 8300 rows: moe_block_count gives 3 blocks, one per rank under 3 ranks */
    moe_dataset *g = simulate(8300, 0), *p = simulate(8300, 1);
    moe_fit_options o = moe_fit_options_default();
    o.k_min = o.k_max = 3;
    o.restarts = 1;
    o.keep = 1;
    o.short_iter = 3;
    o.max_iter = 12;
    o.standard_errors = 0;
    o.gate_lrt = 0;
    check_case("K = 3 with moves", g, &o);
    moe_fit_options t = o;
    t.tree = "2x2";
    check_case("tree 2x2", g, &t);
    moe_fit_options q = o;
    q.k_min = q.k_max = 2;
    q.moves = 0;
    q.family = "poisson";
    check_case("Poisson K = 2", p, &q);
    moe_fit_options sub = o;
    sub.search_rows = 2000;  /* every rank draws the same subsample and searches it alone */
    sub.restarts = 3;
    sub.keep = 2;
    check_case("K = 3, the search on a subsample of 2000 rows", g, &sub);
    check_full_h(g, 0);
    check_full_h(g, 1);

    size_t b0, b1;
    moe_comm_blocks(3, 2, 64, &b0, &b1);
    tap_ok(b0 == 42 && b1 == 64, "moe_comm_blocks: rank 2 of 3 owns blocks 42..63 of 64");
    moe_comm_blocks(3, 3, 64, &b0, &b1);
    tap_ok(b0 == 0 && b1 == 0, "moe_comm_blocks: a rank beyond size owns none");
    moe_dataset_free(g);
    moe_dataset_free(p);
    return tap_done();
}
