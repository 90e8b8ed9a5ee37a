"""growsim.open_run / open_runs on complete, killed, snapshot-less and growing runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import growsim
from growsim.reader import RunFileError, flatten_spec, open_run, open_runs

ROOT = Path(__file__).parents[2]


def test_header_spec_and_tasks(small_runs):
    run = growsim.open_run(small_runs["tiny"])
    assert run.status == "completed" and run.status_reason == ""
    assert run.last_step == 40 and run.batches == 40 and run.seed == 0 and run.name == "tiny"
    assert run.spec["network"]["geometry"]["shape"] == [4, 4]
    assert "growth:" in run.spec_text and "wiring:" in run.spec_yaml
    assert run.tasks == ["fdgo", "reactgo"]
    assert run.overrides == []
    assert "torch" in run.versions and run.duration_s > 0
    assert run.writer_alive() is False  # it has ended
    assert run.spec_fields["wiring.eta"] == -3.0 and run.spec_fields["growth.events[0].every"] == 10


def test_series_wide_long_and_train(small_runs):
    run = open_run(small_runs["tiny"])
    s = run.series()
    assert list(s["step"]) == [0, 10, 20, 30, 40]
    assert list(s.columns[:2]) == ["step", "wall_time"]
    assert {"loss", "perf_mean", "connections", "modularity_q", "perf/fdgo", "task_loss/reactgo"} <= set(s.columns)
    assert np.isnan(s["train_loss"].iloc[0]) and s["train_loss"].iloc[1:].notna().all()  # nothing trained at step 0
    with h5py.File(small_runs["tiny"], "r") as f:
        np.testing.assert_array_equal(s["perf/reactgo"], f["series/perf"][:, 1])
        np.testing.assert_array_equal(s["train_loss"].iloc[1:], f["series/train_loss"][()])
    long = run.series(long=True)
    assert list(long.columns) == ["step", "metric", "task", "value"]
    perf = long[long.metric == "perf"].pivot(index="step", columns="task", values="value")
    np.testing.assert_array_equal(perf["fdgo"], s["perf/fdgo"])
    assert long[long.metric == "loss"]["task"].isna().all()
    train = run.train()
    assert list(train.columns) == ["step", "loss"] and len(train) == 40
    steps, labels = run.communities()
    assert labels.shape == (5, 16) and list(steps) == [0, 10, 20, 30, 40]


def test_events_and_synapses(small_runs):
    run = open_run(small_runs["tiny"])
    ev = run.events()
    assert list(ev["step"]) == [10, 20, 30] and list(ev["connections"]) == [5, 10, 12]
    assert list(ev["op"]) == ["add_connections"] * 3 and list(ev["requested"]) == [5, 5, 2]
    syn = run.synapses()
    assert len(syn) == 12 and list(syn.columns) == ["event", "step", "post", "pre"]
    assert set(syn["step"]) == {10, 20, 30}
    final = run.final()
    assert np.all(final.mask[syn["post"], syn["pre"]] == 1)


def test_snapshots_load_one_at_a_time(small_runs):
    run = open_run(small_runs["tiny"])
    assert run.snapshot_steps() == [0, 10, 20, 30, 40]
    snap = run.snapshot(20)
    assert snap.step == 20 and snap.n_neurons == 16 and snap.mask.sum() == 10
    assert snap.w_in.shape[0] == 16 and snap.b_out is not None
    assert run.snapshot().step == 40
    with pytest.raises(RunFileError, match="no snapshot at step 15; snapshots: 0, 10, 20, 30, 40"):
        run.snapshot(15)
    final = run.final()
    assert final.step == 40 and "w_rec_initial" in final.extra
    np.testing.assert_array_equal(run.weights().w_rec, final.w_rec)
    np.testing.assert_array_equal(run.weights(40).w_rec, final.w_rec)
    geo = run.geometry()
    assert geo.kind == "grid" and geo.positions.shape == (16, 2) and geo.distances.shape == (16, 16)
    assert "16" in repr(geo) and "Snapshot(step=20" in repr(snap)


def test_growing_network_has_its_own_size_at_every_snapshot(small_runs):
    run = open_run(small_runs["growing"])
    assert run.snapshot_steps() == [0, 10, 20]
    assert [run.snapshot(s).n_neurons for s in (0, 10, 20)] == [4, 6, 9]
    assert run.snapshot(10).w_in.shape == (6, 7) and run.snapshot(10).w_out.shape == (3, 6)
    assert run.final().n_neurons == 9
    s = run.series()
    assert list(s["step"]) == [0, 10, 20] and "perf/fdgo" in s


def test_run_without_snapshots(small_runs):
    run = open_run(small_runs["no_snapshots"])
    assert run.spec["log"]["snapshots"] is False
    assert run.snapshot_steps() == []
    with pytest.raises(RunFileError, match=r"no weight snapshots.*Run\.final\(\)"):
        run.snapshot()
    assert run.weights().step == 40  # the end comes from /final
    assert len(run.series()) == 5


def test_killed_run(small_runs):
    run = open_run(small_runs["killed"])
    assert run.status == "running" and run.last_step == 30 and run.duration_s is None
    assert run.writer_alive() is False  # its (fake) writer does not exist
    s = run.series()
    assert list(s["step"]) == [0, 10, 20, 30]
    # The last row was half written: what is missing is NaN, what was written is there.
    assert s["connections"].notna().all() and np.isnan(s["perf/fdgo"].iloc[-1]) and np.isnan(s["modularity_q"].iloc[-1])
    assert s["train_loss"].iloc[1:].notna().all()
    _, labels = run.communities()
    assert labels.shape == (4, 16) and np.all(labels[-1] == -1)
    with pytest.raises(RunFileError, match="no final weights"):
        run.final()
    assert run.weights().step == 30  # the last snapshot stands in
    assert run.snapshot_steps() == [0, 10, 20, 30]


def test_run_being_written_is_read_without_a_lock(small_runs, tmp_path):
    path = tmp_path / "live.h5"
    path.write_bytes(Path(small_runs["tiny"]).read_bytes())
    # Another process holds the file open for writing, with HDF5's lock, as an in-place writer does.
    code = ("import sys, h5py\n"
            f"f = h5py.File({str(path)!r}, 'a'); f.attrs['status'] = 'running'; f.flush()\n"
            "print('ready', flush=True); sys.stdin.read(); f.close()\n")
    writer = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        run = open_run(path)
        assert run.status == "running" and len(run.series()) == 5 and run.snapshot(10).n_neurons == 16
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "text", "other_hdf5", "no_spec"])
def test_unreadable_files_name_the_file(kind, tmp_path):
    path = tmp_path / f"{kind}.h5"
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("seed: 0\n")
    elif kind == "other_hdf5":
        with h5py.File(path, "w") as f:
            f["x"] = 1
    elif kind == "no_spec":
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "growsim-run"
    with pytest.raises(RunFileError, match=str(path).replace("\\", "\\\\")):
        open_run(path)


def test_open_runs_gives_one_table_with_spec_fields(shipped_runs):
    df = open_runs(Path(next(iter(shipped_runs.values()))).parent)
    assert df["run"].nunique() == len(shipped_runs)
    assert list(df.columns[:4]) == ["run", "name", "status", "path"]
    for col in ("step", "modularity_q", "perf/dm1", "seed", "wiring.rule", "growth.initial_connections", "task.tasks"):
        assert col in df.columns
    assert set(df.attrs["spec_fields"]) >= {"seed", "wiring.rule", "wiring.eta"}
    assert "modularity_q" in df.attrs["series_columns"] and "wiring.rule" not in df.attrs["series_columns"]
    per_run = df.groupby("run").size()
    assert (per_run == 3).all()  # steps 0, 3, 6
    table = df.groupby(["wiring.rule", "growth.initial_connections"])["connections"].max()
    assert table[("random", 800)] == 800 and table[("distance", 0)] == 20
    assert set(df.loc[df["wiring.rule"] == "gnm_matching", "wiring.gamma"]) == {0.3}
    files = sorted(shipped_runs.values())[:2]
    assert open_runs(files)["run"].nunique() == 2


def test_open_runs_errors(tmp_path, small_runs):
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(RunFileError, match="bad.h5"):
        open_runs([small_runs["tiny"], bad])
    with pytest.warns(UserWarning, match="bad.h5"):
        df = open_runs([small_runs["tiny"], bad], errors="skip")
    assert df["run"].unique().tolist() == ["tiny"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFileError, match="no .h5 files"):
        open_runs(tmp_path / "empty")
    with pytest.raises(RunFileError, match="no such file"):
        open_runs(tmp_path / "nothing")


def test_same_stems_get_distinct_labels(small_runs, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "run.h5").write_bytes(Path(small_runs["tiny"]).read_bytes())
    assert sorted(open_runs(tmp_path)["run"].unique()) == ["a/run", "b/run"]


def test_flatten_spec():
    spec = {"seed": 1, "wiring": {"rule": "distance", "params": {"eta": -3.0}},
            "growth": {"events": [{"every": 5, "at": None}], "initial_connections": 0},
            "network": {"geometry": {"shape": [4, 4]}}, "plugins": []}
    assert flatten_spec(spec) == {
        "seed": 1, "wiring.rule": "distance", "wiring.eta": -3.0, "growth.events[0].every": 5,
        "growth.events[0].at": None, "growth.initial_connections": 0, "network.geometry.shape": (4, 4), "plugins": (),
    }


# Run in a fresh interpreter: which modules does reading load? Only the reader, the one
# tiny module it shares with the writer's side, and the package's own __init__.
_LOADED = (
    "import sys\n"
    "loaded = sorted(m for m in sys.modules if m.startswith('growsim.')"
    " and not m.startswith(('growsim.reader', 'growsim._process')))\n"
    "assert not loaded, f'reading loaded {loaded}'\n"
    "assert 'torch' not in sys.modules, 'the reader imported torch'\n"
)


def test_reading_does_not_import_training_code(small_runs, tmp_path):
    path = tmp_path / "tiny.h5"
    path.write_bytes(Path(small_runs["tiny"]).read_bytes())
    _write_analysis_by_hand(path)
    code = (
        "import sys, growsim\n"
        "assert 'h5py' not in sys.modules and 'pandas' not in sys.modules\n"
        f"run = growsim.open_run({str(path)!r})\n"
        "run.series(); run.series(long=True); run.train(); run.snapshot(10); run.final(); run.weights()\n"
        "run.events(); run.synapses(); run.communities(); run.geometry(); run.contents(); run.writer_alive()\n"
        "run.spec_fields; run.analyses(); run.analysis('modularity_spectral').table()\n"
        "growsim.open_runs([run.path])\n" + _LOADED
    )
    result = subprocess.run(check=False, args=[sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def _write_analysis_by_hand(path: Path) -> None:
    """An /analysis group as docs/analysis.md lays it out, written with h5py alone."""
    with h5py.File(path, "a") as f:
        g = f.create_group("analysis/modularity_spectral")
        g.attrs["metric"] = "modularity"
        g.attrs["method"] = "spectral"
        g.attrs["parameters"] = '{"method": "spectral"}'
        g["step"] = np.array([0, 20, 40], np.int64)
        g["q"] = np.array([0.0, 0.25, 0.5])
        g["n_communities"] = np.array([1, 2, 3], np.int64)
        g["labels"] = np.zeros((3, 16), np.int32)
        g.create_dataset("names", data=np.array(["a", "b"], dtype=object), dtype=h5py.string_dtype("utf-8"))
        f["analysis"].create_dataset("stray", data=1)  # not a group: not an analysis


def test_analysis_results_read_back(small_runs, tmp_path):
    path = tmp_path / "tiny.h5"
    path.write_bytes(Path(small_runs["tiny"]).read_bytes())
    run = open_run(path)
    assert run.analyses() == {}
    _write_analysis_by_hand(path)
    assert run.analyses() == {"modularity_spectral": "modularity"}  # a second read sees what was added
    res = run.analysis("modularity_spectral")
    assert res.metric == "modularity" and res.attrs["method"] == "spectral" and "q" in res
    np.testing.assert_array_equal(res["q"], [0.0, 0.25, 0.5])
    assert res["labels"].shape == (3, 16) and list(res["names"]) == ["a", "b"]
    table = res.table()  # the per-step datasets only, step first
    assert isinstance(table, pd.DataFrame) and list(table.columns) == ["step", "n_communities", "q"]
    assert list(table["step"]) == [0, 20, 40]
    with pytest.raises(RunFileError, match="no analysis 'nope'"):
        run.analysis("nope")


def test_series_taken_at_some_log_steps_only(make_runs, tmp_path):
    """fn_* (log.functional.every) have a row per functional step only: placed on their steps."""
    import json

    path = make_runs.make_growing(tmp_path / "g.h5")  # logged at steps 0, 10, 20 of 20
    with h5py.File(path, "a") as f:
        spec = json.loads(f["spec/resolved_json"].asstr()[()])
        spec["log"]["functional"] = {"every": 20}
        f["spec/resolved_json"][()] = json.dumps(spec)
        f["series"].create_dataset("fn_n_clusters", data=np.array([3.0, 5.0]))  # at steps 0 and 20
        f["series"].create_dataset("fn_labels", data=np.array([[0, 1, -1], [1, 1, 0]], np.int32))
        f["series"].create_dataset("reg_l1", data=np.array([np.nan, 2.0, 1.5]))
    run = open_run(path)
    s = run.series()
    np.testing.assert_array_equal(s["fn_n_clusters"], [3.0, np.nan, 5.0])
    np.testing.assert_array_equal(s["reg_l1"], [np.nan, 2.0, 1.5])
    _, labels = run.series_array("fn_labels")
    np.testing.assert_array_equal(labels, [[0, 1, -1], [-1, -1, -1], [1, 1, 0]])
    assert not any(c.startswith("fn_labels") for c in s.columns)
