"""growsim sweep: many runs of one spec, here or on a Dask cluster; one folder, one file per point."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Self

import typer

from growsim.cli.common import UserError, console, err_console

EXAMPLES = """Examples:

  growsim sweep sweeps/wu_gu_fig3.yaml --list

  growsim sweep sweeps/wu_gu_fig3.yaml --out runs/wu_gu_fig3 --workers 2

  growsim sweep sweeps/wu_gu_fig3.yaml --out runs/fig3_short --set train.batches=2000

  growsim sweep sweeps/wu_gu_fig3.yaml --scheduler tcp://10.0.0.5:8786

  growsim sweep sweeps/wu_gu_fig3.yaml --retry-failed

Run the same command again to continue a sweep: completed points are skipped, interrupted
ones resume from their checkpoints.
"""


def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="The sweep file (YAML).", show_default=False, metavar="SWEEP")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder: one run file per point, and index.csv (default: runs/<sweep name>).")] = None,
    list_: Annotated[bool, typer.Option("--list", "--dry-run", help="Validate every point and list them with their files and statuses; run nothing.")] = False,
    workers: Annotated[int | None, typer.Option("--workers", "-j", help="Local worker processes, one point each at a time (default: CPUs // threads per worker).", min=1)] = None,
    threads_per_worker: Annotated[int, typer.Option("--threads-per-worker", help="Torch threads of each run (sets train.threads).", min=1)] = 1,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Run the points on a Dask cluster: its scheduler's address.", metavar="tcp://HOST:PORT")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run failed points again, from the start.")] = False,
    set_: Annotated[list[str], typer.Option("--set", metavar="PATH=VALUE", help="Override a field in every point: dotted.path=value (repeatable).")] = [],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display; only the summary.")] = False,
) -> None:
    """Run every point of a sweep (a grid of overrides and seeds over a base spec) that is not done yet.

    Every point is validated before anything runs. Ctrl-C stops the running points after a
    checkpoint; a second Ctrl-C stops them at once.
    """
    from growsim.sweep import (
        SweepStateError,
        default_out,
        load_sweep,
        plan_sweep,
        run_sweep,
    )

    if scheduler is not None and workers is not None:
        raise UserError("--workers applies to the local executor; a Dask cluster's workers are set where it is started")
    loaded = load_sweep(sweep_file, tuple(set_))
    folder = out if out is not None else default_out(loaded)
    if list_:
        try:
            plan = plan_sweep(loaded, folder, retry_failed)
        except SweepStateError as exc:
            raise UserError(str(exc)) from None
        _print_list(loaded, folder, plan, threads_per_worker)
        return

    display = _Display(quiet)
    try:
        with display:
            index = run_sweep(
                loaded,
                folder,
                workers=workers,
                threads_per_worker=threads_per_worker,
                scheduler=scheduler,
                retry_failed=retry_failed,
                on_progress=display.update,
            )
    except SweepStateError as exc:
        raise UserError(str(exc)) from None
    except (OSError, TimeoutError) as exc:
        if scheduler is not None:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        raise
    except KeyboardInterrupt:
        err_console.print(
            f"stopped; {folder / 'index.csv'} says where each point stands. Run the same command again to continue.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(130) from None
    counts = index["status"].value_counts()
    parts = [f"{counts[s]} {s}" for s in ("completed", "failed", "interrupted", "running", "pending") if s in counts]
    console.print(f"{folder}: {len(index)} points: {', '.join(parts)}; index {folder / 'index.csv'}", markup=False, highlight=False)
    if counts.get("completed", 0) != len(index):
        failed = index[index["status"] != "completed"]
        for _, row in failed.head(10).iterrows():
            reason = f": {row['reason']}" if row["reason"] else ""
            err_console.print(f"  {row['status']} {row['name']}{reason}", markup=False, highlight=False)
        if counts.get("failed", 0) and not retry_failed:
            err_console.print("  (--retry-failed runs failed points again)", markup=False, highlight=False)
        raise typer.Exit(1)


def _print_list(loaded, folder: Path, plan, threads: int) -> None:
    points = loaded.points
    m = loaded.file.model
    axes = [f"{key} {len(values)}" for key, values in (m.grid or {}).items()]
    axes += [f"({', '.join(group)}) {len(next(iter(group.values())))}" for group in m.zip_]
    axes += [f"seed {len(m.seed_list)}"] if m.seed_list is not None else []
    shape = " x ".join(axes)
    console.print(f"{loaded.file.path}: {len(points)} points ({shape}), into {folder}/", markup=False, highlight=False)
    console.print(f"  {'point':>5}  {'status':<11}  file", markup=False, highlight=False)
    for p in points:
        status = plan.rows[p.name]["status"]
        console.print(f"  {p.index:>5}  {status:<11}  {p.file_name}", markup=False, highlight=False)
    example = points[0]
    command = f"{example.command(folder / example.file_name)} --set train.threads={threads}"
    console.print(f"point 0 runs as: {command}", markup=False, highlight=False)
    console.print(f"to run: {len(plan.to_run)} of {len(points)}", markup=False, highlight=False)


class _Display:
    """A rich progress bar over the points (done, running, failed), and one line per finished point."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.progress = None
        self.task = None

    def __enter__(self) -> Self:
        if not self.quiet:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("[bold]sweep"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("done, {task.fields[running]} running, {task.fields[failed]} failed"),
                TimeElapsedColumn(),
                console=err_console,
                transient=False,
            )
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, state) -> None:
        if self.progress is None:
            return
        counts = state.counts
        done = counts.get("completed", 0)
        if self.task is None:
            self.task = self.progress.add_task("sweep", total=state.total, running=0, failed=0)
        self.progress.update(
            self.task, completed=done, running=counts.get("running", 0), failed=counts.get("failed", 0)
        )
        if state.note:
            self.progress.console.print(state.note, markup=False, highlight=False)
        row = state.finished
        if row is not None:
            detail = _finished_detail(row) if row["status"] == "completed" else row["reason"]
            self.progress.console.print(f"{row['status']:<11} {row['name']}  {detail}", markup=False, highlight=False)


def _finished_detail(row) -> str:
    """A completed point's figures from its index row: performance, Q, synapses, time. A
    figure the run did not log (Q under log.modularity: none) is left out, not printed as
    nan, as a run's own summary does."""
    seconds = row["wall_time_s"]
    parts = [f"perf {row['perf_mean']:.3f}"] if _known(row["perf_mean"]) else []
    if _known(row["modularity_q"]):
        parts.append(f"Q {row['modularity_q']:.3f}")
    if _known(row["connections"]):
        parts.append(f"{row['connections']:.0f} synapses")
    parts.append(f"{seconds:.{1 if seconds < 10 else 0}f} s")
    return ", ".join(parts)


def _known(value) -> bool:
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):  # None, or no number at all
        return False
