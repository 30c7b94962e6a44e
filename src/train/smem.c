/* smem.c: split-and-merge moves on a converged fit (moe_train_smem; SMEM, Ueda, Nakano,
 * Ghahramani & Hinton 2000, Neural Computation 12: 2109-2128).
 * Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
 *
 * Why: a maximum that EM cannot leave often has two experts sharing one regime while a third
 * covers two (issue 13: mcycle with a quadratic, K = 4; faithful K = 3). No start of the global
 * search needs to land in the better basin if one move gets there: merge the two experts whose
 * posteriors are most alike (largest correlation of their posterior columns), which frees a
 * slot, and split the expert that fits its rows worst (largest negative log-density per
 * effective row) into the freed slot, then run EM from those responsibilities and keep the
 * result only when the log-likelihood rises. SMEM's partial EM over the three experts is
 * replaced by a short full EM run (every expert and the gate move), and only the best short
 * runs are continued, so a round costs about as much as a dozen of the search's starts.
 *
 * Beside those, a round tries the fit with its gate coefficients scaled down (the same
 * boundaries, softer): a gate that has saturated (separated regimes along a gate input) gives
 * hard posteriors, and EM then cannot move a boundary by a few rows even when that raises the
 * likelihood (mcycle with a quadratic, K = 4: -537.38 to -536.09 in two iterations).
 *
 * A split is a hard division of the split expert's posterior mass: the rows above its mean
 * against those below (two regimes crossing), or the rows below its weighted median of a gate
 * input against those above (two regimes side by side). A move that raises the likelihood
 * only by creating a spurious expert (train/spurious.c: at the variance floor, or too few
 * effective rows) is refused: the likelihood is unbounded there and the rise says nothing. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experts/expert.h"
#include "train/smem.h"
#include "train/spurious.h"

/* A continuation is never stopped as hopeless before this many iterations. */
#define HOPELESS_AFTER 10

/* The factors the gate's coefficients are multiplied by for the softened-gate tries. */
static const double soften[] = {0.5, 0.2, 0.05};

typedef struct keyed {
    double key;
    size_t row;
} keyed;

struct moe_smem_work {
    size_t n, kmax;
    double *h0;                         /* n x kmax posteriors of the fit, without weights */
    double *htry;                       /* n x kmax a try's starting responsibilities */
    double *val;                        /* n: an expert's means or log-densities */
    keyed *sorted;                      /* n: rows sorted along a gate input */
    moe_model *soft;                    /* the fit with a softened gate */
    moe_model *best[MOE_SMEM_CONTINUE]; /* the best tries after their short runs */
    double best_ll[MOE_SMEM_CONTINUE];
    size_t best_move[MOE_SMEM_CONTINUE][3];  /* their merged pair and split expert (the
                                                softened gate: all three kmax) */
    size_t move[3];                     /* the try being run */
};

moe_smem_work *moe_smem_alloc(const moe_em_work *w)
{
    moe_smem_work *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n = w->n;
    s->kmax = w->kmax;
    s->h0 = malloc(w->n * w->kmax * sizeof *s->h0);
    s->htry = malloc(w->n * w->kmax * sizeof *s->htry);
    s->val = malloc(w->n * sizeof *s->val);
    s->sorted = malloc(w->n * sizeof *s->sorted);
    int ok = s->h0 && s->htry && s->val && s->sorted;
    ok = ok && (s->soft = moe_model_copy(w->m)) != NULL;
    for (size_t c = 0; ok && c < MOE_SMEM_CONTINUE; c++)
        ok = (s->best[c] = moe_model_copy(w->m)) != NULL;
    if (!ok) {
        moe_smem_free(s);
        return NULL;
    }
    return s;
}

void moe_smem_free(moe_smem_work *s)
{
    if (!s)
        return;
    for (size_t c = 0; c < MOE_SMEM_CONTINUE; c++)
        moe_model_free(s->best[c]);
    moe_model_free(s->soft);
    free(s->h0);
    free(s->htry);
    free(s->val);
    free(s->sorted);
    free(s);
}

/* Runs W's EM for at most LIMIT iterations; *T gets moe_em_test's verdict (MOE_CONTINUE when
 * stopped at LIMIT or as hopeless). With TARGET finite, stops once the log-likelihood, gaining
 * at most its last gain in each remaining iteration, could not pass TARGET. Returns
 * moe_em_iterate's status. */
static int run_em(moe_em_work *w, size_t limit, double target, int *t)
{
    *t = MOE_CONTINUE;
    double prev = w->loglik;
    while (w->iter < limit) {
        int st = moe_em_iterate(w);
        if (st != MOE_SUCCESS)
            return st;
        if ((*t = moe_em_test(w)) != MOE_CONTINUE)
            break;
        double gain = w->loglik - prev;
        prev = w->loglik;
        if (isfinite(target) && w->iter >= HOPELESS_AFTER &&
            w->loglik + gain * (double)(limit - w->iter) < target)
            break;
    }
    return MOE_SUCCESS;
}

