"""Geometries read from user files: coordinates or a distance matrix, as text or .npy."""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._core import Geometry, GeometryError, check_metric, distance_matrix

__all__ = ["from_coordinates_file", "from_distance_file", "read_connectivity_file"]

_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
# A header cell over the first column with one of these names marks a label column
# even when every label looks like a number (e.g. region ids).
_LABEL_HEADERS = {"label", "labels", "name", "names", "region", "regions", "id", "node", "neuron"}


@dataclass
class _Table:
    """Numbers read from a file, plus what a message needs to point into it."""

    values: np.ndarray  # float64, any ndim (.npy) or 2-D (text)
    labels: list[str] | None  # first-column labels of a text file
    columns: list[str] | None  # header names of the numeric columns
    lines: list[int] | None  # 1-based line number of each row (text only)
    first_field: int  # 1-based field number of the first numeric column (text only)

    def where(self, i: int, j: int | None = None) -> str:
        """Position of entry ``[i, j]`` (or row ``i``) for an error message."""
        at = f"entry [{i}, {j}]" if j is not None else f"row {i}"
        if self.lines is None:
            return at
        field = "" if j is None else f", field {j + self.first_field}"
        return f"{at} (line {self.lines[i]}{field})"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _open_checked(path: object) -> Path:
    try:
        p = Path(os.fspath(path))  # type: ignore[arg-type]
    except TypeError:
        raise GeometryError(f"{path!r}: not a file path") from None
    if not p.exists():
        raise GeometryError(f"{p}: file not found")
    if p.is_dir():
        raise GeometryError(f"{p}: is a directory, not a file")
    suffix = p.suffix.lower()
    if suffix != ".npy" and suffix not in _TEXT_SUFFIXES:
        raise GeometryError(
            f"{p}: unsupported file type {p.suffix!r}; expected .csv, .tsv, .txt (text) or .npy"
        )
    return p


