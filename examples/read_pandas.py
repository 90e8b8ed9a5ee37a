"""Read a growsim run into pandas DataFrames with h5py: metrics per step, per task, and growth events.

    python examples/read_pandas.py runs/add_conn_distance.h5

growsim's own reader gives the same tables in one call each:
    import growsim; run = growsim.open_run(path); run.series(); run.events()
and growsim.open_runs("runs/") stacks many runs with their spec fields as columns.
"""

import json
import sys

import h5py
import pandas as pd

path = sys.argv[1]
with h5py.File(path, "r", locking=False) as f:
    g = f["series"]
    tasks = list(g.file["tasks/names"].asstr()[()])
    steps = g["step"][()]
    # One row per logged step: the 1-D series as columns. train_loss has no value at step 0,
    # so it is one row short and belongs to the last rows. Datasets with the attribute CLASS
    # are dimension scales, the coordinates of axes (the tasks, the neurons), not series.
    series = pd.DataFrame({"step": steps})
    for name, ds in g.items():
        if ds.ndim == 1 and name != "step" and "CLASS" not in ds.attrs:
            series[name] = pd.Series(ds[()], index=series.index[len(steps) - len(ds):])
    # Per-task performance in long (tidy) form: one row per step and task.
    perf = pd.DataFrame(g["perf"][()], columns=tasks).assign(step=steps)
    perf_long = perf.melt(id_vars="step", var_name="task", value_name="perf")

    ev = f["events"]
    if "step" in ev:
        events = pd.DataFrame({
            "step": ev["step"][()], "op": ev["op"].asstr()[()], "count": ev["count"][()],
            "connections": ev["connections"][()],
        })
        details = pd.DataFrame([json.loads(s) for s in ev["details"].asstr()[()]])
        events = events.join(details.drop(columns=["count", "connections"], errors="ignore"))
    else:
        events = pd.DataFrame(columns=["step", "op", "count", "connections"])
    spec = json.loads(f["spec/resolved_json"][()])

pd.set_option("display.width", 120)
print(f"{path}: wiring {spec['wiring']['rule']}, {spec['growth']['initial_connections']} initial synapses")
print(series[["step", "loss", "perf_mean", "connections"] + [c for c in ("modularity_q",) if c in series]].to_string(index=False))
print("\nmean performance per task over the run (top 5):")
print(perf_long.groupby("task")["perf"].mean().sort_values(ascending=False).head(5).to_string())
print(f"\ngrowth events: {len(events)}")
print(events.head().to_string(index=False))
