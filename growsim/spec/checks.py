"""Cross-field checks: small named functions that always run, each naming a YAML path.

Checks that need resources a spec points at (geometry files, the number of neurons)
run when the run is prepared (growsim.build.prepare), and report the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from growsim.spec.errors import SpecIssue
from growsim.spec.models import Spec


def validate_wiring_params(raw: Any, lines, sources) -> tuple[list[SpecIssue], dict[str, Any]]:
    """Validate `wiring`'s parameters with the chosen rule's own model."""
    from growsim.spec.loader import error_message, issue_at
    from growsim.wiring import PluginLoadError, UnknownRuleError, get_rule

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return [], {}  # pydantic reports the type
    raw = dict(raw)
    rule_name = raw.pop("rule", "distance")
    if not isinstance(rule_name, str):
        return [issue_at(("wiring", "rule"), f"must be a rule name (got {rule_name!r})", lines, sources)], {}
    try:
        rule = get_rule(rule_name)
    except (UnknownRuleError, PluginLoadError) as exc:
        return [issue_at(("wiring", "rule"), str(exc), lines, sources)], {}
    nested = nested_params(raw, "params", rule.params, "rule", rule_name)
    if nested:
        return [issue_at(("wiring", "params"), nested, lines, sources)], {}
    from growsim.spec.models import flags_as_text

    try:
        params = rule.params.model_validate(flags_as_text(rule.params, raw))
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = ("wiring", *err["loc"])
            model = rule.params if err["type"] == "extra_forbidden" else None
            message = error_message(err, model)
            if err["type"] == "extra_forbidden":
                message += f" for rule {rule_name!r}"
            issues.append(issue_at(loc, message, lines, sources))
        return issues, {}
    return [], params.model_dump(mode="json")


def nested_params(params: dict, gathered: str, model: type[BaseModel], key: str, name: str) -> str | None:
    """The error for an entry whose parameters sit under `gathered` instead of beside `key`,
    or None. A spec has one form, the flat one, as the JSON Schema has; an extension whose
    own parameter is called `gathered` takes it flat like any other."""
    if gathered not in params or gathered in {f.alias or n for n, f in model.model_fields.items()}:
        return None
    inner = params[gathered]
    shown = ", ".join(f"{k}: {v}" for k, v in inner.items()) if isinstance(inner, dict) and inner else "..."
    return f"write the parameters beside {key}, not under {gathered}: {{{key}: {name}, {shown}}}"


def validate_event_params(raw: Any, lines, sources) -> tuple[list[SpecIssue], dict[int, dict[str, Any]]]:
    """Validate each growth event's parameters with its operation's own model; return the
    issues and, for each valid event, its parameters with every default filled in."""
    from growsim.growth.registry import TRIGGER_KEYS, get_operation

    events = raw.get("events") if isinstance(raw, dict) else None
    return _validate_entries(
        events, lines, sources, prefix=("growth", "events"), key="op", common=TRIGGER_KEYS, gathered="params",
        lookup=get_operation, what="operation",
    )


def validate_regulariser_args(raw: Any, lines, sources) -> tuple[list[SpecIssue], dict[int, dict[str, Any]]]:
    """Validate each regulariser's own parameters with its kind's model (as events' are)."""
    from growsim.train.regularisers import COMMON_KEYS, get_term

    return _validate_entries(
        raw, lines, sources, prefix=("regularisers",), key="kind", common=COMMON_KEYS, gathered="args",
        lookup=get_term, what="loss term",
    )


def validate_analysis_args(raw: Any, lines, sources) -> tuple[list[SpecIssue], dict[int, dict[str, Any]]]:
    """Validate each in-run analysis's own parameters with its model (as events' are)."""
    from growsim.metrics.analyses import COMMON_KEYS, get_analysis

    items = raw.get("analyses") if isinstance(raw, dict) else None
    return _validate_entries(
        items, lines, sources, prefix=("log", "analyses"), key="kind", common=COMMON_KEYS, gathered="args",
        lookup=get_analysis, what="analysis",
    )


def validate_task_params(raw: Any, lines, sources) -> tuple[list[SpecIssue], dict[str, Any] | None]:
    """Validate `task`'s parameters with its suite's own model (yang20 when `suite` is absent);
    return the issues and the parameters, defaults filled in (None if invalid)."""
    from growsim.tasks.registry import get_task

    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or not isinstance(raw.get("suite", "yang20"), str):
        return [], None  # pydantic reports the type
    item = {"suite": "yang20", **raw}
    return _validate_entry(item, ("task",), lines, sources, key="suite", common=("suite",), gathered="params",
                           lookup=get_task, what="task suite")


def _validate_entries(
    items: Any, lines, sources, *, prefix: tuple, key: str, common: tuple[str, ...], gathered: str, lookup, what: str
) -> tuple[list[SpecIssue], dict[int, dict[str, Any]]]:
    """Validate the registered parameters of each mapping in `items` (a list at `prefix`):
    `key` names the entry (looked up with `lookup`), `common` are the keys every entry
    shares, the rest are the entry's own parameters (or a mapping under `gathered`).
    Returns the issues and each valid entry's parameters, defaults filled in."""
    if not isinstance(items, list):
        return [], {}  # pydantic reports the type
    issues: list[SpecIssue] = []
    validated: dict[int, dict[str, Any]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(key), str):
            continue  # pydantic reports a missing or mistyped name
        found, params = _validate_entry(item, (*prefix, i), lines, sources, key=key, common=common,
                                        gathered=gathered, lookup=lookup, what=what)
        issues.extend(found)
        if params is not None:
            validated[i] = params
    return issues, validated


def _validate_entry(
    item: dict, loc: tuple, lines, sources, *, key: str, common: tuple[str, ...], gathered: str, lookup, what: str
) -> tuple[list[SpecIssue], dict[str, Any] | None]:
    """Validate one entry's registered parameters (see `_validate_entries`)."""
    from growsim.registry import RegistryError
    from growsim.spec.loader import display_loc, error_message, issue_at, model_at
    from growsim.spec.models import flags_as_text

    try:
        entry = lookup(item[key])
    except RegistryError as exc:
        return [issue_at((*loc, key), str(exc), lines, sources)], None
    params = {k: v for k, v in item.items() if k not in common}
    nested = nested_params(params, gathered, entry.params, key, entry.name)
    if nested:
        return [issue_at((*loc, gathered), nested, lines, sources)], None
    try:
        return [], entry.params.model_validate(flags_as_text(entry.params, params)).model_dump(mode="json", by_alias=True)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            where = display_loc(tuple(err["loc"]), params)
            extra = err["type"] == "extra_forbidden"
            message = error_message(err, model_at(where[:-1], params, root=entry.params) if extra else None)
            if extra and len(where) == 1:
                others = ", ".join(k for k in common if k != key)
                message += f" for {what} {entry.name!r}" + (f"; every entry also takes {others}" if others else "")
            issues.append(issue_at((*loc, *where), message, lines, sources))
        return issues, None


def reads(*fields: str):
    """Declare the YAML paths a check reads (dotted, as `task.dt_ms`). A check is skipped
    when one of them, or a value inside it, failed to validate: the default that stands in
    for the user's value would give a message about a value the user never wrote."""

    def declare(check):
        check.reads = tuple(tuple(f.split(".")) for f in fields)
        return check

    return declare


def _overlaps(a: tuple, b: tuple) -> bool:
    """Whether one path lies inside the other."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def check_spec(spec: Spec, lines, sources, base_dir: Path, failed: set[tuple] = frozenset()) -> list[SpecIssue]:
    """Every cross-field check whose fields all validated (`failed`: the paths that did not)."""
    issues: list[SpecIssue] = []
    for check in (check_growth_events, check_tasks, check_plugins_and_paths, check_kinds, check_dynamics):
        if not any(_overlaps(path, read) for path in failed for read in check.reads):
            issues.extend(check(spec, lines, sources, base_dir))
    return issues


@reads("growth.initial_connections", "growth.events", "task.suite")
def check_growth_events(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    from growsim.spec.loader import issue_at

    issues = []
    initial = spec.growth.initial_connections
    for i, event in enumerate(spec.growth.events):
        loc = ("growth", "events", i)
        if initial == "all" and event.op == "add_connections":
            issues.append(
                issue_at(
                    (*loc, "op"),
                    "the network starts with every synapse it can have (growth.initial_connections: all), "
                    "so add_connections would never add one",
                    lines,
                    sources,
                )
            )
        given = [name for name in ("every", "at", "when") if getattr(event, name) is not None]
        if len(given) != 1:
            issues.append(
                issue_at(
                    loc,
                    "give exactly one of `every` (a period), `at` (a list of batches) or `when` (a condition)"
                    + (f"; got {', '.join(given)}" if given else ""),
                    lines,
                    sources,
                )
            )
        if event.when is not None and (event.start is not None or event.stop is not None):
            issues.append(issue_at((*loc, "when"), "`start` and `stop` go with `every`, not with `when`", lines, sources))
        if event.when == "level_solved" and spec.task.suite != "parity":
            issues.append(issue_at((*loc, "when"), "level_solved needs a curriculum (task.suite: parity)", lines, sources))
        if event.at is not None and (event.start is not None or event.stop is not None):
            issues.append(issue_at((*loc, "at"), "`start` and `stop` go with `every`, not with `at`", lines, sources))
        start = event.start if event.start is not None else event.every
        if event.stop is not None and start is not None and event.stop < start:
            issues.append(issue_at((*loc, "stop"), f"must be >= start ({start})", lines, sources))
        if event.op == "add_connections":
            until = event.params.get("until")
            if until is not None and isinstance(initial, int) and until <= initial:
                issues.append(
                    issue_at(
                        (*loc, "until"),
                        f"must be > growth.initial_connections ({initial}), or the event never adds a synapse",
                        lines,
                        sources,
                    )
                )
    return issues


@reads("task")
def check_tasks(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    """A suite with a catalogue (yang20, modcog, a plugin's): its `tasks` and `task_probs`."""
    from growsim.spec.loader import issue_at
    from growsim.tasks.builtin import TaskDraw
    from growsim.tasks.registry import catalogue_of

    issues: list[SpecIssue] = []
    catalogue = catalogue_of(spec.task.suite)
    if catalogue is None:
        return issues
    tasks, probs = spec.task.setting("tasks", "all"), spec.task.setting("task_probs")
    if isinstance(tasks, TaskDraw):
        loc = ("task", "tasks")
        pool = list(catalogue.names)
        if tasks.from_ is not None:
            pool = _check_names(catalogue, tasks.from_, (*loc, "from"), issues, lines, sources)
        if tasks.from_ is None or len(pool) == len(tasks.from_):  # a pool with mistakes has no size yet
            if pool and tasks.draw > len(pool):
                where = "tasks in task.tasks.from" if tasks.from_ is not None else f"{catalogue.what} tasks"
                issues.append(issue_at((*loc, "draw"), f"must be <= {len(pool)}, the number of {where}", lines, sources))
        if probs is not None:
            issues.append(
                issue_at(
                    ("task", "task_probs"),
                    "cannot go with a drawn selection (task.tasks: {draw: ...}): which tasks a run trains on "
                    "depends on its seed, so per-task probabilities have nothing fixed to refer to; "
                    "list the tasks instead, or drop task_probs",
                    lines,
                    sources,
                )
            )
        return issues
    names = list(catalogue.names) if tasks == "all" else tasks
    if tasks != "all":
        _check_names(catalogue, tasks, ("task", "tasks"), issues, lines, sources)
    if probs is not None:
        if len(probs) != len(names):
            issues.append(issue_at(("task", "task_probs"), f"has {len(probs)} entries for {len(names)} tasks", lines, sources))
        elif sum(probs) <= 0:
            issues.append(issue_at(("task", "task_probs"), "must not be all zero", lines, sources))
    return issues


def _check_names(catalogue, names: list[str], loc: tuple, issues: list[SpecIssue], lines, sources) -> list[str]:
    """Check a list of task names at `loc` (known, not repeated, not empty); return the
    canonical names of those that are valid."""
    from growsim.spec.loader import issue_at

    if not names:
        issues.append(issue_at(loc, "needs at least one task" + (" (or 'all')" if loc[-1] == "tasks" else ""), lines, sources))
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        try:
            canonical = catalogue.canonical(name)
        except ValueError as exc:
            issues.append(issue_at((*loc, i), str(exc), lines, sources))
            continue
        if canonical in seen:
            issues.append(issue_at((*loc, i), f"{name!r} repeats task {seen[canonical]}", lines, sources))
            continue
        seen[canonical] = i
    return list(seen)


@reads("network.geometry", "growth.initial_connections", "log")
def check_plugins_and_paths(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    from growsim.spec.loader import issue_at

    issues = []
    geometry = getattr(spec.network, "geometry", None)
    if geometry is None:
        pass
    elif geometry.kind == "grid":
        from math import prod

        from growsim.spec.models import MAX_NEURONS

        if prod(geometry.shape) > MAX_NEURONS:
            issues.append(
                issue_at(("network", "geometry", "shape"), f"gives {prod(geometry.shape)} neurons; at most {MAX_NEURONS}", lines, sources)
            )
    if geometry is not None and geometry.kind in ("coordinates_file", "distance_file"):
        path = Path(geometry.path)
        full = path if path.is_absolute() else base_dir / path
        if not full.is_file():
            issues.append(
                issue_at(("network", "geometry", "path"), f"file {full} does not exist", lines, sources)
            )
    initial = spec.growth.initial_connections
    if not isinstance(initial, (int, str)):
        full = Path(initial.file) if Path(initial.file).is_absolute() else base_dir / initial.file
        if not full.is_file():
            issues.append(issue_at(("growth", "initial_connections", "file"), f"file {full} does not exist", lines, sources))
    every = spec.log.every
    if spec.log.checkpoint_every is not None and spec.log.checkpoint_every % every:
        issues.append(
            issue_at(("log", "checkpoint_every"), f"must be a multiple of log.every ({every})", lines, sources)
        )
    names: dict[str, int] = {}
    for i, entry in enumerate(spec.log.analyses):
        if entry.every % every:
            issues.append(issue_at(("log", "analyses", i, "every"), f"must be a multiple of log.every ({every})", lines, sources))
        name = entry.name or entry.kind
        if name in names:
            issues.append(issue_at(
                ("log", "analyses", i), f"its series would be named like analysis {names[name]}'s ({name}_...): give it a name",
                lines, sources,
            ))
        names.setdefault(name, i)
    if spec.log.snapshot_every is not None and not spec.log.snapshots:
        issues.append(issue_at(("log", "snapshot_every"), "is set but log.snapshots is false", lines, sources))
    return issues


@reads("network.kind", "network.geometry", "task.suite", "growth", "regularisers", "log.modularity", "log.functional",
       "log.every")
def check_kinds(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    """The network, the task, the growth operations and the metrics must fit together."""
    from growsim.spec.loader import issue_at

    issues: list[SpecIssue] = []

    def add(loc, message):
        issues.append(issue_at(loc, message, lines, sources))

    kind, suite = spec.network.kind, spec.task.suite
    if kind == "chain" and suite != "parity":
        add(("task", "suite"), "a chain of modules is read out by 2-class heads: use suite: parity")
    if kind == "leaky_rnn" and suite == "parity":
        add(("network", "kind"), "the parity curriculum needs readout heads: use kind: chain (one module of M neurons for the non-modular baseline)")
    events = spec.growth.events
    from growsim.growth.registry import applies_to, available_operations, get_operation

    for i, event in enumerate(events):
        if not applies_to(get_operation(event.op), kind):
            takes = [name for name, info in available_operations().items() if applies_to(info, kind)]
            add(("growth", "events", i, "op"), f"{event.op} does not apply to a {kind} network (it takes: {', '.join(takes)})")
    if kind == "chain":
        if spec.growth.initial_connections:
            add(("growth", "initial_connections"), "a chain of modules has no synapses to place")
        if spec.regularisers:
            add(("regularisers",), "regularisers apply to leaky_rnn networks")
        if spec.log.modularity != "none":
            add(("log", "modularity"), "Q of the recurrent weights is for leaky_rnn networks: set log.modularity: none")
        if spec.log.functional.every is not None:
            add(("log", "functional", "every"), "task variance and clusters are for the cognitive tasks (leaky_rnn)")
    if suite == "parity" and kind == "chain":
        readouts = [i for i, e in enumerate(events) if e.op == "add_readout" and e.when == "level_solved"]
        if not readouts:
            add(
                ("growth", "events"),
                "each solved level adds a readout head for the next one: add an event "
                "{op: add_readout, when: level_solved}",
            )
        elif len(readouts) > 1:
            add(("growth", "events", readouts[1]), "only one add_readout may fire when a level is solved")
        for i, e in enumerate(events):
            if e.op == "add_readout" and e.when is None:
                add(("growth", "events", i, "when"), "heads follow the curriculum: add_readout fires when: level_solved")
            if e.op == "duplicate_module" and e.when == "level_solved" and readouts and readouts[0] < i:
                if events[readouts[0]].params.get("module") == "newest":
                    add(
                        ("growth", "events", readouts[0]),
                        "put add_readout after duplicate_module, so that the new head reads the new module",
                    )
    functional = spec.log.functional
    if functional.every is not None and kind == "leaky_rnn":
        if functional.every % spec.log.every:
            add(("log", "functional", "every"), f"must be a multiple of log.every ({spec.log.every})")
        if spec.network.geometry.kind != "grid":
            add(("log", "functional", "every"), "isolated neurons are counted on a grid: needs network.geometry.kind: grid")
    return issues


@reads("task.suite", "task.dt_ms", "network.kind", "network.tau_ms", "network.tau", "train.optimizer")
def check_dynamics(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    """Settings that validate one by one but cannot run together."""
    from growsim.spec.loader import issue_at

    issues: list[SpecIssue] = []
    dt = spec.task.setting("dt_ms")  # a suite whose time step is its own (neurogym's) is checked when built
    if spec.network.kind == "leaky_rnn" and dt is not None:
        alpha = dt / spec.network.tau_ms
        if alpha > 1:
            issues.append(issue_at(
                ("task", "dt_ms"),
                f"alpha = dt_ms / network.tau_ms = {dt:g} / {spec.network.tau_ms:g} = {alpha:g} must be at "
                "most 1 (a time step longer than the time constant): lower task.dt_ms or raise network.tau_ms",
                lines, sources,
            ))
        tau = spec.network.tau
        if tau is not None:
            def short(where: str, value: float, what: str) -> None:
                issues.append(issue_at(
                    ("network", "tau", where),
                    f"{what} {value:g} ms is shorter than the time step task.dt_ms = {dt:g} ms: alpha_i = dt / tau_i "
                    "must be at most 1",
                    lines, sources,
                ))

            if tau.init == "uniform" and tau.low < dt:
                short("low", tau.low, "a time constant of")
            if tau.min_ms is not None and tau.min_ms < dt:
                short("min_ms", tau.min_ms, "a lower bound of")
            if tau.trainable:
                low, high = (tau.low, tau.high) if tau.init == "uniform" else (spec.network.tau_ms, spec.network.tau_ms)
                lowest = dt if tau.min_ms is None else tau.min_ms
                if low < lowest:
                    issues.append(issue_at(("network", "tau", "low" if tau.init == "uniform" else "min_ms"),
                                           f"the initial time constants ({low:g} ms) start below min_ms ({lowest:g} ms)",
                                           lines, sources))
                if tau.max_ms is not None and high > tau.max_ms:
                    issues.append(issue_at(("network", "tau", "high" if tau.init == "uniform" else "max_ms"),
                                           f"the initial time constants ({high:g} ms) start above max_ms ({tau.max_ms:g} ms)",
                                           lines, sources))
    opt = spec.train.optimizer
    if opt.kind == "sgd" and opt.nesterov and opt.momentum == 0:
        issues.append(issue_at(("train", "optimizer", "nesterov"), "Nesterov momentum needs momentum > 0", lines, sources))
    return issues
