"""Kind `clusters`: the task-variance cluster map stored under /analysis."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from growsim.plots._common import community_colors, new_figure, style, title
from growsim.reader import Run, RunFileError


def task_variance_name(run: Run, name: str | None = None) -> str:
    """The /analysis group to draw: ``name``, or the only (or last) task-variance analysis."""
    found = [k for k, metric in run.analyses().items() if metric == "task_variance"]
    if name is not None:
        if name not in found:
            raise RunFileError(f"{run.path} has no task-variance analysis {name!r} (task-variance analyses: {', '.join(found) or 'none'})")
        return name
    if not found:
        raise RunFileError(
            f"{run.path} has no task-variance analysis under /analysis; compute one with:\n"
            f"  growsim analyze {run.path} task_variance"
        )
    return found[-1]


def plot_clusters(run: Run, analysis: str | None = None) -> Figure:
    """Normalised task variance (tasks x active neurons), neurons sorted by cluster, with a
    strip of cluster colours on top and the cluster boundaries drawn (Yang et al. 2019, Fig. 2)."""
    res = run.analysis(task_variance_name(run, analysis))
    labels = res["labels"].astype(np.int64)
    norm = res["normalized"]
    tasks = [str(t) for t in res["tasks"]] if "tasks" in res else run.tasks
    active = np.flatnonzero(labels >= 0)
    # Within a cluster, neurons by their preferred task: the blocks read top-left to bottom-right.
    preferred = np.nanargmax(np.nan_to_num(norm[:, active], nan=-1.0), axis=0) if active.size else active
    order = active[np.lexsort((preferred, labels[active]))]
    step = int(res["step"][0]) if "step" in res else res.attrs.get("step")
    k = int(res.attrs.get("n_clusters", labels.max() + 1))
    silhouette = res.attrs.get("silhouette", float("nan"))
    with style():
        fig = new_figure(9.0, 2.0 + 0.2 * max(len(tasks), 6))
        title(fig, f"Task-variance clusters at step {step}: {k} clusters of {active.size} active neurons", run)
        if active.size == 0:
            ax = fig.subplots()
            ax.axis("off")
            ax.text(0.5, 0.5, f"no active neurons at step {step} (summed task variance below "
                    f"{res.attrs.get('active_threshold', 1e-3):g})", ha="center", va="center", transform=ax.transAxes)
            return fig
        ax_strip, ax = fig.subplots(2, 1, sharex=True, height_ratios=[1, max(6, len(tasks))])
        sorted_labels = labels[order]
        ax_strip.imshow(community_colors(sorted_labels)[None], aspect="auto")
        ax_strip.set_yticks([])
        ax_strip.tick_params(bottom=False)
        for spine in ax_strip.spines.values():
            spine.set_visible(False)
        sizes = np.bincount(sorted_labels, minlength=k)
        centres = np.cumsum(sizes) - sizes / 2 - 0.5
        for c in range(k):
            if sizes[c] >= max(2, active.size / 30):
                ax_strip.text(centres[c], 0, str(c + 1), ha="center", va="center", fontsize=7, color="white", weight="bold")
        im = ax.imshow(norm[:, order], aspect="auto", cmap="magma", vmin=0, vmax=1)
        for b in np.cumsum(sizes)[:-1] - 0.5:
            ax.axvline(b, color="white", lw=0.8)
        ax.set_yticks(np.arange(len(tasks)), tasks, fontsize=7 if len(tasks) > 12 else 8)
        ax.set_xlabel(f"active neurons, sorted by cluster (numbered on top); silhouette {silhouette:.2f}")
        fig.colorbar(im, ax=ax, shrink=0.9, label="normalised task variance")
        ax_strip.set_title(f"/analysis/{res.name}", fontsize=8.5, color="0.3", loc="left")
    return fig
