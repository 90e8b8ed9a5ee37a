"""Running a spec to a file: the one place where a run is assembled, resumed, stopped and summarised.

`run(spec, out)` trains the network a spec describes and writes its HDF5 file; a spec
whose `seed` is a list or a count runs as an ensemble, one file per seed, the members
trained together when they can be stacked. `resume(path)` continues an interrupted run
from its checkpoint; `resume([path, path, ...])` trains the members of an ensemble
together again. `growsim run`, the sweep's workers and the tests all come through here.

    result = growsim.run("specs/add_conn_distance.yaml", "runs/short.h5", overrides=["train.batches=2000"])
    print(result.status, result.perf, result.q)

A run that started always ends with a result, also when it was interrupted or failed (its
`status` says which, and the file records it). Input that cannot run raises before
anything is written: `SpecError` for the spec, `RunError` for the output or the file to
resume. A bug in growsim raises, after the file is closed as failed.

Signals: while a run trains in the main thread, the first SIGINT (Ctrl-C) or SIGTERM stops
it at the next step boundary, after a checkpoint; a second stops it at once (the file
keeps its last commit). `Stop` asks for the same stop from elsewhere: another thread, a
logger, a signal handler of the caller's own.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:
    from growsim.spec import LoadedSpec

SpecSource = Union[str, "os.PathLike[str]", "LoadedSpec"]
Loggers = Union[Sequence[Any], Callable[[int], Sequence[Any]]]

STOP_MESSAGE = "stopping at the next batch, after a checkpoint (again to stop at once)"


class RunError(Exception):
    """Input that cannot run: an output that exists or cannot be written, a run file that
    cannot be resumed. Raised before anything is written; `path` is the file concerned."""

    def __init__(self, message: str, path: Path | None = None):
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class RunResult:
    """How one run ended, and its last logged figures (read back from its file).

    ``status``: ``completed``, ``interrupted`` (a stop request or a signal; resumable),
    ``failed``, or ``pending`` (a member of an ensemble that never started because the
    ensemble was stopped first). ``reason``: why it ended, as the file's ``status_reason``
    ('' when completed). ``step``: the batch count where it ended (all of them when
    completed). ``last_step``: the last step whose metrics the file holds (-1: none).
    ``perf``: the mean task performance at ``last_step`` (NaN when none was logged);
    ``connections`` and ``q`` (synapses and modularity Q, a single population) or
    ``n_solved`` and ``modules`` (a chain of modules): None when the file does not log
    them. ``duration_s``: training time over every session of the run (NaN when none was
    recorded). ``error``: for a failed run, a message that says what went wrong and where
    to look (the one `growsim run` prints), else None.
    """

    path: Path
    status: str
    reason: str
    seed: int
    step: int
    last_step: int = -1
    perf: float = math.nan
    connections: int | None = None
    q: float | None = None
    n_solved: int | None = None
    modules: int | None = None
    duration_s: float = math.nan
    error: str | None = None

    def summary_line(self) -> str:
        """One line: status, path and final figures, as `growsim run` prints it."""
        parts = [f"perf {self.perf:.3f}"]
        if self.n_solved is not None:
            parts.append(f"N_solved {self.n_solved}")
            parts.append(f"{self.modules} modules")
        else:
            parts.append(f"{self.connections or 0} synapses")
            if self.q is not None:
                parts.append(f"Q {self.q:.3f}")
        parts.append(f"{self.duration_s:.0f} s")
        return f"{self.status}: {self.path}  ({', '.join(parts)})"


@dataclass(frozen=True)
class EnsembleResult(Sequence[RunResult]):
    """The results of an ensemble's members, one per seed in the spec's order (a sequence).

    ``stacked``: the members trained together as one stacked model; False when they ran
    one after another, and ``how`` says why (else how they were grouped).
    """

    members: tuple[RunResult, ...]
    stacked: bool
    how: str

    def __getitem__(self, index):  # type: ignore[override]
        return self.members[index]

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self) -> Iterator[RunResult]:
        return iter(self.members)

    @property
    def status(self) -> str:
        """``interrupted`` if the ensemble was stopped, else ``failed`` if a member failed,
        else ``completed``."""
        statuses = {m.status for m in self.members}
        if statuses & {"interrupted", "pending"}:
            return "interrupted"
        return "failed" if "failed" in statuses else "completed"


class Stop:
    """A request that a run stop at its next step boundary, after a checkpoint.

    Pass one to `run` or `resume` (``stop=``) and call `request` from anywhere (another
    thread, a logger, a signal handler). A request made before the run starts stops it at
    step 0, after its first checkpoint: its file is then an interrupted run. `signals`
    lists the signals the run received while it handled them. A `Stop` serves one call of
    `run` or `resume` (an ensemble's members share it): a request stays made.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self.signals: list[int] = []
        self._target = None  # the engine or ensemble training now

    def request(self, reason: str = "stopped") -> None:
        if self.reason is None:
            self.reason = reason
        target = self._target
        if target is not None:
            target.request_stop(self.reason)

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def _attach(self, target) -> None:
        self._target = target
        if self.reason is not None:
            target.request_stop(self.reason)


# --- the public functions ---------------------------------------------------------------


def run(
    spec: SpecSource,
    out: str | os.PathLike[str] | None = None,
    *,
    overrides: Sequence[str] = (),
    overwrite: bool = False,
    threads: int | Literal["auto"] | None = None,
    quiet: bool = True,
    progress: bool = False,
    extra_loggers: Loggers = (),
    handle_signals: bool = True,
    stop: Stop | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> RunResult | EnsembleResult:
    """Train the network `spec` describes and write its run to `out`; return how it ended.

    ``spec``: a spec file, or a spec already loaded (`growsim.load_spec`; YAML text goes
    through `growsim.spec.load_spec_text`). ``out``: the run file (default: the spec's
    ``log.path``, else ``runs/<spec name>.h5``); an ensemble writes ``<out stem>_seed<k>.h5``
    per seed and returns an `EnsembleResult`. ``overrides``: ``"dotted.path=value"``
    settings, as ``--set``, recorded in the file. ``overwrite``: replace an existing file
    (never one a live process writes).

    ``threads``: None keeps torch's thread count unless the spec names one; an int is
    ``train.threads=N`` (recorded: another count may round sums differently); ``"auto"``
    chooses for a spec that names none, as `growsim run` does (see `growsim._cpus`).

    ``quiet``: print nothing (the default). With ``quiet=False``, what happens to the run is
    printed to standard error as it happens (members stacked or not, a member that fails,
    a stop on a signal), and with ``progress=True`` also the spec's progress display
    (``log.progress``) and the thread count ``"auto"`` chose.

    ``extra_loggers``: loggers (`growsim.log.base.Logger`) that receive every call the run
    file does; for an ensemble, a function of a member's seed that returns its own.
    ``handle_signals``: route SIGINT and SIGTERM to the run while it trains (main thread
    only). ``stop``: a `Stop` to ask for a stop from elsewhere. ``on_result``: called with
    each run's result as soon as that run closes (for an ensemble, once per member).

    Raises `SpecError` (a bad spec, by YAML path and line) or `RunError` (an output that
    cannot be written) before anything is written.
    """
    from growsim.build import default_output, prepare

    threads = _check_threads(threads)
    sets = [*overrides, *([f"train.threads={threads}"] if isinstance(threads, int) else [])]
    loaded = _load(spec, sets)
    path = Path(out) if out is not None else default_output(loaded)
    how = _How(quiet, progress, extra_loggers, handle_signals, stop or Stop(), on_result)
    if loaded.spec.is_ensemble:
        return _run_ensemble(loaded, path, overwrite, threads, how)
    _check_output(path, overwrite, how.say)
    prepared = prepare(loaded)
    if threads == "auto":
        _auto_threads(loaded.spec, how.say_threads, prepared.n_neurons)
    engine = _build(prepared, path, how.loggers(loaded.spec, first=True), overwrite=overwrite)
    return how.closed(_drive(engine, path, how))


def resume(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    settings: Sequence[str] = (),
    allow_plugins: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
    threads: int | Literal["auto"] | None = None,
    quiet: bool = True,
    progress: bool = False,
    extra_loggers: Loggers = (),
    handle_signals: bool = True,
    stop: Stop | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> RunResult | EnsembleResult:
    """Continue interrupted runs from their checkpoints, writing on into their files.

    One path gives a `RunResult`; a list of paths (members of an ensemble, stopped at the
    same batch) trains them together again and gives an `EnsembleResult`. The run continues
    the spec and overrides its file recorded; ``settings`` may change only how it runs
    (``train.threads``, ``log.progress``). ``allow_plugins``: run the code of the plugins
    the recorded spec names (only for files you trust; else a spec naming plugins is
    refused). ``base_dir``: where the spec's relative paths resolve when the file does not
    say (files written before it was recorded; default: the working directory). The other
    arguments are `run`'s.

    Raises `RunError` (a missing, completed, live or unreadable file; members stopped at
    different batches) or `SpecError` before anything is written.
    """
    from growsim.build import prepare

    threads = _check_threads(threads)
    sets = [*settings, *([f"train.threads={threads}"] if isinstance(threads, int) else [])]
    how = _How(quiet, progress, extra_loggers, handle_signals, stop or Stop(), on_result)
    base = Path(base_dir) if base_dir is not None else None
    if not isinstance(paths, (str, os.PathLike)):
        return _resume_ensemble([Path(p) for p in paths], sets, allow_plugins, base, threads, how)
    path = Path(paths)
    checkpoint, loaded = _load_for_resume(path, sets, allow_plugins, base, how.say)
    prepared = prepare(loaded)
    if threads == "auto":
        _auto_threads(loaded.spec, how.say_threads, prepared.n_neurons)
    engine = _build(prepared, path, how.loggers(loaded.spec, first=True), checkpoint=checkpoint)
    how.say(f"resuming {path} at batch {checkpoint.step}")
    return how.closed(_drive(engine, path, how))


# --- how a run is watched ---------------------------------------------------------------


class _How:
    """What the caller asked for besides the run itself: messages, loggers, signals, stop."""

    def __init__(self, quiet, progress, extra_loggers, handle_signals, stop, on_result):
        self.quiet = quiet
        self.progress = progress and not quiet
        self.extra_loggers = extra_loggers
        self.handle_signals = handle_signals
        self.stop = stop
        self.on_result = on_result

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def say_threads(self, text: str) -> None:
        if self.progress:
            self.say(text)

    def loggers(self, spec, *, first: bool, ensemble: bool = False) -> list:
        """The loggers after the run file's: the progress display the spec asks for (on the
        first member of an ensemble only: one is enough), then the caller's."""
        out: list = []
        if self.progress and first and spec.log.progress:
            from rich.console import Console

            from growsim.log.progress import ProgressLogger

            # soft_wrap: long lines stay whole, as the command line's own messages do.
            out.append(ProgressLogger(Console(stderr=True, soft_wrap=True)))
        extra = self.extra_loggers
        if callable(extra):
            out.extend(extra(spec.seed))
        elif extra:
            if ensemble:
                raise ValueError(
                    "each member of an ensemble needs loggers of its own: give extra_loggers as a function of the seed"
                )
            out.extend(extra)
        return out

    def signals(self) -> _Signals:
        return _Signals(self.stop, self.say, self.handle_signals)

    def closed(self, result: RunResult) -> RunResult:
        if self.on_result is not None:
            self.on_result(result)
        return result


class _Signals:
    """While a run trains: the first SIGINT or SIGTERM asks it to stop after a checkpoint,
    a second stops it at once. Only the main thread may set signal handlers; elsewhere
    (a Dask worker's thread) the run leaves signals alone."""

    def __init__(self, stop: Stop, say: Callable[[str], None], enabled: bool):
        self.stop = stop
        self.say = say
        self.enabled = enabled
        self.previous: dict = {}

    def _handle(self, signum, frame) -> None:
        self.stop.signals.append(signum)
        name = "stopped by the user (Ctrl-C)" if signum == signal.SIGINT else "terminated (SIGTERM)"
        if len(self.stop.signals) > 1:
            raise self._interrupted(name + ", twice")
        self.stop.request(name)
        self.say(STOP_MESSAGE)

    def __enter__(self) -> _Signals:
        if self.enabled and threading.current_thread() is threading.main_thread():
            from growsim.train.engine import RunInterrupted

            self._interrupted = RunInterrupted  # not imported inside the handler
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            # None: a handler set outside Python, which cannot be put back; the default is nearest.
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self.previous = {}


# --- assembling -------------------------------------------------------------------------


def _check_threads(threads):
    if threads is None or threads == "auto":
        return threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, 'auto' or None, not {threads!r}")
    return threads


def _load(spec: SpecSource, overrides: Sequence[str]) -> LoadedSpec:
    from growsim.spec import LoadedSpec, load_spec, load_spec_text

    if isinstance(spec, LoadedSpec):
        if not overrides:
            return spec
        return load_spec_text(
            spec.text, base_dir=spec.base_dir, overrides=[*spec.overrides, *overrides], path=spec.path
        )
    return load_spec(spec, overrides)


def _build(prepared, path: Path, extra: list, *, overwrite: bool = False, checkpoint=None):
    """The engine of one run writing `path` (restored from `checkpoint` when given)."""
    from growsim.build import build_engine
    from growsim.log.hdf5 import HDF5Logger

    log = prepared.spec.log
    hdf5 = HDF5Logger(path, compression=log.compression, overwrite=overwrite, atomic=log.atomic_writes, resume=checkpoint)
    engine = build_engine(prepared, [hdf5, *extra])
    if checkpoint is not None:
        engine.load_state(checkpoint.step, checkpoint.arrays, checkpoint.texts)
    return engine


def _auto_threads(spec, say: Callable[[str], None], neurons: int | None = None) -> None:
    """Torch threads for a spec that names none (and no OMP_NUM_THREADS): see growsim._cpus.

    `neurons`: the network's size; None for an ensemble (its threads train members side by side).
    """
    if spec.train.threads is not None or "OMP_NUM_THREADS" in os.environ:
        return  # the spec's number is set when the engine is built; OMP_NUM_THREADS is torch's own
    import torch

    from growsim._cpus import MAX_AUTO_THREADS, SMALL_NETWORK, auto_threads, available_cpus, load_average

    threads = auto_threads(neurons)
    torch.set_num_threads(threads)
    if neurons is not None and neurons <= SMALL_NETWORK:
        why = f"{neurons} neurons: one thread up to {SMALL_NETWORK}"
    else:
        why = f"{available_cpus()} CPUs, load {load_average():.1f}: one per free core, at most {MAX_AUTO_THREADS}"
    say(f"torch threads: {threads} ({why}; set train.threads to choose)")


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


def _check_output(path: Path, overwrite: bool, say: Callable[[str], None]) -> None:
    if path.exists() and path.is_dir():
        raise RunError(f"{path} is a folder, not a file", path)
    if path.exists() and overwrite:
        writer = _live_writer(path)
        if writer:
            raise RunError(f"{path} is being written by {writer}: --overwrite never replaces a live run's file", path)
    _clear_working_copy(path, say)
    if path.exists() and not overwrite:
        raise RunError(f"{path} exists; pass --overwrite to replace it, or --out another path", path)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the output folder {parent}: {exc.strerror}", path) from None
    if not os.access(parent, os.W_OK):
        raise RunError(f"cannot write to the output folder {parent}", path)


def _clear_working_copy(path: Path, say: Callable[[str], None]) -> None:
    """Remove the working copy a writer killed while committing left beside `path`; refuse
    to go on while a live process writes one."""
    from growsim.log.hdf5 import remove_stale_working_copy, working_path

    work = working_path(path)
    try:
        removed = remove_stale_working_copy(path)
    except OSError as exc:
        raise RunError(f"cannot remove {work}, the working copy a killed run left: {exc.strerror}", path) from None
    if removed is False:
        raise RunError(f"{path} is being written by another process (it is writing {work} now)", path)
    if removed:
        say(f"removed {work}: the unfinished commit of a run killed while writing it")


def _load_for_resume(path: Path, settings: Sequence[str], allow_plugins: bool, base_dir: Path | None,
                     say: Callable[[str], None] = lambda text: None):
    """The checkpoint of an interrupted run file, and the spec it recorded (with `settings`)."""
    from growsim.build import resumed_spec
    from growsim.log.hdf5 import NoCheckpointError, read_checkpoint, working_path

    if not path.is_file():
        if not path.exists() and working_path(path).exists():
            _clear_working_copy(path, say)
            raise RunError(f"{path} does not exist: its run was killed while writing its first commit, before "
                           "anything was saved; run its spec again", path)
        raise RunError(f"{path} does not exist", path)
    try:
        ckpt = read_checkpoint(path)
    except NoCheckpointError as exc:
        if exc.writer_alive:
            raise RunError(f"{path} is still being written by process {exc.writer_pid}", path) from None
        how = "was killed" if exc.status == "running" else f"{exc.status}" + (f" ({exc.reason})" if exc.reason else "")
        raise RunError(
            f"{path} cannot be resumed: it holds no checkpoint (its run {how} before its first one, at step 0); "
            f"run its spec again with --out {path} --overwrite", path) from None
    except (OSError, KeyError, ValueError) as exc:
        raise RunError(f"cannot resume {path}: {exc}", path) from None
    if ckpt.status == "completed":
        raise RunError(f"{path} is a completed run: there is nothing to resume", path)
    if ckpt.writer_alive:
        raise RunError(f"{path} is still being written by process {ckpt.writer_pid}", path)
    _clear_working_copy(path, say)
    try:
        return ckpt, resumed_spec(ckpt, base_dir, settings=settings, allow_plugins=allow_plugins)
    except ValueError as exc:  # a field that may not change on resume
        raise RunError(str(exc), path) from None


# --- ensembles ----------------------------------------------------------------------------


def _run_ensemble(loaded, base: Path, overwrite: bool, threads, how: _How) -> EnsembleResult:
    """One run file per seed; the members train as one stacked model when they can."""
    from growsim.build import member_output, member_specs, prepare

    if threads == "auto":
        _auto_threads(loaded.spec, how.say_threads)
    members = member_specs(loaded)
    paths = [member_output(base, m.spec.seed) for m in members]
    for path in paths:
        _check_output(path, overwrite, how.say)
    engines = []
    for i, (member, path) in enumerate(zip(members, paths)):
        loggers = how.loggers(member.spec, first=i == 0, ensemble=True)
        engines.append(_build(prepare(member), path, loggers, overwrite=overwrite))
    reason = None if loaded.spec.train.stack else "train.stack is false"
    return _drive_members(engines, paths, reason, how)


def _resume_ensemble(paths: list[Path], settings, allow_plugins: bool, base_dir, threads, how: _How) -> EnsembleResult:
    """Members of an interrupted ensemble, each from its checkpoint, trained together again."""
    from growsim.build import prepare

    if len(set(p.resolve() for p in paths)) != len(paths):
        raise RunError("--resume names the same file twice")
    found = [_load_for_resume(p, settings, allow_plugins, base_dir, how.say) for p in paths]
    if threads == "auto":
        _auto_threads(found[0][1].spec, how.say_threads)
    steps = {ckpt.step for ckpt, _ in found}
    if len(steps) > 1:
        at = ", ".join(f"{p} at {c.step}" for p, (c, _) in zip(paths, found))
        raise RunError(f"these runs stopped at different batches ({at}); resume each alone")
    engines = []
    for i, (path, (ckpt, loaded)) in enumerate(zip(paths, found)):
        loggers = how.loggers(loaded.spec, first=i == 0, ensemble=True)
        engines.append(_build(prepare(loaded), path, loggers, checkpoint=ckpt))
    how.say(f"resuming {len(paths)} runs at batch {steps.pop()}")
    return _drive_members(engines, paths, None, how)


def _drive_members(engines: list, paths: list[Path], reason: str | None, how: _How) -> EnsembleResult:
    """Train the members as one stacked model, or one after another when they cannot be stacked."""
    from growsim.train.ensemble import why_not_stacked

    seeds = ", ".join(str(e.info.seed) for e in engines)
    reason = reason or why_not_stacked(engines)
    if reason is None:
        return _drive_stacked(engines, paths, seeds, how)
    how.say(f"{len(engines)} seeds ({seeds}) run one after another: {reason}")
    results: list[RunResult] = []
    with how.signals():
        for engine, path in zip(engines, paths):
            if results and (how.stop.requested or results[-1].status == "interrupted"):
                why = "the ensemble was stopped before this seed started"
                results.append(RunResult(path, "pending", why, engine.info.seed, -1))
                continue
            results.append(how.closed(_drive(engine, path, how, signals=False)))
    return EnsembleResult(tuple(results), stacked=False, how=reason)


def _drive_stacked(engines: list, paths: list[Path], seeds: str, how: _How) -> EnsembleResult:
    from growsim.train.engine import RunInterrupted
    from growsim.train.ensemble import Ensemble

    retired: dict[int, str] = {}

    def retire(engine, why: str) -> None:
        retired[id(engine)] = why
        how.say(f"seed {engine.info.seed} stopped: {why}; the others go on")

    ensemble = Ensemble(engines, on_retire=retire)
    layout = ensemble.layout()
    how.say(f"{len(engines)} seeds ({seeds}) train together: {layout}")
    how.stop._attach(ensemble)
    outcome: dict[int, tuple[str, str, str | None]] = {}  # id(engine) -> status, reason, error
    try:
        with how.signals():
            statuses = ensemble.run()
        outcome = {id(e): (statuses[e], "", None) for e in engines if id(e) not in retired}
    except (RunInterrupted, KeyboardInterrupt) as exc:
        outcome = {id(e): ("interrupted", e.status_of(exc)[1], None) for e in engines if id(e) not in retired}
        if isinstance(exc, KeyboardInterrupt) and not how.handle_signals:
            _close_members(engines, paths, retired, outcome, how)
            raise
    except BaseException as exc:
        errors = {id(e): _failure(exc, ensemble.step, path) for e, path in zip(engines, paths)}
        if None in errors.values():
            raise  # a bug: every member's file is closed as failed
        # Each file records its own end (a member whose own write failed, its own reason).
        outcome = {id(e): ("failed", _recorded_reason(path) or e.status_of(exc)[1], errors[id(e)])
                   for e, path in zip(engines, paths) if id(e) not in retired}
    results = _close_members(engines, paths, retired, outcome, how)
    return EnsembleResult(tuple(results), stacked=True, how=layout)


def _close_members(engines, paths, retired, outcome, how: _How) -> list[RunResult]:
    results = []
    for e, path in zip(engines, paths):
        if id(e) in retired:
            why = retired[id(e)]
            status, reason, error = "failed", why, f"run failed: {why}\n{path} records where and why it stopped."
        else:
            status, reason, error = outcome[id(e)]
        results.append(how.closed(_result(path, status, reason, e.info.seed, e.step, error)))
    return results


# --- one run ------------------------------------------------------------------------------


def _failure(exc: BaseException, step: int, path: Path) -> str | None:
    """The message of a run that failed for a reason of its own (not a bug), else None."""
    from growsim.log.hdf5 import RunFileWriteError
    from growsim.train.engine import DivergenceError
    from growsim.wiring import WiringRuleError

    if isinstance(exc, DivergenceError):  # its message names the batch where the loss or weights went bad
        return f"run failed: {exc}\n{path} records where and why it stopped."
    if isinstance(exc, WiringRuleError):
        return f"run failed at batch {step}: {exc}\n{path} records where and why it stopped."
    if isinstance(exc, RunFileWriteError):  # its message says what the disk keeps
        return str(exc)
    if isinstance(exc, OSError):
        return f"run failed at batch {step} writing {path}: {exc}"
    return None


def _drive(engine, path: Path, how: _How, *, signals: bool = True) -> RunResult:
    """Train one engine to its end; its result. A bug raises (the file closed as failed)."""
    from contextlib import nullcontext

    from growsim.log.hdf5 import RunFileWriteError
    from growsim.train.engine import RunInterrupted

    how.stop._attach(engine)
    error = None
    try:
        with how.signals() if signals else nullcontext():
            status, reason = engine.run(), ""
    except (RunInterrupted, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt) and not how.handle_signals:
            raise  # not ours to handle: the file is closed as interrupted
        status, reason = engine.status_of(exc)
    except BaseException as exc:
        error = _failure(exc, engine.step, path)
        if error is None:
            raise
        status, reason = engine.status_of(exc)
        if isinstance(exc, RunFileWriteError):
            reason = exc.reason  # what the file records
    return _result(path, status, reason, engine.info.seed, engine.step, error)


def _result(path: Path, status: str, reason: str, seed: int, step: int, error: str | None) -> RunResult:
    """A run's result: how it ended (as the runner saw it) and the last figures of its file."""
    figures = _last_figures(path)
    return RunResult(path, status, reason or "", seed, step, error=error, **figures)


def _recorded_reason(path: Path) -> str:
    """The `status_reason` of a run file that says it failed ('' otherwise, or unreadable)."""
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            return str(f.attrs.get("status_reason", "")) if f.attrs.get("status") == "failed" else ""
    except (OSError, KeyError, ValueError, TypeError):
        return ""


def _last_figures(path: Path) -> dict[str, Any]:
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            series = f["series"] if "series" in f else {}

            def last(name: str):
                if name in series and len(series[name]):
                    return series[name][-1].item()
                return None

            perf, conn, q, solved, modules = (last(k) for k in ("perf_mean", "connections", "modularity_q", "n_solved", "n_modules"))
            return {
                "last_step": int(f.attrs.get("last_step", -1)),
                "perf": math.nan if perf is None else float(perf),
                "connections": None if conn is None else int(conn),
                "q": None if q is None else float(q),
                "n_solved": None if solved is None else int(solved),
                "modules": None if modules is None else int(modules),
                "duration_s": float(f.attrs.get("duration_s", math.nan)),
            }
    except (OSError, KeyError, ValueError, TypeError):
        return {}  # no file, or none that can be read: the figures stay unknown
