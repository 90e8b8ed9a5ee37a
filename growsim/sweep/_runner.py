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
import threading
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
    stop = _StopWatch(Path(control_dir) if control_dir is not None else None)
    before = file_summary(path)
    action = "none"
    error: str | None = None
    started: list[bool] = []  # set once the run writes its file
    try:
        if stop.requested():
            return _result(point, before, "pending", "the sweep was stopped before this point started", t0, action)
        status = before["status"] if before else None
        if status == "completed" or (status == "failed" and not retry_failed):
            return _result(point, before, status, before["reason"], t0, action)
        if status == "running" and before["writer_alive"]:
            reason = f"being written by process {before['writer_pid']} on {before['host']}"
            return _result(point, before, "running", reason, t0, action)
        checkpoint = None
        if status in ("running", "interrupted"):
            checkpoint = _checkpoint(path)
        action = "resumed" if checkpoint is not None else "ran"
        _run(point, path, threads, checkpoint, stop, started)
    except BaseException as exc:
        if isinstance(exc, (SystemExit, GeneratorExit)):
            raise
        error = _describe(exc)
    after = file_summary(path) if started else None
    if after is None or (error is not None and after["status"] in ("running", "completed")):
        # The run never started (or its file could not record the end): the error says why.
        return _result(point, after, "failed", error or "no run file was written", t0, action)
    return _result(point, after, after["status"], after["reason"] or (error or ""), t0, action)


def _run(point: Point, path: Path, threads: int | None, checkpoint, stop: _StopWatch, started: list) -> None:
    from growsim.build import build_engine, prepare, resumed_spec
    from growsim.log.hdf5 import HDF5Logger
    from growsim.spec import load_spec

    if checkpoint is not None:
        # As `growsim run --resume`: the spec, overrides and threads recorded in the file.
        loaded = resumed_spec(checkpoint, point.spec.parent)
    else:
        extra = (f"train.threads={threads}",) if threads else ()
        loaded = load_spec(point.spec, point.overrides + extra)
    prepared = prepare(loaded)
    log = loaded.spec.log
    hdf5 = HDF5Logger(
        path, compression=log.compression, overwrite=checkpoint is None, atomic=log.atomic_writes, resume=checkpoint
    )
    engine = build_engine(prepared, [hdf5, stop])
    stop.engine = engine
    if checkpoint is not None:
        engine.load_state(checkpoint.step, checkpoint.arrays, checkpoint.texts)
    with _signals_to(engine):
        started.append(True)
        engine.run()


def _checkpoint(path: Path):
    from growsim.log.hdf5 import read_checkpoint

    try:
        return read_checkpoint(path)
    except (OSError, KeyError, ValueError):
        return None  # no checkpoint yet: the point runs from the start


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
    sweep's stop files, and asks the engine to stop (after a checkpoint) or stops it at once."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.engine = None
        self._asked = False

    def requested(self) -> bool:
        return self.folder is not None and (self.folder / STOP_FILE).exists()

    def progress(self, step: int, values) -> None:
        if self.folder is None or self.engine is None:
            return
        from growsim.engine import RunInterrupted

        if (self.folder / STOP_NOW_FILE).exists():
            raise RunInterrupted("the sweep was stopped at once")
        if not self._asked and (self.folder / STOP_FILE).exists():
            self._asked = True
            self.engine.request_stop("the sweep was stopped")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return _ignore  # every other logger call: nothing to do


def _ignore(*args, **kwargs) -> None:
    return None


class _WorkerState:
    """Signals in a worker process: the engine running now, and how many signals it had."""

    engine = None
    signals = 0
    terminate = False
    pool_worker = False


_STATE = _WorkerState()


def _on_signal(signum, frame) -> None:
    """As in `growsim run`: the first Ctrl-C or SIGTERM stops the run at the next batch, after a
    checkpoint; a second stops it at once. An idle pool worker ignores Ctrl-C (the sweep
    decides) and ends on SIGTERM."""
    from growsim.engine import RunInterrupted

    engine = _STATE.engine
    if engine is None:
        if signum == signal.SIGTERM:
            os._exit(128 + signum)
        return
    _STATE.signals += 1
    _STATE.terminate = _STATE.terminate or signum == signal.SIGTERM
    name = "stopped by the user (Ctrl-C)" if signum == signal.SIGINT else "terminated (SIGTERM)"
    if _STATE.signals == 1:
        engine.request_stop(name)
    else:
        raise RunInterrupted(name + ", twice")


class _signals_to:
    """Route SIGINT and SIGTERM to `engine` while it runs (main thread only: a Dask worker
    runs tasks in threads, where the sweep's stop files do the job)."""

    def __init__(self, engine):
        self.engine = engine
        self.previous: dict = {}

    def __enter__(self):
        _STATE.engine, _STATE.signals = self.engine, 0
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, _on_signal)
        return self

    def __exit__(self, *exc) -> None:
        _STATE.engine = None
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        if _STATE.terminate and _STATE.pool_worker:
            os._exit(128 + signal.SIGTERM)  # the run is closed; now end as SIGTERM asked


def init_pool_worker() -> None:
    """Initializer of the local executor's worker processes."""
    _STATE.pool_worker = True
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
