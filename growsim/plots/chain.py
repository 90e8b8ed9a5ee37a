"""The kinds of `growsim plot` for chain runs (Hamidi et al.'s chain of modules on the parity
curriculum): training (the curriculum), growth (modules and heads), weights (the block
structure of the dense-equivalent matrix) and network (modules as rings along the chain)."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from growsim.plots._common import (
    NEGATIVE,
    POSITIVE,
    accuracy_map,
    community_colors,
    event_rug,
    loss_panel,
    message,
    new_figure,
    style,
    title,
)
from growsim.reader import Run, RunFileError

#: Kinds that draw a chain run.
CHAIN_KINDS = ("training", "growth", "weights", "network")


def not_for_chain(run: Run, kind: str) -> RunFileError:
    """The error for a kind that does not apply to a chain run."""
    return RunFileError(
        f"--kind {kind} needs a task-variance analysis of a leaky-RNN run on the yang20 tasks; {run.path} is a chain "
        f"run on the parity curriculum (kinds for it: {', '.join(CHAIN_KINDS)})"
    )


def _levels_reached(run: Run, series) -> list[str]:
    """The per-level accuracy columns with at least one value (levels the curriculum reached)."""
    cols = [f"perf/{t}" for t in run.tasks if f"perf/{t}" in series]
    return [c for c in cols if series[c].notna().any()]


def _criterion(run: Run) -> float:
    return float(run.spec.get("task", {}).get("criterion", {}).get("newest", 0.98))


def plot_chain_training(run: Run) -> Figure:
    """Four panels over training batches: loss; the curriculum (N_solved and the level being
    trained); accuracy of the newest level and the mean over levels, with the criterion;
    and the accuracy of every level reached as a heat map."""

    series, train = run.series(), run.train()
    cols = _levels_reached(run, series)
    with style():
        fig = new_figure(8.5, 7.4 + 0.05 * len(cols))
        ax_loss, ax_n, ax_acc, ax_map = fig.subplots(4, 1, sharex=True, height_ratios=[1, 1, 1, max(1.0, 0.04 * len(cols))])
        title(fig, "Training: the N-parity curriculum", run)

        loss_panel(ax_loss, series, train, over="levels")

        steps = series["step"].to_numpy() if len(series) else np.zeros(0)
        if "n_solved" in series and series["n_solved"].notna().any():
            ax_n.step(steps, series["n_solved"], where="post", color="#c0392b", lw=1.6, label="N_solved (largest level solved)")
            ax_n.plot(steps, series["n_solved"], "o", color="#c0392b", ms=2.5)
            if "n_current" in series:
                ax_n.step(steps, series["n_current"], where="post", color="0.45", lw=1, ls="--",
                          label="level trained up to that evaluation")
            ax_n.yaxis.get_major_locator().set_params(integer=True)
            ax_n.legend(loc="upper left")
        else:
            message(ax_n, "no curriculum logged yet")
        ax_n.set_ylabel("level N")

        drawn = False
        for key, label, colour in (("perf_newest", "newest level", "#2e86c1"), ("perf_mean", "mean over levels", "#16a085")):
            if key in series and series[key].notna().any():
                ax_acc.plot(steps, series[key], "o-", ms=3, lw=1.3, color=colour, label=label)
                drawn = True
        if drawn:
            crit = _criterion(run)
            ax_acc.axhline(crit, color="0.3", lw=0.8, ls=":", label=f"criterion {crit:g}")
            ax_acc.legend(loc="lower right")
        else:
            message(ax_acc, "no accuracy logged yet")
        ax_acc.set_ylim(0.4, 1.02)
        ax_acc.set_ylabel("fraction correct")

        if cols and len(series):
            perf = series[cols].to_numpy(dtype=float)
            levels = [int(c.rsplit("_", 1)[1]) for c in cols]
            accuracy_map(ax_map, steps, perf, [f"N={n}" for n in levels], vmin=0.5,
                         title="accuracy of each level (white: not yet trained)", every=max(1, len(cols) // 12), fontsize=7)
        else:
            message(ax_map, "no accuracy logged yet")
        ax_map.set_xlabel("training batches")
    return fig


def _count_over_time(events, op: str, key: str, start: int, end: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A step function of a count that growth events of ``op`` set (``key`` + 1 of their details)."""
    rows = events[events["op"] == op] if len(events) else events
    x, y = [0], [start]
    for _, ev in rows.iterrows():
        value = ev.get(key)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        x.append(int(ev["step"]))
        y.append(int(value) + 1)
    if end is not None and end > x[-1]:
        x.append(end)
        y.append(y[-1])
    return np.array(x), np.array(y)


