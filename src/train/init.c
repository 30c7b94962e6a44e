/* init.c: starting responsibilities for EM: k-means on the standardised (x, y), random
 * Dirichlet rows, random slabs of the gate-input space and random Voronoi cells of the (x, y)
 * space, each drawn from the caller's random stream. k-means is threaded over rows and,
 * with a moe_comm, spread over the ranks (each computes its own row blocks, the gathers of
 * model/comm.h share them); its sums run over the fixed row blocks of estep.h in block
 * order, so the start (and the fit) is the same whatever the numbers of threads and ranks.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experts/expert.h"
#include "train/em.h"
#include "model/comm.h"
#include "model/estep.h"

/* Concentration of the Dirichlet rows of the random start. alpha = 1 (uniform on the simplex)
 * starts the experts too alike; 0.5 gives rows that lean clearly towards one expert, which
 * breaks the symmetry the way flexmix's random hard assignment does, yet stays soft. */
#ifndef DIRICHLET_ALPHA
#define DIRICHLET_ALPHA 0.5
#endif
#define KMEANS_MAX_ITER 100
/* Lloyd's iterations stop once at most n / KMEANS_SETTLED_ROWS rows change their centroid (a
 * start needs the partition, not its last few flips; below this many rows, once none
 * changes). On 10^6 rows the tail of flips of a few rows took most of the start's time. */
#define KMEANS_SETTLED_ROWS 10000

/* Point R of the k-means data: the standardised inputs x_1..x_nx then y (dim = nx + 1). */
static double point(const moe_dataset *d, size_t r, size_t j)
{
    size_t px = d->nx + 1;
    return j < d->nx ? d->x[r * px + j + 1] : d->y[r];
}

static double dist2(const moe_dataset *d, size_t r, const double *c, size_t dim)
{
    double s = 0;
    for (size_t j = 0; j < dim; j++) {
        double e = point(d, r, j) - c[j];
        s += e * e;
    }
    return s;
}

/* The sum of DMIN over rows, block by block in block order (NB blocks, partials in PART). */
static double blocked_sum(const double *dmin, size_t n, size_t nb, double *part)
{
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double s = 0;
        for (size_t r = r0; r < r1; r++)
            s += dmin[r];
        part[b] = s;
    }
    double tot = 0;
    for (size_t b = 0; b < nb; b++)
        tot += part[b];
    return tot;
}

/* The blocks one k-means pass computes: [b0, b1) of nb, the rank's own; the gathers of the
 * others' partials go through comm (NULL: one process) with scratch offsets coff. */
typedef struct kblocks {
    size_t nb, b0, b1;
    const moe_comm *comm;
    size_t *coff;
} kblocks;

/* Lloyd's update: the centroids C (k x dim) become the means of their rows, summed per block
 * into PART (nb x k x (dim + 1): the coordinates then the count; each rank its own blocks,
 * gathered) and then in block order. */
static void update_centroids(const moe_dataset *d, const size_t *assign, size_t k,
                             const kblocks *kb, double *part, double *c)
{
    size_t n = d->n, dim = d->nx + 1, w = dim + 1, nb = kb->nb;
#pragma omp parallel for schedule(static) if (kb->b1 - kb->b0 > 1)
    for (size_t b = kb->b0; b < kb->b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        double *p = part + b * k * w;
        memset(p, 0, k * w * sizeof *p);
        for (size_t r = r0; r < r1; r++) {
            double *q = p + assign[r] * w;
            for (size_t j = 0; j < dim; j++)
                q[j] += point(d, r, j);
            q[dim] += 1;
        }
    }
    moe_comm_gather_blocks(kb->comm, part, nb, k * w, kb->coff);
    for (size_t i = 0; i < k; i++) {
        double cnt = 0;
        for (size_t j = 0; j < dim; j++)
            c[i * dim + j] = 0;
        for (size_t b = 0; b < nb; b++) {
            const double *q = part + (b * k + i) * w;
            for (size_t j = 0; j < dim; j++)
                c[i * dim + j] += q[j];
            cnt += q[dim];
        }
        for (size_t j = 0; j < dim; j++)
            c[i * dim + j] = cnt > 0 ? c[i * dim + j] / cnt : 0;
    }
}

