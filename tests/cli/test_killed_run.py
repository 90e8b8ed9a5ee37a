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


def _kill_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.fixture
def start_run():
    """Start runs in subprocesses; whatever happens in the test, none outlives it."""
    procs: list[subprocess.Popen] = []

    def start(out: Path) -> subprocess.Popen:
        procs.append(_start(out))
        return procs[-1]

    yield start
    _kill_all(procs)


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
        stopped_at = int(f.attrs["last_step"])
        assert "finished" in f.attrs  # the time it stopped

    # Resumed, it is running again: no stale end time, and inspect says the time is so far.
    resumed = subprocess.Popen([sys.executable, "-m", "growsim", "run", "--resume", str(out), "-q"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    try:
        _wait_for_progress(out, resumed, steps=stopped_at + 10)
        with h5py.File(out, "r", locking=False) as f:
            assert f.attrs["status"] == "running" and f.attrs["resumed"] == 1
            assert "finished" not in f.attrs
        inspected = _growsim("inspect", str(out))
        assert inspected.returncode == 0, inspected.stderr
        (time_line,) = [line for line in inspected.stdout.splitlines() if line.startswith("time")]
        assert " so far  (started " in time_line and ", last commit " in time_line
    finally:
        _kill_all([resumed])


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


# A run that waits at one moment of its writing, so that SIGKILL can land there: the
# windows (a commit's rename, the few seconds before the first checkpoint) are too short
# or too variable to hit by timing. The test patches this process only; nothing in growsim
# or a spec can make a run wait.
_PAUSED = """
import os, sys, time
import growsim.log.hdf5 as hdf5
moment, count = sys.argv[1], int(sys.argv[2])
def wait():
    print("waiting", flush=True)
    time.sleep(600)
if moment == "rename":  # the count-th commit's working copy is written and locked, not yet renamed
    real, seen = os.replace, []
    def replace(src, dst, *args, **kwargs):
        if str(src).endswith(".writing"):
            seen.append(src)
            if len(seen) == count:
                wait()
        return real(src, dst, *args, **kwargs)
    hdf5.os.replace = replace
else:  # "checkpoint": the set-up is committed; the first checkpoint is being taken
    hdf5.HDF5Logger.log_checkpoint = lambda self, *args, **kwargs: wait()
from growsim.cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.fixture
def paused_run():
    """Start a run that waits at `moment`; returns it once it waits there."""
    procs: list[subprocess.Popen] = []

    def start(out: Path, moment: str, count: int = 1) -> subprocess.Popen:
        args = [sys.executable, "-c", _PAUSED, moment, str(count), "run", str(ROOT / "tests" / "data" / "tiny.yaml"),
                "--out", str(out), "-q", "--overwrite", "--set", "log.every=5"]
        procs.append(subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env={"OMP_NUM_THREADS": "1", "PATH": ""}))
        line = procs[-1].stdout.readline()
        assert line == b"waiting\n", procs[-1].stderr.read().decode()
        return procs[-1]

    yield start
    _kill_all(procs)


def _growsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "growsim", *args], capture_output=True, text=True, timeout=300,
                          env={"OMP_NUM_THREADS": "1", "PATH": ""})


def _killed(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


@pytest.mark.slow
def test_sigkill_before_the_first_checkpoint(tmp_path, paused_run):
    """The set-up is committed, the step-0 checkpoint is not: the file says running with no
    step; inspect calls the run killed and does not offer to resume it; resume refuses,
    saying why."""
    out = tmp_path / "x.h5"
    _killed(paused_run(out, "checkpoint"))
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "running" and f.attrs["last_step"] == -1 and "checkpoint" not in f
    inspected = _growsim("inspect", str(out))
    assert inspected.returncode == 0, inspected.stderr
    assert "running: no step logged yet of 40 (killed before its first checkpoint" in inspected.stdout
    assert "it cannot be resumed" in inspected.stdout and "--resume" not in inspected.stdout
    resumed = _growsim("run", "--resume", str(out), "-q")
    assert resumed.returncode == 2 and "Traceback" not in resumed.stderr
    assert "cannot be resumed: it holds no checkpoint (its run was killed before its first one" in resumed.stderr
    again = _growsim("run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q", "--overwrite")
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_sigkill_during_the_first_commit(tmp_path, paused_run):
    """Only the working copy exists: inspect and resume say what it is, and the next run
    (or resume) removes it."""
    out = tmp_path / "x.h5"
    work = tmp_path / ".x.h5.writing"
    _killed(paused_run(out, "rename"))
    assert work.exists() and not out.exists()
    inspected = _growsim("inspect", str(out))
    assert inspected.returncode == 2 and "only .x.h5.writing is there" in inspected.stderr
    resumed = _growsim("run", "--resume", str(out), "-q")
    assert resumed.returncode == 2 and "killed while writing its first commit" in resumed.stderr
    assert f"removed {work}" in resumed.stderr and not work.exists()
    _killed(paused_run(out, "rename"))
    again = _growsim("run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q")
    assert again.returncode == 0, again.stderr
    assert f"removed {work}: the unfinished commit of a run killed while writing it" in again.stderr
    assert not work.exists()


@pytest.mark.slow
@pytest.mark.parametrize("then", ["resume", "overwrite"])
def test_sigkill_during_a_later_commit(tmp_path, paused_run, then):
    """The run file is the commit before, with a stale working copy beside it: resume and
    --overwrite both remove the copy, and resume continues from the checkpoint."""
    out = tmp_path / "x.h5"
    work = tmp_path / ".x.h5.writing"
    _killed(paused_run(out, "rename", count=4))  # the set-up, steps 0 and 5 committed; step 10's copy written
    assert work.exists()
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "running" and f.attrs["last_step"] == 5
    inspected = _growsim("inspect", str(out))
    assert "killed: its writer" in inspected.stdout and "continues it from its checkpoint at step 5" in inspected.stdout
    if then == "resume":
        done = _growsim("run", "--resume", str(out), "-q")
    else:
        done = _growsim("run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q", "--overwrite")
    assert done.returncode == 0, done.stderr
    assert f"removed {work}" in done.stderr and not work.exists()
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed" and f.attrs.get("resumed", 0) == (then == "resume")


def test_a_live_writers_working_copy_is_left_alone(tmp_path, paused_run, capsys):
    """While a live process holds its working copy (here, waiting in its first commit),
    another run with the same --out neither removes it nor starts."""
    from growsim.cli import main

    out = tmp_path / "x.h5"
    proc = paused_run(out, "rename")
    assert main(["run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is being written by another process (it is writing" in err, err
    assert (tmp_path / ".x.h5.writing").exists() and proc.poll() is None
