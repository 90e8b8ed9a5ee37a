"""A sweep's points: the product of its grid, zip groups and seeds, named, and validated.

Each point is a base spec plus `--set` overrides, exactly what `growsim run SPEC --set ...`
takes, so a point's run file records its overrides like any run's, and resumes like one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from growsim.spec.errors import SpecError, format_path
from growsim.spec.loader import parse_dotted
from growsim.spec.yaml_lines import YamlSyntaxError, load_with_lines
from growsim.sweep._file import (
    SPEC_KEY,
    Loc,
    SweepError,
    SweepFile,
    SweepIssue,
    read_sweep_file,
)

# File names stay well under the 255 bytes most file systems allow.
MAX_NAME = 180
MAX_LABEL = 40


@dataclass(frozen=True)
class Point:
    """One run of a sweep: a base spec and the overrides that make this point.

    ``name`` is the point's file stem, unique in the sweep and stable (made from the varied
    fields: ``rule=random__initial_connections=0__seed=3``); ``overrides`` are ``--set``
    arguments (``wiring.rule=random``), in the order they apply; ``varied`` maps each
    varied field's dotted path (``spec`` for the base spec, ``seed``) to its value here.
    ``resolved_json`` is the point's spec with every default filled in (set when the point
    is validated); a run file that holds another spec is not this point's.
    """

    index: int
    name: str
    spec: Path
    overrides: tuple[str, ...]
    varied: dict[str, Any] = field(default_factory=dict)
    resolved_json: str = ""

    @property
    def file_name(self) -> str:
        return f"{self.name}.h5"

    def command(self, out: str | Path | None = None) -> str:
        """The `growsim run` command that makes this point's run alone."""
        parts = ["growsim", "run", _shell(str(self.spec))]
        if out is not None:
            parts += ["--out", _shell(str(out))]
        for item in self.overrides:
            parts += ["--set", _shell(item)]
        return " ".join(parts)


@dataclass(frozen=True)
class _Assign:
    key: str  # dotted spec path, or "spec", or "seed"
    value: Any
    value_loc: Loc  # where the value is in the sweep file
    key_loc: Loc  # where its key is


@dataclass
class Sweep:
    """A sweep file expanded: its points, and where in the file each override came from."""

    file: SweepFile
    points: list[Point]
    # For error messages: the override text -> (loc of its value, loc of its key, its spec path).
    sources: dict[str, tuple[Loc, Loc, Loc]]
    spec_shown: dict[Path, str]  # the base spec files as the sweep file names them

    @property
    def varied_keys(self) -> list[str]:
        keys: list[str] = []
        for p in self.points:
            keys += [k for k in p.varied if k not in keys]
        return keys


