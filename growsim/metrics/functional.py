"""The functional and anatomical report of a network on a grid (Liu, Khona, Fiete & Tegmark).

One call gathers what Liu et al. measure of a trained RNN, from its rates on a fixed test
set and its recurrent weights, in a form cheap enough to log during training:

1. Task variance of every neuron (:func:`growsim.metrics.taskvar.task_variance`, the
   time steps after the fixation epoch counted), active neurons (summed task variance >
   ``active_threshold``, 1e-3), functional clusters of the active neurons
   (:func:`growsim.metrics.taskvar.functional_clusters`: KMeans or Ward on the
   normalised task variance, k by the best silhouette).
2. Active connections (``|W_rec| > connection_threshold``, 1e-2) and the wiring length
   (their summed length), from :mod:`growsim.metrics.wiring_cost`; recurrent weights only.
3. Anatomical modularity of the clusters on the lattice, each against ``n_shuffles``
   random permutations of the labels among the active neurons
   (:func:`growsim.metrics.anatomy.shuffle_baseline`):

   - ``isolated_fraction``: fraction of active neurons none of whose 8 lattice
     neighbours (on a 2-D grid; 2 in 1-D, 26 in 3-D; diagonal neighbours included) is
     an active neuron of the same cluster. Liu et al.'s first metric; smaller = more
     modular.
   - ``cluster_spread``: the mean over clusters of the within-cluster variance of
     lattice indices (squared lattice steps). This is what Liu et al. call the "average
     size of functional clusters" ("variance of indices within clusters" in their
     appendix); smaller = more modular.
   - ``mean_cluster_size``: the mean, over active neurons, of the number of neurons in
     the spatially connected same-cluster patch (8-connectivity) that contains each
     (``sum_p |p|^2 / N_active``). A patch size, larger = more modular: the opposite
     direction to Liu et al.'s "size", reported as well because it reads directly as
     "how large are the anatomical modules".

   For each, the report gives the observed value, its percentile in the shuffle
   distribution (0-100, ties counting half: near 0 means far smaller than chance), the
   null mean, its quantiles, and the whole null (one value per shuffle).
4. Connection strength against distance (Liu et al., Fig. 1f): mean ``|w|`` and the
   fraction of active connections per distance bin
   (:func:`growsim.metrics.wiring_cost.weight_distance_profile`).

Degenerate networks give NaN, not errors: with fewer than 3 active neurons, or active
neurons that cannot be split (identical normalised profiles), clustering is impossible;
the active neurons are then labelled as one cluster 0 (``n_clusters`` = 1, 0 with no
active neuron), ``silhouette`` is NaN and so is every anatomical statistic (with one
cluster, a shuffle changes nothing).

``coords`` are integer lattice indices ``(N, d)``: neuron k of a
:func:`growsim.geometry.grid` of shape ``s`` sits at ``np.unravel_index(k, s)``
(:func:`grid_coords`). Neurons keep their positions under swaps: coordinates belong to
positions, and after a swap the neuron at position k is the one the rates' column k
describes.

numpy, scipy and scikit-learn at use; torch only inside :func:`network_task_variance`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

import numpy as np

from .anatomy import ANATOMY_STATISTICS, shuffle_baseline
from .taskvar import (
    CLUSTER_METHODS,
    NonFiniteRates,
    active_neurons,
    expand_labels,
    functional_clusters,
    normalized_task_variance,
    task_variance,
)
from .wiring_cost import active_connections, weight_distance_profile, wiring_length

__all__ = [
    "NULL_PERCENTILE_LEVELS",
    "NULL_QUANTILES",
    "PROFILE_ARRAYS",
    "REPORT_ARRAYS",
    "REPORT_SCALARS",
    "epoch_mask_after_fixation",
    "functional_report",
    "grid_coords",
    "network_task_variance",
    "report_from_task_variance",
]

#: Percent levels of the null distributions' summaries (``*_null_quantiles`` arrays).
NULL_QUANTILES: tuple[float, ...] = (5.0, 50.0, 95.0)
#: Percent levels of the null distributions' quantile functions (``*_null_percentiles``
#: arrays): 0, 1, ..., 100, so that a histogram of the shuffles (Liu et al., Fig. 2b) can be
#: drawn from a run file at a resolution of 1% of the shuffles.
NULL_PERCENTILE_LEVELS: tuple[float, ...] = tuple(float(p) for p in range(101))

#: Keys of the connection-strength-by-distance profile (Liu et al., Fig. 1f) in a report's
#: arrays, each ``(B,)``: see :func:`growsim.metrics.wiring_cost.weight_distance_profile`.
PROFILE_ARRAYS: tuple[str, ...] = ("w_distance", "w_distance_mean_abs", "w_distance_active_fraction", "w_distance_pairs")

#: Keys of the scalar half of a report, always all present (floats, NaN when undefined).
REPORT_SCALARS: tuple[str, ...] = (
    "n_neurons",
    "n_active_neurons",
    "n_active_connections",
    "wiring_length",
    "n_clusters",
    "silhouette",
    *(f"{s}{suffix}" for s in ANATOMY_STATISTICS for suffix in ("", "_percentile", "_null_mean")),
)

#: Keys of the array half of a report, always all present.
REPORT_ARRAYS: tuple[str, ...] = (
    "task_variance",
    "labels",
    "active",
    "null_quantile_levels",
    *(key for s in ANATOMY_STATISTICS for key in (f"{s}_null_quantiles", f"{s}_null_percentiles", f"{s}_null")),
    *PROFILE_ARRAYS,
)


def epoch_mask_after_fixation(batch: Any) -> np.ndarray:
    """``(T, B)`` bool: the time steps from the end of the fixation epoch on.

    ``batch``: a :class:`growsim.tasks.TrialBatch` (anything with ``x`` ``(T, B, ...)``
    and ``epochs["fix1"] = (start, end)``). The steps counted by Yang et al.'s task
    variance, ``h[fix1_end:]``; all trials of a batch share their epochs.
    """
    epochs = getattr(batch, "epochs", None)
    if not isinstance(epochs, Mapping) or "fix1" not in epochs:
        raise ValueError("the batch has no 'fix1' epoch: cannot tell where fixation ends")
    t, b = np.shape(batch.x)[:2]
    end = epochs["fix1"][1]
    end = t if end is None else int(end)
    mask = np.zeros((t, b), dtype=bool)
    mask[end:] = True
    return mask


def grid_coords(shape: Sequence[int] | int) -> np.ndarray:
    """``(N, d)`` int64 lattice indices of the neurons of a grid of ``shape`` (row-major)."""
    dims = (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(s) for s in shape)
    n = int(np.prod(dims))
    return np.stack(np.unravel_index(np.arange(n), dims), axis=1).astype(np.int64)


def network_task_variance(network: Any, batches: Mapping[str, Any], *, device: Any = None) -> np.ndarray:
    """Task variance ``(n_tasks, N)`` of ``network`` on ``batches``, noise off.

    ``network``: a :class:`growsim.network.LeakyRNN` (``network(x, noise=False)`` returns
    ``(outputs, rates)``); ``batches``: ``{task: TrialBatch}``, e.g.
    :meth:`growsim.tasks.YangSuite.test_batches`, rows in that order. One task at a
    time under ``torch.no_grad()``: rates of one batch are held at a time. ``device``:
    where to run, by default that of the network's weights.
    """
    import torch

    ref = next(network.parameters())
    dev = ref.device if device is None else torch.device(device)
    rows = []
    with torch.no_grad():
        for task, batch in batches.items():
            x = torch.as_tensor(np.asarray(batch.x), dtype=ref.dtype, device=dev)
            _, rates = network(x, noise=False)
            try:
                rows.append(task_variance([rates.cpu().numpy()], [epoch_mask_after_fixation(batch)])[0])
            except NonFiniteRates:
                raise NonFiniteRates(task) from None
    if not rows:
        raise ValueError("network_task_variance needs at least one batch")
    return np.stack(rows)


def _numpy(x: Any, name: str) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().double().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {a.shape}")
    return a


def _nan_summary() -> np.ndarray:
    return np.full(len(NULL_QUANTILES), np.nan)


class ReportOptions(TypedDict, total=False):
    """How a report is made, as `report_from_task_variance` takes it (and `functional_report`
    passes on): thresholds, clustering, shuffles."""

    active_threshold: float
    connection_threshold: float
    method: str
    n_shuffles: int
    k_range: tuple[int, int]
    n_init: int
    cluster_seed: int
    chunk_size: int


def report_from_task_variance(
    tv: np.ndarray,
    coords: np.ndarray,
    w_rec: Any,
    distances: Any,
    *,
    rng: np.random.Generator | int,
    active_threshold: float = 1e-3,
    connection_threshold: float = 1e-2,
    method: str = "kmeans",
    n_shuffles: int = 10_000,
    k_range: tuple[int, int] = (2, 29),
    n_init: int = 20,
    cluster_seed: int = 0,
    chunk_size: int = 500,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The report of :func:`functional_report` from an already computed task variance.

    ``tv``: ``(n_tasks, N)`` as :func:`growsim.metrics.taskvar.task_variance` returns
    (e.g. from :func:`network_task_variance`); the other arguments and the result as
    :func:`functional_report`.
    """
    tv = np.asarray(tv, dtype=np.float64)
    if tv.ndim != 2:
        raise ValueError(f"tv must have shape (n_tasks, N), got {tv.shape}")
    n = tv.shape[1]
    c = np.asarray(coords)
    if c.shape[0] != n:
        raise ValueError(f"coords has {c.shape[0]} rows for {n} neurons")
    w = _numpy(w_rec, "w_rec")
    d = _numpy(distances, "distances")
    if w.shape != (n, n) or d.shape != (n, n):
        raise ValueError(f"w_rec and distances must be ({n}, {n}), got {w.shape} and {d.shape}")
    if method not in CLUSTER_METHODS:
        raise ValueError(f"unknown clustering method {method!r}; expected one of {', '.join(CLUSTER_METHODS)}")
    if isinstance(n_shuffles, bool) or not isinstance(n_shuffles, numbers.Integral) or n_shuffles < 0:
        raise ValueError(f"n_shuffles must be a non-negative integer, got {n_shuffles!r}")

    active = active_neurons(tv, active_threshold)
    n_active = int(active.sum())
    scalars: dict[str, float] = {
        "n_neurons": float(n),
        "n_active_neurons": float(n_active),
        "n_active_connections": float(active_connections(w, connection_threshold).sum()),
        "wiring_length": wiring_length(w, d, connection_threshold),
        "n_clusters": 0.0 if n_active == 0 else 1.0,
        "silhouette": float("nan"),
    }
    arrays: dict[str, np.ndarray] = {
        "task_variance": np.ascontiguousarray(tv.T),
        "labels": np.where(active, 0, -1).astype(np.int64),
        "active": active,
        "null_quantile_levels": np.asarray(NULL_QUANTILES, dtype=np.float64),
    }
    for s in ANATOMY_STATISTICS:
        scalars[s] = scalars[f"{s}_percentile"] = scalars[f"{s}_null_mean"] = float("nan")
        arrays[f"{s}_null_quantiles"] = _nan_summary()
        arrays[f"{s}_null_percentiles"] = np.full(len(NULL_PERCENTILE_LEVELS), np.nan)
        arrays[f"{s}_null"] = np.full(int(n_shuffles), np.nan)
    profile = weight_distance_profile(w, d, threshold=connection_threshold)
    for key, values in zip(PROFILE_ARRAYS, profile, strict=True):
        arrays[key] = values

    clusters = None
    if n_active >= 3:
        try:
            clusters = functional_clusters(
                normalized_task_variance(tv[:, active]), method=method, k_range=k_range, n_init=n_init, seed=cluster_seed
            )
        except ValueError:
            # Documented degenerate outcomes: identical profiles, or no k that fits.
            clusters = None
    if clusters is None:
        return scalars, arrays

    labels = expand_labels(clusters.labels, active)
    arrays["labels"] = labels
    scalars["n_clusters"] = float(clusters.k)
    scalars["silhouette"] = float(clusters.silhouette[np.flatnonzero(clusters.ks == clusters.k)[0]])
    if n_shuffles == 0:
        from .anatomy import cluster_spread, isolated_fraction, mean_cluster_size

        funcs = {
            "isolated_fraction": isolated_fraction,
            "cluster_spread": cluster_spread,
            "mean_cluster_size": mean_cluster_size,
        }
        for s in ANATOMY_STATISTICS:
            scalars[s] = funcs[s](c, labels)
        return scalars, arrays
    result = shuffle_baseline(c, labels, rng=rng, n_shuffles=int(n_shuffles), chunk_size=chunk_size)
    for s in ANATOMY_STATISTICS:
        cmp = result[s]
        scalars[s] = float(cmp.observed)
        scalars[f"{s}_percentile"] = float(cmp.percentile)
        scalars[f"{s}_null_mean"] = float(cmp.null.mean())
        arrays[f"{s}_null_quantiles"] = np.percentile(cmp.null, NULL_QUANTILES)
        arrays[f"{s}_null_percentiles"] = np.percentile(cmp.null, NULL_PERCENTILE_LEVELS)
        arrays[f"{s}_null"] = cmp.null
    return scalars, arrays


