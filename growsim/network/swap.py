"""Neuron swaps of brain-inspired modular training (BIMT) for a recurrent network.

Positions stay where they are; neurons move between them. Moving neurons by a
permutation ``perm`` (``(N,)``, a rearrangement of ``0..N-1``) puts at position ``a`` the
neuron that was at position ``perm[a]``: every per-neuron quantity ``x`` becomes
``x[perm]`` along each of its neuron axes, all together:

==================  ==============  ===============================================
quantity            shape           neuron axes
==================  ==============  ===============================================
``W_rec``           ``(N, N)``      ``(0, 1)`` (rows: post-synaptic, columns: pre)
``W_in``            ``(N, n_in)``   ``(0,)``
``W_out``           ``(n_out, N)``  ``(1,)``
``b_rec``, ``tau``  ``(N,)``        ``(0,)`` (and ``h0``, if the state starts non-zero)
masks, initial      like their      like their weight (e.g. ``mask``, ``w_rec_initial``
draws               weight          of :class:`growsim.network.LeakyRNN`: ``(0, 1)``)
optimizer state     like the        like the parameter, for every per-entry state
                    parameter       (Adam's ``exp_avg``, ``exp_avg_sq``, SGD's
                                    ``momentum_buffer``); scalars (``step``): ``()``
``b_out``, inputs,  --              ``()``: not per hidden neuron
targets
==================  ==============  ===============================================

Applied that way the network computes the same outputs from the same inputs (noise
drawn per position aside: it lands on other neurons), and an element-wise optimizer
(Adam, SGD with momentum) continues as it would have, only with its neurons elsewhere.
What changes is the wiring cost ``sum(D * |W|)``, the distances ``D`` being those of the
positions: BIMT swaps neurons whenever that lowers the cost (Liu, Gan & Tegmark 2023,
arXiv:2305.08746; for RNNs Liu, Khona, Fiete & Tegmark).

Functions here take numpy arrays (torch tensors are accepted and read as float64
copies), except :func:`permute_neurons`, which permutes numpy arrays and torch tensors
alike and returns the same kinds.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "best_swaps",
    "compose_swaps",
    "permutation_for_swap",
    "permute_neurons",
    "swap_cost_deltas",
]


def _index(v: object, n: int, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 0 <= v < n:
        raise ValueError(f"{name} must be a neuron index in [0, {n}), got {v!r}")
    return int(v)


def permutation_for_swap(n: int, i: int, j: int) -> np.ndarray:
    """The permutation that swaps neurons ``i`` and ``j`` of ``n``: int64 ``(n,)``.

    ``perm[i] == j``, ``perm[j] == i``, ``perm[k] == k`` elsewhere; its own inverse.
    ``i == j`` gives the identity.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    i, j = _index(i, n, "i"), _index(j, n, "j")
    perm = np.arange(n, dtype=np.int64)
    perm[i], perm[j] = j, i
    return perm


def compose_swaps(n: int, swaps: Iterable[tuple[int, int]]) -> np.ndarray:
    """One permutation equal to applying ``swaps`` one after another: int64 ``(n,)``.

    ``permute_neurons(x, compose_swaps(n, swaps), axes)`` equals permuting ``x`` by
    ``permutation_for_swap(n, i, j)`` for each ``(i, j)`` of ``swaps`` in order (``x[p1]``
    then ``[p2]`` is ``x[p1[p2]]``), so the engine permutes each array once.
    """
    perm = np.arange(n, dtype=np.int64)
    for i, j in swaps:
        perm = perm[permutation_for_swap(n, i, j)]
    return perm


def _check_perm(perm: object) -> np.ndarray:
    p = np.asarray(perm)
    if p.ndim != 1 or not (np.issubdtype(p.dtype, np.integer)):
        raise ValueError(f"perm must be a 1-D integer array, got dtype {p.dtype} shape {p.shape}")
    if not np.array_equal(np.sort(p), np.arange(p.size)):
        raise ValueError(f"perm must be a permutation of 0..{p.size - 1}")
    return p.astype(np.int64)


