"""Build: the one place where spec models meet the classes that run.

`prepare` resolves what a spec points at (its geometry, the number of neurons) and runs
the checks that need it, reporting problems as SpecError with YAML paths. `build_engine`
turns a prepared spec into an Engine with flat arguments: no class below receives the
spec.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from growsim.geometry import Geometry, GeometryError
from growsim.spec import LoadedSpec, SpecError, SpecIssue
from growsim.spec.models import MAX_NEURONS, GeometrySpec, Spec
from growsim.streams import numpy_stream, stream_seed

TASK_STREAM = "task_selection"  # the random stream that draws a run's tasks (task.tasks: {draw: K})


@dataclass(frozen=True)
class Prepared:
    loaded: LoadedSpec
    geometry: Geometry | None  # None for a chain of modules, which has no positions
    connectivity: np.ndarray | None = None  # (N, N) [post, pre], from growth.initial_connections: {file: ...}
    warm_synapses: int | None = None  # a leaky RNN's warm start (init_from): the synapses of the stored network

    @property
    def spec(self) -> Spec:
        return self.loaded.spec

    @property
    def n_neurons(self) -> int:
        """Neurons at the start (a chain grows by whole modules)."""
        if self.geometry is None:
            net = self.spec.network
            return net.module_size * net.n_modules
        return self.geometry.n

    @property
    def capacity(self) -> int:
        """The most recurrent synapses this network can have."""
        n = self.n_neurons
        return n * n if self.spec.network.autapses else n * (n - 1)

    @property
    def initial_connections(self) -> int:
        """The synapses placed before training: `growth.initial_connections`, with all
        meaning the capacity (every synapse the network's autapse policy allows); after a
        warm start, those of the stored network."""
        if self.warm_synapses is not None:
            return self.warm_synapses
        initial = self.spec.growth.initial_connections
        if self.connectivity is not None:
            return int(np.count_nonzero(self.connectivity))
        return self.capacity if initial == "all" else initial


@dataclass(frozen=True)
class TaskSelection:
    """The tasks a run trains on, and how they were chosen."""

    names: tuple[str, ...]  # canonical names, in the order of the run file's per-task columns
    how: str  # "all", "listed" or "drawn"
    description: str  # /tasks attribute `selection`
    pool: tuple[str, ...] = ()  # drawn: the tasks drawn from, in Yang's order


def select_tasks(spec: Spec) -> TaskSelection | None:
    """The tasks of a single run (not an ensemble) of a suite with a catalogue (yang20,
    modcog, a plugin's): all, the listed ones, or `task.tasks.draw` of them drawn from the
    run's `task_selection` stream. None for a suite without a catalogue."""
    from growsim.tasks.builtin import TaskDraw
    from growsim.tasks.registry import catalogue_of

    catalogue = catalogue_of(spec.task.suite)
    if catalogue is None:
        return None
    tasks = spec.task.setting("tasks", "all")
    if tasks == "all":
        return TaskSelection(catalogue.names, "all", "all")
    if not isinstance(tasks, TaskDraw):
        return TaskSelection(tuple(catalogue.canonical(t) for t in tasks), "listed", "listed")
    if spec.is_ensemble:
        raise ValueError("each seed of an ensemble draws its own tasks: select them per member (member_specs)")
    source = catalogue.names if tasks.from_ is None else tasks.from_
    wanted = {catalogue.canonical(x) for x in source}
    pool = tuple(t for t in catalogue.names if t in wanted)
    names = catalogue.draw(numpy_stream(spec.seed, TASK_STREAM), tasks.draw, pool)
    everything = "the 20 Yang tasks" if catalogue.what == "Yang" else f"the {len(catalogue.names)} {catalogue.what} tasks"
    where = everything if tasks.from_ is None else f"{len(pool)} tasks (task.tasks.from)"
    description = f"drawn {len(names)} of {where} from random stream {TASK_STREAM}, seed {spec.seed}"
    return TaskSelection(names, "drawn", description, pool)


def make_geometry(gspec: GeometrySpec, base_dir: Path, seed: int) -> Geometry:
    from growsim import geometry

    if gspec.kind == "grid":
        return geometry.grid(gspec.shape, spacing=gspec.spacing, metric=gspec.metric)
    if gspec.kind == "random_points":
        return geometry.random_points(
            gspec.n, dim=gspec.dim, rng=numpy_stream(seed, "geometry"), extent=gspec.extent, metric=gspec.metric
        )
    if gspec.kind == "atlas":
        return geometry.atlas(gspec.name, metric=gspec.metric)
    path = Path(gspec.path)
    path = path if path.is_absolute() else base_dir / path
    if gspec.kind == "coordinates_file":
        return geometry.from_coordinates_file(path, metric=gspec.metric, units=gspec.units)
    return geometry.from_distance_file(path, units=gspec.units)


def prepare(loaded: LoadedSpec) -> Prepared:
    """Resolve the geometry and check what depends on it; raise SpecError with every problem."""
    from growsim.spec.loader import issue_at

    spec = loaded.spec
    if spec.init_from is not None and spec.network.kind == "chain":
        _check_init_from(loaded)
    if spec.network.kind == "chain":
        return Prepared(loaded, None)
    lines, sources = _lines_and_sources(loaded)
    try:
        geo = make_geometry(spec.network.geometry, loaded.base_dir, spec.seeds[0])
        if geo.n > MAX_NEURONS:
            raise GeometryError(f"the geometry has {geo.n} neurons; growsim supports at most {MAX_NEURONS}")
    except GeometryError as exc:
        loc = ("network", "geometry", "path") if hasattr(spec.network.geometry, "path") else ("network", "geometry")
        raise SpecError([issue_at(loc, str(exc), lines, sources)], _file(loaded)) from None
    issues: list[SpecIssue] = []
    connectivity = _connectivity(spec, loaded.base_dir, geo.n, lines, sources, issues)
    prepared = Prepared(loaded, geo, connectivity)
    capacity = prepared.capacity
    growth = spec.growth
    if isinstance(growth.initial_connections, int) and growth.initial_connections > capacity:
        issues.append(
            issue_at(
                ("growth", "initial_connections"),
                f"must be <= {capacity}, the synapses {prepared.n_neurons} neurons can have"
                + ("" if spec.network.autapses else " without autapses"),
                lines,
                sources,
            )
        )
    for i, event in enumerate(growth.events):
        if event.op == "add_connections" and (event.params.get("until") or 0) > capacity:
            issues.append(
                issue_at(("growth", "events", i, "until"), f"must be <= {capacity}, the synapses this network can have", lines, sources)
            )
    suite = _check_suite(spec, lines, sources, issues)
    if suite is not None:
        _check_cost(spec, prepared.n_neurons, suite, lines, sources, issues)
    if spec.init_from is not None:
        warm = _check_warm_leaky(loaded, prepared, suite, lines, sources, issues)
        if warm is not None:
            prepared = Prepared(loaded, geo, connectivity, warm)
    dale = getattr(spec.network, "dale", None)
    if dale is not None:
        n_e = int(round(dale.excitatory * prepared.n_neurons))
        if not 0 < n_e < prepared.n_neurons:
            issues.append(issue_at(
                ("network", "dale", "excitatory"),
                f"gives {n_e} excitatory of {prepared.n_neurons} neurons; both populations need at least one",
                lines, sources,
            ))
    if issues:
        raise SpecError(issues, _file(loaded))
    return prepared


def _check_init_from(loaded: LoadedSpec) -> None:
    """The run a warm start reads: a chain run whose stored network fits this spec."""
    from growsim.spec.loader import issue_at

    lines, sources = _lines_and_sources(loaded)
    try:
        init_source(loaded.spec, loaded.base_dir)
    except ValueError as exc:
        raise SpecError([issue_at(("init_from", "run"), str(exc), lines, sources)], _file(loaded)) from None


def _check_warm_leaky(loaded: LoadedSpec, prepared: Prepared, suite, lines, sources, issues: list) -> int | None:
    """The run a leaky RNN's warm start reads, against this spec's network and task suite
    (None: not made yet); each misfit an issue at `init_from.run`. Returns the stored
    network's synapse count when it fits."""
    from growsim.spec.loader import issue_at

    spec = loaded.spec
    if spec.growth.initial_connections != 0:
        issues.append(issue_at(("growth", "initial_connections"), "a warm start (init_from) begins with the stored "
                               "network's synapses: leave initial_connections at 0", lines, sources))
    try:
        path, _run, snap = init_source(spec, loaded.base_dir)
        widths = None if suite is None else (suite.n_input, suite.n_output, float(suite.dt_ms))
        misfits = leaky_misfits(spec, path, snap, prepared.n_neurons, widths)
    except ValueError as exc:
        misfits = [str(exc)]
    issues.extend(issue_at(("init_from", "run"), text, lines, sources) for text in misfits)
    return None if misfits else int(np.count_nonzero(snap.mask))


def init_source(spec: Spec, base_dir: Path):
    """(path, run, snapshot) of `init_from`: the stored network at its step, from a run of
    this spec's network kind (a chain's also checked against this spec's modules).
    ValueError says what does not fit."""
    from growsim.reader import RunFileError, open_run
    from growsim.spec.models import SolvedStep

    init = spec.init_from
    kind = spec.network.kind
    if kind != "chain" and isinstance(init.step, SolvedStep):
        raise ValueError("step {n_solved: K} names a level of a curriculum, which a leaky RNN run does not have: "
                         "start from final or a stored step")
    path = Path(init.run)
    path = (path if path.is_absolute() else base_dir / path).resolve()
    try:
        run = open_run(path)
        step = _init_step(run, init.step)
        snap = run.weights(step)
    except (OSError, RunFileError, KeyError) as exc:
        raise ValueError(f"cannot start from {path}: {exc}") from None
    if run.network_kind != kind:
        raise ValueError(f"{path} is a {run.network_kind} run; a {kind} network starts from a {kind} run")
    if kind == "chain":
        _check_chain_source(spec, path, run, snap)
    return path, run, snap


def _check_chain_source(spec: Spec, path: Path, run, snap) -> None:
    from growsim.analyses import structure_of
    from growsim.reader import RunFileError

    try:
        structure = structure_of(snap)
    except (RunFileError, KeyError) as exc:
        raise ValueError(f"cannot start from {path}: {exc}") from None
    if structure["module_size"] != spec.network.module_size:
        raise ValueError(f"{path} has modules of {structure['module_size']} neurons; network.module_size is "
                         f"{spec.network.module_size}")
    _solved_head(run, snap)  # raises if no level was solved then


LEAKY_ARRAYS = ("w_rec", "mask", "w_in", "w_out", "b_rec", "b_out")


def leaky_misfits(spec: Spec, path: Path, snap, n_neurons: int, widths: tuple[int, int, float] | None) -> list[str]:
    """What keeps a stored leaky RNN (`snap`) from starting this spec's network of
    `n_neurons`; `widths`: this spec's task suite's (inputs, outputs, time step in ms), or
    None when the suite could not be made. Empty when it fits."""
    at = f"{path} at step {snap.step}"
    absent = [k for k in LEAKY_ARRAYS if getattr(snap, k) is None]
    if absent:
        return [f"{at} stores no {', '.join(absent)}"]
    net = spec.network
    out = []
    if snap.n_neurons != n_neurons:
        out.append(f"{path} has {snap.n_neurons} neurons; this spec's network.geometry has {n_neurons}")
    elif not net.autapses and np.any(np.diagonal(snap.mask)):
        out.append(f"{at} has autapses (synapses of a neuron onto itself); network.autapses is false")
    if widths is not None:
        n_input, n_output, dt_ms = widths
        if snap.w_in.shape[1] != n_input:
            out.append(f"{path} takes {snap.w_in.shape[1]} inputs; this spec's task suite gives {n_input}")
        if spec.init_from.heads == "solved" and snap.w_out.shape[0] != n_output:
            out.append(f"{path} has {snap.w_out.shape[0]} outputs; this spec's task suite has {n_output} "
                       "(heads: new draws a readout of that size)")
        tau = snap.extra.get("tau")
        if tau is not None and net.tau is not None and float(np.min(tau)) < dt_ms:
            out.append(f"{at} has a tau of {float(np.min(tau)):g} ms, below the task suite's time step ({dt_ms:g} ms)")
    sign = snap.extra.get("neuron_sign")
    if (sign is None) != (net.dale is None):
        out.append(f"{path} was trained under Dale's law (it stores neuron signs) and this spec has no network.dale"
                   if net.dale is None else f"network.dale is set but {path} stores no neuron signs (it was trained "
                   "without Dale's law)")
    elif sign is not None and snap.n_neurons == n_neurons:
        stored, wanted = int(np.sum(sign > 0)), int(round(net.dale.excitatory * n_neurons))
        if stored != wanted:
            out.append(f"{path} has {stored} excitatory neurons; network.dale.excitatory gives {wanted}")
    if ("tau" in snap.extra) != (net.tau is not None):
        out.append(f"{path} has per-neuron time constants (tau) and this spec has no network.tau"
                   if net.tau is None else f"network.tau is set but {path} stores no per-neuron time constants")
    return out


def _solved_head(run, snap) -> int:
    """The index of the head of the largest level solved at the snapshot's step."""
    series = run.series()
    at = series.loc[series["step"] == snap.step, "n_solved"] if "n_solved" in series.columns else []
    if len(at) == 0:
        raise ValueError(f"{run.path} logged no n_solved at step {snap.step}: start from a logged step")
    n_start = int(run.spec.get("task", {}).get("n_start", 2))
    index = int(at.iloc[-1]) - n_start
    if index < 0:
        raise ValueError(f"{run.path} had solved no level at step {snap.step}")
    return index


def _init_step(run, step) -> int | None:
    """The stored step that `init_from.step` names (None: the final weights)."""
    if step == "final":
        return None
    if isinstance(step, int):
        return step
    series = run.series()
    if "n_solved" not in series.columns:
        raise KeyError("the run logs no n_solved (it has no curriculum)")
    reached = series.loc[series["n_solved"] >= step.n_solved, "step"]
    if reached.empty:
        raise KeyError(f"the run never solved {step.n_solved} levels (at most {int(series['n_solved'].max())})")
    return int(reached.iloc[0])


def warm_chain(spec: Spec, base_dir: Path, init_rng: np.random.Generator):
    """The chain network of `init_from` with one head for this run's first level, and the
    provenance to record: {init_from, init_from_sha256, init_from_step}."""
    import torch

    from growsim.analyses import parameter_arrays, structure_of
    from growsim.network import ChainRNN

    path, run, snap = init_source(spec, base_dir)
    structure = structure_of(snap)
    stored = parameter_arrays(snap)
    head = _solved_head(run, snap)
    module = structure["head_module"][head]  # modules after it grew for levels not solved yet: dropped
    arrays = {k: v for k, v in stored.items() if k.startswith("blocks.") and int(k.split(".")[1]) <= module}
    if spec.init_from.heads == "solved":
        arrays["heads.0.weight"], arrays["heads.0.bias"] = stored[f"heads.{head}.weight"], stored[f"heads.{head}.bias"]
    structure.update(n_modules=module + 1, frozen=structure["frozen"][: module + 1], head_module=[module],
                     frozen_heads=[False])
    net = spec.network
    chain = ChainRNN.from_structure(structure, rng=init_rng, negative_slope=net.negative_slope,
                                    tau_init=tuple(net.tau_init), zero_diagonal=net.zero_diagonal, h0_scale=net.h0_scale)
    state = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in arrays.items()}
    missing, unexpected = chain.load_state_dict(state, strict=False)
    fresh = [k for k in missing if not k.startswith("heads.0.")]
    if fresh or unexpected:
        raise ValueError(f"the stored network of {path} does not fit: missing {fresh}, unexpected {unexpected}")
    return chain, _warm_provenance(path, snap)


def _warm_provenance(path: Path, snap) -> dict[str, str]:
    """What a warm-started run records of its source: {init_from, init_from_sha256, init_from_step}."""
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"init_from": str(path), "init_from_sha256": digest, "init_from_step": str(snap.step)}


