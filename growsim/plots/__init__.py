"""Figures of growsim runs, drawn with matplotlib's Agg canvas (no pyplot, no global state).

    from growsim.plots import plot_run, plot_compare, save
    fig = plot_run(open_run("runs/x.h5"), "growth")
    save(fig, "growth.png")

Kinds of :func:`plot_run`: see :data:`KINDS`.
"""

from __future__ import annotations

from growsim.plots._common import save
from growsim.plots.anatomy import plot_anatomy
from growsim.plots.clusters import plot_clusters
from growsim.plots.compare import mean_and_se, plot_compare
from growsim.plots.growth import plot_growth
from growsim.plots.network import DEFAULT_TOP_K, VIEWS, plot_network
from growsim.plots.training import plot_training
from growsim.plots.weights import plot_weights

#: kind -> what it shows; a chain run (Hamidi et al.) gets its own version of the first four.
KINDS = {
    "training": "loss and performance over training; chain runs: the curriculum",
    "growth": "modularity Q, communities and synapses, growth events marked; chain runs: modules and heads",
    "weights": "W_rec at a step (default: the end), ordered by community or by position; chain runs: the block matrix",
    "network": "neurons at their positions, synapses as lines coloured by sign; chain runs: the chain of modules",
    "clusters": "the task-variance cluster map from /analysis (growsim analyze RUN task_variance)",
    "anatomy": "functional clusters on the grid, isolated neurons ringed, against shuffles (log.functional)",
}

__all__ = [
    "DEFAULT_TOP_K",
    "KINDS",
    "VIEWS",
    "mean_and_se",
    "plot_anatomy",
    "plot_clusters",
    "plot_compare",
    "plot_growth",
    "plot_network",
    "plot_run",
    "plot_training",
    "plot_weights",
    "save",
]


def plot_run(run, kind: str = "training", *, step: int | None = None, view: str = "axial", analysis: str | None = None,
             top_k: int | None = DEFAULT_TOP_K, threshold: float | None = None, layers: bool = True,
             order: str = "community"):
    """The figure of one kind for ``run`` (a :class:`growsim.reader.Run`); returns a Figure.

    ``step`` picks the weights for ``weights`` and ``network`` (default: the end) and the
    functional report for ``anatomy`` (default: the last);
    ``view`` the projection of 3-D positions (axial, coronal, sagittal); ``analysis`` the
    /analysis group for ``clusters``.
    ``order`` sorts the neurons of ``weights`` (community, or position);
    ``top_k`` (default the strongest :data:`DEFAULT_TOP_K` of each projection; 0 or None:
    every synapse), ``threshold`` and ``layers`` choose what ``network`` draws of a leaky RNN
    (:func:`growsim.plots.network.plot_network`). A chain run (``run.network_kind == "chain"``) gets
    the chain's figures (growsim.plots.chain); ``clusters`` does not apply to it and raises
    :class:`growsim.reader.RunFileError`.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if run.network_kind == "chain":
        from growsim.plots import chain

        if kind == "training":
            return chain.plot_chain_training(run)
        if kind == "growth":
            return chain.plot_chain_growth(run)
        if kind == "weights":
            return chain.plot_chain_weights(run, step)
        if kind == "network":
            return chain.plot_chain_network(run, step)
        raise chain.not_for_chain(run, kind)
    if kind == "training":
        return plot_training(run)
    if kind == "growth":
        return plot_growth(run)
    if kind == "weights":
        return plot_weights(run, step, order)
    if kind == "network":
        return plot_network(run, step, view, top_k=top_k, threshold=threshold, layers=layers)
    if kind == "clusters":
        return plot_clusters(run, analysis)
    if kind == "anatomy":
        return plot_anatomy(run, step)
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