def plot_chain_growth(run: Run) -> Figure:
    """Three panels over training batches: modules (from the duplicate_module events, logged
    values as dots), readout heads (from add_readout events), and trainable parameters;
    every growth event a tick on the x axis."""
    series, events = run.series(), run.events()
    end = int(series["step"].max()) if len(series) else run.last_step
    initial = run.weights(0) if 0 in run.snapshot_steps() else None
    k0 = initial.n_modules if initial is not None else int(run.spec.get("network", {}).get("n_modules", 1))
    h0 = len(initial.extra.get("head_module", [])) if initial is not None else 1
    grown = events[events["step"] > 0] if len(events) else events
    with style():
        fig = new_figure(8.5, 6.4)
        ax_k, ax_h, ax_p = fig.subplots(3, 1, sharex=True, height_ratios=[1.3, 1, 1])
        title(fig, "Growth: modules and readout heads", run)

        x, y = _count_over_time(events, "duplicate_module", "module", k0, end)
        ax_k.step(x, y, where="post", color="#2471a3", lw=1.6, label="modules (from duplicate_module events)")
        if "n_modules" in series and series["n_modules"].notna().any():
            ax_k.plot(series["step"], series["n_modules"], "o", color="#c0392b", ms=3, label="logged")
        ax_k.set_ylabel("modules")
        ax_k.set_ylim(0, y.max() * 1.15 + 0.5)
        ax_k.yaxis.get_major_locator().set_params(integer=True)
        n_dup = int((grown["op"] == "duplicate_module").sum()) if len(grown) else 0
        n_head = int((grown["op"] == "add_readout").sum()) if len(grown) else 0
        event_rug(ax_k, grown["step"].to_numpy(), label=f"growth event ({len(grown)})" if len(grown) else None)
        ax_k.legend(loc="lower right")
        if not len(grown):
            ax_k.text(0.01, 0.06, "no growth events", transform=ax_k.transAxes, fontsize=8, color="0.35")

        x, y = _count_over_time(events, "add_readout", "head", h0, end)
        ax_h.step(x, y, where="post", color="#2e86c1", lw=1.6, label=f"readout heads ({n_head} added)")
        ax_h.set_ylabel("readout heads")
        ax_h.set_ylim(0, y.max() * 1.15 + 0.5)
        ax_h.yaxis.get_major_locator().set_params(integer=True)
        ax_h.legend(loc="lower right")
        event_rug(ax_h, grown["step"].to_numpy())

        if "n_trainable" in series and series["n_trainable"].notna().any():
            top = float(series["n_trainable"].max())
            if "n_parameters" in series and series["n_parameters"].notna().any():  # runs before it was logged lack it
                ax_p.plot(series["step"], series["n_parameters"], "o-", color="#7f8c8d", ms=3, lw=1.3, label="all parameters")
                top = float(series["n_parameters"].max())
            ax_p.plot(series["step"], series["n_trainable"], "o-", color="#16a085", ms=3, lw=1.3, label="trainable parameters")
            ax_p.set_ylim(0, top * 1.15)
            ax_p.legend(loc="lower right")
        else:
            message(ax_p, "trainable parameters not logged")
        ax_p.set_ylabel("parameters")
        event_rug(ax_p, grown["step"].to_numpy())
        ax_p.set_xlabel("training batches")
        ax_k.set_title(f"{n_dup} duplicate_module and {n_head} add_readout events", loc="left", fontsize=8.5, color="0.3")
    return fig


