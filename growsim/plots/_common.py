"""What every figure shares: an Agg figure outside pyplot, the house style, titles, labels."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from growsim.reader import Run, RunFileError

# Applied only while a figure is drawn (rc_context), so a user's own settings are untouched.
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.titlesize": 11,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "image.interpolation": "nearest",
}

POSITIVE = "#c0392b"  # weights > 0
NEGATIVE = "#2166ac"  # weights < 0

# Readable names of the series columns.
METRIC_LABELS = {
    "modularity_q": "modularity Q",
    "perf_mean": "mean performance (fraction correct)",
    "loss": "test loss",
    "train_loss": "training loss",
    "connections": "synapses",
    "n_communities": "communities",
    "lr": "learning rate",
    "wall_time": "wall time (s)",
    "n_solved": "N_solved (largest parity level solved)",
    "n_current": "parity level in training",
    "n_modules": "modules",
    "n_trainable": "trainable parameters",
    "n_parameters": "parameters",
    "perf_newest": "accuracy of the newest level",
}


@contextmanager
def style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure drawn by Agg, independent of pyplot's global state and of the user's backend."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` (format from the suffix: png, pdf, svg...), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with style():
        fig.savefig(path, dpi=dpi)
    return path


def metric_label(metric: str) -> str:
    if "/" in metric:
        kind, _, task = metric.partition("/")
        return f"{'performance' if kind == 'perf' else kind.replace('_', ' ')}: {task}"
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def run_label(run: Run) -> str:
    """Which run: its spec name, seed and file; and how it ended when it did not complete."""
    text = f"{run.name}, seed {run.seed} ({run.path.name})"
    if run.status != "completed":
        text += f", {run.status} at step {run.last_step} of {run.batches}"
    return text


def title(fig: Figure, what: str, run: Run) -> None:
    fig.suptitle(f"{what}\n{run_label(run)}", fontsize=11)


def message(ax, text: str) -> None:
    """Say in the panel why it is empty."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="0.35", wrap=True)


def step_edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges of logged steps (k,) -> (k+1,), each step at the centre of its cell when
    the steps are evenly spaced: halfway between neighbours, and the end cells as wide as
    their neighbour's gap (a value logged at step s is drawn over s, not beside it). A single
    step gets a cell one batch wide."""
    steps = np.asarray(steps, dtype=float)
    if len(steps) == 1:
        return np.array([steps[0] - 0.5, steps[0] + 0.5])
    middles = (steps[1:] + steps[:-1]) / 2
    return np.concatenate([[steps[0] - (middles[0] - steps[0])], middles, [steps[-1] + (steps[-1] - middles[-1])]])


def accuracy_map(ax, steps: np.ndarray, values: np.ndarray, rows: list[str], *, vmin: float, title: str,
                 every: int = 1, fontsize: float = 8) -> None:
    """A heat map of the fraction correct of each row (a task, a level) at the logged steps:
    values (k steps, rows), NaN drawn white; every `every`-th row labelled. Its colour bar is
    an inset beside the axes, which keeps the x axis aligned with the panels above."""
    n = len(rows)
    mesh = ax.pcolormesh(step_edges(np.asarray(steps, dtype=float)), np.arange(n + 1) - 0.5, values.T,
                         cmap="viridis", vmin=vmin, vmax=1, shading="flat")
    ticks = np.arange(0, n, every)
    ax.set_yticks(ticks, [rows[i] for i in ticks], fontsize=fontsize)
    ax.set_ylim(n - 0.5, -0.5)
    ax.figure.colorbar(mesh, cax=ax.inset_axes([1.01, 0.0, 0.015, 1.0]), label="fraction correct")
    ax.set_title(title, loc="left", fontsize=9)


def loss_panel(ax, series, train, *, over: str) -> None:
    """Training loss (each batch, and a running mean) and test loss (its mean `over` the
    tasks or levels, at each log step) on one axis; log-scaled when every value is > 0."""
    if len(train):
        x = train["step"].to_numpy() + 1  # batch i is done at step i + 1
        y = train["loss"].to_numpy(dtype=float)
        ax.plot(x, y, color="0.75", lw=0.5, label="training loss, each batch")
        window = max(1, len(y) // 60)
        if window > 1:
            smooth = np.convolve(y, np.ones(window) / window, mode="valid")
            ax.plot(x[window - 1 :], smooth, color="0.25", lw=1.2, label=f"training loss, mean of {window} batches")
    if "loss" in series and series["loss"].notna().any():
        ax.plot(series["step"], series["loss"], "o-", color="#8e44ad", ms=3, lw=1.2, label=f"test loss, mean over {over}")
    if ax.has_data():
        values = np.concatenate([line.get_ydata() for line in ax.get_lines()])
        if np.all(values[np.isfinite(values)] > 0):
            ax.set_yscale("log")
        ax.legend(loc="best")
    else:
        message(ax, "no losses recorded yet")
    ax.set_ylabel("loss")


def event_rug(ax, steps: np.ndarray, *, label: str | None = None) -> None:
    """Growth events as short ticks along the bottom of ``ax`` (x in data, y in axes units)."""
    if len(steps) == 0:
        return
    ax.plot(steps, np.zeros(len(steps)), linestyle="none", marker="|", markersize=7, color="0.2",
            transform=ax.get_xaxis_transform(), clip_on=False, label=label, zorder=3)


def community_labels(run: Run, step: int, w_rec: np.ndarray) -> tuple[np.ndarray, str]:
    """Communities of the neurons at ``step``: the functional clusters of a report taken at that
    step (``log.functional``; -1 for inactive neurons), else the communities logged in
    training, else computed now.

    Returns labels (N,) int and where they come from (for the figure's caption).
    """
    n = w_rec.shape[0]
    try:
        steps, labels = run.series_array("fn_labels")
    except RunFileError:  # no functional report (log.functional)
        steps, labels = np.zeros(0, np.int64), np.zeros((0, n))
    rows = np.flatnonzero(steps == step)
    if rows.size and labels.shape[1] == n and np.any(labels[rows[-1]] >= 0):
        return labels[rows[-1]].astype(np.int64), "colour: functional cluster of the report at that step (grey: inactive)"
    try:
        steps, labels = run.communities()
        rows = np.flatnonzero(steps == step)
        if rows.size and labels.shape[1] == n and np.all(labels[rows[-1]] >= 0):
            return labels[rows[-1]].astype(np.int64), f"communities logged in training ({run.spec.get('log', {}).get('modularity', '')})"
    except RunFileError:  # not logged (log.modularity: none): compute below
        pass
    from growsim.metrics import communities

    return communities(np.abs(w_rec.astype(np.float64)), method="spectral").labels, "communities by the spectral method"


def community_colors(labels: np.ndarray) -> np.ndarray:
    """An RGBA colour per neuron (N, 4) from its community (tab20, cycling)."""
    cmap = matplotlib.colormaps["tab20" if labels.max(initial=0) >= 10 else "tab10"]
    return cmap(np.mod(labels, cmap.N))
