"""Interrupted runs resume to exactly the file an uninterrupted run writes."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).parents[2]
SPEC = ROOT / "tests" / "data" / "tiny.yaml"
OVERRIDES = ["train.batches=60", "log.every=5", "growth.events[0].until=40"]
ENV = {"OMP_NUM_THREADS": "1", "PATH": ""}
def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "growsim", "run", *args, "-q"]


def _run_args(out: Path) -> list[str]:
    args = [str(SPEC), "--out", str(out)]
    for o in OVERRIDES:
        args += ["--set", o]
    return _cmd(*args)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, h5_contents) -> dict:
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    subprocess.run(_run_args(out), check=True, env=ENV, capture_output=True)
    return h5_contents(out)


def _last_step(path: Path) -> int:
    try:
        with h5py.File(path, "r", locking=False) as f:
            return int(f.attrs["last_step"])
    except (OSError, KeyError):
        return -1


def _kill_at(out: Path, at_step: int, extra_s: float, sig) -> subprocess.Popen:
    proc = subprocess.Popen(_run_args(out), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while _last_step(out) < at_step and proc.poll() is None:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        time.sleep(extra_s)
    finally:
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.communicate(timeout=60)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("case", range(4))
def test_resume_after_sigkill_matches_an_uninterrupted_run(reference, tmp_path, case, h5_contents, assert_same_h5):
    rng = random.Random(1000 + case)
    out = tmp_path / "run.h5"
    proc = _kill_at(out, at_step=rng.choice([0, 5, 15, 30, 45]), extra_s=rng.uniform(0, 0.3), sig=signal.SIGKILL)
    with h5py.File(out, "r") as f:  # the file opens after SIGKILL at any moment
        status = f.attrs["status"]
    if proc.returncode == 0 or status == "completed":
        # The kill came too late (after the file was closed, perhaps while the process was
        # still exiting): nothing to resume, and the file is the whole run.
        assert status == "completed"
        assert_same_h5(reference, h5_contents(out))
        return
    assert status == "running"
    resumed = subprocess.run(_cmd("--resume", str(out)), env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["resumed"] == 1
    assert_same_h5(reference, h5_contents(out))
    assert not (out.parent / f".{out.name}.writing").exists()


@pytest.mark.slow
def test_resume_after_sigterm_matches_an_uninterrupted_run(reference, tmp_path, h5_contents, assert_same_h5):
    out = tmp_path / "run.h5"
    proc = _kill_at(out, at_step=20, extra_s=0.05, sig=signal.SIGTERM)
    assert proc.returncode == 130
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "interrupted"
        stopped = int(f["checkpoint"].attrs["step"])
        assert stopped >= 20
    resumed = subprocess.run(_cmd("--resume", str(out)), env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_h5(reference, h5_contents(out))


def test_resume_refuses_completed_and_missing_runs(tmp_path, capsys):
    from growsim.cli import main

    out = tmp_path / "done.h5"
    assert main(["run", str(SPEC), "--out", str(out), "-q", "--set", "train.batches=5"]) == 0
    assert main(["run", "--resume", str(out), "-q"]) == 2
    assert "completed run: there is nothing to resume" in capsys.readouterr().err
    assert main(["run", "--resume", str(tmp_path / "absent.h5"), "-q"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", str(SPEC), "--resume", str(out), "-q"]) == 2
    assert "give only --resume" in capsys.readouterr().err


def test_resume_may_change_threads_and_progress_and_nothing_else(tmp_path, capsys, h5_contents, assert_same_h5):
    import torch

    from growsim.cli import main

    overrides = ["train.batches=30", "log.every=10", "growth.events[0].until=40"]
    ref, stopped = tmp_path / "ref.h5", tmp_path / "stopped.h5"
    base = [str(SPEC), "-q"] + [a for o in overrides for a in ("--set", o)]
    assert main(["run", *base, "--out", str(ref)]) == 0
    # a run stopped by SIGTERM at its first step: the in-process way is a stop request
    from growsim.runner import Stop, run

    stop = Stop()
    stop.request("stopped by the test")
    assert run(SPEC, stopped, overrides=overrides, stop=stop).status == "interrupted"
    for refused in ("train.batches=31", "seed=4", "train.device=cpu", "log.every=5"):
        assert main(["run", "--resume", str(stopped), "-q", "--set", refused]) == 2
        err = capsys.readouterr().err
        assert f"--set {refused.split('=')[0]}: a resumed run continues the spec it recorded" in err
        assert "Traceback" not in err
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # so that the resumed run's own setting shows
    try:
        assert main(["run", "--resume", str(stopped), "-q", "--set", "train.threads=1", "--set", "log.progress=false"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    ours, theirs = h5_contents(stopped), h5_contents(ref)
    for contents in (ours, theirs):  # the overrides recorded by the resume are the only difference allowed
        contents.pop("spec/overrides", None)
    assert_same_h5(theirs, ours)


@pytest.mark.parametrize("stop_at", [-1, 7, 9, 13])  # the stop lands at 0 (before any batch), 8, 10 (a log step), 14
def test_stop_anywhere_then_resume_in_process(tmp_path, stop_at, h5_contents, assert_same_h5, stop_and_resume):
    """A stop requested at any batch, then a resume, writes what an uninterrupted run writes."""
    overrides = ["train.batches=30", "log.every=10", "growth.events[0].until=40"]
    ref, resumed, step = stop_and_resume(tmp_path, SPEC, overrides, stop_at)
    assert step == stop_at + 1
    assert_same_h5(h5_contents(ref), h5_contents(resumed))