def warm_leaky(prepared: Prepared, objective, init_rng: np.random.Generator):
    """The leaky RNN of `init_from` and the provenance to record. The stored recurrent
    weights, mask, input weights and biases, and neuron signs and time constants when it
    has them; its readout (heads: solved) or a fresh one (heads: new). This run's draws
    from its init stream are made as for a fresh network: the starting weights of the
    synapses it adds later, and the new readout."""
    import torch

    spec = prepared.spec
    path, _run, snap = init_source(spec, prepared.loaded.base_dir)
    widths = (objective.n_input, objective.n_output, float(objective.suite.dt_ms))
    misfits = leaky_misfits(spec, path, snap, prepared.n_neurons, widths)
    if misfits:
        raise ValueError("; ".join(misfits))
    network = make_leaky_rnn(prepared, objective, init_rng)
    stored = {k: getattr(snap, k) for k in LEAKY_ARRAYS}
    if spec.init_from.heads == "new":  # this run's own readout: its draw of w_out, zero bias
        del stored["w_out"], stored["b_out"]
    stored["synapse_born"] = np.where(snap.mask != 0, 0, -1)  # the stored synapses as this run's initial ones
    state = network.state_dict()
    if "neuron_sign" in snap.extra:
        sign = snap.extra["neuron_sign"].astype(np.float32)
        stored["neuron_sign"] = sign
        stored["w_rec_initial"] = np.abs(state["w_rec_initial"].numpy()) * sign[None, :]
    if "tau" in snap.extra:
        stored["log_tau"] = np.log(snap.extra["tau"])
    state.update({k: torch.as_tensor(np.asarray(v)).to(state[k].dtype) for k, v in stored.items()})
    network.load_state_dict(state)
    return network, _warm_provenance(path, snap)