def functional_report(
    rates_by_task: Mapping[str, np.ndarray],
    epoch_masks: Mapping[str, np.ndarray],
    coords: np.ndarray,
    w_rec: Any,
    distances: Any,
    *,
    rng: np.random.Generator | int,
    **options: Unpack[ReportOptions],
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Liu et al.'s functional and anatomical measures of a network, for logging.

    Parameters
    ----------
    rates_by_task:
        ``{task: (T, B, N) rates}`` on a fixed test set, noise off (e.g. a
        LeakyRNN's rates on :meth:`growsim.tasks.YangSuite.test_batches`).
    epoch_masks:
        ``{task: (T, B) or (T,) bool}``, the steps that count: those after the
        fixation epoch (:func:`epoch_mask_after_fixation`); the same keys.
    coords:
        ``(N, d)`` integer lattice indices of the positions (:func:`grid_coords`).
    w_rec, distances:
        ``(N, N)`` effective recurrent weights and the distances between positions
        (arrays or tensors).
    rng:
        Generator (the run's named stream) or int seed, for the shuffles.
    active_threshold, connection_threshold:
        Summed task variance of an active neuron (1e-3) and ``|w|`` of an active
        connection (1e-2), Liu et al.'s values.
    method, k_range, n_init, cluster_seed:
        Clustering, as :func:`growsim.metrics.taskvar.functional_clusters`.
    n_shuffles:
        Shuffles of the null (Liu et al.: 10,000); 0 computes the observed statistics
        only (percentiles, null means and quantiles NaN).
    chunk_size:
        Shuffles evaluated together (memory only; the result does not depend on it).

    Returns
    -------
    ``(scalars, arrays)``. ``scalars`` (floats; keys :data:`REPORT_SCALARS`, all always
    present): ``n_neurons``, ``n_active_neurons``, ``n_active_connections`` (of
    ``W_rec``), ``wiring_length`` (length units of ``distances``), ``n_clusters``,
    ``silhouette`` (at the chosen k), and for each of ``isolated_fraction``,
    ``cluster_spread`` and ``mean_cluster_size`` (see the module docstring) the observed
    value, ``<name>_percentile`` (0-100) and ``<name>_null_mean``. ``arrays`` (keys
    :data:`REPORT_ARRAYS`): ``task_variance`` ``(N, n_tasks)`` float64, columns in the
    order of ``rates_by_task``; ``labels`` ``(N,)`` int64 cluster of each neuron, -1 for
    inactive ones; ``active`` ``(N,)`` bool; ``null_quantile_levels`` ``(3,)`` = 5, 50,
    95; ``<name>_null_quantiles`` ``(3,)``, the null at those percent levels;
    ``<name>_null_percentiles`` ``(101,)``, the null at 0, 1, ..., 100 percent (its
    quantile function: the minimum, every percentile, the maximum); ``<name>_null``
    ``(n_shuffles,)``, the null itself, one value per shuffle in the order drawn;
    ``w_distance``, ``w_distance_mean_abs``, ``w_distance_active_fraction`` and
    ``w_distance_pairs`` ``(B,)``: connection strength against distance
    (:func:`growsim.metrics.wiring_cost.weight_distance_profile`, ``|w|`` above
    ``connection_threshold`` active; Liu et al., Fig. 1f).
    Undefined values are NaN (see the module docstring).
    """
    missing = [k for k in rates_by_task if k not in epoch_masks]
    if missing:
        raise ValueError(f"epoch_masks has no entry for tasks {missing}")
    tv = task_variance([rates_by_task[k] for k in rates_by_task], [epoch_masks[k] for k in rates_by_task])
    return report_from_task_variance(tv, coords, w_rec, distances, rng=rng, **options)
