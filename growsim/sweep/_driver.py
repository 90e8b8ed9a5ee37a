"""Running a sweep: look at what the output folder holds, run what is left, keep the index.

Two executors send points to workers, and the loop that drives them is the same:

- local (the default): a `concurrent.futures.ProcessPoolExecutor` of `workers` processes on
  this machine. A point runs in the main thread of its own process, so Ctrl-C and SIGTERM
  reach its run as they reach `growsim run` (it stops after a checkpoint); nothing listens
  on a port, and there is no scheduler or nanny process to start.
- Dask (`scheduler=`): a `distributed.Client`, given or made from an address; each point is
  one task, `run_point(point, path)`. The cluster's workers must see the output folder
  (a shared file system) and have growsim installed.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from growsim._cpus import available_cpus
from growsim.log.base import process_alive
from growsim.sweep._index import FINAL_METRICS, read_index, read_index_rows, write_index
from growsim.sweep._points import Point, Sweep, load_sweep
from growsim.sweep._runner import (
    STOP_FILE,
    STOP_NOW_FILE,
    file_summary,
    init_pool_worker,
    run_point,
)

if TYPE_CHECKING:
    import pandas as pd

LOCK_FILE = ".sweep.lock"
POLL_S = 0.5  # how often the loop looks at its workers when nothing finishes
MAX_LOSSES = 2  # a point whose worker process died this often is marked failed


class SweepStateError(RuntimeError):
    """The output folder cannot take this sweep (another sweep writes it, or it holds other runs)."""


@dataclass
class SweepProgress:
    """What `run_sweep` reports to `on_progress`, after every change.

    ``counts``: points by status; ``running``: names of the points running now;
    ``finished``: the index row of a point that just finished (None otherwise);
    ``note``: a message (the sweep is stopping...), or None.
    """

    total: int
    counts: dict[str, int]
    running: list[str]
    finished: dict[str, Any] | None = None
    note: str | None = None


def default_out(sweep: Sweep) -> Path:
    return Path("runs") / sweep.file.path.stem


# --- planning ------------------------------------------------------------------------------


@dataclass
class Plan:
    """Each point's row in the index as things stand, and the points to run."""

    rows: dict[str, dict[str, Any]]
    to_run: list[Point]
    before: dict[str, int] = field(default_factory=dict)  # statuses found


def plan_sweep(sweep: Sweep, out: Path, retry_failed: bool = False) -> Plan:
    """What the output folder holds for each point, and what is left to run.

    Raises SweepStateError if a file there holds a run of a different spec (a sweep file or a
    base spec edited since, another `--set`): mixing them would mix experiments.
    """
    old = read_index_rows(out)
    rows: dict[str, dict[str, Any]] = {}
    to_run: list[Point] = []
    foreign: list[str] = []
    for point in sweep.points:
        path = out / point.file_name
        summary = file_summary(path)
        row = _row(sweep, point)
        run = True
        if summary is None:
            previous = old.get(point.name, {})
            if previous.get("status") == "failed" and not retry_failed:
                # It failed before it could write a file: only the index remembers why.
                row.update(status="failed", reason=previous.get("reason", ""), host=previous.get("host", ""))
                run = False
        else:
            difference = _difference(point, summary["spec"])
            if difference:
                foreign.append(f"{path}: {difference}")
            row.update({k: summary[k] for k in ("reason", *FINAL_METRICS, "last_step", "batches", "host")})
            row["wall_time_s"] = summary["duration_s"]
            status = summary["status"]
            if status == "completed":
                run = False
            elif status == "failed":
                run = retry_failed
            elif status == "running" and summary["writer_alive"]:
                row["reason"] = f"being written by process {summary['writer_pid']} on {summary['host']}"
                run = False
            else:
                status = "interrupted"  # resumed from its checkpoint
            row["status"] = status
        rows[point.name] = row
        if run:
            to_run.append(point)
    if foreign:
        shown = "\n  ".join(foreign[:5]) + (f"\n  and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise SweepStateError(
            f"{out} holds runs of a different spec than this sweep's points (edited since?):\n  {shown}\n"
            "give another --out, or move those files away"
        )
    before: dict[str, int] = {}
    for row in rows.values():
        before[row["status"]] = before.get(row["status"], 0) + 1
    return Plan(rows, to_run, before)


