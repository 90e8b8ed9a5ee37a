"""growsim run: build the network, train it while it grows, write one HDF5 file."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console, err_console

EXAMPLES = """Examples:

  growsim run specs/add_conn_distance.yaml

  growsim run specs/add_conn_distance.yaml --out runs/short.h5 --set train.batches=2000 --set seed=3

  growsim run specs/fix_conn_random.yaml --set log.every=100 --overwrite
"""


def run(
    spec: Annotated[Path, typer.Argument(help="The spec file (YAML).", show_default=False, metavar="SPEC")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output HDF5 file (default: log.path or runs/<spec name>.h5).")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Override a field: dotted.path=value (repeatable); recorded in the output.")] = [],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train the network the spec describes, growing it on schedule, and log the run to HDF5."""
    from growsim.build import build_engine, default_output, prepare
    from growsim.engine import RunInterrupted
    from growsim.log.hdf5 import HDF5Logger
    from growsim.spec import load_spec
    from growsim.wiring import WiringRuleError

    loaded = load_spec(spec, set_)
    prepared = prepare(loaded)
    path = out if out is not None else default_output(loaded)
    _check_output(path, overwrite)

    loggers: list = [HDF5Logger(path, compression=loaded.spec.log.compression, overwrite=overwrite)]
    if loaded.spec.log.progress and not quiet:
        from growsim.log.progress import ProgressLogger

        loggers.append(ProgressLogger(err_console))
    engine = build_engine(prepared, loggers)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        engine.run()
    except (KeyboardInterrupt, RunInterrupted):
        err_console.print(f"interrupted at batch {engine.step}; {path} records it", markup=False)
        raise typer.Exit(130) from None
    except WiringRuleError as exc:
        raise UserError(f"run failed at batch {engine.step}: {exc}\n{path} records where and why it stopped.") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    _summary(path)


def _terminate(signum, frame):
    from growsim.engine import RunInterrupted

    raise RunInterrupted("terminated (SIGTERM)")


def _check_output(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise UserError(f"{path} exists; pass --overwrite to replace it, or --out another path")
    if path.exists() and path.is_dir():
        raise UserError(f"{path} is a folder, not a file")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output folder {parent}: {exc.strerror}") from None
    import os

    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write to the output folder {parent}")


def _summary(path: Path) -> None:
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        series = f["series"]
        perf = series["perf_mean"][-1] if "perf_mean" in series else float("nan")
        conn = int(series["connections"][-1]) if "connections" in series else 0
        q = series["modularity_q"][-1] if "modularity_q" in series else float("nan")
        duration = f.attrs.get("duration_s", np.nan)
        status = f.attrs["status"]
    console.print(
        f"{status}: {path}  (perf {perf:.3f}, {conn} synapses, Q {q:.3f}, {duration:.0f} s)", markup=False, highlight=False
    )
