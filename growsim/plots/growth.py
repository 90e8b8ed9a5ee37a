"""Kind `growth`: modularity Q, communities and synapses over training, growth events marked."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from growsim.plots._common import event_rug, message, new_figure, style, title
from growsim.reader import Run


def plot_growth(run: Run) -> Figure:
    """Three panels over training batches: Q (as logged, and any modularity analyses),
    the number of communities, and the synapse count; growth events as ticks on the x axis."""
    series, events = run.series(), run.events()
    analyses = [run.analysis(name) for name, metric in run.analyses().items() if metric == "modularity"]
    method = run.spec.get("log", {}).get("modularity", "")
    grown = events[events["step"] > 0] if len(events) else events
    rug_label = f"growth event ({len(grown)})" if len(grown) else None
    with style():
        fig = new_figure(8.5, 6.4)
        ax_q, ax_k, ax_c = fig.subplots(3, 1, sharex=True, height_ratios=[1.4, 0.8, 1.2])
        title(fig, "Growth: modularity and synapses", run)

        # 1. Q
        logged = "modularity_q" in series and series["modularity_q"].notna().any()
        if logged:
            ax_q.plot(series["step"], series["modularity_q"], "o-", color="#16a085", ms=3, lw=1.4,
                      label=f"logged in training ({method})")
        for i, res in enumerate(analyses):
            ax_q.plot(res["step"], res["q"], "s--", ms=2.5, lw=1, color=("#8e44ad", "#c0392b", "#2980b9", "#7f8c8d")[i % 4],
                      label=f"/analysis/{res.name} ({res.attrs.get('method', '')})")
        if logged or analyses:
            ax_q.legend(loc="lower right")
            ax_q.set_ylim(bottom=min(0.0, ax_q.get_ylim()[0]))
        else:
            message(ax_q, f"Q was not logged (log.modularity: none);\ncompute it with: growsim analyze {run.path} modularity")
        ax_q.set_ylabel("modularity Q")
        event_rug(ax_q, grown["step"].to_numpy(), label=rug_label)
        if rug_label and (logged or analyses):
            ax_q.legend(loc="lower right")

        # 2. communities
        if "n_communities" in series and series["n_communities"].notna().any():
            ax_k.step(series["step"], series["n_communities"], where="post", color="#16a085", lw=1.2)
            ax_k.plot(series["step"], series["n_communities"], "o", color="#16a085", ms=2.5)
            ax_k.yaxis.get_major_locator().set_params(integer=True)
        elif analyses:
            ax_k.step(analyses[0]["step"], analyses[0]["n_communities"], where="post", color="C1", lw=1.2)
        else:
            message(ax_k, "not logged")
        ax_k.set_ylabel("communities")
        event_rug(ax_k, grown["step"].to_numpy())

        # 3. synapses: exact between logs from the event table, logged values as dots
        if len(events):
            start = int(events["connections"].iloc[0]) if events["step"].iloc[0] == 0 else 0
            x = np.concatenate([[0], grown["step"].to_numpy()])
            y = np.concatenate([[start], grown["connections"].to_numpy()])
            end = series["step"].max() if len(series) else run.last_step
            if end is not None and end > x[-1]:
                x, y = np.append(x, end), np.append(y, y[-1])
            ax_c.step(x, y, where="post", color="#2471a3", lw=1.4, label="synapses (from growth events)")
        if "connections" in series and len(series):
            ax_c.plot(series["step"], series["connections"], "o", color="#2471a3", ms=3, label="logged")
        if ax_c.has_data():
            ax_c.set_ylim(bottom=0)
            ax_c.legend(loc="lower right")
        else:
            message(ax_c, "no synapse count logged yet")
        event_rug(ax_c, grown["step"].to_numpy())
        ax_c.set_ylabel("synapses")
        ax_c.set_xlabel("training batches")
        if not len(grown):
            ax_c.text(0.01, 0.04, "no growth events", transform=ax_c.transAxes, fontsize=8, color="0.35")
    return fig