def _check_suite(spec: Spec, lines, sources, issues: list):
    """Make the task suite once, as the run will: a suite that cannot be made (a neurogym
    environment that does not exist or refuses its arguments, a missing extra, a plugin's
    error) or whose time step is longer than the network's time constant is reported at
    `task`, before anything is written. Return the suite of trials made, else None."""
    from growsim.spec.loader import issue_at
    from growsim.tasks import TaskContext, TrialSuite, get_task

    entry = get_task(spec.task.suite)
    try:
        made = entry.func(spec.task.settings, TaskContext(seed=spec.seeds[0]))
    except Exception as exc:  # a suite's own error, whatever it is, is a problem with the spec's task
        issues.append(issue_at(("task",), f"task suite {spec.task.suite!r} cannot be made: {exc}", lines, sources))
        return None
    if isinstance(made, TrialSuite) and spec.task.setting("dt_ms") is None and made.dt_ms > spec.network.tau_ms:
        issues.append(issue_at(
            ("task",), f"the suite's time step ({made.dt_ms:g} ms) is longer than network.tau_ms "
            f"({spec.network.tau_ms:g} ms): alpha = dt / tau must be at most 1; raise network.tau_ms or give the "
            "suite a shorter time step", lines, sources))
    return made if isinstance(made, TrialSuite) else None


