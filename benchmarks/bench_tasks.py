"""Time growsim's Yang-task and Mod-Cog batches, and neurogym's yang19 collection if it is installed.

Usage: python benchmarks/bench_tasks.py [--batch-size 64] [--n-batches 2000]

Prints the mean wall time (ms) per batch of ``--batch-size`` trials for the
20-task mixture (with the dense inputs, targets and cost mask made, as neurogym makes
them; and as the few rows per array that a batch is made of, which is what crosses to a
device, with the bytes of each) and for each task; then the 82-task Mod-Cog mixture (dense
arrays, on Mod-Cog's 16-unit rings: --modcog-ring) and its ratio to the Yang
mixture measured in the same run. If ``neurogym`` imports, it also times, in
the same run and with the same dt and ring size, (a) ``--batch-size`` calls of
``new_trial()`` on an env drawn from neurogym's yang19 collection per batch, and
(b) one batch from ``neurogym.Dataset`` over the scheduled collection with
seq_len = growsim's mean T, then prints the ratios to growsim's mixture time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from growsim.tasks import TASK_NAMES, ModCogSuite, YangSuite


def _mean_ms(fn, n: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e3


def bench_growsim(args) -> tuple[float, dict[str, float], float]:
    suite = YangSuite(n_eachring=args.n_eachring, dt_ms=args.dt)
    rng = np.random.default_rng(args.seed)
    lengths: list[int] = []
    piece_bytes: list[int] = []
    dense_bytes: list[int] = []
    # Keep the previous batch alive while the next is made, as a training loop does.
    held = [None]

    def mixture():  # the dense arrays a CPU run trains on
        b = held[0] = suite.sample(rng, args.batch_size)
        lengths.append(b.x.shape[0])
        dense_bytes.append(b.x.nbytes + b.y.nbytes + b.c_mask.nbytes)

    def pieces():  # what a GPU run copies to the device
        b = held[0] = suite.sample(rng, args.batch_size)
        piece_bytes.append(sum(b.pieces[k].table.nbytes + b.pieces[k].index.nbytes for k in ("x", "y", "c_mask")))

    mix_ms = _mean_ms(mixture, args.n_batches, warmup=50)
    pieces_ms = _mean_ms(pieces, args.n_batches, warmup=50)
    print(
        f"growsim 20-task mixture as pieces: {pieces_ms:.3f} ms per batch; x, y and c_mask are "
        f"{np.mean(piece_bytes) / 1e3:.1f} kB as pieces against {np.mean(dense_bytes) / 1e3:.1f} kB dense "
        f"({np.mean(dense_bytes) / np.mean(piece_bytes):.0f}x fewer bytes to a device)"
    )
    per_task = {}
    n_task = max(1, args.n_batches // 10)
    for task in TASK_NAMES:

        def one(task=task):
            held[0] = suite.sample(rng, args.batch_size, task)

        per_task[task] = _mean_ms(one, n_task, warmup=5)
    return mix_ms, per_task, float(np.mean(lengths))


def bench_modcog(args) -> tuple[float, float, float]:
    """Mean ms per batch of the 82-task Mod-Cog mixture, as pieces (what training copies and
    gathers) and with the dense x, y and c_mask made; and the mean T."""
    suite = ModCogSuite(n_eachring=args.modcog_ring, dt_ms=args.dt)
    rng = np.random.default_rng(args.seed)
    lengths: list[int] = []

    def pieces():
        lengths.append(suite.sample(rng, args.batch_size).n_steps)

    def dense():
        b = suite.sample(rng, args.batch_size)
        assert b.x.shape[:2] == b.y.shape[:2] == b.c_mask.shape[:2]

    return _mean_ms(pieces, args.n_batches, warmup=50), _mean_ms(dense, args.n_batches, warmup=50), float(np.mean(lengths))


def bench_neurogym(args, seq_len: int) -> dict[str, float] | str:
    try:
        import warnings

        warnings.filterwarnings("ignore")
        import neurogym as ngym
        from neurogym.utils.scheduler import RandomSchedule
        from neurogym.wrappers.block import ScheduleEnvs
    except ImportError as exc:
        return f"neurogym not installed ({exc}); growsim figures only"

    try:
        names = ngym.get_collection("yang19")
    except AttributeError:  # neurogym >= 2.3 keeps it in its collections module
        from neurogym.envs.collections import get_collection

        names = get_collection("yang19")
    envs = [ngym.make(name, dt=args.dt, dim_ring=args.n_eachring) for name in names]
    for i, env in enumerate(envs):
        env.reset(seed=args.seed + i)
    rng = np.random.default_rng(args.seed)

    def trials():
        env = envs[int(rng.integers(len(envs)))]
        for _ in range(args.batch_size):
            env.new_trial()  # builds the trial's ob and gt arrays

    n = max(5, args.n_batches // 40)
    out = {"trials": _mean_ms(trials, n, warmup=2)}

    sched = ScheduleEnvs(envs, schedule=RandomSchedule(len(envs)), env_input=True)
    sched.reset(seed=args.seed)
    dataset = ngym.Dataset(sched, batch_size=args.batch_size, seq_len=seq_len)
    out["dataset"] = _mean_ms(dataset, n, warmup=2)
    out["version"] = getattr(ngym, "__version__", "?")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument(
        "--n-batches", type=int, default=2000, help="mixture batches (per task: a tenth)"
    )
    ap.add_argument("--dt", type=float, default=20.0)
    ap.add_argument("--n-eachring", type=int, default=32)
    ap.add_argument("--modcog-ring", type=int, default=16, help="units per ring of the Mod-Cog suite")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-neurogym", action="store_true", help="skip the neurogym comparison")
    args = ap.parse_args(argv)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs; "
        f"B={args.batch_size}, dt={args.dt:g} ms, n_eachring={args.n_eachring}"
    )
    mix_ms, per_task, mean_t = bench_growsim(args)
    print(f"growsim 20-task mixture: {mix_ms:.3f} ms per batch (mean T {mean_t:.1f} steps)")
    for task, ms in per_task.items():
        print(f"  {task:16s} {ms:.3f} ms")
    mc_pieces, mc_dense, mc_t = bench_modcog(args)
    print(f"growsim 82-task Mod-Cog mixture ({args.modcog_ring}-unit rings, mean T {mc_t:.1f} steps): "
          f"{mc_pieces:.3f} ms per batch as pieces, {mc_dense:.3f} ms with the dense arrays "
          f"({mc_dense / mix_ms:.2f}x the 20-task mixture's dense time in this run)")

    if args.no_neurogym:
        return
    ng = bench_neurogym(args, seq_len=int(round(mean_t)))
    if isinstance(ng, str):
        print(ng)
        return
    print(f"neurogym {ng['version']} yang19 collection, same dt and ring:")
    print(
        f"  {args.batch_size} x new_trial(): {ng['trials']:.3f} ms per batch "
        f"({ng['trials'] / mix_ms:.1f}x growsim's mixture time)"
    )
    seq_len = int(round(mean_t))
    print(
        f"  Dataset(batch_size={args.batch_size}, seq_len={seq_len}): {ng['dataset']:.3f} ms "
        f"per batch ({ng['dataset'] / mix_ms:.1f}x growsim's mixture time)"
    )


if __name__ == "__main__":
    main()