def _read_npy(p: Path) -> _Table:
    try:
        arr = np.load(p, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError... for bad files
        raise GeometryError(f"{p}: not a readable .npy file ({exc})") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise GeometryError(f"{p}: holds several arrays (an .npz archive); expected one .npy array")
    if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise GeometryError(f"{p}: array has dtype {arr.dtype}; expected real numbers")
    return _Table(arr.astype(np.float64), None, None, None, 1)


def _split_lines(p: Path) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment lines of a text table as ``(line number, cells)``."""
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GeometryError(f"{p}: not a text table (it is not valid UTF-8 text)") from None
    except OSError as exc:
        raise GeometryError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if "\x00" in text:
        raise GeometryError(f"{p}: not a text table (it contains binary data)")

    numbered = [(k + 1, ln) for k, ln in enumerate(text.splitlines())]
    numbered = [(k, ln) for k, ln in numbered if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise GeometryError(f"{p}: file is empty (no data rows)")

    first = numbered[0][1]
    delim = next((d for d in (",", "\t", ";") if d in first), None)
    if delim is None:
        rows = [(k, ln.split()) for k, ln in numbered]
    else:
        try:
            parsed = list(csv.reader([ln for _, ln in numbered], delimiter=delim))
        except csv.Error as exc:
            raise GeometryError(f"{p}: not a valid CSV table ({exc})") from None
        rows = [(k, [c.strip() for c in cells]) for (k, _), cells in zip(numbered, parsed, strict=True)]
        # Tolerate a delimiter at the end of every line (some exporters write one).
        if all(len(cells) > 1 and cells[-1] == "" for _, cells in rows):
            for _, cells in rows:
                cells.pop()
    return rows


def _read_text(p: Path) -> _Table:
    rows = _split_lines(p)

    # Header: a first row that is not all numbers, unless it reads as
    # "label, number, number, ..." (a labelled data row).
    first = rows[0][1]
    numeric = [_is_number(c) for c in first]
    header: list[str] | None = None
    if not all(numeric) and not (len(first) >= 2 and not numeric[0] and all(numeric[1:])):
        header = first
        rows = rows[1:]
        if not rows:
            raise GeometryError(f"{p}: has a header line but no data rows")

    width = len(rows[0][1])
    for k, cells in rows:
        if len(cells) != width:
            raise GeometryError(
                f"{p}: line {k} has {len(cells)} fields but line {rows[0][0]} has {width}; "
                "every row must have the same number of fields"
            )

    has_labels = not all(_is_number(cells[0]) for _, cells in rows) or (
        header is not None and header[0].strip().lower() in _LABEL_HEADERS
    )
    start = 1 if has_labels else 0
    if width - start < 1:
        raise GeometryError(f"{p}: has a label column but no numeric columns")

    values = np.empty((len(rows), width - start))
    for i, (k, cells) in enumerate(rows):
        for j, cell in enumerate(cells[start:]):
            try:
                values[i, j] = float(cell)
            except ValueError:
                what = "an empty field" if cell == "" else f"{cell!r}, which is not a number"
                raise GeometryError(f"{p}: line {k}, field {j + start + 1} is {what}") from None

    labels = None
    if has_labels:
        labels = [cells[0] for _, cells in rows]
        _check_labels(p, labels, [k for k, _ in rows])

    columns = None
    if header is not None:
        ncol = width - start
        if len(header) == width:
            columns = header[start:]
        elif len(header) == ncol:  # header names only the numeric columns
            columns = header
        else:
            raise GeometryError(
                f"{p}: the header line has {len(header)} fields but the data rows have {width}"
            )
    return _Table(values, labels, columns, [k for k, _ in rows], start + 1)


def _check_labels(p: Path, labels: list[str], lines: list[int]) -> None:
    seen: dict[str, int] = {}
    for lab, k in zip(labels, lines, strict=True):
        if lab == "":
            raise GeometryError(f"{p}: line {k} has an empty label")
        if lab in seen:
            raise GeometryError(f"{p}: label {lab!r} appears twice (lines {seen[lab]} and {k})")
        seen[lab] = k


def _read_table(path: object) -> tuple[Path, _Table]:
    p = _open_checked(path)
    return p, (_read_npy(p) if p.suffix.lower() == ".npy" else _read_text(p))


def _first_bad(bad: np.ndarray) -> tuple[int, ...]:
    return tuple(int(x) for x in np.argwhere(bad)[0])


def _require_finite(p: Path, table: _Table, values: np.ndarray, what: str, entries: str) -> None:
    """GeometryError naming the first NaN or infinite entry of a 2-D table, if any."""
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = _first_bad(bad)
        raise GeometryError(
            f"{p}: {what} {values[i, j]} at {table.where(i, j)} is not finite ({int(bad.sum())} {entries} in all)"
        )


def from_coordinates_file(
    path: str | os.PathLike, *, metric: str = "euclidean", units: str = "mm"
) -> Geometry:
    """Neuron positions read from a file.

    Parameters
    ----------
    path:
        ``.npy`` file holding one real ``(N, d)`` array, or a text table (``.csv``,
        ``.tsv``, ``.txt``; comma, tab, semicolon or whitespace separated) with one row per
        neuron and ``d`` coordinate columns. A text table may start with a header line
        and may have a first column of unique labels (region names). Blank lines and
        lines starting with ``#`` are skipped. Needs ``N >= 2`` and ``d`` in 1..3.
    metric:
        ``"euclidean"`` or ``"manhattan"``, for the distance matrix.
    units:
        Length unit of the coordinates (``"mm"`` by default); distances share it.

    Returns
    -------
    :class:`Geometry` with ``positions`` ``(N, d)``, ``distances`` ``(N, N)`` and the
    labels, if the file has a label column.

    Raises
    ------
    GeometryError
        The file is missing, unreadable or garbled, has the wrong shape, or holds a
        non-number, NaN or infinity; the message names the file and the entry.
    """
    metric = check_metric(metric)
    p, table = _read_table(path)
    pos = table.values
    if pos.ndim != 2:
        raise GeometryError(
            f"{p}: expected an (N, d) array of coordinates, got an array of shape {pos.shape}"
        )
    n, d = pos.shape
    if not 1 <= d <= 3:
        raise GeometryError(f"{p}: expected 1 to 3 coordinate columns, got {d}")
    if n < 2:
        raise GeometryError(f"{p}: expected coordinates of at least 2 neurons, got {n}")
    _require_finite(p, table, pos, "coordinate", "non-finite entries")
    return Geometry(
        distances=distance_matrix(pos, metric),
        positions=pos,
        labels=None if table.labels is None else tuple(table.labels),
        units=units,
    )


def from_distance_file(path: str | os.PathLike, *, units: str = "mm") -> Geometry:
    """A distance matrix read from a file, without positions.

    Parameters
    ----------
    path:
        ``.npy`` file holding one real ``(N, N)`` array, or a text table (as in
        :func:`from_coordinates_file`) of ``N`` rows of ``N`` numbers; ``[i, j]`` is the
        distance from neuron ``j`` to neuron ``i``. A text table may have a header line of
        ``N`` column names (optionally after an empty corner cell) and/or a first column
        of ``N`` row labels; when both are given they must agree. Needs ``N >= 2``, every
        entry finite and ``>= 0``, and an exactly zero diagonal. Symmetry is not
        required.
    units:
        Length unit of the distances (``"mm"`` by default).

    Returns
    -------
    :class:`Geometry` with ``distances`` ``(N, N)``, ``positions=None`` and the labels,
    if the file names its rows or columns.

    Raises
    ------
    GeometryError
        The file is missing, unreadable or garbled, not square, smaller than 2 x 2, or
        holds a NaN, infinite, negative or non-zero diagonal entry; the message names the
        file and the first offending entry.
    """
    p, table = _read_table(path)
    dist = table.values
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        shape = f"{dist.shape[0]} rows x {dist.shape[1]} columns" if dist.ndim == 2 else f"shape {dist.shape}"
        raise GeometryError(f"{p}: distance matrix must be square (N x N), got {shape}")
    n = dist.shape[0]
    if n < 2:
        raise GeometryError(f"{p}: distance matrix must be at least 2 x 2, got {n} x {n}")

    _require_finite(p, table, dist, "distance", "NaN or infinite entries")
    neg = dist < 0
    if neg.any():
        i, j = _first_bad(neg)
        raise GeometryError(
            f"{p}: distance {dist[i, j]:g} at {table.where(i, j)} is negative; distances must "
            f"be >= 0 ({int(neg.sum())} negative entries in all)"
        )
    diag = np.flatnonzero(np.diagonal(dist) != 0)
    if diag.size:
        i = int(diag[0])
        raise GeometryError(
            f"{p}: diagonal {table.where(i, i)} is {dist[i, i]:g}; the distance from a neuron to "
            f"itself must be 0 ({diag.size} non-zero diagonal entries in all)"
        )

    labels = table.labels
    if table.columns is not None:
        if labels is None:
            labels = table.columns
            dup = {c for c, k in Counter(labels).items() if k > 1}
            if dup or "" in labels:
                what = f"name {sorted(dup)[0]!r} twice" if dup else "an empty name"
                raise GeometryError(f"{p}: the header line has {what}")
        elif list(table.columns) != list(labels):
            raise GeometryError(
                f"{p}: the column names in the header differ from the row labels in the first column"
            )
    return Geometry(
        distances=dist,
        positions=None,
        labels=None if labels is None else tuple(labels),
        units=units,
    )


def read_connectivity_file(path: str | os.PathLike, n: int) -> np.ndarray:
    """An ``(n, n)`` connectivity (adjacency or weight) matrix read from a file.

    The file is a ``.npy`` array or a text table read as :func:`from_distance_file` reads
    one (header and row labels allowed). Non-zero entries are synapses. Every entry must be
    finite; the matrix must be ``n x n``, the network's size.

    Raises
    ------
    GeometryError
        The file is missing, unreadable, not ``n x n``, or holds a NaN or infinite entry;
        the message names the file and the first offending entry.
    """
    p, table = _read_table(path)
    m = table.values
    if m.ndim != 2 or m.shape != (n, n):
        shape = f"{m.shape[0]} rows x {m.shape[1]} columns" if m.ndim == 2 else f"shape {m.shape}"
        raise GeometryError(f"{p}: connectivity must be {n} x {n}, one row and column per neuron; got {shape}")
    _require_finite(p, table, m, "entry", "NaN or infinite entries")
    return m
