"""Read a growsim run's metrics into an xarray Dataset with labelled dimensions (step, task).

    python examples/read_xarray.py runs/add_conn_distance.h5

h5py reads the arrays; xarray names their axes, so selections read like the question:
ds.perf.sel(task="dm1"), ds.perf.mean("task"), ds.sel(step=slice(1000, None)).
"""

import sys

import h5py
import numpy as np
import xarray as xr

path = sys.argv[1]
with h5py.File(path, "r", locking=False) as f:
    g = f["series"]
    steps = g["step"][()]
    tasks = list(f["tasks/names"].asstr()[()])
    data = {}
    for name, ds in g.items():
        if name == "step":
            continue
        values = ds[()]
        if ds.ndim == 1:
            # train_loss is absent at the first step: pad it at the front.
            values = np.concatenate([np.full(len(steps) - len(values), np.nan), values])
            dims = ("step",)
        elif name in ("perf", "task_loss"):
            dims = ("step", "task")
        else:                                   # communities: one label per neuron
            dims = ("step", "neuron")
        data[name] = xr.DataArray(values, dims=dims, attrs={k: str(v) for k, v in ds.attrs.items()})
    ds = xr.Dataset(data, coords={"step": steps, "task": tasks}, attrs={k: str(v) for k, v in f.attrs.items()})

print(ds)
print("\nperformance at the last step, by task:")
print(ds.perf.isel(step=-1).to_series().sort_values(ascending=False).round(3).to_string())
print(f"\nmean performance over tasks: {ds.perf.mean('task').values.round(3)}")
