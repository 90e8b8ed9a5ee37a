"""Many runs as one tidy table, with their spec fields as columns."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from growsim.reader._run import Run, RunFileError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["find_runs", "flatten_spec", "open_runs"]

# Columns open_runs puts before the series and the spec fields.
ID_COLUMNS = ("run", "name", "status", "path")


def flatten_spec(spec: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A resolved spec as ``{dotted name: value}``, with the names ``--set`` uses.

    ``{"wiring": {"rule": "distance", "params": {"eta": -3}}}`` gives ``wiring.rule`` and
    ``wiring.eta`` (a rule's parameters are written beside ``rule`` in YAML); a list of
    mappings gives ``growth.events[0].every``; a list of plain values becomes a tuple
    (hashable, so it can be grouped by).
    """
    out: dict[str, Any] = {}
    for key, value in spec.items():
        name = f"{prefix}{key}"
        if name == "wiring.params" and isinstance(value, dict):
            out.update(flatten_spec(value, "wiring."))
        elif isinstance(value, dict):
            out.update(flatten_spec(value, f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                out.update(flatten_spec(item, f"{name}[{i}]."))
        elif isinstance(value, list):
            out[name] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        else:
            out[name] = value
    return out


def find_runs(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Run files named by ``paths``: files as given, folders searched (recursively) for ``*.h5``
    (hidden files left out)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            # Hidden files are left out (a writer's work in progress, editors' backups).
            inside = sorted(q for q in p.rglob("*.h5") if q.is_file() and not q.name.startswith("."))
            if not inside:
                raise RunFileError(f"{p} holds no .h5 files")
            found.extend(inside)
        elif p.exists():
            found.append(p)
        else:
            raise RunFileError(f"{p}: no such file or folder")
    return found


def _labels(paths: list[Path]) -> list[str]:
    """Short unique names: the file stems, or paths relative to the common folder if stems repeat."""
    stems = [p.stem for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    resolved = [p.resolve() for p in paths]
    import os

    common = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    return [str(p.relative_to(common).with_suffix("")) for p in resolved]


def open_runs(
    paths: str | Path | Iterable[str | Path], *, long: bool = False, errors: str = "raise"
) -> pd.DataFrame:
    """One tidy table over many runs: every run's :meth:`Run.series`, with who it is.

    ``paths``: run files and/or folders (searched recursively for ``*.h5``).
    Columns: ``run`` (a short unique label: the file stem), ``name`` (the spec's name),
    ``status``, ``path``; then the series columns (wide or ``long``, as in
    :meth:`Run.series`); then every field of the resolved spec under its dotted name
    (``seed``, ``wiring.rule``, ``wiring.eta``, ``growth.initial_connections``...), so that
    ``df.groupby(["wiring.rule", "growth.initial_connections", "step"])`` works.

    ``df.attrs["series_columns"]`` and ``df.attrs["spec_fields"]`` list the columns of each
    kind. ``errors="skip"`` leaves out (with a warning) files that are not readable runs instead
    of raising :class:`RunFileError`.
    """
    import pandas as pd

    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
    files = find_runs(paths)
    runs: list[Run] = []
    for path in files:
        try:
            runs.append(Run(path))
        except RunFileError as exc:
            if errors == "raise":
                raise
            warnings.warn(f"skipped: {exc}", stacklevel=2)
    if not runs:
        raise RunFileError(f"no readable growsim runs in {', '.join(map(str, files)) or 'the paths given'}")
    frames = []
    for label, run in zip(_labels([r.path for r in runs]), runs):
        table = run.series(long=long)
        ids = {"run": label, "name": run.name, "status": run.status, "path": str(run.path)}
        fields = run.spec_fields
        fields = {k: v for k, v in fields.items() if k not in ids and k not in table.columns}
        extra = pd.DataFrame({k: [v] * len(table) for k, v in {**ids, **fields}.items()}, index=table.index)
        frames.append((ids, table, extra))
    parts = [pd.concat([extra[list(ids)], table, extra.drop(columns=list(ids))], axis=1) for ids, table, extra in frames]
    out = pd.concat(parts, ignore_index=True, sort=False)
    series_cols = {c for _, table, _ in frames for c in table.columns}
    spec_cols = {c for _, _, extra in frames for c in extra.columns} - set(ID_COLUMNS)
    # Which columns are which, for tools that offer them by kind (growsim compare).
    out.attrs["series_columns"] = [c for c in out.columns if c in series_cols]
    out.attrs["spec_fields"] = [c for c in out.columns if c in spec_cols]
    return out