def _check_cost(spec: Spec, n_neurons: int, suite, lines, sources, issues: list) -> None:
    """The limits on what one batch of trials may hold (docs/reliability.md): its longest
    trial in steps, the suite's inputs and outputs, and the numbers in each (T, B, units)
    tensor of a training batch, an evaluation block or the functional report's trials."""
    from growsim.spec.loader import issue_at
    from growsim.spec.models import MAX_BATCH_NUMBERS, MAX_TRIAL_STEPS, MAX_UNITS
    from growsim.train.objectives import EVAL_BLOCK

    for what, width in (("inputs", suite.n_input), ("outputs", suite.n_output)):
        if width > MAX_UNITS:
            issues.append(issue_at(("task",), f"the task suite has {width:,} {what}; at most {MAX_UNITS:,}", lines, sources))
            return
    steps = suite.longest_trial_steps()
    if steps is None:
        return
    dt_loc = ("task", "dt_ms") if spec.task.setting("dt_ms") is not None else ("task",)
    if steps > MAX_TRIAL_STEPS:
        issues.append(issue_at(
            dt_loc, f"gives trials of up to {steps:,} steps of {suite.dt_ms:g} ms; at most {MAX_TRIAL_STEPS:,}: "
            "use a longer time step", lines, sources))
        return
    trials = {
        ("train", "batch_size"): spec.train.batch_size,
        ("log", "eval_batch_size"): min(spec.log.eval_batch_size, EVAL_BLOCK),  # evaluated a block at a time
    }
    if spec.log.functional.every is not None:
        trials[("log", "functional", "trials_per_task")] = spec.log.functional.trials_per_task
    loc, most = max(trials.items(), key=lambda item: item[1])
    units = n_neurons + suite.n_input + suite.n_output
    numbers = steps * most * units
    if numbers > MAX_BATCH_NUMBERS:
        issues.append(issue_at(
            loc, f"{most:,} trials of up to {steps:,} steps over {n_neurons:,} neurons, {suite.n_input:,} inputs and "
            f"{suite.n_output:,} outputs are {numbers:,} numbers per tensor; at most {MAX_BATCH_NUMBERS:,}: use fewer "
            "trials or neurons, or a longer task.dt_ms", lines, sources))


