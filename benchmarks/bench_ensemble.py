"""A stacked ensemble of seeds against the same members trained one after another.

Usage: python benchmarks/bench_ensemble.py [--members 1 10 30] [--neurons 84] [--batches 4] [--rounds 3]

Each member is a whole growsim run of the same spec and its own seed (84 neurons, 25% of
recurrent synapses present, Yang's 20 tasks, batch 64, Adam, clipping by value): the
sequential side calls each member's `Engine.train_step` in turn, as separate runs would;
the stacked side calls `Ensemble.train_step` once for all of them. Both sides draw real
task batches from each member's own stream (trial lengths differ between members, so the
stacked side pays for padding to the longest). Rounds alternate between the sides; the
ratio is of medians. `--device cuda` measures on a GPU when there is one.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from growsim.build import build_engine, member_specs, prepare
from growsim.ensemble import Ensemble
from growsim.spec import load_spec_text

SPEC = """
seed: {{count: {members}}}
network:
  geometry: {{kind: random_points, n: {n}, dim: 3}}
wiring: {{rule: random}}
growth: {{initial_connections: {conn}}}
task: {{tasks: all, n_eachring: 32}}
train: {{batches: 1000, batch_size: {batch}, device: {device}}}
log: {{progress: false, snapshots: false, modularity: none}}
"""


def build(members: int, n: int, batch: int, device: str):
    loaded = load_spec_text(SPEC.format(members=members, n=n, conn=n * (n - 1) // 4, batch=batch, device=device))
    engines = [build_engine(prepare(m), []) for m in member_specs(loaded)]
    for e in engines:
        e.grow(loaded.spec.growth.initial_connections)
    return engines


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def sequential(engines, batches: int, device: str) -> float:
    """ms per batch of every member, the members one after another."""
    t0 = time.perf_counter()
    for e in engines:
        for _ in range(batches):
            e.train_step(e.objective.sample(e.task_rng, e.cfg.batch_size))
    sync(device)
    return (time.perf_counter() - t0) / batches * 1e3


def stacked(ensemble: Ensemble, batches: int, device: str) -> float:
    """ms per batch of every member, as one stacked model."""
    members = ensemble.engines
    t0 = time.perf_counter()
    for _ in range(batches):
        ensemble.train_step(members, [e.objective.sample(e.task_rng, e.cfg.batch_size) for e in members])
    sync(device)
    return (time.perf_counter() - t0) / batches * 1e3


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, nargs="+", default=[1, 10, 30])
    ap.add_argument("--neurons", type=int, nargs="+", default=[84])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=4, help="training batches per member per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads() if not args.threads else args.threads} threads, "
        f"{os.cpu_count()} CPUs, python {platform.python_version()}, device {args.device}; batch {args.batch}"
    )
    for n in args.neurons:
        for members in args.members:
            engines = build(members, n, args.batch, args.device)
            if args.threads:  # build_engine applies the spec's threads; the command line wins
                torch.set_num_threads(args.threads)
            ensemble = Ensemble(engines)
            sequential(engines, 1, args.device)  # warm up both sides
            stacked(ensemble, 1, args.device)
            seq, stk = [], []
            for _ in range(args.rounds):
                seq.append(sequential(engines, args.batches, args.device))
                stk.append(stacked(ensemble, args.batches, args.device))
            s, k = statistics.median(seq), statistics.median(stk)
            print(
                f"N={n:4d}, {members:3d} members: one after another {s:8.1f} ms per batch of all, "
                f"stacked {k:8.1f} ms, speed-up {s / k:5.2f}x ({k / members:6.2f} ms per member-batch)"
            )


if __name__ == "__main__":
    main()
