"""growsim's training step against a plain hand-written PyTorch loop of the same model.

Usage: python benchmarks/bench_train_step.py [--sizes 84 256] [--steps 100] [--rounds 5]

Both sides train the same leaky RNN (relu, alpha 0.2, noise on, 25% of recurrent
synapses present, Adam, gradients clipped to [-1, 1], Yang's masked squared error) on
the same task batches (batch 64, T = 100 steps by default). The plain loop is what a
careful user writes by hand: the mask applied once per forward, the input projection
precomputed, `unbind` over time. Rounds alternate between the two so that a noisy
machine hurts both alike; the ratio is of medians.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np
import torch

from growsim.train.engine import Engine
from growsim.spec import load_spec_text
from growsim.tasks import Piecewise, TrialBatch

SPEC = """
seed: 0
network:
  geometry: {{kind: random_points, n: {n}, dim: 3}}
wiring: {{rule: random}}
growth: {{initial_connections: {conn}}}
task: {{tasks: all, n_eachring: 32}}
train: {{batches: 1, batch_size: {batch}}}
log: {{progress: false, snapshots: false, modularity: none}}
"""


def build_growsim(n: int, batch: int) -> Engine:
    from growsim.build import build_engine, prepare

    loaded = load_spec_text(SPEC.format(n=n, conn=n * (n - 1) // 4, batch=batch))
    engine = build_engine(prepare(loaded), [])
    engine.grow(loaded.spec.growth.initial_connections)
    return engine


class PlainRNN(torch.nn.Module):
    """The same model, written directly."""

    def __init__(self, engine: Engine):
        super().__init__()
        net = engine.network
        self.w_in = torch.nn.Parameter(net.w_in.detach().clone())
        self.w_rec = torch.nn.Parameter(net.w_rec.detach().clone())
        self.b = torch.nn.Parameter(net.b_rec.detach().clone())
        self.w_out = torch.nn.Parameter(net.w_out.detach().clone())
        self.b_out = torch.nn.Parameter(net.b_out.detach().clone())
        self.register_buffer("mask", net.mask.detach().clone())
        self.alpha = net.alpha
        self.sigma_rec = net.sigma_rec * math.sqrt(2 / net.alpha)
        self.sigma_x = net.sigma_x * math.sqrt(2 / net.alpha)

    def forward(self, x):
        steps, batch, n_in = x.shape
        x = x + self.sigma_x * torch.randn_like(x)
        drive = (x.reshape(-1, n_in) @ self.w_in.t() + self.b).view(steps, batch, -1)
        drive = drive + self.sigma_rec * torch.randn_like(drive)
        w = (self.w_rec * self.mask).t()
        h = x.new_zeros(batch, w.shape[0])
        hs = []
        for d in drive.unbind(0):
            h = (1 - self.alpha) * h + self.alpha * torch.relu(d + h @ w)
            hs.append(h)
        return torch.stack(hs) @ self.w_out.t() + self.b_out


def plain_step(model, opt, x, y, c_mask):
    out = model(x)
    loss = ((torch.sigmoid(out) - y) * c_mask).square().mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)
    opt.step()
    return loss.detach()


def fixed_length_batches(engine: Engine, count: int, batch: int, steps: int):
    """Task batches cut or padded (by repeating the last step) to exactly `steps` steps."""
    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        b = engine.objective.suite.sample(rng, batch)
        idx = np.minimum(np.arange(steps), b.n_steps - 1)
        pieces = {name: Piecewise(p.table, p.index[idx]) for name, p in b.pieces.items()}
        out.append(TrialBatch(b.task, pieces, b.epochs, b.info))
    return out


def time_per_step(fn, batches) -> float:
    t0 = time.perf_counter()
    for b in batches:
        fn(b)
    return (time.perf_counter() - t0) / len(batches) * 1e3


def dense_gflops(size: int = 1024, repeats: int = 10, tries: int = 5, rows: int | None = None) -> float:
    """Dense float32 matmul throughput, (rows x size) @ (size x size): the best of several timings."""
    rows = rows or size
    a, b = torch.randn(rows, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    best = math.inf
    for _ in range(tries):
        t0 = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * rows * size * size * repeats / best / 1e9


def step_flops(n: int, n_in: int, n_out: int, steps: int, batch: int) -> float:
    """Matmul FLOPs of one training step (forward and backward, about 3x the forward)."""
    forward = 2 * steps * batch * (n * n + n * n_in + n * n_out)
    return 3 * forward


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[84, 256])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=100, help="time steps per trial")
    ap.add_argument("--batches", type=int, default=30, help="training steps per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}; batch {args.batch}, {args.steps} steps per trial"
    )
    peak = dense_gflops()
    print(f"dense matmul (1024x1024 float32): {peak:.1f} GFLOP/s")
    for n in args.sizes:
        engine = build_growsim(n, args.batch)
        batches = fixed_length_batches(engine, args.batches, args.batch, args.steps)
        plain = PlainRNN(engine)
        opt = torch.optim.Adam(plain.parameters(), lr=1e-3)

        def t_plain(b, plain=plain, opt=opt):
            plain_step(plain, opt, torch.from_numpy(b.x), torch.from_numpy(b.y), torch.from_numpy(b.c_mask))

        def t_growsim(b, engine=engine):
            engine.train_step(b)

        for fn in (t_plain, t_growsim):  # warm up
            time_per_step(fn, batches[:3])
        ours, theirs = [], []
        for _ in range(args.rounds):
            theirs.append(time_per_step(t_plain, batches))
            ours.append(time_per_step(t_growsim, batches))
        g, p = statistics.median(ours), statistics.median(theirs)
        flops = step_flops(n, engine.objective.n_input, engine.objective.n_output, args.steps, args.batch)
        small = dense_gflops(n, repeats=2000, rows=args.batch)
        rate = flops / (g * 1e-3) / 1e9
        print(
            f"N={n:4d}: growsim {g:7.2f} ms/step, plain loop {p:7.2f} ms/step, ratio {g / p:.3f} (goal <= 1.05)\n"
            f"        growsim reaches {rate:.1f} GFLOP/s: {rate / peak:.0%} of large dense matmul, "
            f"{rate / small:.0%} of the recurrent step's own matmul shape ({args.batch}x{n} @ {n}x{n}: {small:.1f} GFLOP/s)"
        )


if __name__ == "__main__":
    main()
