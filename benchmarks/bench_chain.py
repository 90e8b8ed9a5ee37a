"""ChainRNN's training step against the same chain written as one dense masked RNN.

Usage: python benchmarks/bench_chain.py [--depths 1 5 10 20 50] [--rounds 5] [--batches 3] [--threads 1]

Modules of 15 neurons, batch 256, T = 60 steps for every depth (fixed, not the parity
curriculum's growing length, so that only the depth changes), one input channel. One
training step: forward, cross-entropy summed over the K heads (head m on module m),
backward, SGD(lr 0.4, momentum 0.2, nesterov). Policy: every module but the newest, and
every head but the newest, frozen (Hamidi's). The dense side is the same network as one
(K*M) x (K*M) leaky-ReLU RNN with per-neuron tau, all of it in autograd, frozen and absent
synapses kept by a mask on the gradients: what a plain implementation does.

Columns (ms per batch): chain: ChainRNN with forward(keep_rates=False), as a training step
that reads only the logits; dense masked, and its ratio to chain; chain, rates kept: the
same with the (T, B, K, M) rates returned; chain, all learn: nothing frozen (keep_rates=False).
Rounds alternate between the four so that a noisy machine hurts all alike; figures are
medians over rounds, after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from torch.nn import functional as F

from growsim.network.chain import ChainRNN

MODULE_SIZE = 15
N_INPUT = 1


class DenseMaskedRNN(torch.nn.Module):
    """The chain as one dense RNN; gradients masked to the synapses and neurons that learn."""

    def __init__(self, chain: ChainRNN):
        super().__init__()
        d = chain.dense_equivalent()
        k, size = chain.n_modules, chain.module_size
        learns = torch.zeros(k * size, dtype=torch.bool)  # neurons whose incoming parameters learn
        for m in range(k):
            learns[m * size : (m + 1) * size] = chain.blocks[m].w_rec.requires_grad
        head_learns = torch.tensor([h.weight.requires_grad for h in chain.heads])
        self.size, self.k = size, k
        self.negative_slope, self.h0_scale = chain.negative_slope, chain.h0_scale
        self.w_rec = torch.nn.Parameter(d["w_rec"].clone())
        self.w_in = torch.nn.Parameter(d["w_in"].clone())
        self.bias = torch.nn.Parameter(d["bias"].clone())
        self.tau = torch.nn.Parameter(d["tau"].clone())
        self.w_out = torch.nn.Parameter(d["w_out"].reshape(-1, k * size).clone())  # (2H, KM)
        self.b_out = torch.nn.Parameter(d["b_out"].reshape(-1).clone())
        rows = learns.float()
        out_mask = (d["w_out"] != 0).reshape(-1, k * size).float() * head_learns.repeat_interleave(2)[:, None]
        self._hook(self.w_rec, (d["mask"].float() * rows[:, None]))
        self._hook(self.w_in, rows[:, None])
        self._hook(self.bias, rows)
        self._hook(self.tau, rows)
        self._hook(self.w_out, out_mask)
        self._hook(self.b_out, head_learns.repeat_interleave(2).float())

    @staticmethod
    def _hook(p: torch.nn.Parameter, mask: torch.Tensor) -> None:
        p.register_hook(lambda g: g * mask)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        steps, batch, n_in = x.shape
        n = self.k * self.size
        # r(0) drawn as the chain draws it, (K, B, M), so that both sides start alike.
        r = self.h0_scale * torch.rand((self.k, batch, self.size), generator=generator)
        r = r.permute(1, 0, 2).reshape(batch, n)
        drive = torch.addmm(self.bias, x.reshape(-1, n_in), self.w_in.t()).view(steps, batch, n)
        alpha = self.tau.clamp(min=1.0).reciprocal()
        w_t = self.w_rec.t()
        for d in drive.unbind(0):
            r = torch.lerp(r, F.leaky_relu(torch.addmm(d, r, w_t), self.negative_slope), alpha)
        return torch.addmm(self.b_out, r, self.w_out.t()).view(batch, -1, 2).transpose(0, 1)  # (H, B, 2)


def make_chain(depth: int, freeze_old: bool, seed: int = 0) -> ChainRNN:
    net = ChainRNN(n_input=N_INPUT, module_size=MODULE_SIZE, rng=np.random.default_rng(seed), n_modules=depth)
    if freeze_old:
        for m in range(depth - 1):
            net.freeze(m)
            net.freeze_head(m)
    return net


def make_step(model, opt, generator, **forward_kw):
    def step(batch):
        x, y = batch
        out = model(x, generator=generator, **forward_kw)
        logits = out[0] if isinstance(out, tuple) else out
        loss = F.cross_entropy(logits.reshape(-1, 2), y.reshape(-1), reduction="sum") / x.shape[1]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.4, momentum=0.2, nesterov=True)


def time_per_batch(step, batches) -> float:
    t0 = time.perf_counter()
    for b in batches:
        step(b)
    return (time.perf_counter() - t0) / len(batches) * 1e3


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 5, 10, 20, 50])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=60, help="time steps per trial, the same at every depth")
    ap.add_argument("--batches", type=int, default=3, help="training steps per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}; modules of {MODULE_SIZE}, batch {args.batch}, "
        f"T = {args.steps} at every depth; median of {args.rounds} rounds x {args.batches} batches"
    )
    columns = [("chain", 8), ("dense masked", 13), ("dense/chain", 12), ("chain, rates kept", 18),
               ("chain, all learn", 17)]
    print(f"{'K':>4} " + " ".join(f"{name:>{width}}" for name, width in columns))
    rng = np.random.default_rng(1)
    for depth in args.depths:
        batches = [
            (torch.from_numpy(rng.integers(0, 2, (args.steps, args.batch, N_INPUT)).astype(np.float32)),
             torch.from_numpy(rng.integers(0, 2, (depth, args.batch))))
            for _ in range(args.batches)
        ]
        chain = make_chain(depth, freeze_old=True)
        dense = DenseMaskedRNN(chain)
        free = make_chain(depth, freeze_old=False)
        # The two sides compute the same thing: check it once before timing.
        with torch.no_grad():
            a = chain(batches[0][0], generator=torch.Generator().manual_seed(0))[0]
            b = dense(batches[0][0], generator=torch.Generator().manual_seed(0))
        err = (a - b).abs().max().item()
        if err > 1e-4:
            raise AssertionError(f"dense and chain logits differ by {err}")
        kept = make_chain(depth, freeze_old=True)
        steps = {
            "chain": make_step(chain, sgd(chain), torch.Generator().manual_seed(2), keep_rates=False),
            "dense": make_step(dense, sgd(dense), torch.Generator().manual_seed(2)),
            "kept": make_step(kept, sgd(kept), torch.Generator().manual_seed(2)),
            "free": make_step(free, sgd(free), torch.Generator().manual_seed(2), keep_rates=False),
        }
        for step in steps.values():  # warm up
            time_per_batch(step, batches[:2])
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                times[name].append(time_per_batch(step, batches))
        c, d, k, f = (statistics.median(times[n]) for n in ("chain", "dense", "kept", "free"))
        print(f"{depth:4d} {c:8.1f} {d:13.1f} {d / c:12.2f} {k:18.1f} {f:17.1f}", flush=True)


if __name__ == "__main__":
    main()
