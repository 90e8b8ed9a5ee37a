"""The sweep file: its model, and its checks, each problem named by YAML path and line.

A sweep file names a base spec and what varies between its runs:

    spec: ../specs/add_conn_distance.yaml     # or vary it: grid: {spec: [a.yaml, b.yaml]}
    set: {train.batches: 2000}                # the same override for every point
    grid: {wiring.rule: [distance, random]}   # every combination of these lists
    zip:                                      # lists that move together, one group each
      - {growth.initial_connections: [0, 800], growth.events: [[...], []]}
    seeds: 10                                 # or a list: [0, 1, 5]

Only the structure of the file is checked here; whether each point makes a valid spec is
checked by loading it (`growsim.sweep._points`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from growsim.spec.errors import SpecError, SpecIssue, format_path
from growsim.spec.loader import display_loc, error_message, issue_at, parse_dotted
from growsim.spec.yaml_lines import YamlSyntaxError, load_with_lines

Loc = tuple[str | int, ...]

# The key that varies the base spec file itself, in grid and zip.
SPEC_KEY = "spec"
MAX_SEEDS = 100_000


class SweepModel(BaseModel):
    """A sweep: many runs of one spec (or of several), on a grid of overrides and seeds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str | None = Field(
        None, description="The base spec file, relative to the sweep file (or vary it with the key spec in grid or zip)."
    )
    set_: dict[str, Any] = Field(
        default_factory=dict, alias="set", description="Overrides for every point: {dotted.path: value}, as --set."
    )
    grid: dict[str, list[Any]] | None = Field(
        None, description="{dotted.path: [values]}: every combination of these lists is a point."
    )
    zip_: list[dict[str, list[Any]]] = Field(
        default_factory=list,
        alias="zip",
        description="Groups of {dotted.path: [values]} whose lists move together (item i with item i).",
    )
    seeds: StrictInt | list[StrictInt] | None = Field(
        None, description="How many seeds (n: seeds 0 to n-1), or the seeds themselves; every point runs with each."
    )

    @property
    def seed_list(self) -> list[int] | None:
        if self.seeds is None:
            return None
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


KEYS = ("spec", "set", "grid", "zip", "seeds")


@dataclass(frozen=True)
class SweepIssue(SpecIssue):
    """A problem in a sweep: where (a path in the sweep file, or in a spec file it names, or a
    --set argument), and which points it concerns."""

    file: str | None = None  # the spec file `path` is in (None: the sweep file)
    points: tuple[str, ...] = ()  # the points it concerns (none: the file itself)
    of: int = 0  # how many points the sweep has

    def __str__(self) -> str:
        where = format_path(self.path)
        if self.source:
            where = self.source
        elif self.file:
            where = f"{self.file}: {where or '(spec)'}"
        where = where or "(sweep)"
        notes = []
        if self.line is not None and not self.source:
            notes.append(f"line {self.line}")
        if self.points:
            notes.append(_which_points(self.points, self.of))
        tail = f" ({'; '.join(notes)})" if notes else ""
        return f"{where}: {self.message}{tail}"


def _which_points(points: tuple[str, ...], of: int) -> str:
    if len(points) == of and of > 1:
        return f"every point, all {of}"
    if len(points) == 1:
        return f"point {points[0]}"
    shown = ", ".join(points[:3])
    more = f" and {len(points) - 3} more" if len(points) > 3 else ""
    return f"{len(points)} points: {shown}{more}"


class SweepError(SpecError):
    """A sweep that cannot run. `issues` lists every problem found (SweepIssue)."""

    what = "sweep"


@dataclass(frozen=True)
class SweepFile:
    """A sweep file, read and checked: the model, where it lives, and the line of every path."""

    model: SweepModel
    path: Path
    lines: dict[Loc, int]

    @property
    def base_dir(self) -> Path:
        return self.path.resolve().parent

    def line(self, loc: Loc) -> int | None:
        for k in range(len(loc), -1, -1):
            if loc[:k] in self.lines:
                return self.lines[loc[:k]]
        return None


