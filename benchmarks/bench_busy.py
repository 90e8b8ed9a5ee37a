"""The README's main command on an idle machine against the same command while other
processes keep every core busy, and the gaps between the progress lines of a redirected log.

Each round runs `growsim run specs/add_conn_distance.yaml` for --batches batches (the
threads as growsim chooses them, unless --threads), output to a pipe as under nohup, first
with nothing else running, then beside --busy processes that each spin one core. Medians
over the rounds; the ratio busy / idle is what a user sees when the machine is shared.
--compare-threads N adds a busy round at N torch threads (torch's own default is one per
core), to show what the one-thread choice saves.

Usage: python benchmarks/bench_busy.py [--batches 1500] [--rounds 2] [--busy CPUS]
                                       [--threads N] [--compare-threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
SPEC = ROOT / "specs" / "add_conn_distance.yaml"
SPIN = "while True:\n    pass\n"


def _load() -> float:
    return os.getloadavg()[0]


def timed_run(out: Path, batches: int, threads: int | None) -> tuple[float, list[float], str]:
    """Wall time of one run, the times (s from the start) at which its plain lines arrived,
    and its last line."""
    args = [sys.executable, "-m", "growsim", "run", str(SPEC), "--out", str(out), "--overwrite",
            "--set", f"train.batches={batches}"]
    if threads is not None:
        args += ["--set", f"train.threads={threads}"]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    arrivals, last = [], ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("batch "):
            arrivals.append(time.monotonic() - start)
        last = line.strip() or last
    if proc.wait() != 0:
        raise SystemExit(f"growsim run failed ({proc.returncode}): {last}")
    return time.monotonic() - start, arrivals, last


class Busy:
    """n processes that each keep one core busy until the block ends."""

    def __init__(self, n: int):
        self.n = n
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Busy:
        self.procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(self.n)]
        time.sleep(2.0)  # let them take their cores
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def _max_gap(arrivals: list[float], total: float) -> float:
    """Longest time without a progress line, from the start to the last line before the end."""
    times = [0.0, *arrivals]
    return max(b - a for a, b in zip(times, times[1:])) if arrivals else total


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="spinning processes (default: CPUs)")
    p.add_argument("--threads", type=int, default=None, help="train.threads (default: growsim's choice)")
    p.add_argument("--compare-threads", type=int, default=None)
    a = p.parse_args(argv)

    results: dict[str, list[float]] = {"idle": [], "busy": [], "busy_threads": []}
    gaps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.h5"
        for r in range(a.rounds):
            load = _load()
            t, _, last = timed_run(out, a.batches, a.threads)
            results["idle"].append(t)
            print(f"round {r + 1}: idle  {t:7.1f} s  (load before {load:.2f})  {last}")
            with Busy(a.busy):
                load = _load()
                t, arrivals, last = timed_run(out, a.batches, a.threads)
                results["busy"].append(t)
                gaps.append(_max_gap(arrivals, t))
                print(f"round {r + 1}: busy  {t:7.1f} s  (load before {load:.2f}, {a.busy} spinning)  "
                      f"longest gap between progress lines {gaps[-1]:.1f} s")
                if a.compare_threads:
                    t, _, _ = timed_run(out, a.batches, a.compare_threads)
                    results["busy_threads"].append(t)
                    print(f"round {r + 1}: busy at {a.compare_threads} threads {t:7.1f} s")
    idle, busy = statistics.median(results["idle"]), statistics.median(results["busy"])
    print(f"{a.batches} batches of {SPEC.name}, threads {a.threads or 'as growsim chooses'}, "
          f"{a.busy} cores kept busy, medians of {a.rounds} rounds")
    print(f"  idle {idle:.1f} s, busy {busy:.1f} s: busy / idle = {busy / idle:.2f} (goal <= 2)")
    print(f"  longest gap between progress lines while busy: {max(gaps):.1f} s (goal <= 60)")
    if results["busy_threads"]:
        bt = statistics.median(results["busy_threads"])
        print(f"  busy at {a.compare_threads} threads: {bt:.1f} s = {bt / idle:.2f} x idle")


if __name__ == "__main__":
    main()
