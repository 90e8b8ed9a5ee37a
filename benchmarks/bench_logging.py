"""What HDF5 logging costs a run on a full logging schedule, against the same run with no loggers.

Usage: python benchmarks/bench_logging.py [--batches 200] [--every 50] [--rounds 3] [--eval-batch 64] [--threads 1]

One small Wu & Gu-like run, built through the public API as `growsim run` builds it
(load_spec_text, prepare, build_engine, engine.run): 84 neurons at random points, random
wiring, 800 synapses at the start and 10 more every 50 batches, Yang's 20 tasks, batch 64.
Every `--every` batches the engine evaluates the network (`--eval-batch` test trials per
task), and, on the full schedule, the HDF5 file gets the metrics, a snapshot of the
weights and a checkpoint of the whole state, committed by copying and renaming the file.

Variants (ms per training batch, the whole engine.run() divided by the batches):
  no loggers, no Q:        loggers=[] and log.modularity none: training and evaluation only
  no loggers, spectral Q:  loggers=[]; the engine still computes Q at every log step
  HDF5, no Q:              an HDF5Logger on the full schedule, log.modularity none
  HDF5, spectral Q:        the same with Q (the default spec): the full logging cost
  HDF5 in place, spectral Q: the full run with atomic=False (no copy of the file per commit)
Each ratio is to the run with no loggers and the same Q setting; "extra per log step" is
the difference spread over the log steps. On a loaded machine whole runs vary by more
than logging costs, so two direct measurements, taken within the same runs, come with
them: "in the logger", the time spent inside the HDF5Logger's calls (a wrapper times
each call: start, metrics, snapshots, checkpoints, commits, close), and the time of one
spectral Q of the final abs(W_rec), the call the engine makes at every log step. Rounds
alternate between the variants (each a fresh build of the same seeded run) so that a
noisy machine hurts all alike; figures are medians over rounds, after one warm-up run.
One torch thread by default: on a machine whose cores other processes keep busy, torch's
own thread pool can be many times slower than one thread (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from growsim.build import build_engine, prepare
from growsim.log.hdf5 import HDF5Logger
from growsim.metrics import communities
from growsim.spec import load_spec_text

SPEC = """
seed: 0
network:
  geometry: {{kind: random_points, n: {n}, dim: 3}}
wiring: {{rule: random}}
growth:
  initial_connections: {conn}
  events:
    - {{op: add_connections, every: {grow_every}, count: 10}}
task: {{tasks: all, n_eachring: 32}}
train: {{batches: {batches}, batch_size: {batch}}}
log:
  every: {every}
  eval_batch_size: {eval_batch}
  modularity: {modularity}
  snapshots: true
  snapshot_every: {every}
  checkpoint_every: {every}
  compression: {compression}
  progress: false
