"""Open a growsim run's metrics as an xarray Dataset with named dimensions (step, task, neuron).

    python examples/read_xarray.py runs/add_conn_distance.h5

The file names every axis with an HDF5 dimension scale, so xarray opens a group as it is
(engine h5netcdf: pip install h5netcdf) and selections read like the question:
ds.perf.sel(task="dm1"), ds.perf.mean("task"), ds.sel(step=slice(1000, None)).
A snapshot opens the same way: xr.open_dataset(path, group="snapshots/000000500",
engine="h5netcdf") has w_rec on (post, pre). Files written before growsim named their axes
open with phony_dim_* dimensions instead (rename them with ds.rename_dims).
"""

import sys

import xarray as xr

path = sys.argv[1]
with xr.open_dataset(path, group="series", engine="h5netcdf") as ds:
    ds = ds.load()
with xr.open_dataset(path, engine="h5netcdf") as root:   # the root attributes: status, seed, versions
    ds.attrs.update(root.attrs)
# train_loss has no row at step 0 (nothing trained yet), so it has a step coordinate of its
# own; placed on `step`, it is NaN at step 0.
if "train_loss_step" in ds.dims:
    train_loss = ds.train_loss.rename(train_loss_step="step").reindex(step=ds.step)
    ds = ds.drop_dims("train_loss_step").assign(train_loss=train_loss)

print(ds)
print("\nperformance at the last step, by task:")
print(ds.perf.isel(step=-1).to_series().sort_values(ascending=False).round(3).to_string())
print(f"\nmean performance over tasks: {ds.perf.mean('task').values.round(3)}")
