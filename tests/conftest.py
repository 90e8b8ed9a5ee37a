"""Shared fixtures. Tests keep torch to 1 thread: the suite runs in parallel on 2 cores."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def tiny_spec() -> Path:
    return DATA / "tiny.yaml"


# What legitimately differs between two runs of the same spec: clocks and processes.
VOLATILE_ATTRS = {"created", "finished", "duration_s", "heartbeat", "writer_pid", "resumed", "elapsed_s"}
VOLATILE_DATASETS = {"series/wall_time"}


def _scale_links(f: h5py.File, key: str, value):
    """A dimension-scale attribute with the objects it refers to by name: references are file
    addresses, which differ between two files of the same content. REFERENCE_LIST's order is
    the order of attaching, which a resumed run need not keep."""
    if key == "DIMENSION_LIST":
        return [[f[ref].name for ref in refs] for refs in value]
    if key == "REFERENCE_LIST":
        return sorted((f[ref].name, int(axis)) for ref, axis in value)
    return value


def _h5_contents(path: Path) -> dict:
    out: dict = {}
    with h5py.File(path, "r") as f:
        out["/"] = {k: v for k, v in f.attrs.items() if k not in VOLATILE_ATTRS}

        def visit(name, obj):
            attrs = {k: _scale_links(f, k, v) for k, v in obj.attrs.items() if k not in VOLATILE_ATTRS}
            if isinstance(obj, h5py.Dataset) and name not in VOLATILE_DATASETS:
                out[name] = (obj[()], attrs)
            else:
                out[name] = (None, attrs)

        f.visititems(visit)
    return out


def _assert_same_h5(a: dict, b: dict, rtol: float = 0.0, atol: float = 0.0) -> None:
    """Two run files' contents are the same: bit for bit, or floats to (rtol, atol)."""
    assert sorted(a) == sorted(b)
    for key in a:
        if key == "/":
            assert a[key].keys() == b[key].keys()
            for k in a[key]:
                assert np.array_equal(a[key][k], b[key][k]), f"root attribute {k}"
            continue
        (da, aa), (db, ab) = a[key], b[key]
        if da is not None:
            da, db = np.asarray(da), np.asarray(db)  # scalar strings come back as bytes
            nan_ok = da.dtype.kind in "fc"  # NaN marks values not taken (untrained levels, terms off)
            assert da.dtype == db.dtype, key
            if nan_ok and (rtol or atol):
                assert da.shape == db.shape and np.allclose(da, db, rtol=rtol, atol=atol, equal_nan=True), key
            else:
                assert np.array_equal(da, db, equal_nan=nan_ok), key
        assert aa.keys() == ab.keys(), key
        for k in aa:
            if k in ("positions", "texts", "DIMENSION_LIST", "REFERENCE_LIST"):
                assert aa[k] == ab[k], f"{key}.{k}"
            else:
                assert np.array_equal(aa[k], ab[k]), f"{key}.{k}"


@pytest.fixture(scope="session")
def h5_contents():
    """Every dataset and attribute of a run file, less what differs between any two runs (clocks, pids)."""
    return _h5_contents


@pytest.fixture(scope="session")
def assert_same_h5():
    return _assert_same_h5



def _load_make_runs():
    """tests/reader/make_runs.py, which makes the analysis tests' run files (loaded by path:
    tests is not a package)."""
    name = "growsim_tests_make_runs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "reader" / "make_runs.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture(scope="session")
def make_runs():
    return _load_make_runs()


@pytest.fixture(scope="session")
def small_runs(tmp_path_factory, make_runs):
    """Short runs of several kinds (completed, killed, no snapshots, a grown network), made once."""
    return make_runs.small_runs(tmp_path_factory.getbasetemp() / "analysis-small-runs")


@pytest.fixture(scope="session")
def shipped_runs(tmp_path_factory, make_runs):
    """A short run of every shipped spec, made once."""
    return make_runs.shipped_runs(tmp_path_factory.getbasetemp() / "analysis-shipped-runs")


def _stop_and_resume(folder: Path, spec: Path, overrides: list[str], stop_at: int):
    """Run `spec` to the end into ref.h5; run it again into int.h5, stopped when batch
    `stop_at` is about to train (-1: before the run starts, so at step 0), then resumed from
    its checkpoint. Returns (ref, int, the checkpoint's step)."""
    from growsim.build import build_engine, prepare
    from growsim.train.engine import RunInterrupted
    from growsim.log.hdf5 import HDF5Logger, read_checkpoint
    from growsim.runner import resume, run
    from growsim.spec import load_spec

    assert run(spec, folder / "ref.h5", overrides=overrides).status == "completed"
    # Stopped at an exact batch, which only the engine itself can do.
    interrupted = build_engine(prepare(load_spec(spec, list(overrides))), [HDF5Logger(folder / "int.h5")])
    train_step = interrupted.train_step

    def stepping(batch):
        if interrupted.step == stop_at:
            interrupted.request_stop("stopped by the test")
        return train_step(batch)

    interrupted.train_step = stepping
    if stop_at < 0:
        interrupted.request_stop("stopped by the test")
    try:
        interrupted.run()
    except RunInterrupted:
        pass
    else:
        raise AssertionError("the run was not stopped")
    step = read_checkpoint(folder / "int.h5").step
    assert resume(folder / "int.h5").status == "completed"
    return folder / "ref.h5", folder / "int.h5", step


@pytest.fixture(scope="session")
def stop_and_resume():
    return _stop_and_resume


class _FakeDist:
    def __init__(self, name: str, version: str):
        self.name, self.version = name, version


class _FakeEntryPoint:
    """What importlib.metadata.entry_points yields: a name, a value, a loader, a distribution."""

    def __init__(self, name: str, module: str, dist: str, version: str):
        self.name, self.value, self.dist = name, module, _FakeDist(dist, version)

    def load(self):
        return importlib.import_module(self.value)


@pytest.fixture
def fake_entry_point(monkeypatch):
    """Offer a module as an installed entry point of one group: `fake_entry_point(group,
    name, folder, module, dist, version)` puts `folder` on the path and makes
    importlib.metadata.entry_points yield it for `group` (nothing for the others)."""
    added: list[str] = []

    def install(group: str, name: str, folder, module: str, dist: str = "growsim-extra", version: str = "1.0"):
        monkeypatch.syspath_prepend(str(folder))
        added.append(module)
        point = _FakeEntryPoint(name, module, dist, version)
        monkeypatch.setattr(importlib.metadata, "entry_points", lambda group_=None, **kw: [point] if (group_ or kw.get("group")) == group else [])

    yield install
    for module in added:
        sys.modules.pop(module, None)


@pytest.fixture
def restored_registry():
    """`restored_registry(registry)`: the registry (and the loaded plugin files) as they were
    when the test started, once it ends; its entry points are looked up afresh meanwhile."""
    from growsim import registry as core

    saved: list = []
    files = dict(core._loaded_files)

    def keep(registry):
        saved.append((registry, set(registry.entries), registry.entry_points_loaded))
        registry.entry_points_loaded = False
        return registry

    yield keep
    for registry, names, loaded in saved:
        for name in set(registry.entries) - names:
            del registry.entries[name]
        registry.entry_points_loaded = loaded
    core._loaded_files.clear()
    core._loaded_files.update(files)
