"""A sweep's point stops when the sweep says so: its stop files, and SIGTERM in a pool worker."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import h5py

from growsim.sweep import expand
from growsim.sweep import _runner
from growsim.sweep._runner import STOP_FILE, STOP_NOW_FILE, run_point

DATA = Path(__file__).parent / "data"


def _point(folder: Path, batches: int):
    (folder / "tiny.yaml").write_text((DATA / "tiny.yaml").read_text())
    sweep = folder / "sweep.yaml"
    # progress (and so the stop files' check) every 25 batches; a checkpoint every 10
    sweep.write_text(f"spec: tiny.yaml\nset: {{train.batches: {batches}, log.every: 10}}\nseeds: 1\n")
    (point,) = expand(sweep)
    return point


def test_the_stop_now_file_stops_a_running_point_and_it_resumes_later(tmp_path):
    point = _point(tmp_path, 60)
    path = tmp_path / "p.h5"
    (tmp_path / STOP_NOW_FILE).touch()  # looked for at the run's first progress call, batch 25
    row = run_point(point, path, control_dir=tmp_path)
    assert (row["status"], row["action"]) == ("interrupted", "ran")
    assert row["reason"] == "the sweep was stopped at once at batch 24"
    (tmp_path / STOP_NOW_FILE).unlink()
    row = run_point(point, path, control_dir=tmp_path)
    assert (row["status"], row["action"], row["last_step"]) == ("completed", "resumed", 60)
    with h5py.File(path, "r") as f:
        assert f.attrs["resumed"] == 1 and f["train/loss"].shape == (60,)


def test_the_stop_file_stops_a_running_point_after_a_checkpoint(tmp_path, monkeypatch):
    point = _point(tmp_path, 60)
    path = tmp_path / "p.h5"
    assert run_point(point, path, control_dir=tmp_path)["status"] == "completed"
    (tmp_path / STOP_FILE).touch()
    assert run_point(point, tmp_path / "q.h5", control_dir=tmp_path)["status"] == "pending"  # never started
    assert not (tmp_path / "q.h5").exists()
    # As if the file came while the point ran: it is seen at the first progress call.
    monkeypatch.setattr(_runner._StopWatch, "requested", lambda self: False)
    row = run_point(point, tmp_path / "q.h5", control_dir=tmp_path)
    assert (row["status"], row["reason"]) == ("interrupted", "the sweep was stopped at batch 25")
    with h5py.File(tmp_path / "q.h5", "r") as f:
        assert f["checkpoint"].attrs["step"] == 25


WORKER = """
import sys
from pathlib import Path
from growsim.sweep import expand
from growsim.sweep._runner import init_pool_worker, run_point

init_pool_worker()
(point,) = expand(Path(sys.argv[1]))
row = run_point(point, Path(sys.argv[2]))
print("returned", row["status"])
"""


def test_a_pool_worker_ends_on_sigterm_once_its_run_is_closed(tmp_path):
    _point(tmp_path, 5000)
    path = tmp_path / "p.h5"
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "sweep.yaml"), str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # until the run has committed a few log steps
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the run made no progress"
            try:
                with h5py.File(path, "r", locking=False) as f:
                    if f.attrs["last_step"] >= 20:
                        break
            except (OSError, KeyError):
                pass
            time.sleep(0.05)
        proc.terminate()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + 15, err
    assert "returned" not in out  # it ended instead of taking another point
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "interrupted"
        assert f.attrs["status_reason"].startswith("terminated (SIGTERM) at batch")
