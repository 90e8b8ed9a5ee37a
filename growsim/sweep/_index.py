"""The sweep's index: one row per point (CSV, `index.csv` in the output folder).

The run files are the truth; the index is rewritten from them and from the runs' results
as the sweep goes, so that a person (or pandas, or a spreadsheet) sees at a glance where
the sweep stands. It is written to a hidden file and renamed over the old one, so a reader
never sees half of it.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

INDEX_NAME = "index.csv"
STATUSES = ("pending", "running", "completed", "failed", "interrupted")

# The columns of every index, in order; the varied fields come between `spec` and `overrides`.
HEAD_COLUMNS = (
    "point",  # the point's number in the sweep (0-based, in the sweep file's order)
    "name",  # its file stem: the varied fields, shortened
    "file",  # its run file, relative to the output folder
    "status",  # pending, running, completed, failed or interrupted
    "reason",  # why it failed or was interrupted
    "perf_mean",  # final mean task performance (the run file's last series/perf_mean)
    "modularity_q",  # final Q
    "connections",  # final number of recurrent synapses
    "n_solved",  # final N_solved of a curriculum (Hamidi et al.)
    "fn_wiring_length",  # final wiring length of active connections (Liu et al.)
    "fn_n_active_neurons",  # final number of active neurons (Liu et al.)
    "fn_isolated_fraction",  # final fraction of isolated neurons (Liu et al.)
    "last_step",  # the last step written (-1: none)
    "batches",  # batches planned
    "wall_time_s",  # seconds the run took (over all its sessions, when resumed)
    "host",  # the machine that wrote the run file
    "spec",  # the base spec, as the sweep file names it
)
TAIL_COLUMNS = ("overrides",)  # the point's --set arguments, as a JSON list
# Final values of these series columns (NaN where a run has no such column).
FINAL_METRICS = (
    "perf_mean", "modularity_q", "connections", "n_solved", "fn_wiring_length", "fn_n_active_neurons", "fn_isolated_fraction",
)
NUMERIC = ("point", *FINAL_METRICS, "last_step", "batches", "wall_time_s")


def index_path(folder: str | Path) -> Path:
    return Path(folder) / INDEX_NAME


def write_index(folder: Path, rows: list[dict[str, Any]], varied: list[str]) -> None:
    columns = [*HEAD_COLUMNS, *[k for k in varied if k not in HEAD_COLUMNS], *TAIL_COLUMNS]
    target = index_path(folder)
    tmp = target.with_name(f".{INDEX_NAME}.writing")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c, "")) for c in columns])
    os.replace(tmp, target)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def read_index_rows(folder: Path) -> dict[str, dict[str, str]]:
    """The rows of an existing index, by point name ({} when there is none or it is unreadable)."""
    path = index_path(folder)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return {row["name"]: row for row in csv.DictReader(fh) if row.get("name")}
    except (OSError, csv.Error, KeyError, UnicodeDecodeError):
        return {}


def read_index(folder: str | Path) -> pd.DataFrame:
    """A sweep's index as a DataFrame: one row per point.

    Columns: ``point``, ``name``, ``file``, ``status`` (pending, running, completed, failed,
    interrupted), ``reason``, ``perf_mean``, ``modularity_q``, ``connections`` (final values
    from the run file), ``last_step``, ``batches``, ``wall_time_s``, ``host``, ``spec``, then
    one column per varied field (``wiring.rule``, ``seed``...; lists and mappings as JSON
    text), then ``overrides``. Metrics are NaN where a point has none.
    """
    import pandas as pd

    path = index_path(folder)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {folder} is not a sweep's output folder (or it has not started)")
    text_columns = {c: str for c in ("name", "file", "status", "reason", "host", "spec", "overrides")}
    table = pd.read_csv(path, dtype=text_columns, keep_default_na=False)
    for column in NUMERIC:
        if column in table.columns:
            table[column] = pd.to_numeric(table[column].replace("", float("nan")), errors="coerce")
    for column in ("point", "last_step", "batches"):
        if column in table.columns and not table[column].isna().any():
            table[column] = table[column].astype("int64")
    return table
