"""A stacked ensemble of seeds against the same members trained one after another.

Usage: python benchmarks/bench_ensemble.py [--members 1 10 30] [--neurons 84] [--batches 4] [--rounds 3]

Each member is a whole growsim run of the same spec and its own seed (84 neurons, 25% of
recurrent synapses present, Yang's 20 tasks, batch 64, Adam, clipping by value). Three
sides, all drawing real task batches from each member's own stream (trial lengths differ
between members, so stacking pays for padding to the longest):

- one after another: each member's `Engine.train_step` in turn, as separate runs made one
  after another would, with torch's threads (`--threads`);
- side by side: the same, the members shared out over one thread per core, each with one
  torch thread, in this process (on a CPU only);
- separate processes: the same members shared out over one process per core, each with
  one torch thread, started together: separate runs two at a time (on a CPU only; each
  process builds its members before the clock starts);
- stacked: `Ensemble.train_step` once for all of them (on a CPU, groups of stacked
  members on one worker thread per core).

Rounds alternate between the sides; ratios are of medians. `--device cuda` measures on a
GPU when there is one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import platform
import statistics
import time

import torch

from growsim.build import build_engine, member_specs, prepare
from growsim.train.ensemble import Ensemble
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


def side_by_side(engines, batches: int, pool: concurrent.futures.ThreadPoolExecutor, workers: int) -> float:
    """ms per batch of every member, the members shared out over `workers` single-threaded workers."""

    def run(share):
        for e in share:
            for _ in range(batches):
                e.train_step(e.objective.sample(e.task_rng, e.cfg.batch_size))

    t0 = time.perf_counter()
    for f in [pool.submit(run, engines[k::workers]) for k in range(workers)]:
        f.result()
    return (time.perf_counter() - t0) / batches * 1e3


def _process_share(members: int, n: int, batch: int, share: int, workers: int, batches: int, rounds: int, barrier, out):
    torch.set_num_threads(1)
    engines = build(members, n, batch, "cpu")[share::workers]
    sequential(engines, 1, "cpu")  # warm up
    times = []
    for _ in range(rounds):
        barrier.wait()  # every process starts each round together
        times.append(sequential(engines, batches, "cpu"))
    out.put(times)


def separate_processes(members: int, n: int, batch: int, workers: int, batches: int, rounds: int) -> list[float]:
    """ms per batch of every member, per round: the members shared out over `workers` processes."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_process_share, args=(members, n, batch, k, workers, batches, rounds, barrier, out))
        for k in range(workers)
    ]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    # A round of all members lasts as long as its slowest process.
    return [max(r[i] for r in results) for i in range(rounds)]


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
    cpu = args.device == "cpu"
    for n in args.neurons:
        for members in args.members:
            engines = build(members, n, args.batch, args.device)
            if args.threads:  # build_engine applies the spec's threads; the command line wins
                torch.set_num_threads(args.threads)
            ensemble = Ensemble(engines)
            workers = ensemble.workers
            pool = concurrent.futures.ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,))
            sequential(engines, 1, args.device)  # warm up every side
            stacked(ensemble, 1, args.device)
            seq, side, stk = [], [], []
            for _ in range(args.rounds):
                seq.append(sequential(engines, args.batches, args.device))
                if cpu:
                    side.append(side_by_side(engines, args.batches, pool, workers))
                stk.append(stacked(ensemble, args.batches, args.device))
            ensemble.shutdown()
            pool.shutdown()
            s, k = statistics.median(seq), statistics.median(stk)
            line = (
                f"N={n}, {members} members, ms per batch of all: one after another {s:.1f}, together {k:.1f} "
                f"({k / members:.2f} per member); together's speed-up over one after another {s / k:.2f}x"
            )
            if cpu:
                b = statistics.median(side)
                line += f", over side by side on {workers} workers ({b:.1f}) {b / k:.2f}x"
                if workers > 1:
                    proc = statistics.median(separate_processes(members, n, args.batch, workers, args.batches, args.rounds))
                    line += f", over {workers} separate processes ({proc:.1f}) {proc / k:.2f}x"
            print(line)

if __name__ == "__main__":
    main()