static int by_key(const void *a, const void *b)
{
    const keyed *p = a, *q = b;
    if (p->key != q->key)
        return p->key < q->key ? -1 : 1;
    return p->row < q->row ? -1 : p->row > q->row;
}

/* The split of expert L's mass for style STYLE into SIDE (n values, 1: stays with L, 0: goes
 * to the freed slot): style 0, the rows whose y is above L's mean; style 1 + q, the rows whose
 * gate input q lies at or below L's weighted median of it. */
static void split_side(const moe_em_work *w, const moe_model *m, size_t l, size_t style,
                       moe_smem_work *s, double *side)
{
    const moe_dataset *d = w->d;
    size_t n = w->n, k = w->kmax;
    if (style == 0) {
        moe_expert_shape es = moe_model_expert_shape(m);
        m->expert->moments_rows(d, &es, moe_model_expert_block_const(m, l), 0, n, s->val,
                                NULL);
        for (size_t r = 0; r < n; r++)
            side[r] = d->y[r] > s->val[r];
        return;
    }
    size_t q = style, pz = d->nz + 1;  /* column q of the gate design is gate input q */
    double total = 0;
    for (size_t r = 0; r < n; r++) {
        s->sorted[r].key = d->z[r * pz + q];
        s->sorted[r].row = r;
        total += (d->w ? d->w[r] : 1) * s->h0[r * k + l];
    }
    qsort(s->sorted, n, sizeof *s->sorted, by_key);
    double acc = 0, median = s->sorted[n - 1].key;
    for (size_t t = 0; t < n; t++) {
        size_t r = s->sorted[t].row;
        acc += (d->w ? d->w[r] : 1) * s->h0[r * k + l];
        if (acc >= 0.5 * total) {
            median = s->sorted[t].key;
            break;
        }
    }
    for (size_t r = 0; r < n; r++)
        side[r] = d->z[r * pz + q] <= median;
}

/* Keeps W's state among the NB best short runs of S (sorted, best first). */
static void offer(moe_smem_work *s, size_t *nb, const moe_em_work *w)
{
    size_t pos = *nb;
    if (pos == MOE_SMEM_CONTINUE) {
        if (!(w->loglik > s->best_ll[pos - 1]))
            return;
        pos--;
    } else {
        (*nb)++;
    }
    moe_model *slot = s->best[pos];
    while (pos > 0 && w->loglik > s->best_ll[pos - 1]) {
        s->best[pos] = s->best[pos - 1];
        s->best_ll[pos] = s->best_ll[pos - 1];
        memcpy(s->best_move[pos], s->best_move[pos - 1], sizeof s->best_move[pos]);
        pos--;
    }
    s->best[pos] = slot;
    s->best_ll[pos] = w->loglik;
    memcpy(s->best_move[pos], s->move, sizeof s->move);
    moe_em_copy_params(slot, w->m);
}

/* Runs SHORT_ITER EM iterations from W's current start and offers the result to S's best list
 * (NB of them); ROUND counts the try. A degenerate expert only skips the try. */
static int try_short(moe_em_work *w, size_t short_iter, moe_smem_work *s, size_t *nb,
                     moe_smem_round *round)
{
    int t, st = run_em(w, short_iter, NAN, &t);
    if (st == MOE_ESING)
        return MOE_SUCCESS;
    if (st != MOE_SUCCESS)
        return st;
    round->tries++;
    if (w->k == s->kmax)
        offer(s, nb, w);
    return MOE_SUCCESS;
}

/* The COUNT largest of SCORE (N values) by index into IDX, ties to the lower index. */
static size_t top(const double *score, size_t n, size_t count, size_t *idx)
{
    size_t got = 0;
    for (; got < count && got < n; got++) {
        size_t b = n;
        for (size_t a = 0; a < n; a++) {
            int used = 0;
            for (size_t u = 0; u < got; u++)
                used |= idx[u] == a;
            if (!used && !isnan(score[a]) && (b == n || score[a] > score[b]))
                b = a;
        }
        if (b == n)
            break;
        idx[got] = b;
    }
    return got;
}

