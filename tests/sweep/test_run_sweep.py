"""Sweeps run end to end: locally and on a Dask cluster (same files), failing points, killed sweeps.

Every process these tests start ends with them: the local executor's workers are shut down
by `run_sweep` itself; the Dask cluster and the killed sweep's process group by fixtures.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import h5py
import pytest

from growsim.cli import main
from growsim.sweep import expand, read_index, run_sweep

DATA = Path(__file__).parent / "data"
GRID = DATA / "grid.yaml"
METRICS = ["perf_mean", "modularity_q", "connections", "last_step"]


@pytest.fixture(scope="module")
def dask_client():
    """A Dask cluster on loopback: 2 worker processes of 1 thread, no dashboard; closed whatever happens."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        # The scheduler's small HTTP server (health checks; no dashboard) takes another
        # loopback port when a parallel test's cluster holds 8787, and says so.
        warnings.filterwarnings("ignore", message="Port 8787 is already in use")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    index = run_sweep(GRID, out, workers=2)
    return out, index


def test_a_local_sweep_writes_one_file_per_point_and_an_index(local_sweep):
    out, index = local_sweep
    points = expand(GRID)
    assert sorted(p.name for p in out.glob("*.h5")) == sorted(p.file_name for p in points)
    assert list(index["name"]) == [p.name for p in points] and list(index["point"]) == list(range(8))
    assert set(index["status"]) == {"completed"} and set(index["reason"]) == {""}
    assert list(index.columns[:17]) == ["point", "name", "file", "status", "reason", "perf_mean", "modularity_q",
                                        "connections", "n_solved", "fn_wiring_length", "fn_n_active_neurons",
                                        "fn_isolated_fraction", "last_step", "batches", "wall_time_s", "host", "spec"]
    assert list(index.columns[17:]) == ["wiring.rule", "growth.initial_connections", "growth.events", "seed", "overrides"]
    assert (index["wall_time_s"] > 0).all() and (index["last_step"] == 10).all()
    # The index's final metrics are the run files' last logged values.
    for _, row in index.iterrows():
        with h5py.File(out / row["file"], "r") as f:
            assert f.attrs["status"] == "completed"
            assert [o.decode() for o in f["spec/overrides"][()]][-1] == "train.threads=1"
            for metric in ("perf_mean", "modularity_q", "connections"):
                assert math.isclose(row[metric], f[f"series/{metric}"][-1])
    fix = index[index["growth.initial_connections"] == 12]
    assert (fix["connections"] == 12).all() and (index.loc[index["growth.initial_connections"] == 0, "connections"] == 5).all()
    assert read_index(out).equals(index)


def test_a_dask_cluster_gives_the_same_points_statuses_metrics_and_files(local_sweep, dask_client, tmp_path,
                                                                         h5_contents, assert_same_h5):
    out, local = local_sweep
    remote = run_sweep(GRID, tmp_path / "dask", scheduler=dask_client)
    same = ["point", "name", "file", "status", "reason", "last_step", "batches", "spec", "seed", "overrides"]
    assert remote[same].equals(local[same])
    for metric in METRICS:
        assert (remote[metric] == local[metric]).all(), metric
    for name in local["file"]:
        assert_same_h5(h5_contents(out / name), h5_contents(tmp_path / "dask" / name))


