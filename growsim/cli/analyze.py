"""growsim analyze: recompute a metric from a run's stored weights into /analysis/<name>."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  growsim analyze runs/add_conn_distance.h5 modularity --method louvain --seed 1

  growsim analyze runs/add_conn_distance.h5 modularity --name q_gamma2 --resolution 2

  growsim analyze runs/add_conn_distance.h5 task_variance --step 2000

  growsim analyze runs/killed.h5 modularity --force      # a run whose writer was killed (status still running)
"""


def analyze(
    run_file: Annotated[Path, typer.Argument(help="A run's HDF5 file.", show_default=False, metavar="RUN")],
    metric: Annotated[str, typer.Argument(help="modularity (Q and communities at every snapshot) or task_variance (Yang et al.'s clusters at one step).", show_default=False, metavar="METRIC")],
    method: Annotated[str, typer.Option(help="modularity: spectral (deterministic) or louvain.")] = "spectral",
    seed: Annotated[int, typer.Option(help="Random seed: louvain's, or the test trials' of task_variance.")] = 0,
    resolution: Annotated[float, typer.Option(help="modularity: the resolution gamma (1: standard Q).")] = 1.0,
    step: Annotated[int | None, typer.Option(help="task_variance: the step of the weights; default: the end.", show_default=False)] = None,
    trials: Annotated[int, typer.Option(help="task_variance: test trials per task.", min=2)] = 64,
    name: Annotated[str | None, typer.Option(help="Name of the /analysis group; default: modularity_<method> or task_variance.", show_default=False)] = None,
    force: Annotated[bool, typer.Option(help="Analyse a file whose status is still running (its writer was killed).")] = False,
) -> None:
    """Recompute a metric from the stored weights into /analysis/<name>; the training record is not touched."""
    from growsim.cli.inspect import open_or_fail
    from growsim.metrics import METHODS
    from growsim.reader import RunFileError
    from growsim.reader.analyses import (
        ANALYSIS_METRICS,
        check_name,
        modularity_over_snapshots,
        result_summary,
        task_variance,
        write_analysis,
    )

    if metric not in ANALYSIS_METRICS:
        raise UserError(f"unknown metric {metric!r}; choose one of: {', '.join(ANALYSIS_METRICS)}")
    if method not in METHODS:
        raise UserError(f"unknown --method {method!r}; choose one of: {', '.join(METHODS)}")
    if not resolution > 0:
        raise UserError(f"--resolution must be positive, got {resolution}")
    name = name or (f"modularity_{method}" if metric == "modularity" else metric)
    try:
        check_name(name)
    except ValueError as exc:
        raise UserError(f"--name: {exc}") from None
    run = open_or_fail(run_file)
    if run.status == "running":
        alive = run.writer_alive()
        if alive:
            # Its writer renames a fresh copy over the file at every log step: what we add would be lost.
            raise UserError(f"{run.path} is being written by process {run.attrs.get('writer_pid')}; analyse it when the run has ended")
        if not force:
            gone = " (its writer is gone: it was killed)" if alive is False else ""
            raise UserError(
                f"{run.path} has status running, last step {run.last_step}{gone}; "
                "wait for it to end, or pass --force to analyse a killed run as it is"
            )
    try:
        if metric == "modularity":
            result = modularity_over_snapshots(run, method=method, seed=seed, resolution=resolution)
        else:
            result = task_variance(run, step=step, trials=trials, seed=seed)
        write_analysis(run.path, name, result)
    except RunFileError as exc:
        raise UserError(str(exc)) from None
    console.print(f"wrote /analysis/{name} in {run.path}: {result_summary(result)}", markup=False, highlight=False)