def _connectivity(spec: Spec, base_dir: Path, n: int, lines, sources, issues: list) -> np.ndarray | None:
    """The matrix of `growth.initial_connections: {file: ...}` as [post, pre], checked
    against the network (its size, and no autapses unless it has them); None otherwise."""
    from growsim.geometry import read_connectivity_file
    from growsim.spec.loader import issue_at

    initial = spec.growth.initial_connections
    if isinstance(initial, (int, str)):
        return None
    path = Path(initial.file)
    path = path if path.is_absolute() else base_dir / path
    loc = ("growth", "initial_connections", "file")
    try:
        matrix = read_connectivity_file(path, n)
    except GeometryError as exc:
        issues.append(issue_at(loc, str(exc), lines, sources))
        return None
    if initial.orientation == "pre_post":
        matrix = matrix.T.copy()
    if not spec.network.autapses and np.any(np.diagonal(matrix) != 0):
        i = int(np.flatnonzero(np.diagonal(matrix) != 0)[0])
        issues.append(issue_at(
            loc, f"{path}: entry [{i}, {i}] is a synapse from neuron {i} onto itself; set network.autapses: true "
            "to allow autapses, or zero the diagonal", lines, sources,
        ))
        return None
    if not np.count_nonzero(matrix):
        issues.append(issue_at(loc, f"{path}: has no non-zero entry, so no synapse", lines, sources))
        return None
    return matrix


def _file(loaded: LoadedSpec) -> str | None:
    return str(loaded.path) if loaded.path is not None else None


def _lines_and_sources(loaded: LoadedSpec) -> tuple[dict, dict]:
    from growsim.spec.loader import parse_dotted
    from growsim.spec.yaml_lines import load_with_lines

    _, lines = load_with_lines(loaded.text)
    sources = {parse_dotted(o.split("=", 1)[0].strip()): f"--set {o}" for o in loaded.overrides}
    return lines, sources


# What a resumed run may change: how it executes, never what it computes (another number of
# threads may round sums differently, as it does in any run).
RESUME_SETTABLE = ("train.threads", "log.progress")


def resumed_spec(
    checkpoint, default_base_dir: Path | None = None, settings: Sequence[str] = (), *, allow_plugins: bool = True
) -> LoadedSpec:
    """The spec a run file recorded: its verbatim text and overrides, with relative paths
    resolving where they did when the run started; `settings` ("train.threads=1") may
    change only the fields of RESUME_SETTABLE, which say how the run executes.
    `allow_plugins=False` refuses a recorded spec that names plugins (their code would run)."""
    from growsim.spec import load_spec_text

    for item in settings:
        key = item.split("=", 1)[0].strip()
        if key not in RESUME_SETTABLE:
            raise ValueError(
                f"--set {key}: a resumed run continues the spec it recorded; only {' and '.join(RESUME_SETTABLE)} "
                "may change, as they say how it runs, not what it computes"
            )
    base_dir = Path(checkpoint.base_dir) if checkpoint.base_dir else (default_base_dir or Path.cwd())
    spec_path = Path(checkpoint.spec_path) if checkpoint.spec_path else None
    overrides = [*checkpoint.overrides, *settings]
    return load_spec_text(
        checkpoint.spec_text, base_dir=base_dir, overrides=overrides, path=spec_path, allow_plugins=allow_plugins
    )


def member_specs(loaded: LoadedSpec) -> list[LoadedSpec]:
    """One spec per seed of an ensemble: the same text and overrides, plus `seed=<k>`.

    Each is exactly the spec of a run of that seed alone (`growsim run SPEC --set seed=k`).
    """
    from growsim.spec import load_spec_text

    def overrides(seed: int) -> list[str]:
        # `--set seed=[...]` becomes `--set seed=k` where it stood; a list in the file, a new last override.
        out = [f"seed={seed}" if o.split("=", 1)[0].strip() == "seed" else o for o in loaded.overrides]
        return out if f"seed={seed}" in out else [*out, f"seed={seed}"]

    return [
        load_spec_text(loaded.text, base_dir=loaded.base_dir, overrides=overrides(k), path=loaded.path)
        for k in loaded.spec.seeds
    ]


def member_output(path: Path, seed: int) -> Path:
    """The run file of one member of an ensemble: `runs/x.h5` -> `runs/x_seed3.h5`."""
    return path.with_name(f"{path.stem}_seed{seed}{path.suffix}")


def default_output(loaded: LoadedSpec) -> Path:
    log_path = loaded.spec.log.path
    return Path(log_path) if log_path else Path("runs") / f"{loaded.name}.h5"


def versions() -> dict[str, str]:
    import h5py
    import pydantic
    import torch

    import growsim
    from growsim._source import git_commit, source_digest

    return {
        "growsim": growsim.__version__,
        "growsim_source": source_digest(),
        "growsim_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "pydantic": pydantic.__version__,
    }


