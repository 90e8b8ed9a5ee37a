"""Figures of growsim runs, drawn with matplotlib's Agg canvas (no pyplot, no global state).

    from growsim.plots import plot_run, plot_compare, save
    fig = plot_run(open_run("runs/x.h5"), "growth")
    save(fig, "growth.png")

Kinds of :func:`plot_run`: see :data:`KINDS`.
"""

from __future__ import annotations

from growsim.plots._common import save
from growsim.plots.clusters import plot_clusters
from growsim.plots.compare import mean_and_se, plot_compare
from growsim.plots.growth import plot_growth
from growsim.plots.network import VIEWS, plot_network
from growsim.plots.training import plot_training
from growsim.plots.weights import plot_weights

#: kind -> what it shows.
KINDS = {
    "training": "loss and per-task performance over training",
    "growth": "modularity Q, communities and synapses over training, growth events marked",
    "weights": "W_rec at a step (default: the end), ordered by community",
    "network": "neurons at their positions, synapses as lines coloured by sign",
    "clusters": "the task-variance cluster map from /analysis (growsim analyze RUN task_variance)",
}

__all__ = [
    "KINDS",
    "VIEWS",
    "mean_and_se",
    "plot_clusters",
    "plot_compare",
    "plot_growth",
    "plot_network",
    "plot_run",
    "plot_training",
    "plot_weights",
    "save",
]


def plot_run(run, kind: str = "training", *, step: int | None = None, view: str = "axial", analysis: str | None = None):
    """The figure of one kind for ``run`` (a :class:`growsim.reader.Run`); returns a Figure.

    ``step`` picks the weights for ``weights`` and ``network`` (default: the end);
    ``view`` the projection of 3-D positions (axial, coronal, sagittal); ``analysis`` the
    /analysis group for ``clusters``.
    """
    if kind == "training":
        return plot_training(run)
    if kind == "growth":
        return plot_growth(run)
    if kind == "weights":
        return plot_weights(run, step)
    if kind == "network":
        return plot_network(run, step, view)
    if kind == "clusters":
        return plot_clusters(run, analysis)
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
