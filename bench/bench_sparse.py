#!/usr/bin/python3
# bench_sparse.py: the PyTorch reference for bench/bench_sparse: the same float32 sparse layer
# (noisy top-k routing with Shazeer's importance and load losses, d -> h -> d ReLU MLP experts,
# only the chosen experts evaluated, the usual gather / index_add_ dispatch), timed forward +
# backward per call. Prints "tokens_per_s N" (the best of --repeat calls after a warm-up).
# Run with /usr/bin/python3 (Debian's python3-torch), OMP_WAIT_POLICY=PASSIVE and
# ATEN_CPU_CAPABILITY=avx512, which make torch fastest on this machine:
#   bench/bench_sparse.py --shape T,d,h,E,k [--repeat R] [--threads N]
# Copyright (C) 2026 the moefit developers; GPL-3.0-or-later (see COPYING).
import argparse
import time

import torch


def cv2(v):
    return v.var(unbiased=False) / (v.mean() ** 2 + 1e-10)


class SparseLayer(torch.nn.Module):
    def __init__(self, d, h, e, k):
        super().__init__()
        self.k = k
        self.e = e
        self.w_g = torch.nn.Parameter(torch.randn(d, e) * 0.1)
        self.w_noise = torch.nn.Parameter(torch.zeros(d, e))
        # one Parameter per expert: slicing one (E, d, h) Parameter as w1[e] makes autograd's
        # SelectBackward fill and add a whole (E, d, h) zero gradient per expert, which took 95%
        # of the (4096,512,2048,32,4) shape's time (torch.autograd.profiler, 2026-12-02)
        P = torch.nn.Parameter
        self.w1 = torch.nn.ParameterList(
            [P(torch.rand(d, h) * 2 / d ** 0.5 - 1 / d ** 0.5) for _ in range(e)])
        self.b1 = torch.nn.ParameterList([P(torch.zeros(h)) for _ in range(e)])
        self.w2 = torch.nn.ParameterList(
            [P(torch.rand(h, d) * 2 / h ** 0.5 - 1 / h ** 0.5) for _ in range(e)])
        self.b2 = torch.nn.ParameterList([P(torch.zeros(d)) for _ in range(e)])

    def forward(self, x):
        clean = x @ self.w_g
        scale = torch.nn.functional.softplus(x @ self.w_noise) + 1e-2
        noisy = clean + torch.randn_like(clean) * scale
        top, idx = noisy.topk(min(self.k + 1, self.e), dim=1)
        gates = torch.softmax(top[:, :self.k], dim=1)
        # load: Phi((clean - threshold) / scale), threshold from the top k + 1
        normal = torch.distributions.Normal(0.0, 1.0)
        thr_in = top[:, self.k:self.k + 1]
        thr_out = top[:, self.k - 1:self.k]
        is_in = torch.zeros_like(noisy, dtype=torch.bool).scatter_(1, idx[:, :self.k], True)
        p = normal.cdf((clean - torch.where(is_in, thr_in, thr_out)) / scale)
        full = torch.zeros_like(noisy).scatter(1, idx[:, :self.k], gates)
        aux = 0.1 * cv2(full.sum(0)) + 0.1 * cv2(p.sum(0))
        y = torch.zeros_like(x)
        flat_idx = idx[:, :self.k]
        for e in range(self.e):
            tok, slot = (flat_idx == e).nonzero(as_tuple=True)
            if tok.numel() == 0:
                continue
            xe = x.index_select(0, tok)
            he = torch.relu(torch.addmm(self.b1[e], xe, self.w1[e]))
            oe = torch.addmm(self.b2[e], he, self.w2[e])
            y.index_add_(0, tok, oe * gates[tok, slot].unsqueeze(1))
        return y, aux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="16384,128,512,16,2")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    t, d, h, e, k = (int(v) for v in a.shape.split(","))
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    layer = SparseLayer(d, h, e, k)
    x = torch.rand(t, d) - 0.5
    dy = x * 0.01
    best = float("inf")
    for r in range(a.repeat + 1):
        t0 = time.perf_counter()
        layer.zero_grad(set_to_none=True)
        y, aux = layer(x)
        ((y * dy).sum() + aux).backward()
        dt = time.perf_counter() - t0
        if r > 0:
            best = min(best, dt)
    print("tokens_per_s %.0f" % (t / best))


if __name__ == "__main__":
    main()
