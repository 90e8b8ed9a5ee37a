"""HDF5 dimension scales: every axis of the series and snapshots is named, so netCDF readers
(xarray with h5netcdf) open a run's groups with named dimensions and coordinates."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from growsim.cli import main
from growsim.log import RunInfo
from growsim.log.hdf5 import HDF5Logger, is_scale, read_checkpoint
from growsim.reader import open_run

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """tests/data/tiny.yaml as it is: 40 batches, metrics and snapshots every 10."""
    out = tmp_path_factory.mktemp("scales") / "tiny.h5"
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(out), "-q"]) == 0
    return out


def _open(path, group: str, **options) -> xr.Dataset:
    with xr.open_dataset(path, group=group, engine="h5netcdf", **options) as ds:
        return ds.load()


def _phony(ds: xr.Dataset) -> list[str]:
    return [d for d in ds.dims if str(d).startswith("phony_dim")]


def test_series_open_with_named_dimensions_and_the_logged_steps(tiny_run):
    ds = _open(tiny_run, "series")
    assert _phony(ds) == []
    with h5py.File(tiny_run, "r") as f:
        steps = f["series/step"][()]
        tasks = list(f["tasks/names"].asstr()[()])
        assert list(ds.step.values) == list(steps) == [0, 10, 20, 30, 40]
        assert ds.perf.dims == ds.task_loss.dims == ("step", "task") and list(ds.task.values) == tasks
        assert ds.communities.dims == ("step", "neuron") and list(ds.neuron.values) == list(range(16))
        for name in ("loss", "perf_mean", "connections", "modularity_q", "lr", "wall_time"):
            assert ds[name].dims == ("step",), name
            np.testing.assert_array_equal(ds[name].values, f[f"series/{name}"][()])
        np.testing.assert_array_equal(ds.perf.values, f["series/perf"][()])
        # Nothing is trained at step 0: train_loss's rows are those of the later steps.
        assert ds.train_loss.dims == ("train_loss_step",) and list(ds.train_loss_step.values) == [10, 20, 30, 40]
        np.testing.assert_array_equal(ds.train_loss.values, f["series/train_loss"][()])
        assert ds.perf.sel(task="reactgo").values.tolist() == f["series/perf"][:, 1].tolist()
    train = _open(tiny_run, "train")
    assert train.loss.dims == ("step",) and list(train.step.values) == list(range(40))


def test_snapshots_and_final_open_with_named_dimensions(tiny_run):
    with h5py.File(tiny_run, "r") as f:
        groups = [f"snapshots/{name}" for name in f["snapshots"]] + ["final"]
        assert len(groups) == 6
        for group in groups:
            ds = _open(tiny_run, group)
            assert _phony(ds) == [], group
            assert ds.w_rec.dims == ds.mask.dims == ("post", "pre"), group
            assert ds.w_in.dims == ("neuron", "input") and ds.w_out.dims == ("output", "neuron"), group
            assert ds.b_rec.dims == ("neuron",) and ds.b_out.dims == ("output",), group
            assert ds.sizes["input"] == f["tasks"].attrs["n_input"] and ds.sizes["output"] == f["tasks"].attrs["n_output"]
            np.testing.assert_array_equal(ds.w_rec.values, f[group]["w_rec"][()])
        assert _open(tiny_run, "final").w_rec_initial.dims == ("post", "pre")


def test_scales_are_described_and_not_read_as_series_or_weights(tiny_run):
    with h5py.File(tiny_run, "r") as f:
        scales = [k for k in f["series"] if is_scale(f["series"][k])]
        assert sorted(scales) == ["neuron", "step", "task", "train_loss_step"]
        for k in scales:
            assert f["series"][k].attrs["description"] and "units" in f["series"][k].attrs
    run = open_run(tiny_run)
    series = run.series()
    assert not {"neuron", "task", "train_loss_step"} & set(series.columns)
    assert np.isnan(series["train_loss"].iloc[0]) and series["train_loss"].iloc[1:].notna().all()
    assert run.snapshot(10).extra == {} and set(run.final().extra) == {"w_rec_initial"}


def _info(n: int = 3) -> RunInfo:
    return RunInfo(
        name="t", seed=1, batches=10, spec_text="seed: 1\n", resolved_yaml="seed: 1\n", resolved_json="{}",
        overrides=(), task_names=("fdgo", "dm1"), n_neurons=n, n_input=5, n_output=3,
        distances=np.zeros((n, n)), positions=None, labels=None, distance_units="mm",
    )


def test_a_series_first_logged_later_has_steps_of_its_own_and_unknown_arrays_stay_unlabelled(tmp_path):
    path = tmp_path / "run.h5"
    log = HDF5Logger(path)
    log.start(_info())
    log.log_metrics(0, {"loss": 1.0}, {"perf": np.array([0.1, 0.2]), "probe_grid": np.zeros((2, 2))})
    for step in (5, 10):
        log.log_metrics(step, {"loss": 0.5, "late": step / 10}, {"perf": np.array([0.3, 0.4]), "probe_grid": np.ones((2, 2))})
    log.close("completed", None, 10, None)
    with h5py.File(path, "r") as f:
        assert f["series/late_step"][()].tolist() == [5, 10] and is_scale(f["series/late_step"])
        assert f["series/late_step"].attrs["units"] == "batches"
        # An array whose axes the layout does not name gets no scale at all: h5netcdf refuses a
        # dataset with only some axes labelled.
        assert all(len(dim) == 0 for dim in f["series/probe_grid"].dims)
    ds = _open(path, "series", phony_dims="sort")  # h5netcdf names probe_grid's axes as it can
    assert ds.late.dims == ("late_step",) and ds.late.values.tolist() == [0.5, 1.0]
    assert ds.perf.dims == ("step", "task") and ds.task.values.tolist() == ["fdgo", "dm1"]
    assert list(ds.step.values) == [0, 5, 10]


def _links(path) -> dict[str, list[str]]:
    """Each scale's datasets by name, after checking that every dataset names it back."""
    links: dict[str, list[str]] = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if is_scale(obj):
                links[obj.name] = sorted(f[ref].name for ref, _axis in obj.attrs.get("REFERENCE_LIST", []))
                for ref, axis in obj.attrs.get("REFERENCE_LIST", []):
                    assert [f[r].name for r in f[ref].attrs["DIMENSION_LIST"][axis]] == [obj.name]

        f.visititems(visit)
    return links


