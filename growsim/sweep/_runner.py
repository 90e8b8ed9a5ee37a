"""One point, run where a worker is: a plain function of the point and its output path.

`run_point` is what each executor calls, in a local worker process or in a Dask worker on
another machine. It looks at the point's file when it starts (a Dask task can be retried
after its worker died), and does what the file calls for: nothing if it is completed,
resume it from its checkpoint if its run was interrupted or its writer is gone, run it
fresh otherwise. It never raises: it returns a small dict that becomes the point's row in
the sweep's index.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from growsim.sweep._index import FINAL_METRICS
from growsim.sweep._points import Point

STOP_FILE = ".sweep.stop"  # in the output folder: finish the running points at their next batch
STOP_NOW_FILE = ".sweep.stop-now"  # stop them at once (the files keep their last commit)


def run_point(
    point: Point,
    path: str | Path,
    *,
    threads: int | None = None,
    retry_failed: bool = False,
    control_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Run (or resume) one point of a sweep into `path`; return its summary.

    ``threads``: torch threads for a fresh run (``--set train.threads=T``; a resumed run keeps
    the thread count in its file, so that it continues exactly). ``retry_failed``: run a point
    whose file says failed again from the start. ``control_dir``: the folder watched for the
    sweep's stop files. The summary has the keys of the index (see ``read_index``):
    ``status``, ``reason``, the final metrics (``FINAL_METRICS``), ``last_step``,
    ``batches``, ``wall_time_s``, ``host``, and ``action`` (``ran``, ``resumed`` or ``none``).
    """
    path = Path(path)
    t0 = time.monotonic()
    watch = _StopWatch(Path(control_dir) if control_dir is not None else None)
    before = file_summary(path)
    action = "none"
    error: str | None = None
    try:
        if watch.requested():
            return _result(point, before, "pending", "the sweep was stopped before this point started", t0, action)
        status = before["status"] if before else None
        if status == "completed" or (status == "failed" and not retry_failed):
            return _result(point, before, status, before["reason"], t0, action)
        if status == "running" and before["writer_alive"]:
            reason = f"being written by process {before['writer_pid']} on {before['host']}"
            return _result(point, before, "running", reason, t0, action)
        resumable = status in ("running", "interrupted") and _has_checkpoint(path)
        action = "resumed" if resumable else "ran"
        result = _run(point, path, threads, resumable, watch)
        if result.status == "failed":  # the reason its file records, or else this
            error = (getattr(result, "error", None) or "").replace("\n", " ") or None
    except BaseException as exc:
        if isinstance(exc, (SystemExit, GeneratorExit)):
            raise
        error = _describe(exc)
    after = file_summary(path) if watch.started else None
    if after is None or (error is not None and after["status"] in ("running", "completed")):
        # The run never started (or its file could not record the end): the error says why.
        return _result(point, after, "failed", error or "no run file was written", t0, action)
    return _result(point, after, after["status"], after["reason"] or (error or ""), t0, action)


def _run(point: Point, path: Path, threads: int | None, resumable: bool, watch: _StopWatch):
    """Run the point, or resume it; its `growsim.runner` result."""
    from growsim.runner import resume, run

    how = {"extra_loggers": [watch], "stop": watch.stop}
    try:
        if resumable:
            # As `growsim run --resume`: the spec, overrides and threads recorded in the file.
            return resume(path, allow_plugins=True, base_dir=point.spec.parent, **how)
        return run(point.spec, path, overrides=point.overrides, threads=threads or None, overwrite=True, **how)
    finally:
        if _STATE.pool_worker and signal.SIGTERM in watch.stop.signals:
            os._exit(128 + signal.SIGTERM)  # the run is closed; now end as SIGTERM asked


def _has_checkpoint(path: Path) -> bool:
    from growsim.log.hdf5 import read_checkpoint

    try:
        read_checkpoint(path)
    except (OSError, KeyError, ValueError):
        return False  # no checkpoint yet: the point runs from the start
    return True


