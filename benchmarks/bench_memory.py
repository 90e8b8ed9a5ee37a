"""A run's memory over its length: the HDF5 writer on a thread of its own against the
writer on the training thread (the code before).

Usage: python benchmarks/bench_memory.py [--batches 10000] [--log-every N] [--threads 1] [--side-by-side]

Runs `growsim run specs/add_conn_distance.yaml` cut to `--batches` twice, once as it is
and once with every HDF5 call made on the training thread (the baseline: `_OwnThread.call`
replaced in that process by a direct call). Each run's resident memory is sampled every
half second from /proc/PID/status, and its peak (VmHWM) is read by the run itself at exit.
Printed for each: the peak, the memory at a quarter, half, three quarters and the end of
the run, and the growth per 1,000 batches over its second half (batches counted from the
wall clock), with the ratios. Linux only (/proc).

The two run one after the other unless --side-by-side (memory does not depend on the
timing, and side by side takes half as long). The load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "add_conn_distance.yaml"

# The run, in a process that writes its own peak (VmHWM, kB) to argv[1] at exit. argv[2]:
# "baseline" makes every HDF5 call on the calling (training) thread, as before.
_RUN = """
import atexit, sys
target, variant = sys.argv[1], sys.argv[2]
def _peak():
    with open("/proc/self/status") as status, open(target, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])
atexit.register(_peak)
if variant == "baseline":
    import growsim.log.hdf5 as hdf5
    hdf5._OwnThread.call = lambda self, fn, *args, **kwargs: fn(*args, **kwargs)
from growsim.cli import main
sys.argv = ["growsim", *sys.argv[3:]]
main()
"""


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024
    except (OSError, StopIteration):
        return None


def start(variant: str, tmp: Path, batches: int, threads: int, log_every: int | None):
    peak = tmp / f"{variant}.peak"
    cmd = [sys.executable, "-c", _RUN, str(peak), variant, "run", str(SPEC), "-o", str(tmp / f"{variant}.h5"), "-q",
           "--set", f"train.batches={batches}", "--set", f"train.threads={threads}"]
    if log_every:
        cmd += ["--set", f"log.every={log_every}"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env), peak


def watch(procs: dict) -> dict[str, list[tuple[float, float]]]:
    """Sample each running process's RSS every half second until all have ended."""
    t0 = time.monotonic()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in procs}
    while any(p.poll() is None for p, _ in procs.values()):
        for name, (p, _) in procs.items():
            if p.poll() is None and (mb := _rss_mb(p.pid)) is not None:
                samples[name].append((time.monotonic() - t0, mb))
        time.sleep(0.5)
    for name, (p, _) in procs.items():
        if p.returncode != 0:
            raise SystemExit(f"the {name} run failed (exit code {p.returncode})")
    return samples


def summary(samples: list[tuple[float, float]], batches: int) -> dict[str, float]:
    """Memory at the quarters of the run's wall time, and MB per 1,000 batches over its second half."""
    if not samples:  # ended before the first sample
        return dict.fromkeys(("q1", "q2", "q3", "end", "growth", "seconds"), float("nan"))
    end = samples[-1][0]
    at = lambda frac: max((mb for t, mb in samples if t <= frac * end), default=samples[0][1])  # noqa: E731 (the highest so far)
    half = [(t, mb) for t, mb in samples if t >= end / 2]
    growth = (half[-1][1] - half[0][1]) / max(1e-9, (half[-1][0] - half[0][0]) / end * batches) * 1000
    return {"q1": at(0.25), "q2": at(0.5), "q3": at(0.75), "end": at(1.0), "growth": growth, "seconds": end}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=10000)
    ap.add_argument("--log-every", type=int, default=None, help="batches between log steps (default: the spec's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--side-by-side", action="store_true", help="run the two at once")
    args = ap.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("bench_memory: needs Linux's /proc; skipped")
        return
    print(f"{SPEC.name} cut to {args.batches} batches, log every {args.log_every or 'the spec says'}, "
          f"{args.threads} torch thread(s); load average at start {os.getloadavg()[0]:.2f}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        order = ("baseline", "today")
        if args.side_by_side:
            procs = {v: start(v, Path(tmp), args.batches, args.threads, args.log_every) for v in order}
            samples = watch(procs)
        else:
            samples, procs = {}, {}
            for v in order:
                procs[v] = start(v, Path(tmp), args.batches, args.threads, args.log_every)
                samples.update(watch({v: procs[v]}))
        for v in order:
            results[v] = summary(samples[v], args.batches)
            results[v]["peak"] = int(procs[v][1].read_text()) / 1024
    label = {"baseline": "HDF5 on the training thread (before)", "today": "HDF5 on a thread of its own (today)"}
    for v in ("today", "baseline"):
        r = results[v]
        print(f"{label[v]}: peak {r['peak']:.0f} MB; at a quarter {r['q1']:.0f}, half {r['q2']:.0f}, "
              f"three quarters {r['q3']:.0f}, end {r['end']:.0f} MB; {r['growth']:+.1f} MB per 1,000 batches "
              f"over the second half; {r['seconds']:.0f} s")
    t, b = results["today"], results["baseline"]
    print(f"peak {t['peak']:.0f} MB against {b['peak']:.0f} MB ({b['peak'] / t['peak']:.2f}x less; goal <= 400 MB); "
          f"growth {t['growth']:+.1f} against {b['growth']:+.1f} MB per 1,000 batches")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
