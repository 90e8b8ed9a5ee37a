"""Cross-field checks: small named functions that always run, each naming a YAML path.

Checks that need resources a spec points at (geometry files, the number of neurons)
run when the run is prepared (growsim.build.prepare), and report the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

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
    if isinstance(raw.get("params"), dict):
        raw = raw["params"]
    if not isinstance(rule_name, str):
        return [issue_at(("wiring", "rule"), f"must be a rule name (got {rule_name!r})", lines, sources)], {}
    try:
        rule = get_rule(rule_name)
    except (UnknownRuleError, PluginLoadError) as exc:
        return [issue_at(("wiring", "rule"), str(exc), lines, sources)], {}
    try:
        params = rule.params.model_validate(raw)
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


def check_spec(spec: Spec, lines, sources, base_dir: Path) -> list[SpecIssue]:
    issues: list[SpecIssue] = []
    for check in (check_growth_events, check_tasks, check_plugins_and_paths):
        issues.extend(check(spec, lines, sources, base_dir))
    return issues


def check_growth_events(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    from growsim.spec.loader import issue_at

    issues = []
    initial = spec.growth.initial_connections
    for i, event in enumerate(spec.growth.events):
        loc = ("growth", "events", i)
        if event.op == "add_connections":
            if (event.every is None) == (event.at is None):
                issues.append(issue_at(loc, "give exactly one of `every` (a period) or `at` (a list of batches)", lines, sources))
            if event.at is not None and (event.start is not None or event.stop is not None):
                issues.append(issue_at((*loc, "at"), "`start` and `stop` go with `every`, not with `at`", lines, sources))
            start = event.start if event.start is not None else event.every
            if event.stop is not None and start is not None and event.stop < start:
                issues.append(issue_at((*loc, "stop"), f"must be >= start ({start})", lines, sources))
            if event.until is not None and event.until <= initial:
                issues.append(
                    issue_at(
                        (*loc, "until"),
                        f"must be > growth.initial_connections ({initial}), or the event never adds a synapse",
                        lines,
                        sources,
                    )
                )
    return issues


def check_tasks(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    from growsim.spec.loader import issue_at
    from growsim.tasks import TASK_NAMES, canonical_task_name

    issues = []
    task = spec.task
    names = list(TASK_NAMES) if task.tasks == "all" else task.tasks
    if task.tasks != "all":
        if not task.tasks:
            issues.append(issue_at(("task", "tasks"), "needs at least one task (or 'all')", lines, sources))
        seen: dict[str, int] = {}
        for i, name in enumerate(task.tasks):
            try:
                canonical = canonical_task_name(name)
            except ValueError as exc:
                issues.append(issue_at(("task", "tasks", i), str(exc), lines, sources))
                continue
            if canonical in seen:
                issues.append(issue_at(("task", "tasks", i), f"{name!r} repeats task {seen[canonical]}", lines, sources))
            seen[canonical] = i
    if task.task_probs is not None:
        if len(task.task_probs) != len(names):
            issues.append(
                issue_at(("task", "task_probs"), f"has {len(task.task_probs)} entries for {len(names)} tasks", lines, sources)
            )
        elif sum(task.task_probs) <= 0:
            issues.append(issue_at(("task", "task_probs"), "must not be all zero", lines, sources))
    return issues


def check_plugins_and_paths(spec: Spec, lines, sources, base_dir) -> list[SpecIssue]:
    from growsim.spec.loader import issue_at

    issues = []
    geometry = spec.network.geometry
    if geometry.kind == "grid":
        from math import prod

        from growsim.spec.models import MAX_NEURONS

        if prod(geometry.shape) > MAX_NEURONS:
            issues.append(
                issue_at(("network", "geometry", "shape"), f"gives {prod(geometry.shape)} neurons; at most {MAX_NEURONS}", lines, sources)
            )
    if geometry.kind in ("coordinates_file", "distance_file"):
        path = Path(geometry.path)
        full = path if path.is_absolute() else base_dir / path
        if not full.is_file():
            issues.append(
                issue_at(("network", "geometry", "path"), f"file {full} does not exist", lines, sources)
            )
    every = spec.log.every
    if spec.log.checkpoint_every is not None and spec.log.checkpoint_every % every:
        issues.append(
            issue_at(("log", "checkpoint_every"), f"must be a multiple of log.every ({every})", lines, sources)
        )
    if spec.log.snapshot_every is not None and not spec.log.snapshots:
        issues.append(issue_at(("log", "snapshot_every"), "is set but log.snapshots is false", lines, sources))
    return issues