/* Row R's nearest of the K centroids C (dim each). */
static size_t nearest(const moe_dataset *d, size_t r, const double *c, size_t k, size_t dim)
{
    size_t best = 0;
    double bd = dist2(d, r, c, dim);
    for (size_t i = 1; i < k; i++) {
        double e = dist2(d, r, c + i * dim, dim);
        if (e < bd) {
            bd = e;
            best = i;
        }
    }
    return best;
}

/* k-means++ seeding then Lloyd's iterations, on the row blocks of KB (the others' results
 * gathered); H receives 0/1 responsibilities for every row. */
static int kmeans(const moe_dataset *d, size_t k, const kblocks *kb, gsl_rng *rng, double *h)
{
    size_t n = d->n, dim = d->nx + 1, nb = kb->nb, b0 = kb->b0, b1 = kb->b1;
    double *c = malloc(k * dim * sizeof *c), *dmin = malloc(n * sizeof *dmin);
    double *part = malloc(nb * k * (dim + 1) * sizeof *part);
    size_t *assign = malloc(n * sizeof *assign);
    if (!c || !dmin || !part || !assign) {
        free(c);
        free(dmin);
        free(part);
        free(assign);
        return MOE_ENOMEM;
    }
    size_t first = (size_t)gsl_rng_uniform_int(rng, n);
    for (size_t j = 0; j < dim; j++)
        c[j] = point(d, first, j);
#pragma omp parallel for schedule(static) if (b1 - b0 > 1)
    for (size_t b = b0; b < b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        for (size_t r = r0; r < r1; r++)
            dmin[r] = dist2(d, r, c, dim);
    }
    for (size_t i = 1; i < k; i++) {
        /* the draw scans every row's distance: the other ranks' rows gathered */
        moe_comm_gather_rows(kb->comm, dmin, n, nb, 1, kb->coff);
        double tot = blocked_sum(dmin, n, nb, part);
        size_t pick = 0;
        if (tot > 0) {
            double u = gsl_rng_uniform(rng) * tot, acc = 0;
            for (pick = 0; pick + 1 < n; pick++) {
                acc += dmin[pick];
                if (acc > u)
                    break;
            }
        } else {
            pick = (size_t)gsl_rng_uniform_int(rng, n);
        }
        for (size_t j = 0; j < dim; j++)
            c[i * dim + j] = point(d, pick, j);
#pragma omp parallel for schedule(static) if (b1 - b0 > 1)
        for (size_t b = b0; b < b1; b++) {
            size_t r0, r1;
            moe_block_range(n, nb, b, &r0, &r1);
            for (size_t r = r0; r < r1; r++) {
                double e = dist2(d, r, c + i * dim, dim);
                if (e < dmin[r])
                    dmin[r] = e;
            }
        }
    }
    for (size_t r = 0; r < n; r++)
        assign[r] = k;  /* none yet */
    for (size_t it = 0; it < KMEANS_MAX_ITER; it++) {
        /* part[b]: the rows of block b that changed their centroid (gathered, summed) */
#pragma omp parallel for schedule(static) if (b1 - b0 > 1)
        for (size_t b = b0; b < b1; b++) {
            size_t r0, r1;
            moe_block_range(n, nb, b, &r0, &r1);
            size_t changed = 0;
            for (size_t r = r0; r < r1; r++) {
                size_t best = nearest(d, r, c, k, dim);
                changed += assign[r] != best;
                assign[r] = best;
            }
            part[b] = (double)changed;
        }
        moe_comm_gather_blocks(kb->comm, part, nb, 1, kb->coff);
        double changed = 0;
        for (size_t b = 0; b < nb; b++)
            changed += part[b];
        if (changed <= (double)(n / KMEANS_SETTLED_ROWS))
            break;
        update_centroids(d, assign, k, kb, part, c);
    }
    /* every row's centroid, as doubles (in dmin's room) for the gather */
    double *cent = dmin;
    for (size_t b = b0; b < b1; b++) {
        size_t r0, r1;
        moe_block_range(n, nb, b, &r0, &r1);
        for (size_t r = r0; r < r1; r++)
            cent[r] = (double)assign[r];
    }
    moe_comm_gather_rows(kb->comm, cent, n, nb, 1, kb->coff);
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < k; i++)
            h[r * k + i] = cent[r] == (double)i;
    free(c);
    free(dmin);
    free(part);
    free(assign);
    return MOE_SUCCESS;
}

