"""Communities and directed modularity Q of the stored weights at every stored step."""

from __future__ import annotations

import numpy as np

from growsim.analyses._data import AnalysisData, weights_by_step
from growsim.reader import Run

__all__ = ["modularity_over_snapshots", "summary"]


def modularity_over_snapshots(run: Run, *, method: str = "spectral", seed: int = 0, resolution: float = 1.0) -> AnalysisData:
    """Communities and directed Q of ``abs(w_rec)`` at every stored step.

    Datasets: ``step`` (k,), ``q`` (k,), ``n_communities`` (k,), ``n_neurons`` (k,) and
    ``labels`` (k, N_max) int32, padded with -1 beyond a step's own N (networks can grow).
    A chain of modules is analysed as its dense equivalent (:meth:`Snapshot.dense_w_rec`:
    W_rec blocks on the diagonal, W_ff below it).
    """
    from growsim.metrics import communities

    snaps = weights_by_step(run)
    zero_diagonal = bool(run.spec.get("network", {}).get("zero_diagonal", True))
    n_max = max(s.n_neurons for s in snaps)
    labels = np.full((len(snaps), n_max), -1, np.int32)
    q = np.zeros(len(snaps))
    k = np.zeros(len(snaps), np.int64)
    for i, snap in enumerate(snaps):
        w = snap.dense_w_rec(zero_diagonal=zero_diagonal)
        # float64 as the engine does, so Q matches the logged one for the same method
        result = communities(np.abs(w.astype(np.float64)), method=method, seed=seed, resolution=resolution)
        labels[i, : snap.n_neurons] = result.labels
        q[i] = result.q
        k[i] = result.n_communities
    steps = np.array([s.step for s in snaps], np.int64)
    return AnalysisData(
        metric="modularity",
        description=f"Directed modularity Q (Leicht & Newman 2008) of abs(W_rec) with communities found by the {method} method, at every stored step.",
        parameters={"method": method, "seed": seed, "resolution": resolution},
        datasets={
            "step": (steps, "batches", "Batches completed (the snapshot's step)."),
            "q": (q, "1", "Directed modularity Q of abs(W_rec) for the communities found."),
            "n_communities": (k, "1", "Number of communities found."),
            "n_neurons": (np.array([s.n_neurons for s in snaps], np.int64), "neurons", "Neurons at that step (N)."),
            "labels": (labels, "1", "Community of each neuron (0-based); -1 beyond the step's own N."),
        },
        attrs={},
    )


def summary(result: AnalysisData) -> str:
    """One line saying what a modularity analysis found."""
    steps, q, k = (result.datasets[key][0] for key in ("step", "q", "n_communities"))
    return (f"Q at {len(steps)} step{'s' * (len(steps) != 1)} ({steps[0]} to {steps[-1]}); "
            f"at step {steps[-1]}: Q {q[-1]:.3f}, {k[-1]} communities")
