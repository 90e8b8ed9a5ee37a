"""Wiring length, active connections, BIMT connection costs and their strength schedules.

Conventions
-----------
A weight matrix ``W`` and its distance matrix ``D`` have the same shape: ``W[i, j]`` is
the synapse from neuron (or input) ``j`` onto neuron (or output) ``i`` and ``D[i, j]``
the distance it spans, in the geometry's length unit. For ``W_rec`` that is the ``(N, N)``
distance matrix of the network; for ``W_in`` ``(N, n_in)`` or ``W_out`` ``(n_out, N)``
it is the distance between the hidden neurons and the input or output units, when those
have positions.

The metrics (:func:`active_connections`, :func:`wiring_length`) take numpy arrays. The
costs (:func:`l1_cost`, :func:`distance_weighted_l1`, :func:`bimt_cost`) take numpy
arrays or torch tensors and return the same kind: with tensors they are differentiable
and go straight into a loss. Liu et al.'s connection cost (their eq. 2) is::

    l_cc = l1_cost([W_rec, W_in, W_out, b_rec, b_out]) + distance_weighted_l1(W_rec, D, A)

and the loss is ``l_pred + lam * l_cc`` with ``lam`` from :func:`piecewise_schedule`
(A = 1.0, lam = 1e-5 in their main figure).

This module depends on numpy only; it uses torch when given tensors.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "SCHEDULE_MODES",
    "WeightDistanceProfile",
    "active_connections",
    "bimt_cost",
    "distance_weighted_l1",
    "l1_cost",
    "piecewise_schedule",
    "weight_distance_profile",
    "wiring_length",
]

#: Interpolation modes of :func:`piecewise_schedule`.
SCHEDULE_MODES: tuple[str, ...] = ("step", "linear")


def _real_array(a: object, name: str) -> np.ndarray:
    x = np.asarray(a)
    if x.dtype == np.bool_ or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"{name} must hold real numbers, got dtype {x.dtype}")
    return x.astype(np.float64, copy=False)


def active_connections(w: np.ndarray, threshold: float = 1e-2) -> np.ndarray:
    """Connections whose weight magnitude exceeds ``threshold`` (Liu et al.: 1e-2).

    ``w``: any-shaped weights (numpy, or a detached CPU tensor). Returns a boolean array
    of the same shape; ``.sum()`` counts the active connections.
    """
    return np.abs(_real_array(w, "w")) > threshold


def wiring_length(w: np.ndarray, distances: np.ndarray, threshold: float = 1e-2) -> float:
    """Summed length of the active connections (Liu et al.'s wiring length).

    ``w``: weights, ``distances``: same shape, the length of each connection. Sums
    ``distances`` over the entries with ``|w| > threshold``; a float in the length unit
    of ``distances``. For a network with several projections, add their lengths.
    """
    x = _real_array(w, "w")
    d = _real_array(distances, "distances")
    if d.shape != x.shape:
        raise ValueError(f"distances must have the shape of w {x.shape}, got {d.shape}")
    return float(d[np.abs(x) > threshold].sum())


class WeightDistanceProfile(NamedTuple):
    """Connection strength against the distance it spans (Liu et al., Fig. 1f), per bin.

    Attributes, each ``(B,)`` float64, one entry per distance bin:
    ``distance`` (the bin's distance: the distance itself when every distinct distance
    has its own bin, else the bin's centre), ``mean_abs_weight`` (mean ``|w|`` over the
    pairs in the bin), ``active_fraction`` (fraction of them with ``|w| > threshold``),
    ``n_pairs`` (how many ordered pairs the bin holds).
    """

    distance: np.ndarray
    mean_abs_weight: np.ndarray
    active_fraction: np.ndarray
    n_pairs: np.ndarray


def weight_distance_profile(
    w: np.ndarray, distances: np.ndarray, *, threshold: float = 1e-2, max_bins: int = 64
) -> WeightDistanceProfile:
    """Mean ``|w|`` and the fraction of active connections against distance.

    ``w``, ``distances``: ``(N, N)`` recurrent weights and the distance between the
    positions they join. The diagonal (a position with itself) is left out; every other
    ordered pair counts, an absent synapse as ``|w| = 0``. Bins: one per distinct
    distance when there are at most ``max_bins`` of them (a lattice: its distances are
    few, the bins are exact), else ``max_bins`` equal bins from 0 to the largest distance
    (the last bin closed). Empty bins hold NaN means and 0 pairs. The number of bins
    depends on the geometry alone, so a run's profiles line up row by row.
    """
    x = np.abs(_real_array(w, "w"))
    d = _real_array(distances, "distances")
    if x.ndim != 2 or x.shape[0] != x.shape[1] or d.shape != x.shape:
        raise ValueError(f"w and distances must be the same (N, N) shape, got {x.shape} and {d.shape}")
    if isinstance(max_bins, bool) or not isinstance(max_bins, numbers.Integral) or max_bins < 1:
        raise ValueError(f"max_bins must be a positive integer, got {max_bins!r}")
    off = ~np.eye(x.shape[0], dtype=bool)
    x, d = x[off], d[off]
    if d.size == 0:
        empty = np.zeros(0)
        return WeightDistanceProfile(empty, empty, empty, empty)
    # Distinct distances up to rounding: a lattice's i/n + j/n lands on one value.
    scale = max(float(np.max(np.abs(d))), 1e-300)
    levels, index = np.unique(np.round(d / scale, 9), return_inverse=True)
    if levels.size <= max_bins:
        centre = levels * scale
        n_bins = levels.size
    else:
        edges = np.linspace(0.0, float(d.max()), int(max_bins) + 1)
        index = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, int(max_bins) - 1)
        centre = 0.5 * (edges[:-1] + edges[1:])
        n_bins = int(max_bins)
    index = index.ravel()
    count = np.bincount(index, minlength=n_bins).astype(np.float64)
    total = np.bincount(index, weights=x, minlength=n_bins)
    active = np.bincount(index, weights=(x > threshold).astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
        frac = np.where(count > 0, active / count, np.nan)
    return WeightDistanceProfile(centre.astype(np.float64), mean, frac, count)


def _is_tensor(x: object) -> bool:
    return type(x).__module__.startswith("torch")


def _distances_like(d: Any, w: Any) -> Any:
    """``d`` as an array or tensor that combines with ``w`` (same kind, dtype, device)."""
    if _is_tensor(w):
        import torch

        # A no-op for a tensor of the right dtype and device; pass one from the training
        # loop to spare a copy at every step.
        out = torch.as_tensor(d, dtype=w.dtype, device=w.device)
    else:
        out = np.asarray(d, dtype=np.float64)
    if tuple(out.shape) != tuple(w.shape):
        raise ValueError(f"distances must have the shape of the weights {tuple(w.shape)}, got {tuple(out.shape)}")
    return out


def _weights(w: Any) -> Any:
    return w if _is_tensor(w) else _real_array(w, "w")


def l1_cost(params: Iterable[Any]) -> Any:
    """Sum of ``|p|`` over every entry of every array in ``params`` (vanilla L1).

    ``params``: numpy arrays or torch tensors (e.g. ``[W_rec, W_in, W_out, b_rec,
    b_out]``), not mixed. Returns a 0-d tensor (differentiable) for tensors, a float
    for arrays, 0.0 for no parameters.
    """
    total: Any = 0.0
    for p in params:
        p = _weights(p)
        total = total + abs(p).sum()
    return total if _is_tensor(total) else float(total)


def distance_weighted_l1(w: Any, distances: Any, A: float = 1.0) -> Any:
    """``A * sum(D * |W|)``: Liu et al.'s distance-aware regularisation (eq. 2).

    ``w``: ``(M, K)`` weights (tensor or array); ``distances``: ``(M, K)`` lengths, the
    same kind as ``w`` ideally (a numpy ``distances`` with a tensor ``w`` is converted
    at every call). ``A``: strength of locality, per unit length. Returns a 0-d tensor
    or a float, in weight x length units.
    """
    w = _weights(w)
    d = _distances_like(distances, w)
    out = A * (d * abs(w)).sum()
    return out if _is_tensor(out) else float(out)


def bimt_cost(w: Any, distances: Any, *, weight_factor: float = 1.0, l0: float = 0.1) -> Any:
    """``sum(|W| * (weight_factor * D + l0))``: the connection cost of the BIMT notebooks.

    Liu, Gan & Tegmark's code charges each weight its length plus a constant ``l0`` (0.1
    to 0.5 in their notebooks; there, the distance between adjacent layers), and biases
    ``l0 * |b|`` (add ``l0 * l1_cost(biases)``). ``l0`` makes it an L1 term plus a
    distance term: ``bimt_cost == l0 * l1_cost([w]) + distance_weighted_l1(w, D,
    weight_factor)``. Shapes and return as :func:`distance_weighted_l1`.
    """
    w = _weights(w)
    d = _distances_like(distances, w)
    out = (abs(w) * (weight_factor * d + l0)).sum()
    return out if _is_tensor(out) else float(out)


def _check_points(points: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    try:
        pts = [(float(f), float(v)) for f, v in points]
    except (TypeError, ValueError):
        raise ValueError(f"points must be a list of (fraction, value) pairs, got {points!r}") from None
    if not pts:
        raise ValueError("points must hold at least one (fraction, value) pair")
    fr = [f for f, _ in pts]
    vals = [v for _, v in pts]
    if fr[0] != 0.0:
        raise ValueError(f"the first point must be at fraction 0.0 (the value at the start), got {fr[0]}")
    if any(not 0.0 <= f <= 1.0 for f in fr) or any(b <= a for a, b in itertools.pairwise(fr)):
        raise ValueError(f"point fractions must increase strictly within [0, 1], got {fr}")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"point values must be finite, got {vals}")
    return fr, vals


def piecewise_schedule(
    step: int,
    total_steps: int,
    points: Sequence[tuple[float, float]],
    mode: str = "step",
) -> float:
    """A strength (e.g. BIMT's lambda) as a pure function of the training step.

    Parameters
    ----------
    step:
        Batches done, ``0 <= step``; steps past ``total_steps`` keep the last value.
    total_steps:
        Length of training in steps (> 0).
    points:
        ``[(fraction, value), ...]`` with fractions of ``total_steps`` increasing
        strictly from 0.0 (the first point gives the starting value).
    mode:
        ``"step"``: the value of the last point reached. Point ``(f, v)`` is reached at
        step ``floor(f * total_steps)``, as the BIMT notebooks switch at ``step ==
        int(steps * f)``. ``"linear"``: interpolated linearly in ``step / total_steps``
        between points, constant after the last.

    Returns
    -------
    The value at ``step``, a float.

    Example: the BIMT notebooks multiply lambda by 10 at a quarter of training and by
    0.1 at three quarters (some by 10 again, or at half):
    ``piecewise_schedule(step, 20000, [(0, 1e-3), (0.25, 1e-2), (0.75, 1e-3)])``.
    """
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"step must be a non-negative integer, got {step!r}")
    if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
    if mode not in SCHEDULE_MODES:
        raise ValueError(f"unknown schedule mode {mode!r}; expected one of {', '.join(SCHEDULE_MODES)}")
    fr, vals = _check_points(points)
    if mode == "linear":
        return float(np.interp(step / total_steps, fr, vals))
    # 1) the step at which each point takes over; the 1e-9 keeps 0.29 * 100 = 28.999...
    #    at 29, where int() would give 28.
    starts = [math.floor(f * total_steps + 1e-9) for f in fr]
    # 2) the last point whose start has been reached.
    value = vals[0]
    for s, v in zip(starts, vals, strict=True):
        if step >= s:
            value = v
    return value