def _check_axes(name: str, ax: object, shape: tuple[int, ...], n: int) -> tuple[int, ...]:
    if isinstance(ax, numbers.Integral) and not isinstance(ax, bool):
        ax = (ax,)
    try:
        raw = tuple(ax)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"axes[{name!r}] must be a tuple of axis indices, got {ax!r}") from None
    out = []
    for a in raw:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or not -len(shape) <= a < len(shape):
            raise ValueError(f"axes[{name!r}] = {raw}: {a!r} is not an axis of an array of shape {shape}")
        a = int(a) % len(shape)
        if shape[a] != n:
            raise ValueError(f"{name!r} has {shape[a]} entries along axis {a}, the permutation {n}")
        out.append(a)
    if len(set(out)) != len(out):
        raise ValueError(f"axes[{name!r}] = {raw} names an axis twice")
    return tuple(out)


def permute_neurons(
    arrays: Mapping[str, Any],
    perm: np.ndarray,
    axes: Mapping[str, int | tuple[int, ...]],
) -> dict[str, Any]:
    """Apply one neuron permutation along the given axes of every named array.

    Parameters
    ----------
    arrays:
        Name to numpy array or torch tensor: parameters, masks, per-neuron constants
        and per-entry optimizer state alike (e.g. ``{"w_rec": W, "w_rec.exp_avg": m,
        ...}``).
    perm:
        ``(N,)`` permutation, e.g. from :func:`permutation_for_swap`.
    axes:
        Name to the neuron axes of that array (see the module's table); an int for one
        axis, ``()`` to leave an array as it is. Every name of ``arrays`` must appear;
        extra names are ignored, so one table can serve several calls.

    Returns
    -------
    A new dict with the same names: ``y = x[perm]`` along each listed axis (a new array
    or tensor of the same dtype and device; a tensor is permuted without autograd),
    and ``x`` itself where the axes are ``()``. To keep a ``torch.nn.Parameter`` (and
    the optimizer's reference to it), copy back in place: ``param.copy_(y)`` under
    ``torch.no_grad()``.

    Raises
    ------
    ValueError
        ``perm`` is no permutation, a name has no axes, an axis is out of range or
        repeated, or an array's length along a listed axis is not ``N``.
    """
    p = _check_perm(perm)
    missing = [name for name in arrays if name not in axes]
    if missing:
        raise ValueError(f"no neuron axes given for {missing}; use () for arrays that stay as they are")
    out: dict[str, Any] = {}
    for name, x in arrays.items():
        if isinstance(x, np.ndarray):
            ax = _check_axes(name, axes[name], x.shape, p.size)
            y = x
            for a in ax:
                y = np.take(y, p, axis=a)
            out[name] = y
            continue
        import torch

        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name!r} must be a numpy array or a torch tensor, got {type(x).__name__}")
        ax = _check_axes(name, axes[name], tuple(x.shape), p.size)
        y = x
        if ax:
            idx = torch.as_tensor(p, device=x.device)
            with torch.no_grad():
                for a in ax:
                    y = y.index_select(a, idx)
        out[name] = y
    return out


# ------------------------------------------------------------------- wiring cost


