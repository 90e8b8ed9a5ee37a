"""Kind `training`: loss and per-task performance over training."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from growsim.plots._common import accuracy_map, loss_panel, message, new_figure, style, title
from growsim.reader import Run


def plot_training(run: Run) -> Figure:
    """Three panels over training batches: loss (training, per batch; test, per log), mean
    performance with its range over tasks, and each task's performance as a heat map."""
    series, train = run.series(), run.train()
    tasks = run.tasks
    with style():
        fig = new_figure(8.5, 3.2 + 0.2 * max(len(tasks), 4))
        ax_loss, ax_perf, ax_map = fig.subplots(3, 1, sharex=True, height_ratios=[1, 1, max(1.0, 0.11 * len(tasks))])
        title(fig, "Training: loss and performance", run)

        loss_panel(ax_loss, series, train, over="tasks")

        # 2. mean performance and its spread over tasks
        perf_cols = [f"perf/{t}" for t in tasks if f"perf/{t}" in series]
        if perf_cols and len(series):
            perf = series[perf_cols].to_numpy(dtype=float)
            rows = ~np.isnan(perf).all(axis=1)  # a killed run's last row can be empty
            steps, done = series["step"].to_numpy()[rows], perf[rows]
            if perf.shape[1] > 1:
                ax_perf.fill_between(steps, np.nanmin(done, 1), np.nanmax(done, 1), color="#2e86c1", alpha=0.15,
                                     lw=0, label="range over tasks")
            ax_perf.plot(steps, np.nanmean(done, 1), "o-", color="#2e86c1", ms=3, lw=1.4, label="mean over tasks")
            ax_perf.legend(loc="best")
        else:
            message(ax_perf, "no performance logged yet")
        ax_perf.set_ylim(-0.02, 1.02)
        ax_perf.set_ylabel("fraction correct")

        # 3. every task's performance: a heat map reads better than 20 crossing lines
        if perf_cols and len(series):
            accuracy_map(ax_map, series["step"].to_numpy(float), perf, [c.split("/", 1)[1] for c in perf_cols],
                         vmin=0, title="performance per task", fontsize=7 if len(perf_cols) > 12 else 8)
        else:
            message(ax_map, "no performance logged yet")
        ax_map.set_xlabel("training batches")
    return fig
