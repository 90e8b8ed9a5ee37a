"""Many runs: a metric over training, mean and standard error across runs, grouped by spec fields."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from growsim.plots._common import metric_label, new_figure, style

if TYPE_CHECKING:
    import pandas as pd


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) if len(value) <= 4 else f"{len(value)} items"
    return str(value)


def _key(value: Any) -> tuple:
    """Sort numbers numerically and before everything else, which sorts as text."""
    return (0, value, "") if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, 0, str(value))


def mean_and_se(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per step: ``mean``, ``se`` (standard error, NaN with one run) and ``n`` runs of ``metric``.

    ``table`` has one row per run and step (columns ``run``, ``step`` and ``metric``).
    """
    per_run = table.dropna(subset=[metric]).groupby(["step", "run"])[metric].mean()  # one value per run and step
    grouped = per_run.groupby(level="step")
    out = grouped.agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    out["se"] = out["std"] / np.sqrt(out["n"])
    return out.drop(columns="std").reset_index()


def plot_compare(table: pd.DataFrame, by: Sequence[str], metric: str = "modularity_q") -> Figure:
    """``metric`` over training, mean ± standard error across runs (e.g. seeds).

    ``table`` is :func:`growsim.open_runs`' table. The first field of ``by`` makes the
    curves within a panel; the others (if any) make one panel per combination of values:
    ``by=["growth.initial_connections", "wiring.rule"]`` gives add_conn against fix_conn,
    one panel per wiring rule (Wu & Gu, Fig. 3A).
    """
    by = list(by)
    line_field, panel_fields = by[0], by[1:]
    table = table.copy()
    for field in by:  # a field one rule lacks (wiring.eta of random wiring) is a group of its own
        table[field] = table[field].astype(object).where(table[field].notna(), "(unset)")
    values = sorted(table[line_field].drop_duplicates().tolist(), key=_key)
    colours = {v: f"C{i % 10}" for i, v in enumerate(values)}
    if panel_fields:
        panels = sorted(table[panel_fields].drop_duplicates().itertuples(index=False, name=None), key=lambda t: tuple(map(_key, t)))
    else:
        panels = [()]
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    runs_total = table["run"].nunique()
    with style():
        fig = new_figure(4.2 * ncols + 1.6, 3.3 * nrows + 0.9)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
        for ax, panel in zip(axes, panels):
            rows = table
            for field, value in zip(panel_fields, panel):
                rows = rows[rows[field] == value]
            for value in values:
                sub = rows[rows[line_field] == value]
                if sub.empty:
                    continue
                stats = mean_and_se(sub, metric)
                if stats.empty:
                    continue
                low, high = int(stats["n"].min()), int(stats["n"].max())  # runs behind each point
                n_text = f"n = {high}" if low == high else f"n = {low} to {high}"
                ax.plot(stats["step"], stats["mean"], "-", color=colours[value], lw=1.6,
                        marker="o" if len(stats) <= 30 else None, ms=2.5,
                        label=f"{_fmt(value)} ({n_text})")
                se = stats["se"].to_numpy(dtype=float)
                ok = np.isfinite(se)
                if ok.any():
                    mean = stats["mean"].to_numpy(dtype=float)
                    ax.fill_between(stats["step"].to_numpy()[ok], (mean - se)[ok], (mean + se)[ok],
                                    color=colours[value], alpha=0.2, lw=0)
            ax.set_title(", ".join(f"{f} = {_fmt(v)}" for f, v in zip(panel_fields, panel)) or "all runs", fontsize=9.5)
            if ax.has_data():
                ax.legend(title=line_field, loc="best", title_fontsize=8)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax in axes[(nrows - 1) * ncols :]:
            ax.set_xlabel("training batches")
        for ax in axes[::ncols]:
            ax.set_ylabel(metric_label(metric))
        grouping = f"by {line_field}" + (f", one panel per {' and '.join(panel_fields)}" if panel_fields else "")
        fig.suptitle(f"{metric_label(metric)} over training: mean ± s.e. over runs\n{runs_total} runs, {grouping}")
    return fig
