"""Kind `anatomy`: the functional clusters on the grid (Liu et al., Fig. 1c), from log.functional."""

from __future__ import annotations

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from growsim.plots._common import community_colors, message, new_figure, style, title
from growsim.reader import Run, RunFileError


def plot_anatomy(run: Run, step: int | None = None) -> Figure:
    """Each neuron at its grid position, coloured by its functional cluster at `step` (default:
    the last step with a functional report); inactive neurons grey, isolated ones (no
    neighbour of their cluster) ringed. Left: the grid; middle: isolated fraction against its
    shuffle distribution over training; right (runs that store the shuffles' quantile
    function): the shuffles' histogram at `step` with the observed value (Liu et al., Fig. 2b)."""
    from growsim.metrics import isolated_neurons
    from growsim.metrics.functional import grid_coords

    try:
        steps, labels = run.series_array("fn_labels")
    except RunFileError:
        raise RunFileError(f"{run.path} has no functional report (log.functional.every in the spec)") from None
    _, n_active = run.series_array("fn_n_active_neurons")
    taken = np.flatnonzero(np.any(labels != -1, axis=1) | np.isfinite(n_active))
    if not taken.size:
        raise RunFileError(f"{run.path} has no functional report rows yet")
    row = taken[-1] if step is None else _row(steps, taken, step, run)
    shape = tuple(run.spec.get("network", {}).get("geometry", {}).get("shape") or ())
    if not shape:
        raise RunFileError(f"{run.path} is not on a grid: the anatomy figure needs network.geometry.kind grid")
    coords = grid_coords(shape)
    lab = labels[row].astype(np.int64)
    xy = coords if coords.shape[1] == 2 else np.column_stack([coords[:, 0], np.zeros(len(coords))])
    _, iso_series = run.series_array("fn_isolated_fraction")
    _, pct_series = run.series_array("fn_isolated_fraction_percentile")
    _, q = run.series_array("fn_isolated_fraction_null_quantiles")
    try:
        _, percentiles = run.series_array("fn_isolated_fraction_null_percentiles")
    except RunFileError:  # runs from before it was stored
        percentiles = None
    with style():
        fig = new_figure(10.0 if percentiles is None else 14.0, 4.6)
        k = int(lab.max() + 1) if (lab >= 0).any() else 0
        title(fig, f"Functional clusters on the grid at step {int(steps[row])}: {k} clusters, "
                   f"{int((lab >= 0).sum())} active neurons", run)
        if percentiles is None:
            ax, ax2 = fig.subplots(1, 2, width_ratios=[1.1, 1])
        else:
            ax, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.1, 1, 1])
            null_histogram(ax3, percentiles[row], iso_series[row], pct_series[row])
        ax.set_aspect("equal")
        ax.axis("off")
        active = lab >= 0
        ax.scatter(xy[~active, 1], -xy[~active, 0], s=14, color="0.85", label="inactive")
        if active.any():
            iso = isolated_neurons(coords, lab)
            ax.scatter(xy[active, 1], -xy[active, 0], s=30, c=community_colors(lab[active]))
            ax.scatter(xy[iso, 1], -xy[iso, 0], s=60, facecolors="none", edgecolors="black", linewidths=0.8,
                       label="isolated")
            cluster_key(ax, lab)
        else:
            message(ax, "no active neurons")
        finite = np.isfinite(iso_series)
        ax2.plot(steps[finite], iso_series[finite], "o-", color="C3", label="observed")
        if q.ndim == 2 and q.shape[1] >= 3:
            ok = finite & np.all(np.isfinite(q), axis=1)
            ax2.fill_between(steps[ok], q[ok, 0], q[ok, -1], color="0.8", label="shuffles, 5th to 95th pct")
            ax2.plot(steps[ok], q[ok, q.shape[1] // 2], color="0.5", lw=1, label="shuffles, median")
        for s, v, p in zip(steps[finite], iso_series[finite], pct_series[finite]):
            ax2.annotate(f"{p:.0f}", (s, v), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
        ax2.set_xlabel("training batches")
        ax2.set_ylabel("fraction of isolated neurons")
        ax2.set_title("observed (its percentile) against shuffles", fontsize=9)
        ax2.legend(fontsize=7, frameon=False)
    return fig


#: Up to this many clusters get a legend entry each (tab20 tells them apart); more, a colour bar.
MAX_CLUSTER_ENTRIES = 20


def cluster_key(ax, labels: np.ndarray) -> None:
    """Which colour is which cluster, below the grid: a legend entry per cluster (its id and
    its number of neurons) beside the inactive and isolated markers already labelled on
    ``ax``; above :data:`MAX_CLUSTER_ENTRIES` clusters those two only, and a colour bar keyed
    by cluster id. ``labels`` (N,) int: the cluster of each neuron, -1 when inactive."""
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    handles, texts = ax.get_legend_handles_labels()
    if len(ids) <= MAX_CLUSTER_ENTRIES:
        colours = community_colors(ids)
        handles += [Line2D([], [], marker="o", ls="none", color=c, markersize=5) for c in colours]
        texts += [f"cluster {i}: {n}" for i, n in zip(ids, counts)]
    else:
        k = int(ids.max()) + 1
        bar = ScalarMappable(norm=BoundaryNorm(np.arange(k + 1) - 0.5, k),
                             cmap=ListedColormap(community_colors(np.arange(k))))
        ax.figure.colorbar(bar, ax=ax, location="left", shrink=0.8, label="cluster", ticks=_every_tick(k))
    ax.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(4, len(texts)),
              frameon=False, fontsize=7, handletextpad=0.2, columnspacing=0.8,
              title="cluster: its number of neurons" if len(ids) <= MAX_CLUSTER_ENTRIES else None, title_fontsize=7)


def _every_tick(k: int) -> np.ndarray:
    """About ten ticks over cluster ids 0 to k-1."""
    return np.arange(0, k, max(1, k // 10))


def null_histogram(ax, percentiles: np.ndarray, observed: float, percentile: float) -> None:
    """The shuffles' histogram drawn from their quantile function (101 values, at 0 to 100
    percent: each tenth of a percent of the shuffles placed by interpolating it), and the
    observed value with its percentile."""
    if not np.all(np.isfinite(percentiles)):
        message(ax, "no shuffles at this step")
        return
    spread = np.interp(np.linspace(0.0, 100.0, 1001), np.linspace(0.0, 100.0, len(percentiles)), percentiles)
    low, high = float(min(spread.min(), observed)), float(max(spread.max(), observed))
    bins = np.linspace(low, high if high > low else low + 1e-9, 26)
    ax.hist(spread, bins=bins, color="0.7", weights=np.full(spread.size, 100.0 / spread.size), label="shuffles")
    ax.axvline(observed, color="C3", lw=1.8, label=f"observed ({percentile:.1f}th percentile)")
    ax.set_xlabel("fraction of isolated neurons")
    ax.set_ylabel("% of shuffles")
    ax.set_title("observed against the shuffles at this step", fontsize=9)
    ax.legend(fontsize=7, frameon=False)


def _row(steps: np.ndarray, taken: np.ndarray, step: int, run: Run) -> int:
    hits = taken[steps[taken] == step]
    if not hits.size:
        raise RunFileError(
            f"{run.path} has no functional report at step {step}; it has: {', '.join(str(int(s)) for s in steps[taken])}"
        )
    return int(hits[0])
