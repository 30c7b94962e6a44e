#!/usr/bin/python3
# bench_gd.py: the PyTorch reference for bench/bench_gd: seconds per gradient-descent epoch
# (nll loss, Adam, lr 0.01) of the softmax-gated mixture of K = 4 Gaussian experts on D = 5
# inputs (linear experts, or with --family mlp:H one-hidden-layer tanh MLPs with a learned
# sigma each), N = 1e5 and 1e6 simulated rows (1e4 and 1e5 with --small), full batch and batch
# 256, on torch.get_num_threads() threads (OMP_NUM_THREADS). An epoch is a shuffled pass over
# the rows in batches (the whole data at full batch): forward, the loss
# -mean log sum_i g_i N(y; mu_i, s_i^2) by logsumexp, backward, the Adam step. Printed like
# bench_gd: s/epoch (the smallest mean of --repeat timings of E epochs after a warm-up) and
# cpu s/epoch (process CPU time, all threads). Run with /usr/bin/python3 (Debian's
# python3-torch), OMP_WAIT_POLICY=PASSIVE and ATEN_CPU_CAPABILITY=avx512, which make torch
# fastest here:
#   bench/bench_gd.py [--epochs E] [--repeat R] [--small] [--n N] [--batch B] [--family F]
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
import argparse
import math
import time

import torch

D, K = 5, 4


class Mixture(torch.nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden
        self.gate = torch.nn.Linear(D, K, dtype=torch.float64)
        if hidden:
            self.w1 = torch.nn.Parameter(torch.randn(K, D, hidden, dtype=torch.float64) * 0.5)
            self.b1 = torch.nn.Parameter(torch.zeros(K, hidden, dtype=torch.float64))
            self.w2 = torch.nn.Parameter(torch.randn(K, hidden, dtype=torch.float64) * 0.5)
            self.b2 = torch.nn.Parameter(torch.zeros(K, dtype=torch.float64))
        else:
            self.beta = torch.nn.Linear(D, K, dtype=torch.float64)
        self.log_sigma = torch.nn.Parameter(torch.zeros(K, dtype=torch.float64))

    def loss(self, x, y):
        logg = torch.log_softmax(self.gate(x), dim=1)
        if self.hidden:
            a = torch.tanh(torch.einsum("nd,kdh->nkh", x, self.w1) + self.b1)
            mu = torch.einsum("nkh,kh->nk", a, self.w2) + self.b2
        else:
            mu = self.beta(x)
        s = self.log_sigma.exp()
        logf = -0.5 * ((y[:, None] - mu) / s) ** 2 - self.log_sigma - 0.5 * math.log(2 * math.pi)
        return -torch.logsumexp(logg + logf, dim=1).mean()


def simulate(n, gen):
    x = torch.randn(n, D, generator=gen, dtype=torch.float64)
    wg = torch.randn(D, K, generator=gen, dtype=torch.float64) * 2
    beta = torch.randn(D, K, generator=gen, dtype=torch.float64)
    regime = torch.multinomial(torch.softmax(x @ wg, dim=1), 1, generator=gen)[:, 0]
    y = (x @ beta).gather(1, regime[:, None])[:, 0]
    return x, y + 0.5 * torch.randn(n, generator=gen, dtype=torch.float64)


def epoch(model, opt, x, y, batch, gen):
    n = x.shape[0]
    if batch == 0:
        opt.zero_grad(set_to_none=True)
        model.loss(x, y).backward()
        opt.step()
        return
    perm = torch.randperm(n, generator=gen)
    for s in range(0, n, batch):
        idx = perm[s:s + batch]
        opt.zero_grad(set_to_none=True)
        model.loss(x[idx], y[idx]).backward()
        opt.step()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--batch", type=int, default=-1)
    ap.add_argument("--family", default="gaussian")
    a = ap.parse_args()
    hidden = int(a.family.split(":")[1]) if a.family.startswith("mlp") else 0
    sizes = [a.n] if a.n else ([10 ** 4, 10 ** 5] if a.small else [10 ** 5, 10 ** 6])
    batches = [a.batch] if a.batch >= 0 else [0, 256]
    print("bench_gd.py: torch %s, nll loss, Adam, K = %d %s experts, D = %d, %d thread%s"
          % (torch.__version__, K, a.family, D, torch.get_num_threads(),
             "" if torch.get_num_threads() == 1 else "s"))
    print("%10s %8s %14s %14s %14s" % ("N", "batch", "s/epoch", "rows/s", "cpu s/epoch"))
    for n in sizes:
        gen = torch.Generator().manual_seed(1)
        x, y = simulate(n, gen)
        for batch in batches:
            epochs = a.epochs or (3 if batch == 0 else 1)
            best = cpu_best = float("inf")
            for _ in range(a.repeat):
                torch.manual_seed(1)
                model = Mixture(hidden)
                opt = torch.optim.Adam(model.parameters(), lr=0.01)
                epoch(model, opt, x, y, batch, gen)   # warm-up
                t0, c0 = time.perf_counter(), time.process_time()
                for _ in range(epochs):
                    epoch(model, opt, x, y, batch, gen)
                best = min(best, (time.perf_counter() - t0) / epochs)
                cpu_best = min(cpu_best, (time.process_time() - c0) / epochs)
            print("%10d %8d %14.5f %14.4g %14.5f" % (n, batch, best, n / best, cpu_best))


if __name__ == "__main__":
    main()