def read_sweep_file(path: str | Path, cli_overrides: tuple[str, ...] = ()) -> SweepFile:
    """Read and check a sweep file's structure; raise SweepError listing every problem."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepError([SweepIssue((), f"sweep file {path} does not exist")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError([SweepIssue((), f"cannot read sweep file {path}: {exc}")]) from None
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        raise SweepError([SweepIssue((), str(exc), exc.line)], file) from None
    if not isinstance(data, dict) or not data:
        what = "empty" if data is None or data == {} else f"a {type(data).__name__}"
        raise SweepError(
            [SweepIssue((), f"the sweep file is {what}; it must be a mapping with spec, and grid, zip or seeds", 1)], file
        )
    issues: list[SweepIssue] = []
    try:
        model = SweepModel.model_validate(data)
    except ValidationError as exc:
        issues = _structure_issues(exc, data, lines)
        # Unknown top-level keys aside, the rest can still be checked: report everything at once.
        unknown = {e["loc"][0] for e in exc.errors() if e["type"] == "extra_forbidden" and len(e["loc"]) == 1}
        if len(unknown) < len(exc.errors()):
            raise SweepError(_dedupe(issues), file) from None
        model = SweepModel.model_validate({k: v for k, v in data.items() if k not in unknown})
    sweep = SweepFile(model, path, lines)
    issues += _check(sweep, cli_overrides)
    if issues:
        raise SweepError(_dedupe(issues), file)
    return sweep


def _issue(loc: Loc, message: str, lines: dict) -> SweepIssue:
    found = issue_at(loc, message, lines, {})
    return SweepIssue(found.path, found.message, found.line)


def _structure_issues(exc: ValidationError, data: dict, lines: dict) -> list[SweepIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        loc = display_loc(tuple(err["loc"]), data)
        if err["type"] == "extra_forbidden":
            key = str(err["loc"][-1])
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {', '.join(KEYS)})"
            message = f"unknown key {key!r}{hint}"
        else:
            message = error_message(err, None)
        issues.append(_issue(loc, message, lines))
    # A union's member that failed deeper says more than the one that failed at the top.
    paths = {i.path for i in issues}
    issues = [i for i in issues if not any(p[: len(i.path)] == i.path and len(p) > len(i.path) for p in paths)]
    return _merge_alternatives(issues)


def _merge_alternatives(issues: list[SweepIssue]) -> list[SweepIssue]:
    """One line per path: a union's several messages are joined with 'or'."""
    merged: dict[Loc, SweepIssue] = {}
    for issue in issues:
        old = merged.get(issue.path)
        if old is None:
            merged[issue.path] = issue
        elif issue.message not in old.message:
            merged[issue.path] = SweepIssue(old.path, f"{old.message}, or {issue.message}", old.line, old.source)
    return list(merged.values())


def _dedupe(issues: list[SweepIssue]) -> list[SweepIssue]:
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (i.line or 0, str(i)))


# --- checks that pydantic's types cannot express ---------------------------------------