def plot_chain_weights(run: Run, step: int | None = None) -> Figure:
    """The chain at ``step`` as one dense matrix ``W[post, pre]``: each module's W_rec on the
    diagonal blocks, its W_ff (from the module before) below them, module boundaries drawn;
    and each neuron's trained tau underneath."""
    snap = run.weights(step)
    zero_diagonal = bool(run.spec.get("network", {}).get("zero_diagonal", True))
    w = snap.dense_w_rec(zero_diagonal=zero_diagonal).astype(np.float64)
    k, m = snap.n_modules, snap.w_rec.shape[1]
    n = k * m
    vmax = float(np.abs(w).max()) or 1.0
    tau = np.maximum(np.asarray(snap.extra.get("tau", np.ones((k, m))), float), 1.0).ravel()
    trainable = snap.extra.get("trainable")
    frozen = [] if trainable is None else [i for i in range(k) if not trainable[i].any()]
    with style():
        fig = new_figure(7.4, 8.2)
        ax, ax_tau = fig.subplots(2, 1, height_ratios=[6, 1])
        title(fig, f"Chain at step {snap.step}: {k} module{'s' * (k != 1)} of {m} neurons, "
              f"W_rec on the diagonal blocks, W_ff below", run)
        im = ax.imshow(w, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        for b in np.arange(1, k) * m - 0.5:
            ax.axhline(b, color="0.3", lw=0.5)
            ax.axvline(b, color="0.3", lw=0.5)
        every = max(1, k // 15)
        centres = np.arange(0, k, every) * m + m / 2 - 0.5
        names = [f"M{i}" for i in range(0, k, every)]
        ax.set_xticks(centres, names, fontsize=7)
        ax.set_yticks(centres, names, fontsize=7)
        ax.tick_params(length=0, top=True, labeltop=True, bottom=False, labelbottom=False)
        for spine in ax.spines.values():
            spine.set_visible(True)
        ax.set_xlabel("pre-synaptic neuron (column j), by module")
        ax.set_ylabel("post-synaptic neuron (row i), by module")
        fig.colorbar(im, ax=ax, shrink=0.8, label="W[post, pre]")
        colours = community_colors(np.repeat(np.arange(k), m))
        ax_tau.scatter(np.arange(n), tau, s=6 if n <= 300 else 2, c=colours, lw=0)
        for b in np.arange(1, k) * m - 0.5:
            ax_tau.axvline(b, color="0.8", lw=0.5)
        ax_tau.set_xlim(-0.5, n - 0.5)
        ax_tau.set_ylabel("trained tau (time steps)")
        ax_tau.set_xlabel("neuron (module by module)" + (f"; modules {_ranges(frozen)} frozen" if frozen else ""))
    return fig


def _ranges(values: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i == len(values) - 1 or values[i + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return ", ".join(out)


def plot_chain_network(run: Run, step: int | None = None) -> Figure:
    """The chain at ``step`` drawn as rings of neurons, one ring per module from left to right:
    recurrent synapses as chords inside a ring, feed-forward ones from each ring to the next,
    red for positive and blue for negative weights, darker and wider the stronger; each
    readout head a square under the module it reads, labelled with its level N."""
    snap = run.weights(step)
    k, m = snap.n_modules, snap.w_rec.shape[1]
    zero_diagonal = bool(run.spec.get("network", {}).get("zero_diagonal", True))
    w = snap.dense_w_rec(zero_diagonal=zero_diagonal).astype(np.float64)
    angle = 2 * np.pi * np.arange(m) / m + np.pi / 2
    ring = np.column_stack([np.cos(angle), np.sin(angle)])
    spacing = 3.0
    xy = np.concatenate([ring + [i * spacing, 0.0] for i in range(k)])
    post, pre = np.nonzero(w)
    strength = np.abs(w[post, pre])
    order = np.argsort(strength)
    post, pre, strength = post[order], pre[order], strength[order]
    rel = strength / strength.max() if len(strength) else strength
    segments = np.stack([xy[pre], xy[post]], axis=1) if len(post) else np.zeros((0, 2, 2))
    colors = np.array([to_rgba(POSITIVE) if w[i, j] > 0 else to_rgba(NEGATIVE) for i, j in zip(post, pre)]).reshape(-1, 4)
    colors[:, 3] = 0.08 + 0.72 * rel
    heads = [int(h) for h in snap.extra.get("head_module", [])]
    levels = run.head_levels(snap)
    trainable = snap.extra.get("trainable")
    per_module: dict[int, list[int]] = {}
    for h, mod in enumerate(heads):
        per_module.setdefault(mod, []).append(h)
    rows = max([min(len(hs), 3) for hs in per_module.values()], default=0)
    bottom = -1.6 - 0.45 * max(rows - 1, 0) - 0.4
    with style():
        width = min(18.0, max(7.0, 1.1 * k + 2.0))
        span_x, span_y = (k - 1) * spacing + 2.6, 1.9 - bottom
        fig = new_figure(width, min(9.0, max(3.6, 0.75 * width * span_y / span_x + 1.6)))
        ax = fig.subplots()
        title(fig, f"Chain at step {snap.step}: {k} module{'s' * (k != 1)} of {m} neurons, {len(post)} synapses, "
              f"{len(heads)} readout head{'s' * (len(heads) != 1)}", run)
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=0.2 + 1.8 * rel, zorder=1))
        colours = community_colors(np.repeat(np.arange(k), m))
        edge = np.full(k * m, "0.2", dtype=object)
        if trainable is not None:
            for i in range(k):
                if trainable[i].any():
                    edge[i * m : (i + 1) * m] = "black"
        ax.scatter(xy[:, 0], xy[:, 1], s=max(6.0, 30.0 - 0.2 * k), c=colours, edgecolors=list(edge), linewidths=0.4, zorder=2)

        def name(h: int) -> str:
            return f"N={levels[h]}" if h < len(levels) else f"head {h}"

        for mod, hs in per_module.items():
            # Up to 3 heads one under the other; more (the non-modular network's) as one square.
            shown = [[h] for h in hs] if len(hs) <= 3 else [hs]
            for j, group in enumerate(shown):
                y = -1.6 - 0.45 * j
                ax.plot([mod * spacing], [y], "s", color="0.25", ms=5, zorder=2)
                text = name(group[0]) if len(group) == 1 else f"{name(group[0])} to {levels[group[-1]] if group[-1] < len(levels) else group[-1]} ({len(group)} heads)"
                ax.annotate(text, (mod * spacing, y), xytext=(5, -3), textcoords="offset points", fontsize=7, color="0.3")
        every = max(1, k // 20)
        for i in range(0, k, every):
            ax.text(i * spacing, 1.35, f"M{i}", ha="center", va="bottom", fontsize=7, color="0.3")
        ax.set_aspect("equal", adjustable="datalim")
        ax.autoscale_view()
        ax.margins(0.03)
        ax.axis("off")
        handles = [
            Line2D([], [], color=POSITIVE, lw=2, label="positive weight"),
            Line2D([], [], color=NEGATIVE, lw=2, label="negative weight"),
            Line2D([], [], marker="o", ls="none", color="C0", markeredgecolor="0.2", label="neuron (colour: module)"),
            Line2D([], [], marker="s", ls="none", color="0.25", label="readout head (its level N)"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=4)
    return fig