def provenance(loaded: LoadedSpec) -> dict[str, str]:
    """Where the run's wiring rule and plugins came from, for the run file's `version_*`
    attributes: the rule's origin (built-in, a file, a module, an entry point) and, for each
    plugin, its file and the sha256 of its code."""
    import hashlib
    import sys

    from growsim.wiring import get_rule

    spec = loaded.spec
    out: dict[str, str] = {}
    if spec.network.kind == "leaky_rnn":
        out["wiring_rule"] = f"{spec.wiring.rule}: {get_rule(spec.wiring.rule).origin}"
    from growsim.growth import get_operation
    from growsim.metrics.analyses import get_analysis
    from growsim.train.regularisers import get_term

    for key, names, lookup in (
        ("growth_operations", [e.op for e in spec.growth.events], get_operation),
        ("loss_terms", [r.kind for r in spec.regularisers], get_term),
        ("analyses", [a.kind for a in spec.log.analyses], get_analysis),
    ):
        if names:  # each name once, in the order the spec first uses it
            out[key] = "; ".join(f"{name}: {lookup(name).origin}" for name in dict.fromkeys(names))
    for i, entry in enumerate(spec.plugins):
        if entry.endswith(".py") or "/" in entry or "\\" in entry:
            path = (Path(loaded.base_dir) / entry).resolve()
        else:
            module = sys.modules.get(entry)
            path = Path(module.__file__) if module is not None and getattr(module, "__file__", None) else None
        if path is not None and path.is_file():
            out[f"plugin_{i}"] = f"{entry}: {path} sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}"
        else:
            out[f"plugin_{i}"] = f"{entry}: no file to hash"
    return out