int moe_train_smem(moe_em_work *w, moe_model *m, double *ll, double tol, size_t short_iter,
                   double var_floor, double min_rows, moe_smem_work *s, moe_smem_round *round)
{
    memset(round, 0, sizeof *round);
    size_t k = w->kmax, n = w->n;
    if (k < 3 || m->k != k || m->tree_depth > 0 || !s || s->n != n || s->kmax != k)
        return MOE_SUCCESS;
    int st = moe_em_init_model(w, m);
    if (st != MOE_SUCCESS)
        return st == MOE_ENUMERIC ? st : MOE_SUCCESS;
    const moe_dataset *d = w->d;
    moe_em_unweighted_h(w, s->h0);
    size_t spur0 = moe_train_spurious(d, m, s->h0, var_floor, min_rows, 1, NULL, 0);
    /* merge pairs: correlation of the posterior columns, most alike first */
    size_t npair = k * (k - 1) / 2, pi[MOE_K_MAX * (MOE_K_MAX - 1) / 2],
           pj[MOE_K_MAX * (MOE_K_MAX - 1) / 2];
    double pscore[MOE_K_MAX * (MOE_K_MAX - 1) / 2], fit[MOE_K_MAX];
    for (size_t i = 0, p = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++, p++) {
            double hij = 0, hii = 0, hjj = 0;
            for (size_t r = 0; r < n; r++) {
                double a = s->h0[r * k + i], b = s->h0[r * k + j];
                hij += a * b;
                hii += a * a;
                hjj += b * b;
            }
            pi[p] = i;
            pj[p] = j;
            pscore[p] = hii > 0 && hjj > 0 ? hij / sqrt(hii * hjj) : NAN;
        }
    /* split candidates: negative log-density per effective row, worst first */
    moe_expert_shape es = moe_model_expert_shape(m);
    for (size_t l = 0; l < k; l++) {
        m->expert->log_density_rows(d, &es, moe_model_expert_block_const(m, l), 0, n, s->val);
        double size = 0, nll = 0;
        for (size_t r = 0; r < n; r++) {
            double h = (d->w ? d->w[r] : 1) * s->h0[r * k + l];
            size += h;
            if (h > 0)
                nll -= h * s->val[r];
        }
        fit[l] = size > 0 ? nll / size : NAN;
    }
    size_t pairs[MOE_SMEM_PAIRS], splits[MOE_K_MAX];
    size_t np = top(pscore, npair, MOE_SMEM_PAIRS, pairs);
    size_t nl = top(fit, k, k, splits);
    size_t nstyle = 1 + (d->nz < MOE_SMEM_INPUTS ? d->nz : MOE_SMEM_INPUTS), nb = 0;
    /* the fit with its gate softened: the same boundaries, less sharp, so that EM can move
     * boundaries that a saturated gate has frozen */
    s->move[0] = s->move[1] = s->move[2] = k;
    for (size_t a = 0; a < sizeof soften / sizeof *soften; a++) {
        moe_em_copy_params(s->soft, m);
        for (size_t g = 0; g < m->gp; g++)
            s->soft->gate_par[g] *= soften[a];
        st = moe_em_init_model(w, s->soft);
        if (st == MOE_SUCCESS)
            st = try_short(w, short_iter, s, &nb, round);
        if (st != MOE_SUCCESS)
            return st;
    }
    /* merge i and j into i, split l between l and j */
    double *side = s->val;  /* the split's sides (val is free again once they are drawn) */
    for (size_t a = 0; a < np; a++) {
        size_t i = pi[pairs[a]], j = pj[pairs[a]];
        for (size_t b = 0, used = 0; b < nl && used < MOE_SMEM_SPLITS; b++) {
            size_t l = splits[b];
            if (l == i || l == j)
                continue;
            used++;
            s->move[0] = i;
            s->move[1] = j;
            s->move[2] = l;
            for (size_t style = 0; style < nstyle; style++) {
                split_side(w, m, l, style, s, side);
                for (size_t r = 0; r < n; r++) {
                    const double *h0 = s->h0 + r * k;
                    double *ht = s->htry + r * k;
                    memcpy(ht, h0, k * sizeof *ht);
                    ht[i] += h0[j];
                    ht[l] = h0[l] * side[r];
                    ht[j] = h0[l] * (1 - side[r]);
                }
                st = moe_em_init_h(w, s->htry);
                if (st == MOE_SUCCESS)
                    st = try_short(w, short_iter, s, &nb, round);
                if (st != MOE_SUCCESS)
                    return st;
            }
        }
    }
    for (size_t c = 0; c < nb; c++) {
        int t;
        st = moe_em_init_model(w, s->best[c]);
        if (st == MOE_SUCCESS)
            st = run_em(w, w->par.max_iter, *ll + tol, &t);
        if (st == MOE_ESING)
            continue;
        if (st != MOE_SUCCESS)
            return st;
        if (!(w->loglik > *ll + tol) || w->k != k)
            continue;
        moe_em_unweighted_h(w, s->htry);
        if (moe_train_spurious(d, w->m, s->htry, var_floor, min_rows, 1, NULL, 0) > spur0) {
            round->refused_spurious++;
            continue;
        }
        moe_em_copy_params(m, w->m);
        *ll = w->loglik;
        round->accepted = 1;
        round->iterations = w->iter;
        round->converged = t == MOE_SUCCESS && w->converged;
        round->separated = w->separated;
        round->merge_split = s->best_move[c][2] < k;
        round->merged[0] = s->best_move[c][0];
        round->merged[1] = s->best_move[c][1];
        round->split = s->best_move[c][2];
        return MOE_SUCCESS;
    }
    return MOE_SUCCESS;
}