static void random_dirichlet(size_t n, size_t k, gsl_rng *rng, double *h)
{
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += (h[r * k + i] = gsl_ran_gamma(rng, DIRICHLET_ALPHA, 1.0));
        for (size_t i = 0; i < k; i++)
            h[r * k + i] = s > 0 ? h[r * k + i] / s : 1.0 / (double)k;
    }
}

/* Hard 0/1 rows into H: row r to expert CELL[r]. */
static void hard_rows(size_t n, size_t k, const size_t *cell, double *h)
{
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < k; i++)
            h[r * k + i] = cell[r] == i;
}

typedef struct proj_row {
    double v;
    size_t r;
} proj_row;

static int proj_cmp(const void *a, const void *b)
{
    const proj_row *p = a, *q = b;
    return p->v < q->v ? -1 : p->v > q->v ? 1 : (p->r > q->r) - (p->r < q->r);
}

/* Slabs: the rows sorted along a random direction of the standardised gate inputs are cut
 * into K runs of random sizes (Dirichlet(1) shares on top of a floor of one expert's worth of
 * rows), run j to expert j. A gate partitions its input space into such regions, so a start
 * whose regimes are contiguous there is one EM can follow to the piecewise fits. Without gate
 * inputs the direction is drawn in the (x, y) space. */
static int slabs(const moe_dataset *d, size_t k, gsl_rng *rng, double *h)
{
    size_t n = d->n, nz = d->nz, pz = nz + 1, dim = nz ? nz : d->nx + 1;
    proj_row *p = malloc(n * sizeof *p);
    size_t *cell = malloc(n * sizeof *cell);
    double u[64 + 1], share[MOE_K_MAX];
    if (!p || !cell) {
        free(p);
        free(cell);
        return MOE_ENOMEM;
    }
    for (size_t j = 0; j < dim && j < 64; j++)
        u[j] = gsl_ran_gaussian(rng, 1.0);
    for (size_t r = 0; r < n; r++) {
        double v = 0;
        for (size_t j = 0; j < dim && j < 64; j++)
            v += u[j] * (nz ? d->z[r * pz + j + 1] : point(d, r, j));
        p[r].v = v;
        p[r].r = r;
    }
    qsort(p, n, sizeof *p, proj_cmp);
    double s = 0, fl = (double)(d->nx + 2) / (double)n;  /* floor: a regression's worth */
    if (fl * (double)k > 0.5)
        fl = 0.5 / (double)k;
    for (size_t i = 0; i < k; i++)
        s += (share[i] = gsl_ran_exponential(rng, 1.0));
    double acc = 0;
    size_t r = 0;
    for (size_t i = 0; i < k; i++) {
        acc += fl + (1 - fl * (double)k) * share[i] / s;
        size_t end = i + 1 == k ? n : (size_t)(acc * (double)n + 0.5);
        for (; r < end && r < n; r++)
            cell[p[r].r] = i;
    }
    hard_rows(n, k, cell, h);
    free(p);
    free(cell);
    return MOE_SUCCESS;
}

/* Voronoi cells: K distinct random rows as centres in the standardised (x, y), every row to
 * its nearest centre (one assignment step of k-means from a uniform draw, no Lloyd
 * iterations, so the cells stay as varied as the draw). */
static int voronoi(const moe_dataset *d, size_t k, gsl_rng *rng, double *h)
{
    size_t n = d->n, dim = d->nx + 1;
    double *c = malloc(k * dim * sizeof *c);
    size_t *cell = malloc(n * sizeof *cell), pick[MOE_K_MAX];
    if (!c || !cell) {
        free(c);
        free(cell);
        return MOE_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        size_t t, again = 0;
        do {  /* distinct rows when there are enough */
            t = (size_t)gsl_rng_uniform_int(rng, n);
            again = 0;
            for (size_t j = 0; j < i; j++)
                again |= pick[j] == t;
        } while (again && n >= k);
        pick[i] = t;
        for (size_t j = 0; j < dim; j++)
            c[i * dim + j] = point(d, t, j);
    }
    for (size_t r = 0; r < n; r++) {
        size_t best = 0;
        double bd = dist2(d, r, c, dim);
        for (size_t i = 1; i < k; i++) {
            double e = dist2(d, r, c + i * dim, dim);
            if (e < bd) {
                bd = e;
                best = i;
            }
        }
        cell[r] = best;
    }
    hard_rows(n, k, cell, h);
    free(c);
    free(cell);
    return MOE_SUCCESS;
}

/* Candidate cut points of the segmentation start, at most (the DP is quadratic in them). */
#define SEG_CUTS 160