def build_engine(prepared: Prepared, loggers: list[Any]):
    """Everything the loop needs, from the spec, with flat arguments."""
    import torch

    from growsim.train.engine import Engine, EngineConfig
    from growsim.log import Loggers, RunInfo

    loaded = prepared.loaded
    spec = loaded.spec
    if spec.is_ensemble:
        raise ValueError("an ensemble spec builds one engine per seed: see member_specs")
    train, log = spec.train, spec.log
    device = torch.device(train.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpecError([SpecIssue(("train", "device"), "CUDA is not available on this machine")], _file(loaded))
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        message = f"there is no {device}: this machine has {count} CUDA device{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1})"
        raise SpecError([SpecIssue(("train", "device"), message)], _file(loaded))
    if train.threads:
        torch.set_num_threads(train.threads)

    eval_seed = stream_seed(spec.seed, "eval")
    selection = select_tasks(spec)
    objective = make_objective(spec, device, eval_seed, selection)
    init_rng = numpy_stream(spec.seed, "init")
    warm: dict[str, str] = {}
    if spec.network.kind == "chain":
        if spec.init_from is not None:
            network, warm = warm_chain(spec, loaded.base_dir, init_rng)
            network = network.to(device)
        else:
            network = make_chain(spec, objective, init_rng).to(device)
        wiring = None
        regularisers = None
        probes = []
    else:
        if spec.init_from is not None:
            network, warm = warm_leaky(prepared, objective, init_rng)
            network = network.to(device)
        else:
            network = make_leaky_rnn(prepared, objective, init_rng).to(device)
        wiring = make_wiring(prepared)
        regularisers = make_regularisers(spec, prepared, device)
        probes = make_probes(spec, prepared, objective)

    optimizer = make_optimizer(network, spec)
    noise = torch.Generator(device=device)
    noise.manual_seed(stream_seed(spec.seed, "noise"))
    config = EngineConfig(
        batches=train.batches,
        batch_size=train.batch_size,
        grad_clip_mode=train.grad_clip.mode,
        grad_clip_max=train.grad_clip.max,
        log_every=log.every,
        snapshot_every=(log.snapshot_every or log.every) if log.snapshots else None,
        eval_batch_size=log.eval_batch_size,
        eval_noise=log.eval_noise,
        modularity=log.modularity,
        initial_connections=prepared.initial_connections if spec.network.kind != "chain" and not warm else 0,
        initial_synapses=_initial_synapses(prepared),
        new_synapse_init=spec.growth.new_synapse.init,
        new_synapse_value=spec.growth.new_synapse.value,
        allow_autapses=getattr(spec.network, "autapses", False),
        eval_seed=eval_seed,
        checkpoint_every=log.checkpoint_every or log.every,
        lr_at=lr_schedule(spec),
    )
    geo = prepared.geometry
    info = RunInfo(
        name=loaded.name,
        seed=spec.seed,
        batches=train.batches,
        spec_text=loaded.text,
        resolved_yaml=loaded.resolved_yaml(),
        resolved_json=loaded.resolved_json(),
        overrides=loaded.overrides,
        task_names=objective.task_names,
        task_selection=selection.description if selection is not None else "",
        task_pool=selection.pool if selection is not None else (),
        n_neurons=prepared.n_neurons,
        n_input=objective.n_input,
        n_output=objective.n_output,
        distances=geo.distances if geo is not None else None,
        positions=geo.positions if geo is not None else None,
        labels=geo.labels if geo is not None else None,
        distance_units=geo.units if geo is not None else "",
        versions={**versions(), **provenance(loaded), **warm},
        network_kind=spec.network.kind,
        spec_path=str(loaded.path) if loaded.path else None,
        base_dir=str(loaded.base_dir.resolve()),
    )
    return Engine(
        network=network,
        optimizer=optimizer,
        objective=objective,
        wiring=wiring,
        events=growth_program(spec),
        config=config,
        task_rng=numpy_stream(spec.seed, "task"),
        noise_generator=noise,
        loggers=Loggers(loggers),
        info=info,
        device=device,
        growth_rng=numpy_stream(spec.seed, "growth"),
        regularisers=regularisers,
        probes=probes,
    )


def _initial_synapses(prepared: Prepared):
    """(pairs (k, 2) post, pre; starting weights (k,) or None) of a connectivity file, or None
    when the wiring rule places the initial synapses."""
    matrix = prepared.connectivity
    if matrix is None:
        return None
    pairs = np.argwhere(matrix != 0).astype(np.int64)
    weights = prepared.spec.growth.initial_connections.weights
    return pairs, (matrix[pairs[:, 0], pairs[:, 1]].astype(np.float64) if weights else None)


def lr_schedule(spec: Spec):
    """The learning rate at each step, a pure function (None for a constant rate, which
    leaves the optimizer's own)."""
    import functools

    from growsim.train.schedules import lr_factor

    sched, lr, batches = spec.train.lr_schedule, spec.train.optimizer.lr, spec.train.batches
    if sched.kind == "constant" and not sched.warmup:
        return None
    factor = functools.partial(
        lr_factor, sched.kind, batches=batches, gamma=sched.gamma, every=sched.every or 1, at=tuple(sched.at or ()),
        min_factor=sched.min_factor, warmup=sched.warmup,
    )
    return lambda step: lr * factor(step)


def growth_program(spec: Spec):
    """The spec's growth events as the engine takes them: each a trigger, the operation
    (from the growth registry) and its validated parameters, flat."""
    from growsim.growth import ScheduledOp, Trigger, get_operation

    return [
        ScheduledOp(
            index=i,
            op=event.op,
            func=get_operation(event.op).func,
            params=dict(event.params),
            trigger=Trigger(
                every=event.every,
                start=event.start,
                stop=event.stop,
                at=tuple(event.at) if event.at is not None else None,
                when=event.when,
            ),
        )
        for i, event in enumerate(spec.growth.events)
    ]


def make_objective(spec: Spec, device, eval_seed: int, selection: TaskSelection | None = None):
    """The objective of a run: its task suite, made by the suite's registered factory, with
    the trial objective (or, for the parity curriculum, the curriculum objective).
    `selection` (default: `select_tasks(spec)`) names the tasks of a suite with a catalogue."""
    from growsim.tasks import ParityCurriculum, TaskContext, TrialSuite, get_task
    from growsim.train.objectives import ParityObjective, TrialObjective

    log = spec.log
    if selection is None:
        selection = select_tasks(spec)
    context = TaskContext(seed=spec.seed if isinstance(spec.seed, int) else 0,
                          tasks=None if selection is None else selection.names)
    entry = get_task(spec.task.suite)
    made = entry.func(spec.task.settings, context)
    if isinstance(made, ParityCurriculum):
        return ParityObjective(made, eval_batch_size=log.eval_batch_size, eval_seed=eval_seed, device=device)
    if not isinstance(made, TrialSuite):
        raise TypeError(f"task suite {spec.task.suite!r} ({entry.origin}) made a {type(made).__name__}, "
                        "not a growsim.tasks.TrialSuite")
    return TrialObjective(
        made,
        loss=spec.train.loss,
        eval_batch_size=log.eval_batch_size,
        eval_noise=log.eval_noise,
        eval_seed=eval_seed,
        device=device,
    )


def make_leaky_rnn(prepared: Prepared, objective, init_rng):
    """The leaky RNN of a run; its time step is the objective's suite's (`dt_ms`)."""
    import torch

    from growsim.network import LeakyRNN, draw_weight

    spec = prepared.spec
    net = spec.network
    n = prepared.n_neurons
    dt_ms = float(objective.suite.dt_ms)
    if dt_ms > net.tau_ms:
        raise ValueError(f"the task suite's time step ({dt_ms:g} ms) is longer than network.tau_ms ({net.tau_ms:g} ms): "
                         "alpha = dt / tau must be at most 1; raise network.tau_ms or shorten the suite's time step")
    w_in = draw_weight(net.w_in.dist, (n, objective.n_input), net.w_in.gain, init_rng)
    w_rec = draw_weight(net.w_rec.dist, (n, n), net.w_rec.gain, init_rng)
    w_out = draw_weight(net.w_out.dist, (objective.n_output, n), net.w_out.gain, init_rng)
    if not net.autapses:
        np.fill_diagonal(w_rec, 0.0)
    sign = None
    if net.dale is not None:
        sign = populations(net.dale, n, spec.seed)
        if net.dale.balance:  # inhibitory columns x n_E / n_I: equal expected E and I input
            n_e, n_i = int((sign > 0).sum()), int((sign < 0).sum())
            w_rec[:, sign < 0] *= n_e / n_i
    dtype = torch.float32
    tau = None
    if net.tau is not None:  # drawn after the weights, so that these are the same with or without it
        if net.tau.init == "uniform":
            tau = init_rng.uniform(net.tau.low, net.tau.high, size=n)
        else:
            tau = np.full(n, net.tau_ms)
    bounds = None
    if net.tau is not None and net.tau.trainable:
        bounds = (dt_ms if net.tau.min_ms is None else net.tau.min_ms,
                  math.inf if net.tau.max_ms is None else net.tau.max_ms)
    return LeakyRNN(
        w_in=torch.as_tensor(w_in, dtype=dtype),
        w_rec=torch.as_tensor(w_rec, dtype=dtype),
        w_out=torch.as_tensor(w_out, dtype=dtype),
        mask=torch.zeros((n, n), dtype=torch.bool),
        alpha=dt_ms / net.tau_ms,
        activation=net.activation,
        sigma_rec=net.sigma_rec,
        sigma_x=net.sigma_x,
        train_biases=net.train_biases,
        neuron_sign=None if sign is None else torch.as_tensor(sign, dtype=dtype),
        tau_ms=None if tau is None else torch.as_tensor(tau, dtype=dtype),
        dt_ms=dt_ms,
        train_tau=net.tau is not None and net.tau.trainable,
        tau_bounds_ms=bounds,
    )


def populations(dale, n: int, seed: int) -> np.ndarray:
    """(n,) +1 for excitatory and -1 for inhibitory neurons: round(excitatory x n) of them
    excitatory, drawn from the `populations` stream or the first ones."""
    n_e = int(round(dale.excitatory * n))
    sign = -np.ones(n)
    chosen = np.arange(n_e) if dale.assign == "first" else numpy_stream(seed, "populations").permutation(n)[:n_e]
    sign[chosen] = 1.0
    return sign


def make_chain(spec: Spec, objective, init_rng):
    from growsim.network import ChainRNN

    net = spec.network
    chain = ChainRNN(
        n_input=objective.n_input,
        module_size=net.module_size,
        rng=init_rng,
        n_modules=net.n_modules,
        head_module=[net.n_modules - 1] * objective.n_levels,
        negative_slope=net.negative_slope,
        tau_init=tuple(net.tau_init),
        zero_diagonal=net.zero_diagonal,
        h0_scale=net.h0_scale,
    )
    return chain


def make_wiring(prepared: Prepared):
    from growsim.train.engine import Wiring
    from growsim.wiring import get_rule

    spec = prepared.spec
    rule = get_rule(spec.wiring.rule)
    return Wiring(
        rule=rule,
        params=rule.params.model_validate(spec.wiring.params),
        distances=prepared.geometry.distances,
        rng=numpy_stream(spec.seed, "wiring"),
    )


def make_regularisers(spec: Spec, prepared: Prepared, device):
    """The loss terms of `regularisers`, or None when there are none."""
    if not spec.regularisers:
        return None
    import torch

    from growsim.train.regularisers import Regularisers, Term

    terms, seen = [], {}
    for r in spec.regularisers:
        base = r.name or r.kind
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}{seen[base]}"
        schedule = tuple((float(f), float(m)) for f, m in r.schedule)
        terms.append(Term(name=name, kind=r.kind, strength=r.strength, schedule=schedule, args=r.args))
    distances = torch.tensor(prepared.geometry.distances, dtype=torch.float32, device=device)
    return Regularisers(terms, distances)


