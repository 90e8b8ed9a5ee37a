"""Kind `network`: neurons at their positions, synapses as lines (BIMT-style)."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from growsim.plots._common import (
    NEGATIVE,
    POSITIVE,
    community_colors,
    community_labels,
    new_figure,
    style,
    title,
)
from growsim.reader import Geometry, Run, RunFileError

#: 2-D views of 3-D positions: the two coordinate axes each keeps.
VIEWS = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}
_ATLAS_AXES = ("x: left to right", "y: posterior to anterior", "z: inferior to superior")


def classical_mds(distances: np.ndarray, dim: int = 2) -> np.ndarray:
    """Points (N, dim) whose Euclidean distances approximate ``distances`` (N, N) (Torgerson)."""
    d2 = np.asarray(distances, float) ** 2
    n = d2.shape[0]
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ d2 @ j
    vals, vecs = np.linalg.eigh(b)
    top = np.argsort(vals)[::-1][:dim]
    return vecs[:, top] * np.sqrt(np.maximum(vals[top], 0.0))


def project(geo: Geometry, view: str = "axial") -> tuple[np.ndarray, tuple[str, str], str]:
    """2-D positions (N, 2) of the neurons, the axis labels, and a note on how they were made."""
    units = f" ({geo.units})" if geo.units else ""
    if geo.positions is None:
        return classical_mds(geo.distances), ("MDS 1", "MDS 2"), "positions from the distance matrix (classical MDS)"
    pos = geo.positions
    if pos.shape[1] == 1:
        return np.column_stack([pos[:, 0], np.zeros(len(pos))]), (f"position{units}", ""), "1-D positions"
    if pos.shape[1] == 2:
        return pos[:, :2], (f"x{units}", f"y{units}"), "2-D positions"
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
    a, b = VIEWS[view]
    names = _ATLAS_AXES if geo.kind == "atlas" else ("x", "y", "z")
    return pos[:, [a, b]], (f"{names[a]}{units}", f"{names[b]}{units}"), f"{view} view of 3-D positions"


def _arc(p: np.ndarray, q: np.ndarray, up: bool, points: int = 24) -> np.ndarray:
    """A half circle from p to q on a line (1-D layouts): above if ``up``, else below."""
    t = np.linspace(0, np.pi, points)
    centre, radius = (p[0] + q[0]) / 2, abs(q[0] - p[0]) / 2
    x = centre - np.cos(t) * (q[0] - p[0]) / 2
    y = (1 if up else -1) * np.sin(t) * radius
    return np.column_stack([x, y])


def plot_network(run: Run, step: int | None = None, view: str = "axial") -> Figure:
    """Neurons at their (projected) positions, coloured by community; every synapse a line
    from pre to post, red for positive and blue for negative weights, wider and darker the
    stronger it is (the strongest drawn on top)."""
    snap = run.weights(step)
    geo = run.geometry()
    w = snap.w_rec.astype(np.float64)
    n = w.shape[0]
    if geo.distances.shape[0] < n:
        raise RunFileError(f"{run.path}: the geometry has {geo.distances.shape[0]} neurons, the weights at step {snap.step} {n}")
    xy, (xlabel, ylabel), how = project(geo, view)
    if len(xy) > n:  # a network that grows later: its first n neurons exist at this step
        xy, how = xy[:n], f"{how}; the first {n} of {len(xy)} neurons"
    labels, source = community_labels(run, snap.step, w)
    post, pre = np.nonzero(w * (1 - np.eye(n)))
    strength = np.abs(w[post, pre])
    order = np.argsort(strength)
    post, pre, strength = post[order], pre[order], strength[order]
    rel = strength / strength.max() if len(strength) else strength
    # 1-D layouts (also distances of points on a line) draw synapses as arcs, or they would overlap.
    spread = np.ptp(xy, axis=0) if n else np.zeros(2)
    one_d = bool(spread[1] <= 1e-9 * max(spread[0], 1e-300))
    if one_d:
        segments = [_arc(xy[j], xy[i], up=j < i) for i, j in zip(post, pre)]
    else:
        segments = np.stack([xy[pre], xy[post]], axis=1) if len(post) else np.zeros((0, 2, 2))
    colors = np.array([to_rgba(POSITIVE if w[i, j] > 0 else NEGATIVE) for i, j in zip(post, pre)]).reshape(-1, 4)
    colors[:, 3] = 0.15 + 0.7 * rel
    with style():
        span = np.ptp(xy, axis=0) + 1e-9
        aspect = min(1.6, max(0.35, span[1] / span[0])) if not one_d else 0.6
        # A plot area about 6.5 inches wide, the legend below it; its height follows the layout's shape.
        fig = new_figure(7.0, 6.5 * aspect + 1.8)
        ax = fig.subplots()
        title(fig, f"Network at step {snap.step}: {n} neurons, {len(post)} synapses", run)
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=0.3 + 2.7 * rel, capstyle="round", zorder=1))
        size = 36 if n <= 100 else max(4.0, 3600 / n)
        colours = community_colors(labels)
        isolated = (np.count_nonzero(w, axis=0) + np.count_nonzero(w, axis=1)) == 0
        colours[isolated] = (0.85, 0.85, 0.85, 1.0)  # no synapse yet: its community means nothing
        ax.scatter(xy[:, 0], xy[:, 1], s=size, c=colours, edgecolors="0.2", linewidths=0.4, zorder=2)
        if n <= 30:
            for i, (x, y) in enumerate(xy):
                ax.annotate(str(i), (x, y), xytext=(3, 3), textcoords="offset points", fontsize=7, color="0.3")
        ax.autoscale_view()
        ax.margins(0.04)
        if not one_d:
            ax.set_aspect("equal", adjustable="datalim")  # "box" lets constrained layout clip the y label
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if one_d:
            ax.set_yticks([])
        handles = [
            Line2D([], [], color=POSITIVE, lw=2, label="positive weight"),
            Line2D([], [], color=NEGATIVE, lw=2, label="negative weight"),
            Line2D([], [], color="0.5", lw=0.4, label="line width ∝ |w|"),
            Line2D([], [], marker="o", ls="none", color="C0", markeredgecolor="0.2", label="neuron (colour: community)"),
        ]
        if isolated.any():
            handles.append(Line2D([], [], marker="o", ls="none", color="0.85", markeredgecolor="0.2",
                                  label=f"neuron without synapses ({int(isolated.sum())})"))
        # Below the plot: at the upper right it ran into the two-line title.
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
        ax.set_title(f"{how}; {source}", fontsize=8.5, color="0.3")
    return fig
