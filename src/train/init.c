/* init.c: starting responsibilities for EM: k-means on the standardised (x, y) and random
 * Dirichlet rows, each drawn from the caller's random stream. k-means is threaded over rows;
 * its sums run over the fixed row blocks of estep.h in block order, so the start (and the
 * fit) is the same whatever the number of threads.
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING). */
#include <config.h>

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/em.h"
#include "model/estep.h"

/* Concentration of the Dirichlet rows of the random start. alpha = 1 (uniform on the simplex)
 * starts the experts too alike; 0.5 gives rows that lean clearly towards one expert, which
 * breaks the symmetry the way flexmix's random hard assignment does, yet stays soft. */
#ifndef DIRICHLET_ALPHA
#define DIRICHLET_ALPHA 0.5
#endif
#define KMEANS_MAX_ITER 100

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

/* Lloyd's update: the centroids C (k x dim) become the means of their rows, summed per block
 * into PART (nb x k x (dim + 1): the coordinates then the count) and then in block order. */
static void update_centroids(const moe_dataset *d, const size_t *assign, size_t k, size_t nb,
                             double *part, double *c)
{
    size_t n = d->n, dim = d->nx + 1, w = dim + 1;
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
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

/* k-means++ seeding then Lloyd's iterations; H receives 0/1 responsibilities. */
static int kmeans(const moe_dataset *d, size_t k, gsl_rng *rng, double *h)
{
    size_t n = d->n, dim = d->nx + 1, nb = moe_block_count(n);
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
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t r = 0; r < n; r++)
        dmin[r] = dist2(d, r, c, dim);
    for (size_t i = 1; i < k; i++) {
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
#pragma omp parallel for schedule(static) if (nb > 1)
        for (size_t r = 0; r < n; r++) {
            double e = dist2(d, r, c + i * dim, dim);
            if (e < dmin[r])
                dmin[r] = e;
        }
    }
    for (size_t r = 0; r < n; r++)
        assign[r] = k;  /* none yet */
    for (size_t it = 0; it < KMEANS_MAX_ITER; it++) {
        int changed = 0;
#pragma omp parallel for schedule(static) reduction(| : changed) if (nb > 1)
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
            if (assign[r] != best) {
                assign[r] = best;
                changed = 1;
            }
        }
        if (!changed)
            break;
        update_centroids(d, assign, k, nb, part, c);
    }
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < k; i++)
            h[r * k + i] = assign[r] == i;
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

int moe_em_init(moe_em_work *w, int use_kmeans, gsl_rng *rng)
{
    size_t k = w->kmax;
    if (use_kmeans && k > 1) {
        int status = kmeans(w->d, k, rng, w->h);
        if (status)
            return status;
    } else if (k > 1) {
        random_dirichlet(w->n, k, rng, w->h);
    } else {
        for (size_t r = 0; r < w->n; r++)
            w->h[r] = 1;
    }
    return moe_em_init_h(w, w->h);
}