/* Weighted least-squares profile cost of the rows between prefix positions A < B of the
 * prefix sums PS (each a block of px*px + px + 2 doubles: X'X, X'y, y'y, weight): half the
 * weight times log of the mean squared residual, +inf with fewer than px + 1 rows' weight.
 * No allocation (px <= SEG_PX_MAX). */
#define SEG_PX_MAX 16
static double seg_cost(const double *ps, size_t px, size_t a, size_t b)
{
    size_t bs = px * px + px + 2;
    const double *pa = ps + a * bs, *pb = ps + b * bs;
    double A[SEG_PX_MAX * SEG_PX_MAX], v[SEG_PX_MAX];
    double cnt = pb[bs - 1] - pa[bs - 1], yy = pb[bs - 2] - pa[bs - 2];
    if (!(cnt >= (double)(px + 1)))
        return INFINITY;
    for (size_t t = 0; t < px * px; t++)
        A[t] = pb[t] - pa[t];
    for (size_t j = 0; j < px; j++) {
        v[j] = pb[px * px + j] - pa[px * px + j];
        A[j * px + j] *= 1 + 1e-10;  /* a whisper of ridge: collinear segments stay finite */
        A[j * px + j] += 1e-12;
    }
    /* Cholesky A = L L' in place, then the fitted sum of squares v' A^-1 v */
    for (size_t j = 0; j < px; j++) {
        double d = A[j * px + j];
        for (size_t t = 0; t < j; t++)
            d -= A[j * px + t] * A[j * px + t];
        if (!(d > 0))
            return INFINITY;
        d = sqrt(d);
        A[j * px + j] = d;
        for (size_t i = j + 1; i < px; i++) {
            double e = A[i * px + j];
            for (size_t t = 0; t < j; t++)
                e -= A[i * px + t] * A[j * px + t];
            A[i * px + j] = e / d;
        }
    }
    double fit = 0;
    for (size_t j = 0; j < px; j++) {
        double e = v[j];
        for (size_t t = 0; t < j; t++)
            e -= A[j * px + t] * v[t];
        v[j] = e / A[j * px + j];
        fit += v[j] * v[j];
    }
    double rss = yy - fit, floor = 1e-6 * cnt;  /* the default variance floor, standardised */
    if (!(rss > floor))
        rss = floor;
    return 0.5 * cnt * log(rss / cnt);
}

/* Segmentation: the rows sorted by gate input ZCOL are cut into K runs that maximise the
 * profile likelihood of K separate Gaussian linear regressions (dynamic programming over at
 * most SEG_CUTS candidate cuts, placed only between distinct input values). A softmax gate on
 * one input gives every expert one interval of it, and a gate that separates the regimes
 * makes the mixture's likelihood exactly such a product of segment likelihoods, so this start
 * lies in the basin of the best separated fit along that input: the maxima random starts find
 * least often (mcycle; bench/README.md). Deterministic: it draws nothing. */
