"""growsim run: build the network, train it while it grows, write one HDF5 file."""

from __future__ import annotations

import os
import signal
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
    set_: Annotated[list[str], typer.Option("--set", help="Override a field: dotted.path=value (repeatable); recorded in the output. With --resume only train.threads and log.progress.")] = [],
    resume: Annotated[list[Path], typer.Option("--resume", help="Continue an interrupted run from its last checkpoint; repeat it for the members of an ensemble, which then train together again.", metavar="RUN.h5")] = [],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    allow_plugins: Annotated[bool, typer.Option("--allow-plugins", help="With --resume: load the plugins the run file's spec names (their code runs; only for files you trust).")] = False,
) -> None:
    """Train the network the spec describes, growing it on schedule, and log the run to HDF5.

    Ctrl-C (or SIGTERM) stops at the next batch with a checkpoint; a second one stops at once.
    """
    from growsim.build import build_engine, default_output, prepare
    from growsim.log.hdf5 import HDF5Logger
    from growsim.spec import load_spec

    checkpoint = None
    if resume:
        if spec is not None or out is not None:
            raise UserError(
                "--resume takes the spec, overrides and output from the run file: give only --resume RUN.h5 "
                "(and --set train.threads=N or log.progress=..., which say how it runs, not what it computes)"
            )
        if len(resume) > 1:
            _resume_ensemble(resume, quiet=quiet, settings=set_, allow_plugins=allow_plugins)
            return
        checkpoint, loaded = _load_for_resume(resume[0], set_, allow_plugins)
        path = resume[0]
    else:
        if spec is None:
            raise UserError("give a spec file (growsim run SPEC), or --resume RUN.h5")
        loaded = load_spec(spec, set_)
        path = out if out is not None else default_output(loaded)
        if loaded.spec.is_ensemble:
            _run_ensemble(loaded, path, overwrite=overwrite, quiet=quiet)
            return
        _check_output(path, overwrite)
    prepared = prepare(loaded)

    log = loaded.spec.log
    loggers: list = [
        HDF5Logger(path, compression=log.compression, overwrite=overwrite, atomic=log.atomic_writes, resume=checkpoint)
    ]
    if log.progress and not quiet:
        from growsim.log.progress import ProgressLogger

        loggers.append(ProgressLogger(err_console))
    _choose_threads(loaded.spec, quiet, prepared.n_neurons)
    engine = build_engine(prepared, loggers)
    if checkpoint is not None:
        engine.load_state(checkpoint.step, checkpoint.arrays, checkpoint.texts)
        err_console.print(f"resuming {path} at batch {checkpoint.step}", markup=False, highlight=False)
    _run_engine(engine, path)
    _summary(path)


def _choose_threads(spec, quiet: bool, neurons: int | None = None) -> None:
    """Torch threads for a spec that names none (and no OMP_NUM_THREADS): see growsim._cpus.

    `neurons`: the network's size; None for an ensemble (its threads train members side by side).
    """
    if spec.train.threads is not None or "OMP_NUM_THREADS" in os.environ:
        return  # the spec's number is set when the engine is built; OMP_NUM_THREADS is torch's own
    import torch

    from growsim._cpus import MAX_AUTO_THREADS, SMALL_NETWORK, auto_threads, available_cpus, load_average

    threads = auto_threads(neurons)
    torch.set_num_threads(threads)
    if quiet:
        return
    if neurons is not None and neurons <= SMALL_NETWORK:
        why = f"{neurons} neurons: one thread up to {SMALL_NETWORK}"
    else:
        why = f"{available_cpus()} CPUs, load {load_average():.1f}: one per free core, at most {MAX_AUTO_THREADS}"
    err_console.print(f"torch threads: {threads} ({why}; set train.threads to choose)", markup=False, highlight=False)


def _run_ensemble(loaded, base: Path, *, overwrite: bool, quiet: bool) -> None:
    """One run file per seed; the members train as one stacked model when they can."""
    from growsim.build import build_engine, member_output, member_specs, prepare
    from growsim.log.hdf5 import HDF5Logger

    _choose_threads(loaded.spec, quiet)

    members = member_specs(loaded)
    paths = [member_output(base, m.spec.seed) for m in members]
    for path in paths:
        _check_output(path, overwrite)
    engines = []
    for i, (member, path) in enumerate(zip(members, paths)):
        log = member.spec.log
        loggers: list = [HDF5Logger(path, compression=log.compression, overwrite=overwrite, atomic=log.atomic_writes)]
        engines.append(build_engine(prepare(member), loggers + (_progress(log, quiet) if i == 0 else [])))
    reason = None if loaded.spec.train.stack else "train.stack is false"
    _drive_ensemble(engines, paths, base, reason=reason)


