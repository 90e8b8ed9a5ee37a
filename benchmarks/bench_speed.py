"""A Wu & Gu run's cost: today's training step and evaluation against the previous ones.

Usage: python benchmarks/bench_speed.py [--threads 1] [--batches 30] [--rounds 7] [--rss-batches 1000]

The network is `specs/add_conn_distance.yaml` after its growth (84 neurons, 800 synapses),
trained on the spec's own task batches (batch 64, the 20 tasks). The baseline, kept here,
is the code before the recurrence got its own backward pass and the evaluation its blocks:
autograd through the loop of steps, the two noises drawn and scaled apart, and every task
evaluated on its own 512 trials with noise drawn for each. Rounds alternate between the
two so that a noisy machine hurts both alike; figures are medians. Printed: ms per
training step and operator calls per step, seconds per evaluation, the evaluation's share
of a run at the spec's schedule (an evaluation every 500 batches), a whole run and Fig. 3
(60 runs) projected from those rates on a machine's cores, and the peak memory of a real
short run of the spec. The load average is printed with them: read the figures with it.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from growsim.train import losses
from growsim.build import build_engine, prepare
from growsim.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "add_conn_distance.yaml"


# --- the baseline: the previous code, kept here verbatim in substance -----------------------


def baseline_drive(net, x, generator):
    steps, batch, _ = x.shape
    scale = math.sqrt(2.0 / net.alpha)
    x = x + (scale * net.sigma_x) * torch.randn(x.shape, generator=generator, dtype=x.dtype)
    drive = torch.addmm(net.b_rec, x.reshape(steps * batch, -1), net.w_in.t()).view(steps, batch, -1)
    return drive + (scale * net.sigma_rec) * torch.randn(drive.shape, generator=generator, dtype=x.dtype)


def baseline_rates(net, drive):
    h = drive.new_zeros(drive.shape[1:])
    w_rec_t = net.w_rec.t()
    rates = []
    for drive_t in drive.unbind(0):
        h = torch.lerp(h, torch.relu(torch.addmm(drive_t, h, w_rec_t)), net.alpha)
        rates.append(h)
    return torch.stack(rates)


def baseline_forward(net, x, generator, noise=True):
    drive = baseline_drive(net, x, generator) if noise else net.drive(x, noise=False)
    hidden = baseline_rates(net, drive)
    return net.readout(hidden)


def baseline_train_step(engine, batch):
    objective, net = engine.objective, engine.network
    t = objective.tensors(batch)
    loss = objective.loss_of(baseline_forward(net, t["x"], engine.noise_generator), t)
    engine.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    engine.clip_and_step()
    return loss.detach()


@torch.no_grad()
def baseline_evaluate(engine):
    objective, net = engine.objective, engine.network
    rng = np.random.Generator(np.random.PCG64(objective.eval_seed))
    gen = torch.Generator().manual_seed(objective.eval_seed)
    perf = []
    for task in objective.suite.tasks:
        batch = objective.suite.sample(rng, objective.eval_batch_size, task=task)
        t = objective.tensors(batch)
        out = baseline_forward(net, t["x"], gen, noise=objective.eval_noise)
        float(objective.loss_of(out, t))
        y_hat = losses.readout(out, objective.loss_kind).numpy()
        perf.append(float(np.mean(objective.suite.performance(y_hat, batch.y_loc))))
    return float(np.mean(perf))


# --- measuring ----------------------------------------------------------------------------


def grown_engine():
    loaded = load_spec(SPEC)
    engine = build_engine(prepare(loaded), [])
    engine.grow(loaded.spec.growth.events[0].params["until"])
    return engine, loaded.spec


def per_step_ms(fn, engine, batches) -> float:
    t0 = time.perf_counter()
    for b in batches:
        fn(engine, b)
    return (time.perf_counter() - t0) / len(batches) * 1e3


def operator_calls(fn, engine, batch) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn(engine, batch)
    return sum(e.count for e in prof.key_averages())


# Runs growsim's CLI and writes the process's own peak resident memory (VmHWM, Linux) at exit.
_MEASURED_RUN = """
import atexit, sys
target = sys.argv[1]
def _peak():
    with open("/proc/self/status") as status, open(target, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(_peak)
from growsim.cli import main
sys.argv = ["growsim", *sys.argv[2:]]
main()
"""


def peak_rss_of_run(batches: int, threads: int) -> float:
    """Peak resident memory (MB) of `growsim run` on the spec, shortened to `batches`.

    Read by the run's own process (VmHWM), not from getrusage(RUSAGE_CHILDREN): Linux counts
    in a child's maximum the pages it shared with this process until it started the new
    program, so that figure was this benchmark's own size (about 735 MB) and not the run's.
    """
    if not Path("/proc/self/status").exists():
        return float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak_kb"
        cmd = [sys.executable, "-c", _MEASURED_RUN, str(peak), "run", str(SPEC), "-o", str(Path(tmp) / "run.h5"), "-q",
               "--set", f"train.batches={batches}", "--set", f"train.threads={threads}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return int(peak.read_text()) / 1024


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=30, help="training steps per round")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--eval-rounds", type=int, default=3)
    ap.add_argument("--rss-batches", type=int, default=1000, help="length of the real run measured for memory; 0: skip")
    ap.add_argument("--cores", type=int, default=2, help="runs side by side in the Fig. 3 projection")
    ap.add_argument("--eval-trials", type=int, default=None, help="test trials per task (default: the spec's)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    engine, spec = grown_engine()
    if args.eval_trials:
        engine.objective.eval_batch_size = args.eval_trials
    rng = np.random.default_rng(1)
    batches = [engine.objective.sample(rng, spec.train.batch_size) for _ in range(args.batches)]
    new_step = lambda e, b: e.train_step(b)  # noqa: E731
    for fn in (baseline_train_step, new_step):  # warm up
        per_step_ms(fn, engine, batches[:3])
    base, ours = [], []
    for _ in range(args.rounds):
        base.append(per_step_ms(baseline_train_step, engine, batches))
        ours.append(per_step_ms(new_step, engine, batches))
    step_base, step_ours = statistics.median(base), statistics.median(ours)
    ops_base, ops_ours = operator_calls(baseline_train_step, engine, batches[0]), operator_calls(new_step, engine, batches[0])
    print(f"training step: {step_ours:.2f} ms against {step_base:.2f} ms before: {step_base / step_ours:.2f}x faster "
          f"(goal >= 2x); operator calls per step {ops_ours} against {ops_base}")

    eval_base, eval_ours = [], []
    for _ in range(args.eval_rounds):
        t0 = time.perf_counter()
        baseline_evaluate(engine)
        eval_base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        engine.evaluate()
        eval_ours.append(time.perf_counter() - t0)
    ev_base, ev_ours = statistics.median(eval_base), statistics.median(eval_ours)
    every = spec.log.every
    share = lambda ev, step: ev / (ev + every * step * 1e-3)  # noqa: E731
    print(f"evaluation ({len(engine.objective.task_names)} tasks x {engine.objective.eval_batch_size} trials): "
          f"{ev_ours:.2f} s against {ev_base:.2f} s before ({ev_base / ev_ours:.2f}x); share of a run at an evaluation "
          f"every {every} batches {share(ev_ours, step_ours):.1%} against {share(ev_base, step_base):.1%} (goal <= 5%)")

    n_batches, n_evals = spec.train.batches, spec.train.batches // every + 1
    run_base = (n_batches * step_base * 1e-3 + n_evals * ev_base) / 60
    run_ours = (n_batches * step_ours * 1e-3 + n_evals * ev_ours) / 60
    print(f"a whole run ({n_batches} batches, {n_evals} evaluations), projected: {run_ours:.1f} min against "
          f"{run_base:.1f} min before ({run_base / run_ours:.2f}x; goal >= 2x)")
    print(f"Fig. 3 (60 such runs, {args.cores} at a time): {60 * run_ours / args.cores / 60:.1f} h against "
          f"{60 * run_base / args.cores / 60:.1f} h before (goal <= 8 h)")
    if args.rss_batches:
        rss = peak_rss_of_run(args.rss_batches, args.threads)
        print(f"peak RSS of `growsim run` on {SPEC.name} cut to {args.rss_batches} batches: {rss:.0f} MB (goal <= 400 MB)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
