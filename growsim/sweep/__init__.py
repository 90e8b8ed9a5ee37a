"""Sweeps: many runs of one spec, on a grid of overrides and seeds, here or on a Dask cluster.

    points = expand("sweeps/wu_gu_fig3.yaml")          # validated: every point, before anything runs
    index = run_sweep("sweeps/wu_gu_fig3.yaml", "runs/wu_gu_fig3", workers=2)
    index = read_index("runs/wu_gu_fig3")                # one row per point: status, reason, final metrics

The sweep file's format: docs/sweeps.md; clusters: docs/cluster.md. A point runs like
`growsim run SPEC --set ...` and writes one HDF5 run file; `run_point` is the task a Dask
worker runs.
"""

from growsim.sweep._driver import (
    SweepProgress,
    SweepStateError,
    available_cpus,
    default_out,
    plan_sweep,
    run_sweep,
)
from growsim.sweep._file import SweepError, SweepIssue
from growsim.sweep._index import INDEX_NAME, STATUSES, read_index
from growsim.sweep._points import Point, Sweep, expand, load_sweep
from growsim.sweep._runner import run_point

__all__ = [
    "INDEX_NAME",
    "STATUSES",
    "Point",
    "Sweep",
    "SweepError",
    "SweepIssue",
    "SweepProgress",
    "SweepStateError",
    "available_cpus",
    "default_out",
    "expand",
    "load_sweep",
    "plan_sweep",
    "read_index",
    "run_point",
    "run_sweep",
]