def _progress(log, quiet: bool) -> list:
    if log.progress and not quiet:
        from growsim.log.progress import ProgressLogger

        return [ProgressLogger(err_console)]
    return []


def _resume_ensemble(paths: list[Path], *, quiet: bool, settings: list[str], allow_plugins: bool) -> None:
    """Members of an interrupted ensemble, each from its checkpoint, trained together again."""
    from growsim.build import build_engine, prepare
    from growsim.log.hdf5 import HDF5Logger

    if len(set(p.resolve() for p in paths)) != len(paths):
        raise UserError("--resume names the same file twice")
    found = [_load_for_resume(p, settings, allow_plugins) for p in paths]
    _choose_threads(found[0][1].spec, quiet)
    steps = {ckpt.step for ckpt, _ in found}
    if len(steps) > 1:
        at = ", ".join(f"{p} at {c.step}" for p, (c, _) in zip(paths, found))
        raise UserError(f"these runs stopped at different batches ({at}); resume each alone")
    engines = []
    for i, (path, (ckpt, loaded)) in enumerate(zip(paths, found)):
        log = loaded.spec.log
        loggers: list = [HDF5Logger(path, compression=log.compression, atomic=log.atomic_writes, resume=ckpt)]
        engine = build_engine(prepare(loaded), loggers + (_progress(log, quiet) if i == 0 else []))
        engine.load_state(ckpt.step, ckpt.arrays, ckpt.texts)
        engines.append(engine)
    start = steps.pop()
    err_console.print(f"resuming {len(paths)} runs at batch {start}", markup=False, highlight=False)
    _drive_ensemble(engines, paths, paths[0], reason=None)


def _drive_ensemble(engines: list, paths: list[Path], base: Path, *, reason: str | None) -> None:
    """Train the members as one stacked model, or one after another when they cannot be stacked."""
    from growsim.ensemble import Ensemble, why_not_stacked

    seeds = ", ".join(str(e.info.seed) for e in engines)
    reason = reason or why_not_stacked(engines)
    if reason is not None:
        err_console.print(
            f"{len(engines)} seeds ({seeds}) run one after another: {reason}", markup=False, highlight=False
        )
        failures = []
        for engine, path in zip(engines, paths):
            try:
                _run_engine(engine, path)
            except UserError as exc:  # this seed failed; its file says why, and the others still run
                failures.append(f"seed {engine.info.seed}: {exc}")
            _summary(path)
        if failures:
            raise UserError("some members of the ensemble failed:\n" + "\n".join(failures))
        return
    failed: list[str] = []

    def retire(engine, why: str) -> None:
        failed.append(f"seed {engine.info.seed}: {why}")
        err_console.print(f"seed {engine.info.seed} stopped: {why}; the others go on", markup=False, highlight=False)

    ensemble = Ensemble(engines, on_retire=retire)
    err_console.print(
        f"{len(engines)} seeds ({seeds}) train together: {ensemble.layout()}",
        markup=False,
        highlight=False,
    )
    try:
        _run_engine(ensemble, base)
    finally:
        for path in paths:
            if path.exists():
                _summary(path)
    if failed:
        raise UserError("some members of the ensemble failed; their files record where and why:\n" + "\n".join(failed))


