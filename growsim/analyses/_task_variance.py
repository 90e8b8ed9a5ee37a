"""Task variance of every neuron and clusters of neurons by it (Yang et al. 2019, Fig. 2)."""

from __future__ import annotations

import numpy as np

from growsim.analyses._data import AnalysisData, check_applicable
from growsim.reader import Run, RunFileError, Snapshot

__all__ = ["ACTIVE_VARIANCE", "summary", "task_variance"]

# Yang et al. (2019) leave out units whose summed task variance is below this.
ACTIVE_VARIANCE = 1e-3
_MAX_CLUSTERS = 20


def _rates(snap: Snapshot, x: np.ndarray, alpha: float | np.ndarray, activation: str) -> np.ndarray:
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
    check_applicable(run, "task_variance")
    spec = run.spec
    net, task_spec = spec.get("network", {}), spec.get("task", {})
    suite = _suite_of(run, task_spec)
    snap = run.weights(step)
    if snap.w_in is None or snap.w_in.shape[1] != suite.n_input or snap.b_rec is None:
        raise RunFileError(f"{run.path}: the weights at step {snap.step} do not fit the spec's task inputs")
    alpha = float(suite.dt_ms) / float(net.get("tau_ms", 100.0))
    if net.get("kind", "leaky_rnn") == "leaky_rnn" and "tau" in snap.extra:  # per-neuron time constants (network.tau), as they were at that step
        alpha = float(suite.dt_ms) / snap.extra["tau"].astype(np.float64)
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


def summary(result: AnalysisData) -> str:
    """One line saying what a task-variance analysis found."""
    step, labels = result.datasets["step"][0], result.datasets["labels"][0]
    return (f"step {step[0]}: {int((labels >= 0).sum())} of {labels.size} neurons active, "
            f"{result.attrs['n_clusters']} clusters (silhouette {result.attrs['silhouette']:.2f})")


def _suite_of(run, task_spec: dict):
    """The run's task suite, rebuilt from its spec: a built-in suite of trials, or one a
    plugin the user loaded registered (a run file never loads the plugins it names)."""
    from growsim.tasks import TaskContext, TrialSuite, available_tasks

    name = task_spec.get("suite", "yang20")
    entry = available_tasks().get(name)
    if entry is None:  # a plugin's suite: the run file names its plugin, but never runs it
        raise RunFileError(f"{run.path}: task suite {name!r} is not registered here: load the plugin that defines "
                           "it yourself (growsim analyze --plugin FILE), if you trust it")
    params = {k: v for k, v in task_spec.items() if k != "suite"}
    tasks = tuple(run.tasks) if entry.meta.get("catalogue") is not None else None
    try:
        suite = entry.func(entry.params.model_validate(params), TaskContext(tasks=tasks))
    except (ValueError, ImportError) as exc:
        raise RunFileError(f"{run.path}: task suite {name!r} cannot be rebuilt: {exc}") from None
    if not isinstance(suite, TrialSuite):
        raise RunFileError(f"{run.path}: task variance needs a suite of trials, not the {name!r} task suite")
    return suite