"""

# name, log.modularity, HDF5Logger's atomic (None: no logger)
VARIANTS = [
    ("no loggers, no Q", "none", None),
    ("no loggers, spectral Q", "spectral", None),
    ("HDF5, no Q", "none", True),
    ("HDF5, spectral Q", "spectral", True),
    ("HDF5 in place, spectral Q", "spectral", False),
]


def spec_text(args, modularity: str) -> str:
    return SPEC.format(
        n=args.n, conn=args.conn, grow_every=args.grow_every, batches=args.batches, batch=args.batch,
        every=args.every, eval_batch=args.eval_batch, modularity=modularity, compression=args.compression,
    )


class TimedLogger:
    """Passes every call on to a logger and adds up the seconds spent inside it."""

    def __init__(self, inner):
        self.inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str):
        target = getattr(self.inner, name)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return target(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        return timed


def run_once(args, modularity: str, atomic: bool | None, out: Path) -> tuple[float, float, np.ndarray]:
    """Build the run afresh and train it to the end: the seconds engine.run() took, the
    seconds of those spent inside the HDF5 logger, and the final abs(W_rec)."""
    loaded = load_spec_text(spec_text(args, modularity))
    prepared = prepare(loaded)
    logger = None
    if atomic is not None:
        logger = TimedLogger(HDF5Logger(out, compression=args.compression, overwrite=True, atomic=atomic))
    engine = build_engine(prepared, [] if logger is None else [logger])
    t0 = time.perf_counter()
    status = engine.run()
    elapsed = time.perf_counter() - t0
    if status != "completed":
        raise RuntimeError(f"the run ended {status}")
    w = np.abs(engine.network.w_rec.detach().cpu().numpy().astype(np.float64))
    return elapsed, 0.0 if logger is None else logger.seconds, w


def q_seconds(w: np.ndarray, rounds: int) -> float:
    """Seconds per call of the engine's Q (spectral communities of abs(W_rec)), median."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        communities(w, method="spectral")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def describe_file(path: Path) -> str:
    with h5py.File(path, "r") as f:
        logs = f["series/step"].shape[0]
        snaps = len(f["snapshots"])
        has_ckpt = "checkpoint" in f
        has_q = "modularity_q" in f["series"]
    return (f"{path.stat().st_size / 1e6:.2f} MB, {logs} log steps, {snaps} snapshots, "
            f"checkpoint {'yes' if has_ckpt else 'no'}, Q {'yes' if has_q else 'no'}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=84, help="neurons")
    ap.add_argument("--conn", type=int, default=800, help="synapses at the start")
    ap.add_argument("--grow-every", type=int, default=50, help="batches between growth events (10 synapses each)")
    ap.add_argument("--batches", type=int, default=200, help="training batches per run")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--every", type=int, default=50, help="log.every, and the snapshot and checkpoint period")
    ap.add_argument("--eval-batch", type=int, default=64, help="log.eval_batch_size (test trials per task)")
    ap.add_argument("--compression", type=int, default=4, help="gzip level of the HDF5 arrays")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's choice)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    n_logs = args.batches // args.every + 1 + (args.batches % args.every != 0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version})\n"
        f"{args.n} neurons, {args.conn} synapses + 10 every {args.grow_every} batches, batch {args.batch}, "
        f"{args.batches} batches; every {args.every} batches ({n_logs} log steps): evaluation "
        f"({args.eval_batch} trials x 20 tasks), and with HDF5 metrics, snapshot, checkpoint, commit "
        f"(gzip {args.compression}); median of {args.rounds} rounds"
    )
    with tempfile.TemporaryDirectory(prefix="growsim-bench-") as tmp:
        files = {name: Path(tmp) / f"run{i}.h5" for i, (name, _, _) in enumerate(VARIANTS)}
        run_once(args, "spectral", True, files["HDF5, spectral Q"])  # warm up: every code path once
        times: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
        inside: dict[str, list[float]] = {name: [] for name, _, _ in VARIANTS}
        for _ in range(args.rounds):
            for name, modularity, atomic in VARIANTS:
                elapsed, logging, w = run_once(args, modularity, atomic, files[name])
                times[name].append(elapsed)
                inside[name].append(logging)
        print(f"file on the full schedule: {describe_file(files['HDF5, spectral Q'])}")
    q_ms = q_seconds(w, 5 * args.rounds) * 1e3
    med = {name: statistics.median(ts) / args.batches * 1e3 for name, ts in times.items()}
    base = {"none": med["no loggers, no Q"], "spectral": med["no loggers, spectral Q"]}
    print(f"{'variant':<27} {'ms/batch':>9} {'ratio':>6} {'extra per log step':>19} {'in the logger':>14}")
    for name, modularity, atomic in VARIANTS:
        ref = base["none"] if atomic is None else base[modularity]
        extra = (med[name] - ref) * args.batches / n_logs
        extra_text = "" if name == "no loggers, no Q" else f"{extra:+.1f} ms"
        ratio_text = "" if atomic is None else f"{med[name] / ref:.3f}"
        logger_ms = statistics.median(inside[name]) / args.batches * 1e3
        logger_text = "" if atomic is None else f"{logger_ms:.2f} ms/batch"
        print(f"{name:<27} {med[name]:9.2f} {ratio_text:>6} {extra_text:>19} {logger_text:>14}")
    print("(ratio and extra: against no loggers with the same Q setting, whole runs; in the logger: "
          "time inside HDF5Logger's calls, measured within each run)")
    full = statistics.median(inside["HDF5, spectral Q"]) / args.batches * 1e3
    in_place = statistics.median(inside["HDF5 in place, spectral Q"]) / args.batches * 1e3
    print(
        f"overhead of HDF5 logging, whole runs (with / without, both with Q): "
        f"{med['HDF5, spectral Q'] / base['spectral']:.3f}; "
        f"measured inside the logger: {full / base['spectral']:.1%} of a batch's time "
        f"({full * args.batches / n_logs:.1f} ms per log step; in place: {in_place * args.batches / n_logs:.1f} ms)\n"
        f"spectral Q of the final abs(W_rec): {q_ms:.1f} ms per call, {q_ms * n_logs / args.batches / base['none']:.1%} "
        f"of a batch's time at one call per {args.every} batches; whole runs, Q / no Q without loggers: "
        f"{base['spectral'] / base['none']:.3f}"
    )

if __name__ == "__main__":
    main()