def _run_engine(engine, path: Path) -> None:
    """Run an engine (or an ensemble of them) with Ctrl-C and SIGTERM stopping it cleanly."""
    from growsim.engine import DivergenceError, RunInterrupted
    from growsim.wiring import WiringRuleError

    def handle(signum, frame):
        name = "stopped by the user (Ctrl-C)" if signum == signal.SIGINT else "terminated (SIGTERM)"
        if not engine.stop_requested:
            engine.request_stop(name)
            err_console.print("stopping at the next batch, after a checkpoint (again to stop at once)", markup=False)
        else:
            raise RunInterrupted(name + ", twice")

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        engine.run()
    except (KeyboardInterrupt, RunInterrupted):
        if hasattr(engine, "engines"):  # an ensemble: one file per member, each resumable alone
            err_console.print(f"interrupted at batch {engine.step}; each member's file records it (continue them together: growsim run --resume FILE --resume FILE ..., or each alone)", markup=False, highlight=False)
        else:
            err_console.print(f"interrupted at batch {engine.step}; {path} records it (continue with: growsim run --resume {path})", markup=False, highlight=False)
        raise typer.Exit(130) from None
    except DivergenceError as exc:  # its message names the batch where the loss or weights went bad
        raise UserError(f"run failed: {exc}\n{path} records where and why it stopped.") from None
    except WiringRuleError as exc:
        raise UserError(f"run failed at batch {engine.step}: {exc}\n{path} records where and why it stopped.") from None
    except OSError as exc:
        raise UserError(f"run failed at batch {engine.step} writing {path}: {exc}") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _load_for_resume(path: Path, settings: list[str] | None = None, allow_plugins: bool = False):
    from growsim.build import resumed_spec
    from growsim.log import process_alive
    from growsim.log.hdf5 import read_checkpoint

    if not path.is_file():
        raise UserError(f"{path} does not exist")
    try:
        ckpt = read_checkpoint(path)
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"cannot resume {path}: {exc}") from None
    if ckpt.status == "completed":
        raise UserError(f"{path} is a completed run: there is nothing to resume")
    if ckpt.status == "running" and ckpt.writer_pid != os.getpid() and process_alive(ckpt.writer_pid, ckpt.writer_host):
        raise UserError(f"{path} is still being written by process {ckpt.writer_pid}")
    try:
        return ckpt, resumed_spec(ckpt, settings=settings or (), allow_plugins=allow_plugins)
    except ValueError as exc:  # a field that may not change on resume
        raise UserError(str(exc)) from None


def _live_writer(path: Path) -> str:
    """'process P on host H' when a live process is writing the run file at `path`, else ''."""
    import h5py

    from growsim.log import process_alive

    try:
        with h5py.File(path, "r", locking=False) as f:
            status, pid, host = f.attrs.get("status"), f.attrs.get("writer_pid"), f.attrs.get("writer_host")
    except (OSError, KeyError, ValueError):
        return ""  # not a readable run file: nothing to protect
    if status != "running" or pid is None:
        return ""
    host = host.decode() if isinstance(host, bytes) else host
    alive = None if int(pid) == os.getpid() else process_alive(int(pid), host)
    if int(pid) == os.getpid() or alive is False:
        return ""
    if alive is None:  # another machine's process: it may well be alive
        return f"process {int(pid)} on {host} (another machine: whether it still runs cannot be told from here)"
    return f"process {int(pid)} on {host}"


def _check_output(path: Path, overwrite: bool) -> None:
    if path.exists() and path.is_dir():
        raise UserError(f"{path} is a folder, not a file")
    if path.exists() and not overwrite:
        raise UserError(f"{path} exists; pass --overwrite to replace it, or --out another path")
    if path.exists():
        writer = _live_writer(path)
        if writer:
            raise UserError(f"{path} is being written by {writer}: --overwrite never replaces a live run's file")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the output folder {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write to the output folder {parent}")


def _summary(path: Path) -> None:
    import h5py
    import numpy as np

    with h5py.File(path, "r", locking=False) as f:
        series = f["series"]
        perf = series["perf_mean"][-1] if "perf_mean" in series else float("nan")
        parts = [f"perf {perf:.3f}"]
        if "n_solved" in series:
            parts.append(f"N_solved {int(series['n_solved'][-1])}")
            parts.append(f"{int(series['n_modules'][-1])} modules")
        else:
            conn = int(series["connections"][-1]) if "connections" in series else 0
            parts.append(f"{conn} synapses")
            if "modularity_q" in series:  # not logged with log.modularity: none
                parts.append(f"Q {series['modularity_q'][-1]:.3f}")
        duration = f.attrs.get("duration_s", np.nan)
        status = f.attrs["status"]
    parts.append(f"{duration:.0f} s")
    console.print(f"{status}: {path}  ({', '.join(parts)})", markup=False, highlight=False)
