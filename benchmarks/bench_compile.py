"""torch.compile on the recurrent step, against the eager step growsim runs.

Usage: python benchmarks/bench_compile.py [--neurons 84] [--steps 110] [--rounds 5]

The forward and backward of one trial batch of the leaky RNN's recurrence (64 trials,
`--steps` time steps, relu, alpha 0.2), eager against `torch.compile` of the one-step
function (the unit a variable trial length allows without recompiling for every length).
Prints the compile time and the ratio of medians. growsim has no compile switch because
this ratio is above 1 on the CPUs measured (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def step(h: torch.Tensor, drive: torch.Tensor, w_t: torch.Tensor) -> torch.Tensor:
    return torch.lerp(h, torch.relu(torch.addmm(drive, h, w_t)), 0.2)


def trial(fn, w: torch.Tensor, drives: torch.Tensor) -> None:
    h = drives.new_zeros(drives.shape[1:])
    w_t = w.t()
    rates = []
    for d in drives.unbind(0):
        h = fn(h, d, w_t)
        rates.append(h)
    torch.stack(rates).square().mean().backward()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=84)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=110)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    w = (0.1 * torch.randn(args.neurons, args.neurons, generator=gen)).requires_grad_()
    drives = torch.randn(args.steps, args.batch, args.neurons, generator=gen)
    compiled = torch.compile(step)
    t0 = time.perf_counter()
    trial(compiled, w, drives)
    first = time.perf_counter() - t0
    trial(step, w, drives)
    eager_ms, compiled_ms = [], []
    for _ in range(args.rounds):
        for fn, out in ((step, eager_ms), (compiled, compiled_ms)):
            t0 = time.perf_counter()
            trial(fn, w, drives)
            out.append((time.perf_counter() - t0) * 1e3)
    e, c = statistics.median(eager_ms), statistics.median(compiled_ms)
    print(
        f"N={args.neurons}, batch {args.batch}, {args.steps} steps, {args.threads} thread(s): eager {e:.1f} ms, "
        f"compiled {c:.1f} ms per trial batch (forward + backward), compiled / eager {c / e:.2f}; "
        f"first compiled call {first:.1f} s"
    )


if __name__ == "__main__":
    main()