def make_probes(spec: Spec, prepared: Prepared, objective) -> list:
    """(every, probe(network, step) -> (scalars, arrays)) for log.functional and each entry
    of log.analyses."""
    probes = []
    functional = make_functional(spec, prepared, objective)
    if functional is not None:
        probes.append((spec.log.functional.every, functional))
    probes += make_analyses(spec, prepared)
    return probes


def make_analyses(spec: Spec, prepared: Prepared) -> list:
    """The analyses of log.analyses, each as (every, probe): it hands the analysis the
    network's snapshot arrays and the geometry, and prefixes its results with its name."""
    from growsim.metrics.analyses import AnalysisContext, get_analysis

    geo = prepared.geometry
    out = []
    for i, entry in enumerate(spec.log.analyses):
        func, params, name = get_analysis(entry.kind).func, dict(entry.args), entry.name or entry.kind
        seed = stream_seed(spec.seed, "analyses") + i

        def probe(network, step, func=func, params=params, name=name, seed=seed):
            context = AnalysisContext(
                step=step, weights=network.weights(), distances=geo.distances if geo is not None else None,
                positions=geo.positions if geo is not None else None, seed=seed,
            )
            return _split_results(name, func(context, **params))

        out.append((entry.every, probe))
    return out


def _split_results(name: str, results: dict) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """An analysis's results as series: floats and arrays, each key prefixed by the analysis's name."""
    if not isinstance(results, dict):
        raise TypeError(f"analysis {name!r} must return a dict of floats and arrays, not {type(results).__name__}")
    scalars, arrays = {}, {}
    for key, value in results.items():
        if np.ndim(value) == 0:
            scalars[f"{name}_{key}"] = float(value)
        else:
            arrays[f"{name}_{key}"] = np.asarray(value)
    return scalars, arrays


def make_functional(spec: Spec, prepared: Prepared, objective):
    """The functional/anatomical metrics of log.functional, as a callable of the network, or None."""
    fspec = spec.log.functional
    if fspec.every is None:
        return None
    from growsim.metrics.functional import grid_coords
    from growsim.train.objectives import FunctionalProbe

    return FunctionalProbe(
        objective.suite,
        coords=grid_coords(tuple(spec.network.geometry.shape)),
        distances=prepared.geometry.distances,
        trials_per_task=fspec.trials_per_task,
        method=fspec.method,
        active_threshold=fspec.active_threshold,
        connection_threshold=fspec.connection_threshold,
        n_shuffles=fspec.n_shuffles,
        seed=stream_seed(spec.seed, "functional"),
        k_range=tuple(fspec.k_range),
    )


def make_optimizer(network, spec: Spec):
    """The spec's optimizer over the network's trainable parameters (growsim.train.optimizers:
    torch's Adam, AdamW and SGD, step for step, without importing torch's compiler)."""
    from growsim.train.optimizers import KINDS

    opt = spec.train.optimizer
    params = [p for p in network.parameters() if p.requires_grad]
    if opt.kind in ("adam", "adamw"):
        return KINDS[opt.kind](params, lr=opt.lr, betas=opt.betas, eps=opt.eps, weight_decay=opt.weight_decay)
    return KINDS[opt.kind](params, lr=opt.lr, momentum=opt.momentum, nesterov=opt.nesterov, weight_decay=opt.weight_decay)
