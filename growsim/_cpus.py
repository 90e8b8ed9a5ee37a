"""How many CPUs a process may use, and how many torch threads a run takes by default.

Measured on a 2-core machine (benchmarks/RESULTS.md, "Threads"): a Wu & Gu training step
(83 neurons) takes 30 ms at one thread and 23 ms at two when the machine is idle, but
35 ms at one thread and 90 ms at two when another process holds one of the cores. A
thread too many on a busy core slows a run down several times over, a thread too few on
an idle machine costs a third, and a run of half an hour cannot know what will share its
machine later. So a run left to choose takes one thread for a network of up to
`SMALL_NETWORK` neurons (too little work per operation to share), and otherwise one per
core free when it starts (by the load average), at most `MAX_AUTO_THREADS`. An ensemble,
whose threads train groups of members side by side, takes the free cores whatever its size.
"""

from __future__ import annotations

import os

MAX_AUTO_THREADS = 4
SMALL_NETWORK = 256  # neurons


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


def auto_threads(neurons: int | None = None, cpus: int | None = None, load: float | None = None) -> int:
    """Torch threads for a run that names none: 1 for a small network, else the free cores
    (1 to MAX_AUTO_THREADS). `neurons` None: an ensemble, which takes the free cores."""
    if neurons is not None and neurons <= SMALL_NETWORK:
        return 1
    cpus = available_cpus() if cpus is None else cpus
    load = load_average() if load is None else load
    return max(1, min(cpus - round(load), MAX_AUTO_THREADS))