def test_a_resumed_run_drops_what_followed_its_checkpoint_with_no_reference_left(tmp_path):
    path = tmp_path / "run.h5"
    log = HDF5Logger(path)
    log.start(_info())
    log.log_metrics(0, {"loss": 1.0}, {"perf": np.array([0.1, 0.2])})
    log.log_checkpoint(0, {"network/w": np.zeros(2)}, {})
    log.commit()
    before = _links(path)
    # After the checkpoint: a per-task series (on the scale `task`, made before) and one
    # per neuron (on `neuron`, made with it), each with steps of its own.
    log.log_metrics(5, {"loss": 0.5}, {"perf": np.array([0.3, 0.4]), "task_loss": np.array([1.0, 2.0]),
                                       "communities": np.array([0, 0, 1], np.int32)})
    log.commit()
    assert _links(path)["/series/task"] == ["/series/perf", "/series/task_loss"]
    HDF5Logger(path, resume=read_checkpoint(path)).start(_info())
    with h5py.File(path, "r") as f:
        assert sorted(f["series"]) == ["loss", "perf", "step", "task", "wall_time"]
        assert f["series/step"][()].tolist() == [0]
    assert _links(path) == before == {"/series/step": ["/series/loss", "/series/perf", "/series/wall_time"],
                                      "/series/task": ["/series/perf"]}
    assert list(_open(path, "series").step.values) == [0]
