"""Metrics recomputed from a run's stored weights, and the /analysis group that keeps them.

Layout in docs/analysis.md. Only /analysis/<name> is ever written: the training record
(everything outside /analysis) is not touched. Unlike the rest of ``growsim.reader``, this
module uses ``growsim.metrics`` and ``growsim.tasks`` (numpy and scipy only; no torch). The
analyses of chain runs (robustness, timescales) run the network: they are in
``growsim.reader.chain`` and import torch when called.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from growsim.reader._run import Run, RunFileError, Snapshot

__all__ = [
    "ANALYSIS_METRICS",
    "METRICS_BY_KIND",
    "AnalysisData",
    "check_applicable",
    "modularity_over_snapshots",
    "task_variance",
    "write_analysis",
]

#: Metrics ``growsim analyze`` computes.
ANALYSIS_METRICS = ("modularity", "task_variance", "robustness", "timescales")
#: The metrics that apply to each kind of network (root attribute network_kind).
METRICS_BY_KIND = {
    "leaky_rnn": ("modularity", "task_variance"),
    "chain": ("modularity", "robustness", "timescales"),
}
_NEEDS = {
    "task_variance": "a leaky-RNN run on the yang20 cognitive tasks",
    "robustness": "a chain run (network.kind: chain, Hamidi et al.'s parity curriculum)",
    "timescales": "a chain run (network.kind: chain, Hamidi et al.'s parity curriculum)",
}
_KIND_NAMES = {"leaky_rnn": "a leaky-RNN run", "chain": "a chain run on the parity curriculum"}

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
# Yang et al. (2019) leave out units whose summed task variance is below this.
ACTIVE_VARIANCE = 1e-3
_MAX_CLUSTERS = 20


@dataclass(frozen=True)
class AnalysisData:
    """What an analysis writes: attributes and datasets ``name -> (array, units, description)``."""

    metric: str
    description: str
    parameters: dict[str, Any]
    datasets: dict[str, tuple[np.ndarray, str, str]]
    attrs: dict[str, Any]


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"analysis name {name!r}: use letters, digits, '_', '.' or '-' only")
    return name


def check_applicable(run: Run, metric: str) -> None:
    """Raise :class:`RunFileError` with a one-line reason when ``metric`` does not apply to ``run``."""
    kind = run.network_kind
    allowed = METRICS_BY_KIND.get(kind, ANALYSIS_METRICS)
    if metric in allowed:
        return
    what = _KIND_NAMES.get(kind, f"a {kind} run")
    raise RunFileError(f"{metric} needs {_NEEDS.get(metric, 'another kind of run')}; {run.path} is {what} "
                       f"(analyses for it: {', '.join(allowed)})")


def _weights_by_step(run: Run) -> list[Snapshot]:
    """Every snapshot, and /final when its step has none (a run killed between snapshots)."""
    steps = run.snapshot_steps()
    snaps = [run.snapshot(s) for s in steps]
    try:
        final = run.final()
    except RunFileError:
        final = None
    if final is not None and final.step not in steps:
        snaps.append(final)
    if not snaps:
        raise RunFileError(f"{run.path} holds no weights to analyse (no snapshots and no /final)")
    return snaps


def modularity_over_snapshots(run: Run, *, method: str = "spectral", seed: int = 0, resolution: float = 1.0) -> AnalysisData:
    """Communities and directed Q of ``abs(w_rec)`` at every stored step.

    Datasets: ``step`` (k,), ``q`` (k,), ``n_communities`` (k,), ``n_neurons`` (k,) and
    ``labels`` (k, N_max) int32, padded with -1 beyond a step's own N (networks can grow).
    A chain of modules is analysed as its dense equivalent (:meth:`Snapshot.dense_w_rec`:
    W_rec blocks on the diagonal, W_ff below it).
    """
    from growsim.metrics import communities

    snaps = _weights_by_step(run)
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


def _rates(snap: Snapshot, x: np.ndarray, alpha: float, activation: str) -> np.ndarray:
    """Noise-free rates of Yang et al.'s leaky RNN: x (T, B, n_input) -> (T, B, N) float64."""
    f = {"relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh, "softplus": lambda v: np.logaddexp(0.0, v)}[activation]
    w_rec = snap.w_rec.astype(np.float64)
    drive = x.astype(np.float64) @ snap.w_in.astype(np.float64).T + snap.b_rec.astype(np.float64)
    h = np.zeros(drive.shape[1:])
    out = np.empty_like(drive)
    for t in range(drive.shape[0]):
        h = (1.0 - alpha) * h + alpha * f(drive[t] + h @ w_rec.T)
        out[t] = h
    return out


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (Euclidean) of ``x`` (n, d) clustered by ``labels`` (n,)."""
    d = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0.0))
    ks = np.unique(labels)
    if ks.size < 2:
        return -1.0
    member = labels[None, :] == ks[:, None]  # (k, n)
    sums = d @ member.T  # (n, k): summed distance to each cluster
    sizes = member.sum(1).astype(float)
    own = np.searchsorted(ks, labels)
    own_size = sizes[own]
    a = np.where(own_size > 1, sums[np.arange(len(x)), own] / np.maximum(own_size - 1, 1), 0.0)
    mean_other = sums / sizes[None, :]
    mean_other[np.arange(len(x)), own] = np.inf
    b = mean_other.min(1)
    s = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(s.mean())


def _cluster(normalized: np.ndarray) -> tuple[np.ndarray, float]:
    """Ward clustering of neurons (rows of (n, n_tasks)), k chosen by silhouette; deterministic."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = normalized.shape[0]
    if n < 3:
        return np.zeros(n, np.int64), float("nan")
    tree = linkage(normalized, method="ward")
    best, best_s = np.zeros(n, np.int64), -np.inf
    for k in range(2, min(_MAX_CLUSTERS, n - 1) + 1):
        labels = fcluster(tree, k, criterion="maxclust") - 1
        if np.unique(labels).size < 2:
            continue
        s = _silhouette(normalized, labels)
        if s > best_s + 1e-12:
            best, best_s = labels, s
    return best, float(best_s) if np.isfinite(best_s) else float("nan")


def task_variance(run: Run, *, step: int | None = None, trials: int = 64, seed: int = 0) -> AnalysisData:
    """Task variance of every neuron and clusters of neurons by it (Yang et al. 2019, Fig. 2).

    For each task, ``trials`` test trials (drawn from ``seed``) are run through the network
    at ``step`` (default: the end) without noise; a neuron's variance for the task is the
    variance of its rate across trials at each time step, averaged over time. Neurons with
    a summed variance of at least 1e-3 are active; each active neuron's variances are
    divided by their maximum over tasks, and the active neurons are clustered on these
    normalised profiles (Ward's method; the number of clusters, 2 to 20, with the best
    silhouette). Clusters are numbered by the task each prefers most.
    """
    from growsim.tasks import YangSuite

    check_applicable(run, "task_variance")
    spec = run.spec
    net, task_spec = spec.get("network", {}), spec.get("task", {})
    if task_spec.get("suite", "yang20") != "yang20":
        raise RunFileError(f"{run.path}: task variance needs the yang20 task suite, not {task_spec.get('suite')!r}")
    snap = run.weights(step)
    suite = YangSuite(run.tasks, n_eachring=task_spec.get("n_eachring", 32), dt_ms=task_spec.get("dt_ms", 20.0))
    if snap.w_in is None or snap.w_in.shape[1] != suite.n_input or snap.b_rec is None:
        raise RunFileError(f"{run.path}: the weights at step {snap.step} do not fit the spec's task inputs")
    alpha = float(task_spec.get("dt_ms", 20.0)) / float(net.get("tau_ms", 100.0))
    rng = np.random.default_rng(seed)
    variance = np.zeros((len(suite.tasks), snap.n_neurons))
    for i, task in enumerate(suite.tasks):
        batch = suite.sample(rng, trials, task=task)
        rates = _rates(snap, batch.x, alpha, net.get("activation", "relu"))
        variance[i] = rates.var(axis=1).mean(axis=0)
    active = variance.sum(0) >= ACTIVE_VARIANCE
    normalized = np.full_like(variance, np.nan)
    normalized[:, active] = variance[:, active] / variance[:, active].max(0)
    labels = np.full(snap.n_neurons, -1, np.int32)
    silhouette = float("nan")
    if active.any():
        raw, silhouette = _cluster(normalized[:, active].T)
        # Number clusters by their preferred task, then size: the map reads along its diagonal.
        keys = sorted(np.unique(raw), key=lambda c: (int(np.argmax(normalized[:, active][:, raw == c].mean(1))), -int((raw == c).sum())))
        renumber = {c: i for i, c in enumerate(keys)}
        labels[active] = [renumber[c] for c in raw]
    n_clusters = int(labels.max()) + 1 if active.any() else 0
    return AnalysisData(
        metric="task_variance",
        description="Task variance of each neuron (variance across trials, averaged over time, noise off) "
        "and clusters of active neurons by their normalised variance profiles (Yang et al. 2019).",
        parameters={"step": int(snap.step), "trials": trials, "seed": seed},
        datasets={
            "step": (np.array([snap.step], np.int64), "batches", "The step whose weights were analysed."),
            "tasks": (np.array(suite.tasks, dtype=object), "", "Task names, in the order of the rows."),
            "variance": (variance, "1", "Task variance of each neuron: (tasks, N), rate units squared."),
            "normalized": (normalized, "1", "variance divided by each neuron's maximum over tasks; NaN for inactive neurons."),
            "labels": (labels, "1", "Cluster of each neuron (0-based); -1 for inactive neurons."),
        },
        attrs={"n_clusters": n_clusters, "silhouette": silhouette, "active_threshold": ACTIVE_VARIANCE},
    )


def write_analysis(path: str | Path, name: str, result: AnalysisData) -> None:
    """Write ``result`` as /analysis/<name>, replacing that group only.

    Opens the file in append mode with HDF5's file locking, so a run whose writer still
    holds the file is refused. Every dataset gets ``units`` and ``description`` attributes.
    """
    import growsim

    check_name(name)
    try:
        f = h5py.File(path, "a")
    except OSError as exc:
        raise RunFileError(f"{path} cannot be opened for writing ({exc}); is the run still being written?") from None
    with f:
        root = f.require_group("analysis")
        root.attrs["description"] = "Results computed from the stored run by growsim analyze (docs/analysis.md)."
        if name in root:
            del root[name]  # re-running replaces this result only
        g = root.create_group(name)
        g.attrs["metric"] = result.metric
        g.attrs["description"] = result.description
        g.attrs["parameters"] = json.dumps(result.parameters, sort_keys=True)
        for key, value in {**result.parameters, **result.attrs}.items():
            if value is not None:
                g.attrs[key] = value
        g.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
        g.attrs["version_growsim"] = growsim.__version__
        for key, (data, units, text) in result.datasets.items():
            data = np.asarray(data)
            if data.dtype == object:
                ds = g.create_dataset(key, data=data, dtype=h5py.string_dtype("utf-8"))
            else:
                opts = {"compression": "gzip", "shuffle": True} if data.size >= 1024 else {}
                ds = g.create_dataset(key, data=data, **opts)
            ds.attrs["units"] = units
            ds.attrs["description"] = text


def result_summary(result: AnalysisData) -> str:
    """One line saying what an analysis found (for the command line)."""
    if result.metric in ("robustness", "timescales"):
        from growsim.reader.chain import summary

        return summary(result)
    data = {k: v[0] for k, v in result.datasets.items()}
    if result.metric == "modularity":
        steps, q, k = data["step"], data["q"], data["n_communities"]
        return (f"Q at {len(steps)} step{'s' * (len(steps) != 1)} ({steps[0]} to {steps[-1]}); "
                f"at step {steps[-1]}: Q {q[-1]:.3f}, {k[-1]} communities")
    labels = data["labels"]
    return (f"step {data['step'][0]}: {int((labels >= 0).sum())} of {labels.size} neurons active, "
            f"{result.attrs['n_clusters']} clusters (silhouette {result.attrs['silhouette']:.2f})")
