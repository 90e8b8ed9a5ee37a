"""growsim run: build the network, train it while it grows, write one HDF5 file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console, err_console

EXAMPLES = """Examples:

  growsim run specs/add_conn_distance.yaml

  growsim run specs/add_conn_distance.yaml --out runs/short.h5 --set train.batches=2000 --set seed=3

  growsim run specs/fix_conn_random.yaml --set log.every=100 --overwrite

  growsim run --resume runs/add_conn_distance.h5

  growsim run --resume runs/add_conn_distance.h5 --set train.threads=1
"""


def run(
    spec: Annotated[Path | None, typer.Argument(help="The spec file (YAML).", show_default=False, metavar="SPEC")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output HDF5 file (default: log.path or runs/<spec name>.h5).")] = None,
    set_: Annotated[list[str], typer.Option("--set", metavar="PATH=VALUE", help="Override a field: dotted.path=value (repeatable); recorded in the output. With --resume only train.threads and log.progress.")] = [],
    resume: Annotated[list[Path], typer.Option("--resume", help="Continue an interrupted run from its last checkpoint; repeat it for the members of an ensemble, which then train together again.", metavar="RUN.h5")] = [],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    allow_plugins: Annotated[bool, typer.Option("--allow-plugins", help="With --resume: load the plugins the run file's spec names (their code runs; only for files you trust).")] = False,
) -> None:
    """Train the network the spec describes, growing it on schedule, and log the run to HDF5.

    Ctrl-C (or SIGTERM) stops at the next batch with a checkpoint; a second one stops at once.
    """
    from growsim import runner

    how = {"quiet": False, "progress": not quiet, "threads": "auto"}
    try:
        if resume:
            if spec is not None or out is not None:
                raise UserError(
                    "--resume takes the spec, overrides and output from the run file: give only --resume RUN.h5 "
                    "(and --set train.threads=N or log.progress=..., which say how it runs, not what it computes); "
                    "it continues that file in place: to continue elsewhere, copy the file and resume the copy"
                )
            if len(resume) > 1:
                result = runner.resume(resume, settings=set_, allow_plugins=allow_plugins, on_result=_summary, **how)
            else:
                result = runner.resume(resume[0], settings=set_, allow_plugins=allow_plugins, **how)
        else:
            if spec is None:
                raise UserError("give a spec file (growsim run SPEC), or --resume RUN.h5")
            from growsim.spec import load_spec

            loaded = load_spec(spec, set_)
            each = _summary if loaded.spec.is_ensemble else None
            result = runner.run(loaded, out, overwrite=overwrite, on_result=each, **how)
    except runner.RunError as exc:
        raise UserError(str(exc)) from None
    if isinstance(result, runner.EnsembleResult):
        _ensemble_end(result)
    else:
        _end(result)


def _summary(result) -> None:
    if result.path.exists():
        console.print(result.summary_line(), markup=False, highlight=False)


def _end(result) -> None:
    """A run's end: its summary, or why it stopped and the exit code that says so."""
    if result.status == "completed":
        _summary(result)
    elif result.status == "interrupted":
        path = result.path
        then = f"continue with: growsim run --resume {path}" if _resumable(path) else "stopped before its first checkpoint, it cannot be resumed"
        err_console.print(f"interrupted at batch {result.step}; {path} records it ({then})", markup=False, highlight=False)
        raise typer.Exit(130)
    else:
        raise UserError(result.error or f"run failed: {result.reason}")


def _resumable(path: Path) -> bool:
    """Whether the run file holds a checkpoint to resume from."""
    from growsim.reader import RunFileError, open_run

    try:
        return open_run(path).checkpoint_step is not None
    except RunFileError:
        return False


def _ensemble_end(result) -> None:
    """The end of an ensemble (each member's summary is printed as it closes)."""
    if result.status == "interrupted":
        stopped = [m for m in result if m.status == "interrupted"]
        if not stopped:  # stopped between two members run one after another
            seeds = ", ".join(str(m.seed) for m in result if m.status == "pending")
            err_console.print(f"interrupted before seeds {seeds} started", markup=False, highlight=False)
            raise typer.Exit(130)
        if not result.stacked:  # the member that was stopped; the later ones never started
            _end(stopped[0])
        step = max(m.step for m in stopped)
        err_console.print(f"interrupted at batch {step}; each member's file records it (continue them together: growsim run --resume FILE --resume FILE ..., or each alone)", markup=False, highlight=False)
        raise typer.Exit(130)
    failed = [m for m in result if m.status == "failed"]
    if failed and result.stacked:
        lines = "\n".join(f"seed {m.seed}: {m.reason}" for m in failed)
        raise UserError("some members of the ensemble failed; their files record where and why:\n" + lines)
    if failed:
        raise UserError("some members of the ensemble failed:\n" + "\n".join(f"seed {m.seed}: {m.error}" for m in failed))
