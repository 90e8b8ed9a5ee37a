"""A run that is killed leaves a file that opens and says how far it got."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture
def start_run():
    """Start runs in subprocesses; whatever happens in the test, none outlives it."""
    procs: list[subprocess.Popen] = []

    def start(out: Path) -> subprocess.Popen:
        procs.append(_start(out))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _start(out: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "growsim", "run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out),
            "-q", "--set", "train.batches=100000", "--set", "log.every=5", "--set", "growth.events[0].until=200"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"OMP_NUM_THREADS": "1", "PATH": ""})


def _wait_for_progress(out: Path, proc: subprocess.Popen, steps: int = 10, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        if out.exists():
            try:
                # locking=False: the writer holds the file's lock while it runs.
                with h5py.File(out, "r", locking=False) as f:
                    if f.attrs.get("last_step", -1) >= steps:
                        return
            except OSError:
                pass  # caught mid-write; try again
        time.sleep(0.2)
    pytest.fail("the run made no progress")


@pytest.mark.slow
def test_sigkill_leaves_a_readable_file(tmp_path, start_run):
    out = tmp_path / "killed.h5"
    proc = start_run(out)
    _wait_for_progress(out, proc)
    proc.kill()
    proc.wait()
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "running"  # never closed: a reader can tell it died
        last = int(f.attrs["last_step"])
        assert last >= 10
        steps = f["series/step"][()]
        assert steps[-1] == last
        assert f["series/connections"].shape == steps.shape
        assert "verbatim" in f["spec"]
    if shutil.which("h5dump"):  # Debian's hdf5-tools, where installed
        assert subprocess.run(["h5dump", "-A", str(out)], capture_output=True).returncode == 0


@pytest.mark.slow
def test_sigterm_closes_the_file_as_interrupted(tmp_path, start_run):
    out = tmp_path / "terminated.h5"
    proc = start_run(out)
    _wait_for_progress(out, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"interrupted at batch" in err and b"Traceback" not in err
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "interrupted"
        assert "terminated (SIGTERM) at batch" in f.attrs["status_reason"]
        assert f["final/w_rec"].shape == (16, 16)
        assert f["train/loss"].shape[0] >= f.attrs["last_step"]


def test_overwrite_never_replaces_a_live_runs_file(tmp_path, capsys):
    from growsim.cli import main

    spec = Path(__file__).parents[1] / "data" / "tiny.yaml"
    out = tmp_path / "live.h5"
    proc = subprocess.Popen([sys.executable, "-m", "growsim", "run", str(spec), "--out", str(out), "-q",
                             "--set", "train.batches=100000"], env={"OMP_NUM_THREADS": "1", "PATH": ""},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "the run did not start"
            try:
                with h5py.File(out, "r", locking=False) as f:
                    if f.attrs.get("status") == "running":
                        break
            except (OSError, KeyError):
                pass
            time.sleep(0.05)
        assert main(["run", str(spec), "--out", str(out), "--overwrite", "-q"]) == 2
        err = capsys.readouterr().err
        assert f"is being written by process {proc.pid}" in err and "never replaces a live run's file" in err
        assert proc.poll() is None  # the live run goes on
    finally:
        proc.kill()
        proc.wait(timeout=60)
    # once its writer is gone, the file may be replaced
    assert main(["run", str(spec), "--out", str(out), "--overwrite", "-q", "--set", "train.batches=5"]) == 0
