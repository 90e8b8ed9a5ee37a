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


#: Synapses drawn with an arrowhead (pre to post) when no more than this many are drawn.
MAX_ARROWS = 400

#: Synapses of each projection drawn unless asked otherwise: the strongest this many. A fully
#: connected network of 100 neurons has 9,900, a tangle in which no structure shows; this
#: many still get their arrowheads.
DEFAULT_TOP_K = MAX_ARROWS


def select_synapses(w: np.ndarray, *, top_k: int | None = None, threshold: float | None = None,
                    diagonal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the entries of ``w`` to draw, weakest first: every nonzero entry
    (the diagonal left out unless ``diagonal``), those with ``|w| > threshold`` when given,
    then the ``top_k`` strongest of them when given."""
    a = np.abs(np.asarray(w, dtype=np.float64))
    keep = a > (0.0 if threshold is None else float(threshold))
    if not diagonal and a.shape[0] == a.shape[1]:
        np.fill_diagonal(keep, False)
    rows, cols = np.nonzero(keep)
    order = np.argsort(a[rows, cols], kind="stable")
    if top_k is not None:
        order = order[max(0, len(order) - int(top_k)):]
    return rows[order], cols[order]


def _rgba(values: np.ndarray, scale: float) -> np.ndarray:
    colors = np.array([to_rgba(POSITIVE if v > 0 else NEGATIVE) for v in values]).reshape(-1, 4)
    rel = np.abs(values) / scale if scale > 0 else np.zeros(len(values))
    colors[:, 3] = 0.15 + 0.7 * rel
    return colors


def plot_network(run: Run, step: int | None = None, view: str = "axial", *, top_k: int | None = DEFAULT_TOP_K,
                 threshold: float | None = None, layers: bool = True) -> Figure:
    """Neurons at their (projected) positions, coloured by community; every synapse a line
    from pre to post, red for positive and blue for negative weights, wider and darker the
    stronger it is (the strongest drawn on top), with an arrowhead at the post end when at
    most :data:`MAX_ARROWS` are drawn (on a line: arcs above run left to right, below right
    to left). ``threshold``: only synapses with ``|w|`` above it; ``top_k``: only the k
    strongest (of each projection; default :data:`DEFAULT_TOP_K`, 0 or None: all of them),
    which the figure says where it leaves some out. ``layers``: the input units in a row
    below the network and the output units in a row above it (Liu et al.'s Fig. 1a), with
    their synapses."""
    top_k = int(top_k) if top_k else None
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
    n_synapses = int(np.count_nonzero(w * (1 - np.eye(n))))
    post, pre = select_synapses(w, threshold=threshold)
    cut = top_k is not None and len(post) > top_k
    if cut:
        post, pre = post[len(post) - top_k:], pre[len(pre) - top_k:]
    scale = float(np.abs(w[post, pre]).max()) if len(post) else 1.0
    rel = np.abs(w[post, pre]) / scale if len(post) else np.zeros(0)
    # 1-D layouts (also distances of points on a line) draw synapses as arcs, or they would overlap.
    spread = np.ptp(xy, axis=0) if n else np.zeros(2)
    one_d = bool(spread[1] <= 1e-9 * max(spread[0], 1e-300))
    if one_d:
        segments = [_arc(xy[j], xy[i], up=j < i) for i, j in zip(post, pre)]
    else:
        segments = np.stack([xy[pre], xy[post]], axis=1) if len(post) else np.zeros((0, 2, 2))
    colors = _rgba(w[post, pre], scale)
    arrows = not one_d and 0 < len(post) <= MAX_ARROWS
    w_in, w_out = (snap.w_in, snap.w_out) if layers else (None, None)
    with style():
        span = np.ptp(xy, axis=0) + 1e-9
        aspect = min(1.6, max(0.35, span[1] / span[0])) if not one_d else 0.6
        if w_in is not None or w_out is not None:
            aspect = min(2.0, aspect + 0.5)
        # A plot area about 6.5 inches wide, the legend below it; its height follows the layout's shape.
        fig = new_figure(7.0, 6.5 * aspect + 1.8)
        ax = fig.subplots()
        shown = f"{len(post)} of {n_synapses} synapses" if len(post) < n_synapses else f"{n_synapses} synapses"
        title(fig, f"Network at step {snap.step}: {n} neurons, {shown}", run)
        if arrows:
            for (p0, p1), c, r in zip(segments, colors, rel):
                ax.annotate("", xy=p1, xytext=p0, zorder=1, arrowprops=dict(
                    arrowstyle="-|>", color=c, lw=0.3 + 2.7 * r, mutation_scale=6 + 6 * r, shrinkA=2, shrinkB=4))
        else:
            ax.add_collection(LineCollection(segments, colors=colors, linewidths=0.3 + 2.7 * rel, capstyle="round", zorder=1))
        size = 36 if n <= 100 else max(4.0, 3600 / n)
        colours = community_colors(labels)
        isolated = (np.count_nonzero(w, axis=0) + np.count_nonzero(w, axis=1)) == 0
        colours[isolated | (labels < 0)] = (0.85, 0.85, 0.85, 1.0)  # no synapse yet, or inactive: no community
        ax.scatter(xy[:, 0], xy[:, 1], s=size, c=colours, edgecolors="0.2", linewidths=0.4, zorder=2)
        layer_note, layer_cut = _draw_layers(ax, xy, w_in, w_out, one_d, top_k=top_k, threshold=threshold)
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
        if layer_note:
            handles.append(Line2D([], [], marker="s", ls="none", color="0.4", label=layer_note))
        direction = ("arcs above: left to right, below: right to left" if one_d else
                     "arrow: pre to post" if arrows else f"direction not drawn above {MAX_ARROWS} synapses (use --top-k)")
        handles.append(Line2D([], [], ls="none", label=direction))
        # Below the plot: at the upper right it ran into the two-line title.
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
        picked = []
        if threshold is not None:
            picked.append(f"|w| > {threshold:g}")
        if cut or layer_cut:  # only where the cap left synapses out
            picked.append(f"the {top_k} strongest of each projection")
        ax.set_title(f"{how}; {source}" + (f"\ndrawn: {', '.join(picked)}" if picked else ""), fontsize=8.5, color="0.3")
    return fig


def _draw_layers(ax, xy, w_in, w_out, one_d: bool, *, top_k, threshold) -> tuple[str, bool]:
    """Input units in a row below the network and output units in a row above, each joined to
    the hidden neurons by its (selected) synapses; returns the legend's text ('' if none) and
    whether ``top_k`` left some of their synapses out."""
    if w_in is None and w_out is None:
        return "", False
    cut = False
    x0, x1 = float(xy[:, 0].min()), float(xy[:, 0].max())
    width = max(x1 - x0, 1e-9)
    y0, y1 = float(xy[:, 1].min()), float(xy[:, 1].max())
    gap = 0.35 * width if one_d else 0.25 * max(width, y1 - y0)
    if one_d:  # arcs reach half the line's length above and below it
        y0, y1 = -0.5 * width, 0.5 * width
    parts = []
    for weights, y, side in ((w_in, y0 - gap, "in"), (w_out, y1 + gap, "out")):
        if weights is None:
            continue
        weights = np.asarray(weights, dtype=np.float64)
        units = weights.shape[1] if side == "in" else weights.shape[0]
        ux = np.linspace(x0, x1, units) if units > 1 else np.array([(x0 + x1) / 2])
        upos = np.column_stack([ux, np.full(units, y)])
        rows, cols = select_synapses(weights, threshold=threshold, diagonal=True)
        if top_k is not None and len(rows) > top_k:
            rows, cols, cut = rows[len(rows) - top_k:], cols[len(cols) - top_k:], True
        values = weights[rows, cols]
        scale = float(np.abs(values).max()) if len(values) else 1.0
        if side == "in":  # W_in[neuron, input]: from the input unit to the neuron
            segments = np.stack([upos[cols], xy[rows]], axis=1) if len(rows) else np.zeros((0, 2, 2))
        else:  # W_out[output, neuron]: from the neuron to the output unit
            segments = np.stack([xy[cols], upos[rows]], axis=1) if len(rows) else np.zeros((0, 2, 2))
        rel = np.abs(values) / scale if len(values) else values
        colors = _rgba(values, scale)
        colors[:, 3] *= 0.6
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=0.2 + 1.5 * rel, zorder=0))
        ax.scatter(upos[:, 0], upos[:, 1], s=14, marker="s", c="0.4", zorder=2)
        ax.annotate("inputs" if side == "in" else "outputs", (x0, y), xytext=(-6, 0), textcoords="offset points",
                    ha="right", va="center", fontsize=7.5, color="0.3")
        parts.append(f"{units} {'inputs (bottom)' if side == 'in' else 'outputs (top)'}")
    return " and ".join(parts), cut