def expand(sweep_path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> list[Point]:
    """The points of a sweep file, each validated (spec loaded with its overrides, geometry prepared).

    ``overrides``: ``--set`` arguments applied to every point (after the file's ``set``).
    Raises :class:`SweepError` naming every problem by its YAML path and line, and the points
    it concerns; nothing runs.
    """
    return load_sweep(sweep_path, overrides).points


def load_sweep(sweep_path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> Sweep:
    """Read, expand and validate a sweep (see :func:`expand`)."""
    sweep_file = read_sweep_file(sweep_path, tuple(overrides))
    sweep = _expand(sweep_file, tuple(overrides))
    _validate(sweep)
    return sweep


# --- expansion -----------------------------------------------------------------------------


def _axes(sweep: SweepFile) -> list[list[list[_Assign]]]:
    """One axis per grid key, per zip group and for the seeds; each axis lists its settings."""
    m = sweep.model
    axes: list[list[list[_Assign]]] = []
    for key, values in (m.grid or {}).items():
        axes.append([[_Assign(key, v, ("grid", key, i), ("grid", key))] for i, v in enumerate(values)])
    for g, group in enumerate(m.zip_):
        n = len(next(iter(group.values())))
        axes.append(
            [[_Assign(k, vs[i], ("zip", g, k, i), ("zip", g, k)) for k, vs in group.items()] for i in range(n)]
        )
    seeds = m.seed_list
    if seeds is not None:
        loc = (lambda i: ("seeds",)) if isinstance(m.seeds, int) else (lambda i: ("seeds", i))
        axes.append([[_Assign("seed", s, loc(i), ("seeds",))] for i, s in enumerate(seeds)])
    return axes


def _expand(sweep: SweepFile, cli: tuple[str, ...]) -> Sweep:
    m = sweep.model
    axes = _axes(sweep)
    cli_paths = [tuple(parse_dotted(item.split("=", 1)[0].strip())) for item in cli]
    fixed = [
        (_override(k, v), ("set", k), ("set", k), parse_dotted(k))
        for k, v in m.set_.items()
        # the command line's --set replaces the file's value of the same path (or of one inside it)
        if not any(tuple(parse_dotted(k))[: len(c)] == c for c in cli_paths)
    ]
    sources: dict[str, tuple[Loc, Loc, Loc]] = {o: (vl, kl, p) for o, vl, kl, p in fixed}
    for item in cli:
        sources[item] = (("--set", item), ("--set", item), parse_dotted(item.split("=", 1)[0].strip()))
    name_fields = _NameFields(axes)
    base = _resolve(sweep, m.spec) if m.spec is not None else None
    spec_shown: dict[Path, str] = {}
    if base is not None:
        spec_shown[base] = m.spec
    points: list[Point] = []
    for index, combo in enumerate(itertools.product(*axes)):
        assigns = [a for setting in combo for a in setting]
        overrides = [o for o, *_ in fixed] + list(cli)
        spec = base
        varied: dict[str, Any] = {}
        for a in assigns:
            varied[a.key] = a.value
            if a.key == SPEC_KEY:
                spec = _resolve(sweep, a.value)
                spec_shown[spec] = a.value
                continue
            text = _override(a.key, a.value)
            overrides.append(text)
            sources[text] = (a.value_loc, a.key_loc, parse_dotted(a.key))
        assert spec is not None  # checked by read_sweep_file
        labels = [(k, varied[k]) for k in name_fields.keys]
        points.append(Point(index, _name(labels, name_fields.short), spec, tuple(overrides), varied))
    return Sweep(sweep, _unique_names(points, str(sweep.path)), sources, spec_shown)


def _resolve(sweep: SweepFile, value: str) -> Path:
    path = Path(value)
    return (path if path.is_absolute() else sweep.base_dir / path).resolve()


class _NameFields:
    """Which varied fields name a point (`keys`), and each one's short label (`short`)."""

    def __init__(self, axes: list[list[list[_Assign]]]):
        self.keys: list[str] = []
        for axis in axes:
            keys = [a.key for a in axis[0]]
            if len(keys) > 1:  # a zip group: its plain values name it, if they tell its items apart
                plain = [k for k in keys if all(_is_plain(s[keys.index(k)].value) for s in axis)]
                rows = {tuple(_canonical(s[keys.index(k)].value) for k in plain) for s in axis}
                keys = plain if plain and len(rows) == len(axis) else keys
            self.keys += keys
        self.short = {k: _short_key(k, self.keys) for k in self.keys}


def _short_key(key: str, keys: list[str]) -> str:
    """The shortest dotted suffix of `key` that no other key ends with: wiring.rule -> rule."""
    chunks = key.split(".")
    for n in range(1, len(chunks) + 1):
        suffix = ".".join(chunks[-n:])
        if not any(o != key and (o == suffix or o.endswith("." + suffix)) for o in keys):
            return suffix
    return key


def _name(labels: list[tuple[str, Any]], short: dict[str, str]) -> str:
    parts = [f"{_key_label(short[k])}={_value_label(k, v)}" for k, v in labels]
    name = "__".join(parts) or "point"
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 10].rstrip("_") + "__" + _digest(name)[:8]
    return name


def _key_label(key: str) -> str:
    """events[0].every -> events0.every."""
    return _safe(re.sub(r"\[(\d+)\]", r"\1", key))


def _unique_names(points: list[Point], file: str) -> list[Point]:
    """Names that two points share (values that read alike) get a digest of the point's overrides."""
    counts: dict[str, int] = {}
    for p in points:
        counts[p.name] = counts.get(p.name, 0) + 1
    out = []
    for p in points:
        if counts[p.name] > 1:
            key = _canonical([str(p.spec), list(p.overrides)])
            p = replace(p, name=f"{p.name}__{_digest(key)[:8]}")
        out.append(p)
    first: dict[str, Point] = {}
    for p in out:
        if p.name in first:  # the same spec file and overrides: the same run twice
            same = f"points {first[p.name].index} and {p.index} are the same run ({p.name})"
            raise SweepError([SweepIssue((), same)], file)
        first[p.name] = p
    return out


_SCALARS = (str, int, float, bool, type(None))


def _is_plain(value: Any) -> bool:
    """A scalar, or a flat list or mapping of scalars: a value a file name can show."""
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, _SCALARS) or (isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value))