def _describe(exc: BaseException) -> str:
    from growsim.spec import SpecError

    if isinstance(exc, SpecError):
        return str(exc).replace("\n", " ")
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _result(point: Point, summary: dict | None, status: str, reason: str, t0: float, action: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": point.name,
        "status": status,
        "reason": reason or "",
        **dict.fromkeys(FINAL_METRICS, math.nan),
        "last_step": -1,
        "batches": -1,
        "wall_time_s": round(time.monotonic() - t0, 3),
        "host": socket.gethostname(),
        "action": action,
    }
    if summary is not None:
        for key in (*FINAL_METRICS, "last_step", "batches", "host"):
            out[key] = summary[key]
        if summary["duration_s"] is not None:
            out["wall_time_s"] = summary["duration_s"]
    return out


def file_summary(path: Path) -> dict[str, Any] | None:
    """What a point's run file says: status, reason, final metrics, writer. None if there is no file.

    A file that is not a readable run gives status ``failed`` and says why.
    """
    from growsim.reader import RunFileError, open_run

    if not path.exists():
        return None
    try:
        run = open_run(path)
        series = run.series()
    except RunFileError as exc:
        return {**_EMPTY, "status": "failed", "reason": f"unreadable run file: {exc}"}
    last = series.iloc[-1] if len(series) else None

    def final(column: str) -> float:
        if last is None or column not in series.columns:
            return math.nan
        return float(last[column])

    attrs = run.attrs
    return {
        "status": run.status,
        "reason": run.status_reason,
        **{column: final(column) for column in FINAL_METRICS},
        "last_step": run.last_step,
        "batches": run.batches,
        "duration_s": None if run.duration_s is None else round(float(run.duration_s), 3),
        "host": str(attrs.get("writer_host", "")),
        "writer_pid": attrs.get("writer_pid"),
        # None: written on another machine, so it cannot be told from here (taken as gone).
        "writer_alive": bool(run.writer_alive()),
        "spec": run.spec,  # resolved: every default filled in, overrides applied
    }


_EMPTY: dict[str, Any] = {
    "status": "failed",
    "reason": "",
    **dict.fromkeys(FINAL_METRICS, math.nan),
    "last_step": -1,
    "batches": -1,
    "duration_s": None,
    "host": "",
    "writer_pid": None,
    "writer_alive": False,
    "spec": {},
}


# --- stopping ------------------------------------------------------------------------------


class _StopWatch:
    """A logger that only listens: at each progress call (every few batches) it looks for the
    sweep's stop files, and asks the run to stop (after a checkpoint) or stops it at once."""

    def __init__(self, folder: Path | None):
        from growsim.runner import Stop

        self.folder = folder
        self.stop = Stop()
        self.started = False  # the run has written its file

    def requested(self) -> bool:
        return self.folder is not None and (self.folder / STOP_FILE).exists()

    def start(self, info) -> None:
        self.started = True

    def progress(self, step: int, values) -> None:
        if self.folder is None:
            return
        from growsim.train.engine import RunInterrupted

        if (self.folder / STOP_NOW_FILE).exists():
            raise RunInterrupted("the sweep was stopped at once")
        if not self.stop.requested and (self.folder / STOP_FILE).exists():
            self.stop.request("the sweep was stopped")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _ignore  # every other logger call: nothing to do


def _ignore(*args, **kwargs) -> None:
    return None


class _WorkerState:
    pool_worker = False  # this process is a worker of the local executor's pool


_STATE = _WorkerState()


def _idle_worker_signal(signum, frame) -> None:
    """Between runs a pool worker ignores Ctrl-C (the sweep decides) and ends on SIGTERM.
    While a run trains, `growsim.runner` handles both as `growsim run` does."""
    if signum == signal.SIGTERM:
        os._exit(128 + signum)


def init_pool_worker() -> None:
    """Initializer of the local executor's worker processes."""
    _STATE.pool_worker = True
    signal.signal(signal.SIGINT, _idle_worker_signal)
    signal.signal(signal.SIGTERM, _idle_worker_signal)