def _row(sweep: Sweep, point: Point) -> dict[str, Any]:
    row: dict[str, Any] = {
        "point": point.index,
        "name": point.name,
        "file": point.file_name,
        "status": "pending",
        "reason": "",
        "perf_mean": math.nan,
        "modularity_q": math.nan,
        "connections": math.nan,
        "last_step": -1,
        "batches": -1,
        "wall_time_s": math.nan,
        "host": "",
        "spec": sweep.spec_shown.get(point.spec, str(point.spec)),
        "overrides": list(point.overrides),
    }
    for key, value in point.varied.items():
        row.setdefault(key, value)
    return row


def _difference(point: Point, spec: dict) -> str:
    """'' if a run file's resolved spec is this point's (threads aside), else what differs."""
    if not spec or not point.resolved_json:
        return ""
    from growsim.reader import flatten_spec

    mine = flatten_spec(json.loads(point.resolved_json))
    theirs = flatten_spec(spec)
    for d in (mine, theirs):
        d.pop("train.threads", None)  # set by the executor, not part of the experiment
    keys = [k for k in sorted(set(mine) | set(theirs)) if mine.get(k, "(absent)") != theirs.get(k, "(absent)")]
    return ", ".join(f"{k} is {theirs.get(k, '(absent)')!r} in the file, {mine.get(k, '(absent)')!r} here" for k in keys[:3])


# --- executors -----------------------------------------------------------------------------


class _LocalExecutor:
    """Worker processes on this machine (spawned: no state inherited from the sweep's process)."""

    def __init__(self, workers: int):
        self.slots: int | None = workers
        self.pool: cf.ProcessPoolExecutor | None = None

    def submit(self, fn: Callable, *args, name: str, **kwargs) -> cf.Future:
        if self.pool is None:
            # One point per process (max_tasks_per_child=1): a run leaves its process's C heap
            # fragmented, and a worker that ran point after point grew by tens of MB a run
            # (1.2 GB after one full Wu & Gu run under earlier code, 1.8 GB into its second);
            # a fresh process costs its start-up, seconds against minutes of a run.
            self.pool = cf.ProcessPoolExecutor(
                max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"), initializer=init_pool_worker,
                max_tasks_per_child=1,
            )
        return self.pool.submit(fn, *args, **kwargs)

    def wait(self, futures, timeout: float) -> set:
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done)

    def running(self, futures) -> set:
        return set(futures)  # no more are submitted than there are workers

    def lost(self, exc: BaseException) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(exc, BrokenProcessPool)

    def restart(self) -> None:
        self.close(wait=True)

    def cancel(self, futures) -> set:
        return {f for f in futures if f.cancel()}

    def close(self, wait: bool = True) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
            self.pool = None


class _DaskExecutor:
    """A Dask distributed cluster: every point is one task; the scheduler places them."""

    slots = None  # submit every point at once: the scheduler queues them

    def __init__(self, scheduler):
        from distributed import Client

        if isinstance(scheduler, str):
            self.client = Client(scheduler)
            self.owned = True
        else:
            self.client = scheduler
            self.owned = False

    def submit(self, fn: Callable, *args, name: str, **kwargs):
        key = f"growsim-sweep-{name}-{uuid.uuid4().hex[:8]}"
        return self.client.submit(fn, *args, key=key, pure=False, **kwargs)

    def wait(self, futures, timeout: float) -> set:
        deadline = time.monotonic() + timeout
        while True:
            done = {f for f in futures if f.done()}
            if done or time.monotonic() >= deadline:
                return done
            time.sleep(0.05)

    def running(self, futures) -> set:
        try:
            processing = {k for keys in self.client.processing().values() for k in keys}
        except Exception:  # noqa: BLE001 - the scheduler's view is only for the display
            return set()
        return {f for f in futures if f.key in processing}

    def lost(self, exc: BaseException) -> bool:
        return False  # Dask reschedules a task whose worker died, up to its allowed-failures

    def restart(self) -> None:
        pass

    def cancel(self, futures) -> set:
        futures = list(futures)
        if futures:
            self.client.cancel(futures)
        return set(futures)

    def close(self, wait: bool = True) -> None:
        if self.owned:
            self.client.close()


# --- the loop ------------------------------------------------------------------------------