static int segments(const moe_dataset *d, size_t k, size_t zcol, double *h)
{
    size_t n = d->n, pz = d->nz + 1, px = d->nx + 1, bs = px * px + px + 2;
    if (px > SEG_PX_MAX)
        return MOE_ESING;
    proj_row *p = malloc(n * sizeof *p);
    size_t *pos = malloc((SEG_CUTS + 2) * sizeof *pos), *cell = malloc(n * sizeof *cell);
    size_t *arg = malloc(k * (SEG_CUTS + 2) * sizeof *arg);
    double *ps = calloc((SEG_CUTS + 2) * bs, sizeof *ps);
    double *cost = malloc((SEG_CUTS + 2) * (SEG_CUTS + 2) * sizeof *cost);
    double *f = malloc(k * (SEG_CUTS + 2) * sizeof *f), *acc = calloc(bs, sizeof *acc);
    int status = MOE_SUCCESS;
    if (!p || !pos || !cell || !arg || !ps || !cost || !f || !acc) {
        status = MOE_ENOMEM;
        goto out;
    }
    for (size_t r = 0; r < n; r++) {
        p[r].v = d->z[r * pz + zcol + 1];
        p[r].r = r;
    }
    qsort(p, n, sizeof *p, proj_cmp);
    size_t ndist = 0;  /* places between distinct values */
    for (size_t r = 1; r < n; r++)
        ndist += p[r].v > p[r - 1].v;
    size_t m = 0;  /* candidate cuts pos[1..m-1], pos[0] = 0, pos[m] = n */
    pos[m++] = 0;
    for (size_t r = 1, seen = 0; r < n; r++) {
        if (!(p[r].v > p[r - 1].v))
            continue;
        /* evenly among the distinct places when there are more than SEG_CUTS */
        if (ndist <= SEG_CUTS || (seen * SEG_CUTS) / ndist != ((seen + 1) * SEG_CUTS) / ndist)
            pos[m++] = r;
        seen++;
    }
    pos[m] = n;
    if (m < k) {
        status = MOE_ESING;  /* fewer distinct values than experts */
        goto out;
    }
    for (size_t c = 0, r = 0; c <= m; c++) {
        for (; r < pos[c]; r++) {
            size_t row = p[r].r;
            const double *xr = d->x + row * px;
            double wr = d->w ? d->w[row] : 1, y = d->y[row];
            for (size_t i = 0; i < px; i++) {
                for (size_t j = 0; j < px; j++)
                    acc[i * px + j] += wr * xr[i] * xr[j];
                acc[px * px + i] += wr * xr[i] * y;
            }
            acc[bs - 2] += wr * y * y;
            acc[bs - 1] += wr;
        }
        memcpy(ps + c * bs, acc, bs * sizeof *acc);
    }
    for (size_t a = 0; a <= m; a++)
        for (size_t b = a + 1; b <= m; b++)
            cost[a * (m + 1) + b] = seg_cost(ps, px, a, b);
    /* f[j][b]: the best cost of rows pos[0..b) in j + 1 segments */
    for (size_t b = 0; b <= m; b++) {
        f[b] = b ? cost[b] : INFINITY;
        arg[b] = 0;
    }
    for (size_t j = 1; j < k; j++)
        for (size_t b = 0; b <= m; b++) {
            double best = INFINITY;
            size_t ba = 0;
            for (size_t a = 1; a < b; a++) {
                double v = f[(j - 1) * (m + 1) + a] + cost[a * (m + 1) + b];
                if (v < best) {
                    best = v;
                    ba = a;
                }
            }
            f[j * (m + 1) + b] = best;
            arg[j * (m + 1) + b] = ba;
        }
    if (!isfinite(f[(k - 1) * (m + 1) + m])) {
        status = MOE_ESING;
        goto out;
    }
    for (size_t j = k, b = m; j-- > 0;) {
        size_t a = j ? arg[j * (m + 1) + b] : 0;
        for (size_t r = pos[a]; r < pos[b]; r++)
            cell[p[r].r] = j;
        b = a;
    }
    hard_rows(n, k, cell, h);
out:
    free(p);
    free(pos);
    free(cell);
    free(arg);
    free(ps);
    free(cost);
    free(f);
    free(acc);
    return status;
}

int moe_em_init_start(moe_em_work *w, moe_em_start type, gsl_rng *rng)
{
    size_t k = w->kmax;
    int status = MOE_SUCCESS;
    if (k < 2) {
        for (size_t r = 0; r < w->n; r++)
            w->h[r] = 1;
    } else if (type == MOE_START_KMEANS) {
        kblocks kb = {w->nb, w->b0, w->b1, w->par.comm, w->coff};
        status = kmeans(w->d, k, &kb, rng, w->h);
    } else if (type == MOE_START_SLABS) {
        status = slabs(w->d, k, rng, w->h);
    } else if (type == MOE_START_VORONOI) {
        status = voronoi(w->d, k, rng, w->h);
    } else if (type >= MOE_START_SEGMENTS) {
        status = segments(w->d, k, (size_t)(type - MOE_START_SEGMENTS), w->h);
    } else {
        random_dirichlet(w->n, k, rng, w->h);
    }
    if (status)
        return status;
    status = moe_em_init_h(w, w->h);
    /* a family whose neutral block is stationary (an MLP) draws its start, after the
     * responsibilities: the streams of the other families are untouched */
    const moe_expert_type *et = w->m->expert;
    for (size_t i = 0; status == MOE_SUCCESS && et->randomise && i < w->m->k; i++)
        et->randomise(&w->eshape, moe_model_expert_block(w->m, i), rng);
    return status;
}

int moe_em_init(moe_em_work *w, int use_kmeans, gsl_rng *rng)
{
    return moe_em_init_start(w, use_kmeans ? MOE_START_KMEANS : MOE_START_DIRICHLET, rng);
}