def _check(sweep: SweepFile, cli_overrides: tuple[str, ...]) -> list[SweepIssue]:
    m, lines = sweep.model, sweep.lines
    issues: list[SweepIssue] = []

    def add(loc: Loc, message: str) -> None:
        if loc and loc[0] == "--set":
            issues.append(SweepIssue((), message, source=f"--set {loc[1]}"))
        else:
            issues.append(_issue(loc, message, lines))

    # Every spec path the sweep sets or varies, in order, with where: [(path, loc of its key)].
    entries: list[tuple[Loc, Loc]] = []

    def key_path(key: str, loc: Loc) -> None:
        varied = loc[0] in ("grid", "zip")
        if key == SPEC_KEY:
            if varied:
                entries.append(((SPEC_KEY,), loc))
            else:
                add(loc, "the base spec is chosen with the top-level key spec, or varied in grid or zip")
            return
        try:
            parts = parse_dotted(key)
        except ValueError as exc:
            add(loc, str(exc))
            return
        if parts == ("seed",) and (varied or m.seeds is not None):
            add(loc, "vary the seed with seeds: (a count, or a list of seeds)")
            return
        entries.append((parts, loc))

    for key in m.set_:
        key_path(key, ("set", key))
    for item in cli_overrides:
        key_path(item.split("=", 1)[0].strip(), ("--set", item))

    if m.grid is not None:
        if not m.grid:
            add(("grid",), "is empty: give {dotted.path: [values]}, or leave grid out")
        for key, values in m.grid.items():
            key_path(key, ("grid", key))
            _check_values(values, ("grid", key), add)

    for g, group in enumerate(m.zip_):
        if not group:
            add(("zip", g), "is empty: give {dotted.path: [values], ...}, lists of one length")
            continue
        for key, values in group.items():
            key_path(key, ("zip", g, key))
            if not values:
                add(("zip", g, key), "is an empty list: the sweep would have no points")
        lengths = {key: len(values) for key, values in group.items()}
        if len(set(lengths.values())) > 1:
            add(("zip", g), "its lists must have one length (item i of each goes together); lengths: "
                + ", ".join(f"{k} {n}" for k, n in lengths.items()))
        elif all(lengths.values()):
            n = next(iter(lengths.values()))
            rows = [_canonical([group[k][i] for k in group]) for i in range(n)]
            for i, row in enumerate(rows):
                if row in rows[:i]:
                    add(("zip", g), f"item {i} of its lists repeats item {rows.index(row)}: two points would be the same run")

    if isinstance(m.seeds, int) and not 0 < m.seeds <= MAX_SEEDS:
        add(("seeds",), f"must be a count from 1 to {MAX_SEEDS}, or a list of seeds")
    elif isinstance(m.seeds, list):
        if not m.seeds:
            add(("seeds",), "is an empty list: the sweep would have no points")
        for i, s in enumerate(m.seeds):
            if s < 0:
                add(("seeds", i), "must be >= 0")
            elif s in m.seeds[:i]:
                add(("seeds", i), f"repeats seed {s}")

    # A path given twice, or inside another (growth and growth.events), has no clear meaning;
    # except that the command line's --set overrides the file's own set, as it would a spec's.
    for j, (b, loc_b) in enumerate(entries):
        for a, loc_a in entries[:j]:
            if loc_a[0] == "set" and loc_b[0] == "--set":
                continue
            if a[: len(b)] == b or b[: len(a)] == a:
                add(loc_b, f"overlaps {_loc_name(loc_a)}: give each spec path in one place")
                break

    varied_spec = [loc for parts, loc in entries if parts == (SPEC_KEY,)]
    if m.spec is not None and varied_spec:
        add(("spec",), f"is also varied in {_loc_name(varied_spec[0])}: give the base spec in one place")
    elif m.spec is None and not varied_spec:
        add(("spec",), "is required: the base spec file (or vary it: grid: {spec: [a.yaml, b.yaml]})")
    if m.spec is not None:
        _check_spec_file(m.spec, ("spec",), sweep, add)
    for loc in varied_spec:
        values = m.grid[SPEC_KEY] if loc[0] == "grid" else m.zip_[loc[1]][SPEC_KEY]
        seen: list[Path] = []
        for i, value in enumerate(values):
            resolved = _check_spec_file(value, (*loc, i), sweep, add)
            if resolved is not None and resolved in seen and loc[0] == "grid":
                add((*loc, i), f"names the same file as item {seen.index(resolved)}: two points would be the same run")
            seen.append(resolved)

    if m.grid is None and not m.zip_ and m.seeds is None:
        add((), "varies nothing: give grid, zip or seeds (a single run needs no sweep: growsim run)")
    return issues


def _loc_name(loc: Loc) -> str:
    if loc and loc[0] == "--set":
        return f"--set {loc[1]}"
    return format_path(loc)


def _check_values(values: list[Any], loc: Loc, add) -> None:
    if not values:
        add(loc, "is an empty list: the sweep would have no points")
        return
    seen: list[str] = []
    for i, value in enumerate(values):
        c = _canonical(value)
        if c in seen:
            add((*loc, i), f"repeats item {seen.index(c)}: two points would be the same run")
        seen.append(c)


def _check_spec_file(value: Any, loc: Loc, sweep: SweepFile, add) -> Path | None:
    """The spec file's resolved path, or None (and an issue) if it is not a file."""
    if not isinstance(value, str) or not value:
        add(loc, f"must be the path of a spec file (got {value!r})")
        return None
    path = Path(value)
    path = path if path.is_absolute() else sweep.base_dir / path
    if not path.is_file():
        add(loc, f"spec file {value} does not exist (paths are relative to the sweep file: {path})")
        return None
    return path.resolve()


def _canonical(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)
