"""Task variance, active units and functional clusters (Yang et al. 2019's analysis).

Conventions
-----------
``tv`` is an ``(n_tasks, N)`` float64 array: ``tv[k, n]`` is the task variance of unit
``n`` in task ``k``, in (rate units)^2. For each task, the network runs a deterministic
test set with noise off; a unit's task variance is the variance of its rate across
trials, averaged over the time steps after the fixation epoch (Yang et al. 2019,
Nat. Neurosci. 22, 297; their analysis code computes ``h.var(axis=1).mean(axis=0)`` on
``h[fix1_end:]`` of shape (time, trials, units)).

A unit is *active* when its task variance summed over tasks exceeds 1e-3 (Yang et al.;
Liu et al. call such neurons *important*). Functional clusters are found among the active
units by clustering their normalised task variance (each unit divided by its maximum
over tasks) with KMeans (``n_init=20``; the number of clusters k in 2..29 chosen by the
best silhouette score), or with agglomerative Ward clustering.

This module depends on numpy and scikit-learn only.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "CLUSTER_METHODS",
    "FunctionalClusters",
    "NonFiniteRates",
    "active_neurons",
    "expand_labels",
    "fractional_variance",
    "functional_clusters",
    "normalized_task_variance",
    "task_variance",
]


class NonFiniteRates(ValueError):
    """Rates that are NaN or infinite: the network they came from has diverged."""

    def __init__(self, task: int | str):
        super().__init__(f"rates of task {task} contain NaN or inf")
        self.task = task


#: Clustering methods accepted by :func:`functional_clusters`.
CLUSTER_METHODS: tuple[str, ...] = ("kmeans", "ward")


# Time steps per block in task_variance: bounds its float64 temporaries to about this
# many entries (a Yang test set, 100 x 512 x 400, would otherwise need 160 MB each).
_BLOCK_ENTRIES = 1 << 21


def _rates_3d(r: object, k: int) -> np.ndarray:
    a = np.asarray(r)
    if a.ndim != 3:
        raise ValueError(f"rates of task {k} must have shape (T, B, N), got {a.shape}")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"rates of task {k} must hold real numbers, got dtype {a.dtype}")
    return a


def _variance_by_step(a: np.ndarray, mask: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Sum over counted steps of the across-trial variance ``(N,)``, and their number."""
    t, b, n = a.shape
    total = np.zeros(n)
    n_steps = 0
    block = max(1, _BLOCK_ENTRIES // max(1, b * n))
    for t0 in range(0, t, block):
        m = mask[t0 : t0 + block]
        n_t = m.sum(axis=1)
        steps = n_t >= 2  # one trial has no variance across trials
        if not steps.any():
            continue
        x = a[t0 : t0 + block][steps].astype(np.float64)
        m, n_t = m[steps], n_t[steps]
        if not np.all(np.isfinite(x)):
            raise NonFiniteRates(k)
        if m.all():
            var = x.var(axis=1)
        else:
            w = m[:, :, None]
            mean = np.where(w, x, 0.0).sum(axis=1) / n_t[:, None]
            x -= mean[:, None, :]
            x *= w
            var = np.einsum("tbn,tbn->tn", x, x) / n_t[:, None]
        total += var.sum(axis=0)
        n_steps += int(steps.sum())
    return total, n_steps


def _mask_2d(m: object, shape: tuple[int, int], k: int) -> np.ndarray:
    if m is None:
        return np.ones(shape, dtype=bool)
    a = np.asarray(m)
    if a.dtype != np.bool_:
        raise ValueError(f"epochs_mask of task {k} must be boolean, got dtype {a.dtype}")
    if a.shape == shape[:1]:
        return np.broadcast_to(a[:, None], shape)
    if a.shape != shape:
        raise ValueError(f"epochs_mask of task {k} must have shape {shape[:1]} or {shape}, got {a.shape}")
    return a


def task_variance(rates: Sequence | Mapping, epochs_mask: Sequence | Mapping) -> np.ndarray:
    """Variance of each unit's rate across trials, averaged over time, per task.

    Parameters
    ----------
    rates:
        One array per task (a sequence, or a mapping whose values are taken in order),
        each ``(T_k, B_k, N)``: time steps, trials, units; rates in the network's units.
        ``T_k`` and ``B_k`` may differ between tasks, ``N`` may not. Any real dtype
        (computed in float64, a block of time steps at a time); detached CPU torch
        tensors are accepted.
    epochs_mask:
        One boolean array per task, same order: ``(T_k,)`` marks the time steps that
        count (those after the fixation epoch) for every trial; ``(T_k, B_k)`` marks
        them per trial, for trials whose epochs differ. ``None`` counts every step.

    Returns
    -------
    ``(n_tasks, N)`` float64. For task k and unit n: at every counted time step t, the
    population variance (``ddof=0``, as numpy's ``var``) of the rate across the trials
    counted at t; then the mean of these variances over the counted time steps. With a
    ``(T_k,)`` mask this is exactly Yang et al.'s ``h[mask].var(axis=1).mean(axis=0)``.
    With a ``(T_k, B_k)`` mask, a time step counts only if at least 2 trials are
    counted at it (one trial has no variance across trials).

    Raises
    ------
    ValueError
        Wrong shapes, non-boolean masks, NaN or inf among the counted rates, or a task
        with no time step at which at least 2 trials count.
    """
    r_list = list(rates.values()) if isinstance(rates, Mapping) else list(rates)
    m_list = list(epochs_mask.values()) if isinstance(epochs_mask, Mapping) else list(epochs_mask)
    if len(r_list) != len(m_list):
        raise ValueError(f"got rates for {len(r_list)} tasks but epochs_mask for {len(m_list)}")
    if not r_list:
        raise ValueError("task_variance needs at least one task")
    out = []
    n_units = None
    for k, (r, m) in enumerate(zip(r_list, m_list, strict=True)):
        a = _rates_3d(r, k)
        if n_units is None:
            n_units = a.shape[2]
        elif a.shape[2] != n_units:
            raise ValueError(f"rates of task {k} have {a.shape[2]} units, task 0 has {n_units}")
        total, n_steps = _variance_by_step(a, _mask_2d(m, a.shape[:2], k), k)
        if n_steps == 0:
            raise ValueError(f"task {k}: no time step has at least 2 counted trials (variance across trials)")
        out.append(total / n_steps)
    return np.stack(out)


def _tv(tv: object) -> np.ndarray:
    a = np.asarray(tv, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"task variance must have shape (n_tasks, N), got {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError("task variance must be finite and non-negative")
    return a


def active_neurons(tv: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Units whose task variance summed over tasks exceeds ``threshold``.

    ``tv``: ``(n_tasks, N)``; ``threshold`` in the units of ``tv`` (Yang et al. and
    Liu et al. use 1e-3). Returns a boolean ``(N,)``.
    """
    return _tv(tv).sum(axis=0) > threshold


def normalized_task_variance(tv: np.ndarray) -> np.ndarray:
    """Each unit's task variance divided by its maximum over tasks (Yang et al.'s 'max').

    ``tv``: ``(n_tasks, N)``. Returns ``(n_tasks, N)`` float64 in [0, 1], each column
    with maximum 1. A unit with zero variance in every task gets a column of zeros
    (select active units first: their columns never are all zero).
    """
    a = _tv(tv)
    peak = a.max(axis=0, initial=0.0)
    out = np.zeros_like(a)
    np.divide(a, peak, out=out, where=peak > 0)
    return out


def fractional_variance(tv: np.ndarray, task_a: int, task_b: int, threshold: float = 1e-3) -> np.ndarray:
    """Fractional task variance ``(TV_a - TV_b) / (TV_a + TV_b)`` of every unit.

    ``tv``: ``(n_tasks, N)``; ``task_a``, ``task_b``: row indices. Returns ``(N,)``
    float64 in [-1, 1]: +1 for a unit selective to task a, -1 to task b. As in Yang et
    al.'s analysis, only units with ``TV_a + TV_b > threshold`` are considered; the
    others are NaN (select them with ``~np.isnan``).
    """
    a = _tv(tv)
    for name, t in (("task_a", task_a), ("task_b", task_b)):
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not -a.shape[0] <= t < a.shape[0]:
            raise ValueError(f"{name} must be a task index in [0, {a.shape[0]}), got {t!r}")
    va, vb = a[task_a], a[task_b]
    total = va + vb
    out = np.full(a.shape[1], np.nan)
    keep = total > threshold
    out[keep] = (va[keep] - vb[keep]) / total[keep]
    return out


class FunctionalClusters(NamedTuple):
    """Result of :func:`functional_clusters`; unpacks as ``labels, k, ks, scores``.

    Attributes
    ----------
    labels:
        ``(N_active,)`` int64 cluster of each unit, ``0..k-1``, clusters ordered by
        their preferred task (the task of largest summed normalised variance over the
        cluster's units, as Yang et al. sort them), ties by first appearance.
    k:
        Number of clusters chosen (the best silhouette score; the smallest such k on ties).
    ks:
        ``(n_k,)`` int64, every k that was tried.
    silhouette:
        ``(n_k,)`` float64 silhouette score (Euclidean) of the partition at each k; NaN
        where the method returned fewer than 2 distinct clusters.
    """

    labels: np.ndarray
    k: int
    ks: np.ndarray
    silhouette: np.ndarray


def _sort_by_preference(labels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Renumber clusters by preferred task, then by first appearance; int64 ``(n,)``."""
    uniq, first = np.unique(labels, return_index=True)
    pref = np.array([x[labels == c].sum(axis=0).argmax() for c in uniq])
    order = np.lexsort((first, pref))  # primary key: pref
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[order] = np.arange(uniq.size)
    return rank[np.searchsorted(uniq, labels)]


def functional_clusters(
    tv_norm: np.ndarray,
    *,
    method: str = "kmeans",
    k_range: tuple[int, int] = (2, 29),
    n_init: int = 20,
    seed: int = 0,
) -> FunctionalClusters:
    """Cluster units by their normalised task variance; k by the best silhouette score.

    Parameters
    ----------
    tv_norm:
        ``(n_tasks, N_active)``: :func:`normalized_task_variance` of the active units
        (each column is one unit's feature vector over tasks).
    method:
        ``"kmeans"``: scikit-learn ``KMeans(k, n_init=n_init, random_state=seed)``, as
        Yang et al.; ``"ward"``: ``AgglomerativeClustering(k, linkage="ward")``
        (deterministic; ``n_init`` and ``seed`` unused).
    k_range:
        ``(k_min, k_max)``, both included (Yang et al.: 2..29). Values of k that the
        data cannot support are skipped, as a documented fallback: k above the number
        of distinct units (KMeans would leave clusters empty), and k above
        ``N_active - 1`` (the silhouette needs 2 <= k <= n - 1).
    n_init, seed:
        KMeans restarts and random state.

    Returns
    -------
    :class:`FunctionalClusters` ``(labels, k, ks, silhouette)``.

    Raises
    ------
    ValueError
        Bad shapes or arguments, fewer than 3 units, fewer than 2 distinct units (e.g.
        all columns identical: no cluster structure to find), or no k of ``k_range``
        left after the skipping above.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import silhouette_score

    a = np.asarray(tv_norm, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"tv_norm must have shape (n_tasks, N_active), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("tv_norm contains NaN or inf")
    if method not in CLUSTER_METHODS:
        raise ValueError(f"unknown clustering method {method!r}; expected one of {', '.join(CLUSTER_METHODS)}")
    try:
        k_lo, k_hi = (int(k) for k in k_range)
    except (TypeError, ValueError):
        raise ValueError(f"k_range must be (k_min, k_max), got {k_range!r}") from None
    if not 2 <= k_lo <= k_hi:
        raise ValueError(f"k_range must satisfy 2 <= k_min <= k_max, got {k_range!r}")
    if isinstance(n_init, bool) or not isinstance(n_init, numbers.Integral) or n_init < 1:
        raise ValueError(f"n_init must be a positive integer, got {n_init!r}")
    x = np.ascontiguousarray(a.T)  # (n_units, n_tasks): units are the samples
    n = x.shape[0]
    if n < 3:
        raise ValueError(f"need at least 3 units to choose k by silhouette, got {n}")
    n_distinct = np.unique(x, axis=0).shape[0]
    if n_distinct < 2:
        raise ValueError("all units have the same normalised task variance: there is no cluster structure to find")
    k_max = min(k_hi, n_distinct, n - 1)
    ks = np.arange(k_lo, k_max + 1, dtype=np.int64)
    if ks.size == 0:
        raise ValueError(
            f"no k in {k_range} fits {n} units with {n_distinct} distinct rows (k must be <= {min(n_distinct, n - 1)})"
        )
    scores = np.full(ks.size, np.nan)
    partitions = []
    for idx, k in enumerate(ks):
        if method == "kmeans":
            model = KMeans(n_clusters=int(k), n_init=n_init, random_state=seed)
        else:
            model = AgglomerativeClustering(n_clusters=int(k), linkage="ward")
        with warnings.catch_warnings():
            # Near-duplicate units can still make KMeans report fewer distinct clusters.
            warnings.simplefilter("ignore", category=UserWarning)
            labels = np.asarray(model.fit_predict(x))
        partitions.append(labels)
        if 2 <= np.unique(labels).size <= n - 1:
            scores[idx] = silhouette_score(x, labels)
    if np.all(np.isnan(scores)):
        raise ValueError(f"no k in {k_range} gave a partition with a defined silhouette score")
    idx = int(np.nanargmax(scores))  # first maximum: the smallest k on ties
    labels = partitions[idx]
    return FunctionalClusters(_sort_by_preference(labels, x), int(ks[idx]), ks, scores)


def expand_labels(labels_active: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Cluster labels of all N units from those of the active ones; inactive get -1.

    ``labels_active``: ``(N_active,)`` non-negative ints, in the order of the active
    units; ``active``: boolean ``(N,)`` with ``N_active`` true entries. Returns int64
    ``(N,)``, the input that :mod:`growsim.metrics.anatomy` expects.
    """
    act = np.asarray(active)
    lab = np.asarray(labels_active)
    if act.dtype != np.bool_ or act.ndim != 1:
        raise ValueError(f"active must be a boolean (N,) array, got dtype {act.dtype} shape {act.shape}")
    if lab.shape != (int(act.sum()),):
        raise ValueError(f"labels_active must have shape ({int(act.sum())},) to match active, got {lab.shape}")
    if lab.size and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0):
        raise ValueError("labels_active must be non-negative integers")
    out = np.full(act.shape[0], -1, dtype=np.int64)
    out[act] = lab
    return out