def _value_label(key: str, value: Any) -> str:
    if key == SPEC_KEY and isinstance(value, str):
        return _safe(Path(value).stem) or "spec"
    if not _is_plain(value):
        return _digest(_canonical(value))[:8]  # a mapping or nested list: short and stable
    if isinstance(value, dict):  # {rule: mixture, p_random: 0.5} -> mixture,0.5
        value = list(value.values())
    if isinstance(value, list):
        label = ",".join(_scalar_label(v) for v in value) or "none"
    else:
        label = _scalar_label(value)
    label = _safe(label) or "empty"
    if len(label) > MAX_LABEL:
        label = label[: MAX_LABEL - 9] + "_" + _digest(label)[:8]
    return label


def _scalar_label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _safe(text: str) -> str:
    """Letters, digits and . , + - _ only: safe in file names on every system and in shells."""
    return re.sub(r"[^A-Za-z0-9.,+_-]+", "_", text).strip(".")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _override(key: str, value: Any) -> str:
    """A --set argument whose value, read back as YAML, is `value`."""
    text = _yaml_scalar(value)
    try:
        back, _ = load_with_lines(text)
    except YamlSyntaxError:
        back = object()
    if back != value or type(back) is not type(value):
        text = json.dumps(value)
    return f"{key}={text}"


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        return value  # plain when it reads back as the same string (checked by the caller)
    return json.dumps(value)


def _shell(text: str) -> str:
    import shlex

    return shlex.quote(text)


# --- validation ----------------------------------------------------------------------------


def _validate(sweep: Sweep) -> None:
    """Load and prepare every point; raise SweepError with every problem, once per place."""
    from growsim.build import prepare
    from growsim.spec import load_spec

    found: dict[tuple, list[str]] = {}
    resolved: dict[int, str] = {}
    for point in sweep.points:
        try:
            loaded = load_spec(point.spec, point.overrides)
            prepare(loaded)
            _one_seed(loaded)
        except SpecError as exc:
            for issue in exc.issues:
                found.setdefault(_place(sweep, point, issue), []).append(point.name)
            continue
        resolved[point.index] = loaded.resolved_json()
    n = len(sweep.points)
    if found:
        issues = [
            SweepIssue(loc, message, line, source, file=file, points=tuple(names), of=n)
            for (loc, message, line, source, file), names in found.items()
        ]
        issues.sort(key=lambda i: (i.file is not None, i.file or "", i.line or 0, str(i)))
        raise SweepError(issues, str(sweep.file.path))
    sweep.points = [replace(p, resolved_json=resolved[p.index]) for p in sweep.points]


def _one_seed(loaded) -> None:
    """A point is one run: its spec may not be an ensemble (a list or count of seeds)."""
    if not loaded.spec.is_ensemble:
        return
    from growsim.build import _lines_and_sources
    from growsim.spec.loader import issue_at

    lines, sources = _lines_and_sources(loaded)
    message = (f"gives {len(loaded.spec.seeds)} seeds (an ensemble), but a sweep's point is one run: "
               "give the seeds in the sweep file's `seeds:`, which makes one point per seed")
    raise SpecError([issue_at(("seed",), message, lines, sources)], str(loaded.path) if loaded.path else None)


def _place(sweep: Sweep, point: Point, issue) -> tuple:
    """Where an issue of a point's spec comes from: the sweep entry whose override caused it
    (its key, when the issue is about the path; its value otherwise), or the spec file."""
    source = issue.source or ""
    override = source[len("--set "):] if source.startswith("--set ") else None
    path = tuple(issue.path)
    if override is None and path:
        # An unknown key above an override's path (wirng in wirng.rule) carries no source.
        override = next((o for o in point.overrides if o in sweep.sources and sweep.sources[o][2][: len(path)] == path), None)
        source = f"--set {override}" if override else source
    if override is not None and override in sweep.sources:
        value_loc, key_loc, parts = sweep.sources[override]
        message = issue.message
        if value_loc[0] == "--set":
            if path and path != parts:
                message = f"{format_path(path)}: {message}"
            return ((), message, None, source, None)
        about_key = len(path) < len(parts) and parts[: len(path)] == path
        loc = key_loc if about_key or not path else value_loc
        if path and path != parts and not about_key:
            message = f"{format_path(path)}: {message}"
        return (loc, message, sweep.file.line(loc), None, None)
    shown = sweep.spec_shown.get(point.spec, str(point.spec))
    return (tuple(issue.path), issue.message, issue.line, None, shown)