def _f64(x: Any, name: str) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().double().numpy()  # numpy has no bfloat16
    a = np.asarray(x)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _problem(
    w_rec: Any, w_in: Any, w_out: Any, distances: Any, d_in: Any, d_out: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Validated float64 ``(|W_rec|, D, |W_in|, D_in, |W_out|, D_out)``; the last four may be None."""
    a = np.abs(_f64(w_rec, "w_rec"))
    n = a.shape[0]
    if a.ndim != 2 or a.shape != (n, n):
        raise ValueError(f"w_rec must be square (N, N), got {a.shape}")
    d = _f64(distances, "distances")
    if d.shape != a.shape:
        raise ValueError(f"distances must have the shape of w_rec {a.shape}, got {d.shape}")
    b = db = c = dc = None
    if d_in is not None:
        if w_in is None:
            raise ValueError("d_in is given but w_in is None")
        b, db = np.abs(_f64(w_in, "w_in")), _f64(d_in, "d_in")
        if b.ndim != 2 or b.shape[0] != n or db.shape != b.shape:
            raise ValueError(f"w_in and d_in must both be (N, n_in) with N = {n}, got {b.shape} and {db.shape}")
    if d_out is not None:
        if w_out is None:
            raise ValueError("d_out is given but w_out is None")
        c, dc = np.abs(_f64(w_out, "w_out")), _f64(d_out, "d_out")
        if c.ndim != 2 or c.shape[1] != n or dc.shape != c.shape:
            raise ValueError(f"w_out and d_out must both be (n_out, N) with N = {n}, got {c.shape} and {dc.shape}")
    return a, d, b, db, c, dc


def _deltas(
    a: np.ndarray,
    d: np.ndarray,
    b: np.ndarray | None,
    db: np.ndarray | None,
    c: np.ndarray | None,
    dc: np.ndarray | None,
    i: int,
    cand: np.ndarray,
) -> np.ndarray:
    """Cost change of swapping ``i`` with each of ``cand``; validated abs weights."""
    n, m = a.shape[0], cand.size
    rows = np.arange(m)
    # p[k] is the permutation of the swap (i, cand[k]).
    p = np.broadcast_to(np.arange(n), (m, n)).copy()
    p[:, i] = cand
    p[rows, cand] = i
    # Only rows and columns i and j change. Their cost, with f[a, b] = D[a, b] * |W|[p[a], p[b]]:
    # row i + row j + column i + column j, minus the four corners counted twice.
    after = (
        (d[i] * a[cand[:, None], p]).sum(axis=1)  # row i now holds neuron j
        + (d[cand] * a[i][p]).sum(axis=1)  # row j holds neuron i
        + (d[:, i] * a[p, cand[:, None]]).sum(axis=1)  # column i
        + (d[:, cand].T * a[:, i][p]).sum(axis=1)  # column j
        - d[i, i] * a[cand, cand]
        - d[i, cand] * a[cand, i]
        - d[cand, i] * a[i, cand]
        - d[cand, cand] * a[i, i]
    )
    cost = d * a
    row, col = cost.sum(axis=1), cost.sum(axis=0)
    before = row[i] + row[cand] + col[i] + col[cand] - cost[i, i] - cost[i, cand] - cost[cand, i] - cost[cand, cand]
    delta = after - before
    if b is not None and db is not None:
        # Input synapses onto i and j trade places: sum_c (D_in[i] - D_in[j]) (B[j] - B[i]).
        delta += ((db[i] - db[cand]) * (b[cand] - b[i])).sum(axis=1)
    if c is not None and dc is not None:
        delta += ((dc[:, [i]] - dc[:, cand]) * (c[:, cand] - c[:, [i]])).sum(axis=0)
    delta[cand == i] = 0.0  # no swap, no change (the sums above differ only by rounding)
    return delta


def _candidates(candidates: Any, n: int) -> np.ndarray:
    if candidates is None:
        return np.arange(n, dtype=np.int64)
    cand = np.asarray(candidates)
    if cand.ndim != 1 or (cand.size and not np.issubdtype(cand.dtype, np.integer)):
        raise ValueError(f"candidates must be a 1-D array of neuron indices, got dtype {cand.dtype} shape {cand.shape}")
    if cand.size and (cand.min() < 0 or cand.max() >= n):
        raise ValueError(f"candidates must lie in [0, {n})")
    return cand.astype(np.int64)


def swap_cost_deltas(
    w_rec: Any,
    w_in: Any,
    w_out: Any,
    distances: Any,
    i: int,
    candidates: Any = None,
    *,
    d_in: Any = None,
    d_out: Any = None,
) -> np.ndarray:
    """Change of the wiring cost if neuron ``i`` swapped places with each candidate.

    The cost is ``sum(D * |W_rec|) + sum(D_in * |W_in|) + sum(D_out * |W_out|)``, the
    input and output terms only when ``d_in`` / ``d_out`` are given (input and output
    units with positions); BIMT's constant ``l0 * |W|`` term does not change under a
    swap, and a ``weight_factor`` scales all deltas alike.

    Parameters
    ----------
    w_rec, distances:
        ``(N, N)``: weights (``w_rec[a, b]`` from ``b`` onto ``a``) and the distances
        between positions.
    w_in, d_in:
        ``(N, n_in)`` input weights and hidden-to-input distances; ``w_in`` is unused
        (may be None) without ``d_in``.
    w_out, d_out:
        ``(n_out, N)`` output weights and output-to-hidden distances; likewise.
    i:
        The neuron (position) to move.
    candidates:
        ``(m,)`` positions to try swapping with; all N when None.

    Returns
    -------
    ``(m,)`` float64, cost after minus cost before, in weight x length units; 0 for
    ``candidate == i``. Vectorised over candidates: O(m N) time and memory.
    """
    a, d, b, db, c, dc = _problem(w_rec, w_in, w_out, distances, d_in, d_out)
    n = a.shape[0]
    return _deltas(a, d, b, db, c, dc, _index(i, n, "i"), _candidates(candidates, n))


def best_swaps(
    w_rec: Any,
    w_in: Any,
    w_out: Any,
    distances: Any,
    top_k: int,
    *,
    d_in: Any = None,
    d_out: Any = None,
    movable: Any = None,
    rtol: float = 1e-12,
) -> list[tuple[int, int]]:
    """Liu et al.'s swap step: move each of the top-k neurons to its cheapest place.

    1. Rank neurons by ``sum |W|`` of their incoming (``W_rec`` row, ``W_in`` row)
       plus outgoing (``W_rec`` column, ``W_out`` column) weights, largest first
       (``w_in`` / ``w_out`` may be None to leave them out); keep the first ``top_k``.
    2. For each of these neurons in turn, at its current position ``i``: the cost change
       of swapping it with every other (movable) neuron (:func:`swap_cost_deltas`);
       take the lowest, if it lowers the cost by more than ``rtol`` times the current
       cost (rounding must not trigger swaps), and apply it before the next neuron.

    Parameters are as :func:`swap_cost_deltas`; ``movable``: boolean ``(N,)``, the
    neurons that may be ranked or swapped (e.g. one population); all when None.

    Returns
    -------
    The swaps made, ``[(i, j), ...]`` as positions, in order: apply them in that order
    (or once, :func:`compose_swaps`) to every per-neuron quantity with
    :func:`permute_neurons`. The cost never rises: each swap lowers it.

    Unlike the BIMT notebooks, which remember the top-k *positions* (so a neuron moved
    onto a later position is moved again, and the one moved off is skipped), this
    follows the top-k *neurons* to wherever earlier swaps put them. The notebooks also
    take ties and gains of zero; this takes strict gains only.
    """
    a, d, b, db, c, dc = _problem(w_rec, w_in, w_out, distances, d_in, d_out)
    n = a.shape[0]
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 0:
        raise ValueError(f"top_k must be a non-negative integer, got {top_k!r}")
    if movable is None:
        can_move = np.ones(n, dtype=bool)
    else:
        can_move = np.asarray(movable)
        if can_move.dtype != np.bool_ or can_move.shape != (n,):
            raise ValueError(f"movable must be a boolean ({n},) array")
    # Score on the original weights; abs copies below are permuted as swaps happen.
    score = a.sum(axis=1) + a.sum(axis=0)
    if w_in is not None:
        w_in_abs = b if b is not None else np.abs(_f64(w_in, "w_in"))
        if w_in_abs.ndim != 2 or w_in_abs.shape[0] != n:
            raise ValueError(f"w_in must have shape (N, n_in) with N = {n}, got {w_in_abs.shape}")
        score += w_in_abs.sum(axis=1)
    if w_out is not None:
        w_out_abs = c if c is not None else np.abs(_f64(w_out, "w_out"))
        if w_out_abs.ndim != 2 or w_out_abs.shape[1] != n:
            raise ValueError(f"w_out must have shape (n_out, N) with N = {n}, got {w_out_abs.shape}")
        score += w_out_abs.sum(axis=0)
    pool = np.flatnonzero(can_move)
    top = pool[np.argsort(-score[pool], kind="stable")[:top_k]]
    position = np.arange(n)  # position[neuron] = where it is now
    at = np.arange(n)  # at[position] = the neuron there
    cost = float((d * a).sum())
    if db is not None and b is not None:
        cost += float((db * b).sum())
    if dc is not None and c is not None:
        cost += float((dc * c).sum())
    swaps: list[tuple[int, int]] = []
    for neuron in top:
        i = int(position[neuron])
        delta = _deltas(a, d, b, db, c, dc, i, pool)
        k = int(np.argmin(delta))
        if not delta[k] < -rtol * cost:
            continue
        j = int(pool[k])
        ij, ji = [i, j], [j, i]
        a[ij] = a[ji]
        a[:, ij] = a[:, ji]
        if b is not None:
            b[ij] = b[ji]
        if c is not None:
            c[:, ij] = c[:, ji]
        at[ij] = at[ji]
        position[at[ij]] = ij
        cost += float(delta[k])
        swaps.append((i, j))
    return swaps