def test_running_a_finished_sweep_again_touches_nothing(local_sweep, capsys):
    out, index = local_sweep
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.h5")}
    assert main(["sweep", str(GRID), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"{out}: 8 points: 8 completed; index {out / 'index.csv'}" in captured.out
    assert "0 of 8 points to run (found: 8 completed)" in captured.err
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.h5")} == before
    assert read_index(out)[METRICS].equals(index[METRICS])


def test_a_folder_holding_runs_of_another_spec_is_refused(local_sweep, tmp_path, capsys):
    out, _ = local_sweep
    shutil.copytree(out, tmp_path / "copy")
    assert main(["sweep", str(GRID), "--out", str(tmp_path / "copy"), "--set", "train.batches=6"]) == 2
    err = capsys.readouterr().err
    assert "holds runs of a different spec" in err and "train.batches is 10 in the file, 6 here" in err


def test_a_finished_points_line_leaves_out_q_when_it_is_not_logged(tmp_path, capsys):
    # As a run's own summary (tests/cli/test_run.py): no "Q nan" under log.modularity: none.
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"spec: {DATA / 'tiny.yaml'}\ngrid:\n  wiring.rule: [random]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "1", "--set", "log.modularity=none"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("completed")]
    assert len(lines) == 1 and "rule=random  perf " in lines[0] and " synapses, " in lines[0], lines
    assert "Q " not in lines[0] and "nan" not in lines[0], lines[0]


# --- a failing point ------------------------------------------------------------------------


def test_a_failing_point_does_not_stop_the_others_and_its_reason_is_in_the_index(tmp_path, capsys, dask_client):
    # As tests/cli/test_run.py: a plugin rule that raises when growth first asks it (batch 5).
    (tmp_path / "bad_rule.py").write_text(
        "from growsim.wiring import wiring_rule\n"
        "@wiring_rule('always_fails_in_sweep_test')\n"
        "def rule(request, params):\n"
        "    raise RuntimeError('no candidates I like')\n"
    )
    (tmp_path / "tiny.yaml").write_text((DATA / "tiny.yaml").read_text() + "plugins: [bad_rule.py]\n")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("spec: tiny.yaml\ngrid:\n  wiring.rule: [always_fails_in_sweep_test, random]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "failed rule=always_fails_in_sweep_test: " in err and "Traceback" not in err
    index = read_index(out).set_index("name")
    failed, fine = index.loc["rule=always_fails_in_sweep_test"], index.loc["rule=random"]
    assert fine["status"] == "completed" and fine["reason"] == ""
    assert failed["status"] == "failed" and failed["last_step"] == 0
    assert "batch 5" in failed["reason"] and "no candidates I like" in failed["reason"]
    with h5py.File(out / "rule=always_fails_in_sweep_test.h5", "r") as f:
        assert f.attrs["status"] == "failed" and f.attrs["status_reason"] == failed["reason"]

    # Run again: the failed point is left alone, unless --retry-failed (here on the Dask cluster).
    stamp = (out / "rule=always_fails_in_sweep_test.h5").stat().st_mtime_ns
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "1", "-q"]) == 1
    assert "--retry-failed runs failed points again" in capsys.readouterr().err
    assert (out / "rule=always_fails_in_sweep_test.h5").stat().st_mtime_ns == stamp
    index = run_sweep(sweep, out, scheduler=dask_client, retry_failed=True).set_index("name")
    assert (out / "rule=always_fails_in_sweep_test.h5").stat().st_mtime_ns != stamp
    assert index.loc["rule=always_fails_in_sweep_test", "status"] == "failed"
    assert "no candidates I like" in index.loc["rule=always_fails_in_sweep_test", "reason"]
    assert index.loc["rule=random", "status"] == "completed"


# --- a killed sweep -------------------------------------------------------------------------


@pytest.fixture
def sweep_process():
    """Start a sweep in its own process group; whatever happens in the test, the group is killed."""
    procs: list[subprocess.Popen] = []

    def start(args: list[str]) -> subprocess.Popen:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "growsim", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def _statuses(out: Path, names: list[str]) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            with h5py.File(out / f"{name}.h5", "r", locking=False) as f:
                found[name] = str(f.attrs["status"])
        except (OSError, KeyError):
            pass  # not written yet, or caught between two commits
    return found


def test_a_killed_sweep_resumes_without_redoing_finished_points(tmp_path, sweep_process):
    (tmp_path / "tiny.yaml").write_text((DATA / "tiny.yaml").read_text())
    sweep = tmp_path / "sweep.yaml"
    # Three points of 120 batches, one worker: the first finishes while the second runs.
    sweep.write_text("spec: tiny.yaml\nset: {train.batches: 120, log.every: 10}\nseeds: 3\n")
    out = tmp_path / "out"
    names = [p.name for p in expand(sweep)]
    proc = sweep_process(["sweep", str(sweep), "--out", str(out), "--workers", "1", "-q"])
    deadline = time.monotonic() + 120
    while _statuses(out, names).get(names[0]) != "completed":
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker, at once
    proc.wait()
    statuses = _statuses(out, names)
    assert statuses[names[0]] == "completed" and statuses.get(names[2]) is None
    done = out / f"{names[0]}.h5"
    stamp = (done.stat().st_ino, done.stat().st_mtime_ns)

    index = run_sweep(sweep, out, workers=1)
    assert set(index["status"]) == {"completed"} and (index["last_step"] == 120).all()
    assert (done.stat().st_ino, done.stat().st_mtime_ns) == stamp
    with h5py.File(out / f"{names[1]}.h5", "r") as f:
        # Killed mid-run, it was resumed from its checkpoint rather than started again.
        assert f.attrs.get("resumed", 0) == (1 if statuses.get(names[1]) == "running" else 0)
        assert f["train/loss"].shape == (120,)
    assert not (out / ".sweep.lock").exists()


def test_each_local_point_runs_in_a_fresh_process():
    """docs/sweeps.md: a worker process serves one point, so no run inherits the heap of
    the runs before it."""
    import os

    from growsim.sweep._driver import _LocalExecutor

    executor = _LocalExecutor(1)
    try:
        pids = [executor.submit(os.getpid, name=f"p{i}").result(timeout=120) for i in range(3)]
    finally:
        executor.close()
    assert len(set(pids)) == 3 and os.getpid() not in pids
