"""How many CPUs a process may use, and how many torch threads a run takes by default.

Measured on a 2-core machine (benchmarks/RESULTS.md, "Threads"): a Wu & Gu training step
takes 30 ms at one thread and 23 ms at two when the machine is idle, but 35 ms at one
thread and 90 ms at two when another process holds one of the cores. Threads that compete
for a busy core slow a run down several times over; a thread too few costs a third. So a
run left to choose takes one thread per core that is free when it starts (by the load
average), at least one and at most `MAX_AUTO_THREADS`: a network of a hundred neurons has
too little work per operation to share among more.
"""

from __future__ import annotations

import os

MAX_AUTO_THREADS = 4


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> float:
    """The 1-minute load average; 0 where the platform has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def auto_threads(cpus: int | None = None, load: float | None = None) -> int:
    """Torch threads for a run that names none: the free cores, between 1 and MAX_AUTO_THREADS."""
    cpus = available_cpus() if cpus is None else cpus
    load = load_average() if load is None else load
    return max(1, min(cpus - round(load), MAX_AUTO_THREADS))
