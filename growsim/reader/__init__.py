"""Reading growsim run files: one run, many runs, and the results of analyses.

A leaf: it needs h5py, numpy and (for tables) pandas, never torch, and imports no other
part of growsim. It only reads; analyses that recompute from the stored weights, and
write their results into /analysis, are in growsim.analyses.

    run = open_run("runs/add_conn_distance.h5")
    run.status, run.last_step, run.spec["wiring"]["rule"]
    run.series()                    # one row per logged step; per-task columns perf/<task>
    run.events()                    # the growth timeline
    run.snapshot_steps()            # cheap; run.snapshot(500) reads one snapshot
    df = open_runs("runs/")         # every run, with spec fields as columns

Layout of the file: docs/hdf5.md; of /analysis: docs/analysis.md.
"""

from growsim.reader._run import (
    Analysis,
    Geometry,
    Run,
    RunFileError,
    Snapshot,
    architecture,
    open_run,
)
from growsim.reader._runs import find_runs, flatten_spec, open_runs

__all__ = [
    "Analysis",
    "Geometry",
    "Run",
    "RunFileError",
    "Snapshot",
    "architecture",
    "find_runs",
    "flatten_spec",
    "open_run",
    "open_runs",
]