def run_sweep(
    sweep: str | Path | Sweep,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    scheduler: Any = None,
    retry_failed: bool = False,
    overrides: tuple[str, ...] | list[str] = (),
    on_progress: Callable[[SweepProgress], None] | None = None,
) -> pd.DataFrame:
    """Run every point of a sweep that is not done yet; return the index (see `read_index`).

    ``sweep``: a sweep file (validated first: every point, before anything runs) or a
    loaded :class:`Sweep`. ``out``: the output folder (default ``runs/<sweep name>``): one
    run file per point, named from its varied fields, and ``index.csv``.

    Points already completed are skipped; interrupted ones (and runs whose process died)
    resume from their checkpoints; failed ones run again only with ``retry_failed``.

    ``workers``: local worker processes (default: CPUs // ``threads_per_worker``);
    ``threads_per_worker``: torch threads of each run (``train.threads``); ``scheduler``: a
    Dask scheduler address (``tcp://host:8786``) or a ``distributed.Client`` to run the points
    on a cluster instead. One failing point never stops the others.

    Ctrl-C or SIGTERM (when called from the main thread) stops the running points after a
    checkpoint and raises KeyboardInterrupt once the index is written; a second one stops them
    at once. Run the same sweep again to continue.
    """
    if threads_per_worker < 1:
        raise ValueError("threads_per_worker must be >= 1")
    if scheduler is not None and workers is not None:
        raise ValueError("workers applies to the local executor; a cluster's workers are set where it is started")
    if workers is not None and workers < 1:
        raise ValueError("workers must be >= 1")
    sweep = sweep if isinstance(sweep, Sweep) else load_sweep(sweep, tuple(overrides))
    out = Path(out) if out is not None else default_out(sweep)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepStateError(f"cannot create the output folder {out}: {exc.strerror}") from None
    with _Lock(out):
        plan = plan_sweep(sweep, out, retry_failed)
        for name in (STOP_FILE, STOP_NOW_FILE):
            (out / name).unlink(missing_ok=True)
        if scheduler is None:
            executor: Any = _LocalExecutor(workers or max(1, available_cpus() // threads_per_worker))
        else:
            executor = _DaskExecutor(scheduler)
        loop = _Loop(sweep, out, plan, executor, threads_per_worker, retry_failed, on_progress)
        try:
            with _StopSignals() as signals:
                loop.run(signals)
        except BaseException:
            # Something went wrong here, not in a point: let the running points stop after a
            # checkpoint rather than leave them running, or wait for them to end.
            (out / STOP_FILE).touch()
            loop.stop_level = max(loop.stop_level, 1)
            raise
        finally:
            waited = loop.stop_level < 3
            executor.close(wait=waited)
            if waited:  # else the workers still need them, to stop
                for name in (STOP_FILE, STOP_NOW_FILE):
                    (out / name).unlink(missing_ok=True)
                loop.refresh_inflight()
            loop.write()
        if loop.stop_level:
            raise KeyboardInterrupt("the sweep was stopped")
    return read_index(out)


class _Loop:
    def __init__(self, sweep: Sweep, out: Path, plan: Plan, executor, threads: int, retry_failed: bool, on_progress):
        self.sweep, self.out, self.plan, self.executor = sweep, out, plan, executor
        self.rows = plan.rows
        self.threads, self.retry_failed, self.on_progress = threads, retry_failed, on_progress
        self.queue: list[Point] = list(plan.to_run)
        self.inflight: dict[Any, Point] = {}
        self.losses: dict[str, int] = {}
        self.stop_level = 0
        self.restart_pool = False

    def run(self, signals: _StopSignals) -> None:
        self.write()
        self.report(note=self._start_note())
        while self.inflight or (self.queue and not self.stop_level):
            while signals.count > self.stop_level:
                self.stop(self.stop_level + 1)
            if self.stop_level >= 3:
                return
            if not self.stop_level and not self.restart_pool:
                self.submit()
                self.mark_running()
            done = self.executor.wait(list(self.inflight), POLL_S) if self.inflight else set()
            for future in done:
                self.finish(future)
            if self.restart_pool and not self.inflight:
                self.executor.restart()
                self.restart_pool = False
            self.mark_running()

    def _start_note(self) -> str:
        b = self.plan.before
        parts = [f"{b[s]} {s}" for s in ("completed", "failed", "interrupted", "running") if b.get(s)]
        found = f" (found: {', '.join(parts)})" if parts else ""
        return f"{len(self.queue)} of {len(self.rows)} points to run{found}"

    def submit(self) -> None:
        slots = self.executor.slots
        folder = self.out.resolve()  # a worker elsewhere has another working directory
        while self.queue and (slots is None or len(self.inflight) < slots):
            point = self.queue.pop(0)
            future = self.executor.submit(
                run_point,
                point,
                str(folder / point.file_name),
                name=point.name,
                threads=self.threads,
                retry_failed=self.retry_failed,
                control_dir=str(folder),
            )
            self.inflight[future] = point

    def finish(self, future) -> None:
        point = self.inflight.pop(future)
        row = self.rows[point.name]
        if future.cancelled():
            return  # stopped before it started: it stays as it was
        try:
            result = future.result()
        except BaseException as exc:  # noqa: BLE001 - one point's task never stops the sweep
            if self.executor.lost(exc):
                self.lost(point)
                return
            result = {"status": "failed", "reason": f"its task failed: {type(exc).__name__}: {exc}"}
            summary = file_summary(self.out / point.file_name)
            if summary is not None and summary["status"] == "running":
                result["status"] = "interrupted"  # resumable from its checkpoint
        result = {k: v for k, v in result.items() if k in row}
        row.update(result)
        self.write()
        self.report(finished=dict(row))

    def refresh_inflight(self) -> None:
        """After the loop broke off: the points it was waiting for, as their files now say."""
        for point in self.inflight.values():
            summary = file_summary(self.out / point.file_name)
            row = self.rows[point.name]
            if summary is None:
                row.update(status="pending", reason="")
                continue
            row.update({k: summary[k] for k in ("status", "reason", *FINAL_METRICS, "last_step", "batches", "host")})
            if row["status"] == "running":  # its writer was stopped before it could close the file
                row["status"] = "interrupted"

    def lost(self, point: Point) -> None:
        """Its worker process died (killed, out of memory): run it again in a new pool, twice at most."""
        self.restart_pool = True
        n = self.losses[point.name] = self.losses.get(point.name, 0) + 1
        row = self.rows[point.name]
        if n >= MAX_LOSSES:
            row.update(status="failed", reason=f"its worker process died {n} times while running it (killed? out of memory?)")
            self.write()
            self.report(finished=dict(row))
        else:
            row.update(status="interrupted", reason="its worker process died; it will be resumed")
            self.queue.insert(0, point)
            self.write()
            self.report()

    def mark_running(self) -> None:
        running = {self.inflight[f].name for f in self.executor.running(list(self.inflight))}
        changed = False
        for point in self.inflight.values():
            status = "running" if point.name in running else "pending"
            row = self.rows[point.name]
            if row["status"] != status:
                row["status"] = status
                if status == "running":
                    row["reason"] = ""
                changed = True
        if changed:
            self.write()
            self.report()

    def stop(self, level: int) -> None:
        self.stop_level = level
        if level == 1:
            (self.out / STOP_FILE).touch()
            running = set(self.executor.running(list(self.inflight)))
            cancelled = self.executor.cancel([f for f in self.inflight if f not in running])
            for f in cancelled:
                self.inflight.pop(f, None)
            self.report(note="stopping: running points stop at their next batch, after a checkpoint "
                        "(again to stop them at once)")
        elif level == 2:
            (self.out / STOP_NOW_FILE).touch()
            self.report(note="stopping at once (again to leave without waiting for the workers)")
        else:
            for point in self.inflight.values():
                self.rows[point.name].update(status="interrupted", reason="the sweep was stopped")
            self.report(note="left without waiting: the workers stop at their next batch")

    def write(self) -> None:
        rows = sorted(self.rows.values(), key=lambda r: r["point"])
        write_index(self.out, rows, self.sweep.varied_keys)

    def report(self, finished: dict | None = None, note: str | None = None) -> None:
        if self.on_progress is None:
            return
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        running = [r["name"] for r in self.rows.values() if r["status"] == "running"]
        self.on_progress(SweepProgress(len(self.rows), counts, running, finished, note))


class _StopSignals:
    """Counts SIGINT and SIGTERM while the sweep runs (main thread only), instead of raising."""

    def __init__(self):
        self.count = 0
        self.previous: dict = {}

    def _handle(self, signum, frame) -> None:
        self.count += 1

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class _Lock:
    """One sweep at a time per output folder: `.sweep.lock` names the process that holds it."""

    def __init__(self, out: Path):
        self.path = out / LOCK_FILE
        self.held = False

    def __enter__(self) -> Self:
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._check_stale()
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self.held = True
            return self
        raise SweepStateError(f"cannot take {self.path}")

    def _check_stale(self) -> None:
        try:
            other = json.loads(self.path.read_text())
            pid, host = int(other["pid"]), str(other["host"])
        except (OSError, ValueError, KeyError, TypeError):
            self.path.unlink(missing_ok=True)  # unreadable: left by a sweep killed while writing it
            return
        if host != socket.gethostname():
            raise SweepStateError(
                f"{self.path.parent} is being written by a sweep on {host} (process {pid}); "
                f"if that sweep is no longer running, delete {self.path}"
            )
        if pid != os.getpid() and process_alive(pid):
            raise SweepStateError(f"{self.path.parent} is being written by another sweep (process {pid})")
        self.path.unlink(missing_ok=True)  # its sweep is gone

    def __exit__(self, *exc) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
