"""Kind `weights`: the recurrent weight matrix, neurons ordered by community or by position."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from growsim.plots._common import community_labels, new_figure, style, title
from growsim.reader import Run


#: How plot_weights orders rows and columns.
ORDERS = ("community", "position")


def plot_weights(run: Run, step: int | None = None, order: str = "community") -> Figure:
    """``W_rec`` at ``step`` (default: the end) with rows and columns ordered by community,
    community boundaries drawn, and a diverging colour map centred on 0 (absent synapses
    are exactly 0, drawn in the colour of 0). ``order="position"``: in the order of the
    neurons' positions (neuron k sits at position k; on a line, left to right; on a grid,
    row by row), where local wiring shows as a band along the diagonal (Liu et al.'s 1-D
    BIMT network, "strongly diagonal")."""
    from growsim.metrics import modularity_q

    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
    snap = run.weights(step)
    w = snap.w_rec.astype(np.float64)
    n = w.shape[0]
    if order == "position":
        return _by_position(run, snap, w)
    labels, source = community_labels(run, snap.step, w)
    labels = np.unique(labels, return_inverse=True)[1].ravel()  # 0..k-1, for bincount
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels)
    bounds = np.cumsum(sizes)[:-1] - 0.5
    vmax = float(np.abs(w).max()) or 1.0
    q = modularity_q(np.abs(w), labels)
    synapses = int(np.count_nonzero(snap.mask)) if snap.mask is not None else int(np.count_nonzero(w))
    with style():
        fig = new_figure(7.4, 7.0)
        ax = fig.subplots()
        title(fig, f"Recurrent weights W_rec at step {snap.step}: {n} neurons, {synapses} synapses, "
              f"{len(sizes)} communities, Q = {q:.3f}", run)
        im = ax.imshow(w[np.ix_(order, order)], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        for b in bounds:
            ax.axhline(b, color="0.15", lw=0.7)
            ax.axvline(b, color="0.15", lw=0.7)
        # Name the communities large enough to hold a label, along the top edge.
        centres = np.cumsum(sizes) - sizes / 2 - 0.5
        big = sizes >= max(3, n / 25)  # narrower blocks would crowd their labels
        ax.set_xticks(centres[big], [f"C{c + 1}" for c in np.flatnonzero(big)], fontsize=7)
        ax.set_yticks(centres[big], [f"C{c + 1}" for c in np.flatnonzero(big)], fontsize=7)
        ax.tick_params(length=0, top=True, labeltop=True, bottom=False, labelbottom=False)
        for spine in ax.spines.values():
            spine.set_visible(True)
        ax.set_xlabel(f"pre-synaptic neuron (column j), ordered by community\n({source})")
        ax.set_ylabel("post-synaptic neuron (row i), ordered by community")
        fig.colorbar(im, ax=ax, shrink=0.8, label="W_rec[post, pre]")
    return fig


def _by_position(run: Run, snap, w: np.ndarray) -> Figure:
    n = w.shape[0]
    synapses = int(np.count_nonzero(snap.mask)) if snap.mask is not None else int(np.count_nonzero(w))
    vmax = float(np.abs(w).max()) or 1.0
    with style():
        fig = new_figure(7.4, 7.0)
        ax = fig.subplots()
        title(fig, f"Recurrent weights W_rec at step {snap.step}: {n} neurons, {synapses} synapses, in position order", run)
        im = ax.imshow(w, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_xlabel("pre-synaptic neuron (column j), by position")
        ax.set_ylabel("post-synaptic neuron (row i), by position")
        fig.colorbar(im, ax=ax, shrink=0.8, label="W_rec[post, pre]")
    return fig
