"""Load a spec: YAML (with lines) -> overrides -> plugins -> pydantic -> rule params -> checks."""

from __future__ import annotations

import copy
import difflib
import json
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from growsim.spec.errors import SpecError, SpecIssue
from growsim.spec.models import MAX_INT, MIN_INT, Spec
from growsim.spec.yaml_lines import YamlSyntaxError, load_with_lines

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with where it came from."""

    spec: Spec
    text: str  # the YAML file verbatim
    path: Path | None  # the spec file, if read from one
    base_dir: Path  # relative paths in the spec resolve against this
    overrides: tuple[str, ...] = ()  # the --set arguments, in order
    plugin_rules: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem if self.path is not None else "spec"

    def resolved(self) -> dict[str, Any]:
        """The spec with every default filled in, as plain data."""
        return self.spec.model_dump(mode="json")

    def resolved_yaml(self) -> str:
        data = self.resolved()
        data["wiring"] = self.spec.wiring.flat()  # written flat, as users write it
        order = ["seed", "network", "wiring", "growth", "regularisers", "task", "train", "log", "plugins"]
        data = {k: data[k] for k in [*order, *sorted(set(data) - set(order))] if k in data}
        return yaml.safe_dump(data, sort_keys=False)

    def resolved_json(self) -> str:
        return json.dumps(self.resolved(), sort_keys=True)


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> LoadedSpec:
    """Read, validate and check a spec file; raise SpecError listing every problem."""
    path = Path(path)
    return load_spec_text(_read(path), base_dir=path.resolve().parent, overrides=overrides, path=path)


def load_spec_plugins(path: str | Path) -> dict[str, list[str]]:
    """Load the plugins a spec file names (its `plugins`, as `load_spec` does) and check
    nothing else: a spec still being written may ask for the JSON Schema of its plugins.
    Return the names each plugin registered; raise SpecError for a file that cannot be
    read or parsed, or a plugin that cannot be loaded."""
    path = Path(path)
    data, lines = _parse(_read(path), str(path))
    plugins = data.get("plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        message = "must be a list of plugin files (relative to the spec) or module names"
        raise SpecError([issue_at(("plugins",), message, lines, {})], str(path))
    issues: list[SpecIssue] = []
    loaded = _load_plugins(data, lines, {}, path.resolve().parent, issues)
    if issues:
        raise SpecError(issues, str(path))
    return loaded


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([SpecIssue((), f"spec file {path} does not exist")]) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes().count(b"\n", 0, exc.start) + 1
        message = f"spec file {path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} cannot be decoded"
        raise SpecError([SpecIssue((), message, line)], str(path)) from None
    except OSError as exc:
        raise SpecError([SpecIssue((), f"cannot read spec file {path}: {exc}")]) from None


def _parse(text: str, file: str | None, problems: list | None = None) -> tuple[dict, dict]:
    """The spec's mapping (empty for an empty file) and the line of each YAML path. Given a
    `problems` list, the problems of single values are collected there (see load_with_lines)."""
    try:
        data, lines = load_with_lines(text, problems)
    except YamlSyntaxError as exc:
        raise SpecError([SpecIssue(exc.path, str(exc), exc.line)], file) from None
    if data is None:  # an empty file, or a document left out for its problem
        data = {}
    if not isinstance(data, dict):
        raise SpecError([SpecIssue((), "the spec must be a mapping of sections (seed, network, ...)", 1)], file)
    return data, lines


def load_spec_text(
    text: str,
    *,
    base_dir: str | Path = ".",
    overrides: Sequence[str] = (),
    path: Path | None = None,
    allow_plugins: bool = True,
) -> LoadedSpec:
    """As `load_spec`, from text. `allow_plugins=False` (a spec read from someone's run file)
    refuses a spec that names plugins instead of running their code."""
    file = str(path) if path is not None else None
    problems: list[YamlSyntaxError] = []
    data, lines = _parse(text, file, problems)
    # Problems of single YAML values: each value was left out, and the rest is checked.
    issues = [SpecIssue(p.path, str(p), p.line) for p in problems]
    left_out = {p.path for p in problems if p.left_out}

    sources: dict[Loc, str] = {}
    for item in overrides:
        try:
            loc = apply_override(data, item)
            sources[loc] = f"--set {item}"
        except ValueError as exc:
            issues.append(SpecIssue((), str(exc), source=f"--set {item}"))

    base_dir = Path(base_dir)
    if not allow_plugins and data.get("plugins"):
        message = (
            "this spec comes from a run file and names plugins, whose code would run: "
            "pass --allow-plugins to run them (only for a file you trust)"
        )
        raise SpecError([issue_at(("plugins",), message, lines, sources)], file)
    plugin_rules = _load_plugins(data, lines, sources, base_dir, issues)

    huge = _huge_integers(data, lines, sources)
    found, spec = _validate(data, lines, sources)
    spoken = {i.path for i in found}
    huge = [i for i in huge if i.path not in spoken]  # a field's own bound says more
    issues += [i for i in found if i.path not in left_out] + huge  # not "is required" where YAML left a value out
    # Cross-field checks run on what validated: a value that failed is left out (its default
    # stands in) and every check that reads it is skipped, so that the user's other mistakes
    # are reported in this same pass.
    failed = {p.path for p in problems}  # a duplicate key's first value stands, but which one was meant?
    if spec is None or huge:
        spec = _without_failures(data, [i.path for i in found + huge], failed, lines, sources)
    if spec is not None:
        from growsim.spec.checks import check_spec

        issues.extend(check_spec(spec, lines, sources, base_dir, failed=failed))
    if issues:
        raise SpecError(_dedupe(issues), file)
    assert spec is not None
    return LoadedSpec(spec, text, path, base_dir, tuple(overrides), plugin_rules)


def _validate(data: dict, lines, sources) -> tuple[list[SpecIssue], Spec | None]:
    """Validate the spec's models and each registered entry's parameters (rule, events,
    loss terms, analyses, task suite); return the issues, and the spec when there are none."""
    from growsim.spec.checks import (
        validate_analysis_args,
        validate_event_params,
        validate_regulariser_args,
        validate_task_params,
        validate_wiring_params,
    )

    issues: list[SpecIssue] = []
    spec: Spec | None = None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        issues.extend(_issues_from_validation(exc, data, lines, sources))
    wiring_issues, params = validate_wiring_params(data.get("wiring"), lines, sources)
    event_issues, event_params = validate_event_params(data.get("growth"), lines, sources)
    term_issues, term_args = validate_regulariser_args(data.get("regularisers"), lines, sources)
    analysis_issues, analysis_args = validate_analysis_args(data.get("log"), lines, sources)
    task_issues, task_params = validate_task_params(data.get("task"), lines, sources)
    issues += [*wiring_issues, *event_issues, *term_issues, *analysis_issues, *task_issues]
    if spec is None or issues:
        return issues, None
    events = [e.model_copy(update={"params": event_params[i]}) for i, e in enumerate(spec.growth.events)]
    terms = [r.model_copy(update={"args": term_args[i]}) for i, r in enumerate(spec.regularisers)]
    analyses = [a.model_copy(update={"args": analysis_args[i]}) for i, a in enumerate(spec.log.analyses)]
    spec = spec.model_copy(
        update={
            "wiring": spec.wiring.model_copy(update={"params": params}),
            "growth": spec.growth.model_copy(update={"events": events}),
            "regularisers": terms,
            "log": spec.log.model_copy(update={"analyses": analyses}),
            "task": spec.task.model_copy(update={"params": task_params}),
        }
    )
    return [], spec


# Rounds of leaving out what failed: each round can only remove values, and a spec is a
# page of settings, so a handful suffices; a spec still invalid after them gets no checks.
_MAX_ROUNDS = 8


def _without_failures(data: dict, paths: list[Loc], failed: set[Loc], lines, sources) -> Spec | None:
    """The spec that validates once the values at `paths` are left out (their defaults
    standing in), or None if none does; every path left out is added to `failed`."""
    work = copy.deepcopy(data)
    for _ in range(_MAX_ROUNDS):
        removed = [r for r in (_leave_out(work, p) for p in paths) if r is not None]
        failed.update(paths, removed)
        if not removed:
            return None
        found, spec = _validate(work, lines, sources)
        paths = [i.path for i in found] + [i.path for i in _huge_integers(work, lines, sources)]
        if not paths:
            return spec
    return None


def _leave_out(data: dict, loc: Loc) -> Loc | None:
    """Remove the value at `loc` from `data` so that its default applies; return the path
    removed. A list item goes with its list (the items after it keep their indices); a
    required value that is absent takes the mapping that needs it."""
    loc = tuple(loc)
    while loc:
        if isinstance(loc[-1], int):
            loc = loc[:-1]
            continue
        parent: Any = data
        for part in loc[:-1]:
            parent = parent[part] if _has(parent, part) else None
        if isinstance(parent, dict) and loc[-1] in parent:
            del parent[loc[-1]]
            return loc
        loc = loc[:-1]
    return None


def _huge_integers(data: Any, lines, sources, loc: Loc = ()) -> list[SpecIssue]:
    """Every integer beyond what a run holds (numpy, torch and HDF5 take 64-bit integers):
    one place for every integer field, built-in or registered, that has no smaller bound."""
    if isinstance(data, dict):
        return [i for k, v in data.items() for i in _huge_integers(v, lines, sources, (*loc, k))]
    if isinstance(data, list):
        return [i for k, v in enumerate(data) for i in _huge_integers(v, lines, sources, (*loc, k))]
    if isinstance(data, int) and not isinstance(data, bool) and not MIN_INT <= data <= MAX_INT:
        bound = f"<= {MAX_INT}" if data > 0 else f">= {MIN_INT}"
        return [issue_at(loc, f"must be {bound} (a 64-bit integer)", lines, sources)]
    return []


# --- overrides ------------------------------------------------------------------------

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def parse_dotted(dotted: str) -> Loc:
    """'growth.events[0].every' -> ('growth', 'events', 0, 'every')."""
    parts: list[str | int] = []
    for chunk in dotted.split("."):
        m = _PART.fullmatch(chunk)
        if not m:
            raise ValueError(f"{dotted!r} is not a dotted spec path (like train.batches or growth.events[0].every)")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(parts)


def apply_override(data: dict, item: str) -> Loc:
    """Apply 'dotted.path=value' (value read as YAML) to data in place; return the path."""
    if "=" not in item:
        raise ValueError(f"an override must look like path=value, e.g. train.batches=2000; got {item!r}")
    dotted, raw = item.split("=", 1)
    loc = parse_dotted(dotted.strip())
    try:
        value, _ = load_with_lines(raw) if raw.strip() else (None, {})
    except YamlSyntaxError as exc:
        raise ValueError(f"the value of {dotted} is not valid YAML: {exc}") from None
    node: Any = data
    for i, key in enumerate(loc[:-1]):
        nxt = loc[i + 1]
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                raise ValueError(f"{dotted}: there is no item {key} at {_fmt(loc[:i])}")
            node = node[key]
            continue
        if not isinstance(node, dict):
            raise ValueError(f"{dotted}: {_fmt(loc[:i])} is not a mapping")
        if key not in node or node[key] is None:
            node[key] = [] if isinstance(nxt, int) else {}
        node = node[key]
    last = loc[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last > len(node):
            raise ValueError(f"{dotted}: there is no item {last} at {_fmt(loc[:-1])}")
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    else:
        if not isinstance(node, dict):
            raise ValueError(f"{dotted}: {_fmt(loc[:-1])} is not a mapping")
        node[last] = value
    return loc


def _fmt(loc: Loc) -> str:
    from growsim.spec.errors import format_path

    return format_path(loc) or "the top level"


# --- plugins --------------------------------------------------------------------------


def load_plugin(entry: str, base_dir: Path) -> list[str]:
    """Load one plugin named as a spec names it: a Python file (a name ending in .py, or a
    path), relative to `base_dir`, else a module; return the names it registered."""
    from growsim.registry import load_plugin_file, load_plugin_module

    if entry.endswith(".py") or "/" in entry or "\\" in entry:
        return load_plugin_file(base_dir / entry)
    return load_plugin_module(entry)


def _load_plugins(data: dict, lines, sources, base_dir: Path, issues: list[SpecIssue]) -> dict[str, list[str]]:
    from growsim.registry import RegistryError

    plugins = data.get("plugins") or []
    loaded: dict[str, list[str]] = {}
    if not isinstance(plugins, list):
        return loaded  # pydantic reports the type
    for i, entry in enumerate(plugins):
        if not isinstance(entry, str):
            continue
        loc = ("plugins", i)
        try:
            loaded[entry] = load_plugin(entry, base_dir)
        except RegistryError as exc:  # PluginLoadError among them
            issues.append(issue_at(loc, str(exc), lines, sources))
    return loaded


# --- pydantic errors -> issues ----------------------------------------------------------


def issue_at(loc: Loc, message: str, lines: dict, sources: dict) -> SpecIssue:
    """An issue at `loc`, with the line of `loc` or of its nearest ancestor in the file."""
    for k in range(len(loc), -1, -1):
        if loc[:k] in sources:
            return SpecIssue(loc, message, None, sources[loc[:k]])
    line = None
    for k in range(len(loc), -1, -1):
        if loc[:k] in lines:
            line = lines[loc[:k]]
            break
    return SpecIssue(loc, message, line)


def display_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's union tags and type labels: keep what exists in the data (and a last missing key)."""
    out: list[str | int] = []
    node = data
    for i, item in enumerate(loc):
        if isinstance(node, dict) and item in node:
            out.append(item)
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
            out.append(item)
            node = node[item]
        elif i == len(loc) - 1 and isinstance(item, str) and isinstance(node, dict):
            out.append(item)  # a missing key
    return tuple(out)


def model_at(loc: Loc, data: Any, root: type[BaseModel] = Spec) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` (choosing union members by their tag)."""
    ann: Any = root
    node = data
    for item in loc:
        ann = _pick_model(ann, node)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            f = ann.model_fields.get(item) if isinstance(item, str) else None
            if f is None:
                return None
            ann = f.annotation
        else:
            origin = typing.get_origin(ann)
            if origin in (list, tuple):
                ann = typing.get_args(ann)[0]
            elif origin is dict:
                ann = typing.get_args(ann)[1]
            else:
                return None
        node = node[item] if isinstance(node, (dict, list)) and _has(node, item) else None
    ann = _pick_model(ann, node)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _has(node, item) -> bool:
    return (isinstance(node, dict) and item in node) or (
        isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
    )


def _unwrap(ann: Any) -> Any:
    """The type inside Annotated[...] (a union member may carry a Tag)."""
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    return ann


def _pick_model(ann: Any, node: Any) -> Any:
    ann = _unwrap(ann)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        members = [_unwrap(a) for a in typing.get_args(ann)]
        members = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
        for m in members:
            for tag in ("kind", "op", "suite"):
                f = m.model_fields.get(tag)
                if f is not None and isinstance(node, dict) and node.get(tag) in typing.get_args(f.annotation):
                    return m
        if len(members) == 1:
            return members[0]
        # A mapping that leaves out its tag takes the member whose tag has a default
        # (task.suite: yang20, network.kind: leaky_rnn; see Spec._default_kinds).
        defaults = [m for m in members if any(
            tag in m.model_fields and not m.model_fields[tag].is_required() for tag in ("kind", "op", "suite"))]
        if isinstance(node, dict) and len(defaults) == 1 and not any(t in node for t in ("kind", "op", "suite")):
            return defaults[0]
        return None
    return ann


def _num(value: Any) -> str:
    """0.0 -> '0', 0.5 -> '0.5': bounds read as the user would write them."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def error_message(err: dict, model: type[BaseModel] | None) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    if kind == "greater_than":
        return f"must be > {_num(ctx['gt'])}"
    if kind == "greater_than_equal":
        return f"must be >= {_num(ctx['ge'])}"
    if kind == "less_than":
        return f"must be < {_num(ctx['lt'])}"
    if kind == "less_than_equal":
        return f"must be <= {_num(ctx['le'])}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        key = err["loc"][-1]
        known = sorted(f.alias or name for name, f in model.model_fields.items()) if model is not None else []
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        allowed = f" (allowed: {', '.join(known)})" if known and not close else ""
        return f"unknown key {key!r}{hint}{allowed}"
    if kind == "union_tag_invalid":
        expected = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(str(ctx.get("tag")), expected, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r}{hint} (one of: {', '.join(expected)})"
    if kind == "union_tag_not_found":
        return f"needs {ctx.get('discriminator', 'a kind').strip(chr(39))}: (which kind this is)"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        close = difflib.get_close_matches(str(given), options, n=1) if isinstance(given, str) else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"must be one of {expected} (got {given!r}){hint}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer (got {given!r})"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number (got {given!r})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {given!r})"
    if kind in ("string_type",):
        return f"must be a string (got {given!r})"
    if kind in ("list_type",):
        return f"must be a list (got {given!r})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys (got {given!r})"
    if kind == "string_pattern_mismatch":
        return f"{given!r} is not valid here"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "value_error" and ctx.get("error") is not None:
        return str(ctx["error"])  # a model's own check, without pydantic's "Value error, " prefix
    return err["msg"][0].lower() + err["msg"][1:]


def _issues_from_validation(exc: ValidationError, data: Any, lines, sources) -> list[SpecIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        loc = display_loc(tuple(err["loc"]), data)
        parent = loc[:-1] if err["type"] == "extra_forbidden" else loc
        model = model_at(parent, data) if err["type"] == "extra_forbidden" else None
        issues.append(issue_at(loc, error_message(err, model), lines, sources))
    return issues


def _dedupe(issues: list[SpecIssue]) -> list[SpecIssue]:
    """Merge the several messages that a union gives for one path into one line (a duplicate
    key and its first value's problem, at one path but two lines, stay apart)."""
    merged: dict[tuple, SpecIssue] = {}
    for issue in issues:
        key = (issue.path, issue.line, issue.source)
        if key in merged and merged[key].message != issue.message:
            old = merged[key]
            merged[key] = SpecIssue(old.path, f"{old.message}, or {issue.message}", old.line, old.source)
        elif key not in merged:
            merged[key] = issue
    return sorted(merged.values(), key=lambda i: (i.line or 0, str(i)))
