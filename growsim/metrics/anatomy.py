"""Anatomical modularity of functional clusters on a lattice (Liu, Khona, Fiete & Tegmark).

Conventions
-----------
``coords`` are the neurons' integer lattice positions, ``(N, d)`` (or ``(N,)`` for a
1-D lattice), e.g. ``np.stack(np.unravel_index(np.arange(N), shape), axis=1)`` for
:func:`growsim.geometry.grid` (neuron k at lattice index ``unravel_index(k, shape)``).
Two neurons are *neighbours* when their positions differ by at most 1 along every axis
(and they are distinct): the 8 surrounding cells on a 2-D grid, 2 on a 1-D grid,
26 in 3-D. ``labels`` is ``(N,)`` int: the functional cluster of each active neuron
(``>= 0``) and ``-1`` for inactive neurons, which belong to no cluster
(:func:`growsim.metrics.taskvar.expand_labels` builds it).

Statistics, over the active neurons only
----------------------------------------
- :func:`isolated_fraction`: the fraction of active neurons that have no neighbour in
  their own cluster (Liu et al., section 3.3: "A neuron is isolated if none of its
  (eight) neighbors belongs to the same functional cluster"). Smaller = more modular.
- :func:`cluster_spread`: for each cluster, the mean squared lattice distance of its
  neurons from the cluster's centroid (the sum over axes of the variance of their
  indices); averaged over clusters with equal weight. In squared lattice steps. This is
  Liu et al.'s appendix metric for 1-D grids, "variance of indices within clusters",
  and matches their "average size of functional clusters" for which "smaller is better".
- :func:`mean_cluster_size`: for each active neuron, the number of neurons in the
  spatially connected group (through neighbours) of same-cluster neurons that contains
  it; averaged over active neurons (= sum of squared component sizes / N_active).
  Larger = more modular: this is NOT the direction of Liu et al.'s "cluster size".

:func:`shuffle_baseline` compares each with the same statistic after random
permutations of the labels among the active positions (Liu et al.: 10,000 shuffles of
the important neurons), computed for a whole chunk of shuffles at once.

This module depends on numpy and scipy only.
"""

from __future__ import annotations

import itertools
import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import connected_components

__all__ = [
    "ANATOMY_STATISTICS",
    "NullComparison",
    "cluster_spread",
    "isolated_fraction",
    "isolated_neurons",
    "mean_cluster_size",
    "shuffle_baseline",
]

#: Statistics that :func:`shuffle_baseline` can compute, by name.
ANATOMY_STATISTICS: tuple[str, ...] = ("isolated_fraction", "cluster_spread", "mean_cluster_size")


class NullComparison(NamedTuple):
    """An observed statistic against its shuffle distribution.

    Attributes
    ----------
    observed:
        The statistic of the given labelling.
    null:
        ``(n_shuffles,)`` float64, the statistic of each shuffled labelling.
    percentile:
        Percent (0-100) of the null below ``observed``, ties counting half
        (``scipy.stats.percentileofscore(null, observed, kind="mean")``). Near 0: far
        smaller than chance (modular for the isolated fraction and the spread).
    """

    observed: float
    null: np.ndarray
    percentile: float


class _Layout(NamedTuple):
    """The active neurons of a labelling and who neighbours whom."""

    pos: np.ndarray  # (n, d) int64 lattice positions of the active neurons
    labels: np.ndarray  # (n,) int16 or int64, their cluster labels renumbered 0..k-1
    nbr: np.ndarray  # (n, K) int64 index of each neighbour among the active ones, n if none
    half: tuple[int, ...]  # the columns of nbr whose offset points 'forward' (one of o, -o)
    n_labels: int


def _coords(coords: object) -> np.ndarray:
    c = np.asarray(coords)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[1] < 1:
        raise ValueError(f"coords must have shape (N,) or (N, d), got {c.shape}")
    if c.dtype == np.bool_ or not np.issubdtype(c.dtype, np.number) or np.iscomplexobj(c):
        raise ValueError(f"coords must be integer lattice positions, got dtype {c.dtype}")
    if not np.issubdtype(c.dtype, np.integer):
        r = np.rint(c)
        if not np.all(np.isfinite(c)) or np.any(r != c):
            raise ValueError(
                "coords must be integer lattice positions (for a grid of spacing s, pass np.rint(positions / s))"
            )
        c = r
    c = c.astype(np.int64)
    if np.unique(c, axis=0).shape[0] != c.shape[0]:
        raise ValueError("coords must be distinct: two neurons share a lattice position")
    return c


def _layout(coords: object, labels: object) -> _Layout:
    c = _coords(coords)
    lab = np.asarray(labels)
    if lab.shape != (c.shape[0],):
        raise ValueError(f"labels must have shape ({c.shape[0]},) to match coords, got {lab.shape}")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be integers (-1 for inactive neurons), got dtype {lab.dtype}")
    if np.any(lab < -1):
        raise ValueError("labels must be >= 0 for active neurons and -1 for inactive ones")
    act = lab >= 0
    n = int(act.sum())
    if n == 0:
        raise ValueError("no active neuron (every label is -1): the statistics are undefined")
    pos = c[act]
    _, codes = np.unique(lab[act], return_inverse=True)
    # Neighbour lookup by sorted linear keys: memory O(n), whatever the lattice's extent.
    lo = pos.min(axis=0) - 1
    ext = pos.max(axis=0) - lo + 2
    keys = np.ravel_multi_index(tuple((pos - lo).T), tuple(ext))
    order = np.argsort(keys)
    sorted_keys = keys[order]
    d = pos.shape[1]
    offsets = [o for o in itertools.product((-1, 0, 1), repeat=d) if any(o)]
    nbr = np.full((n, len(offsets)), n, dtype=np.int64)
    for k, off in enumerate(offsets):
        q = np.ravel_multi_index(tuple((pos - lo + np.asarray(off)).T), tuple(ext))
        at = np.minimum(np.searchsorted(sorted_keys, q), n - 1)
        hit = sorted_keys[at] == q
        nbr[hit, k] = order[at[hit]]
    half = tuple(k for k, off in enumerate(offsets) if next(v for v in off if v) > 0)
    n_labels = int(codes.max()) + 1
    # Small labels make the many gathers and comparisons of the shuffles cheaper.
    dtype = np.int16 if n_labels < np.iinfo(np.int16).max else np.int64
    return _Layout(pos, codes.ravel().astype(dtype), nbr, half, n_labels)


# --------------------------------------------------- statistics of many labellings
# Each takes ``lab``, an (n, S) int array: S labellings of the n active neurons, one per
# column. Neuron-major, so that gathering neighbours copies whole contiguous rows.


def _padded(lab: np.ndarray) -> np.ndarray:
    """``lab`` with a row of -1 appended: the label of 'no active neighbour here'."""
    return np.concatenate([lab, np.full((1, lab.shape[1]), -1, dtype=lab.dtype)])


def _has_mate(lay: _Layout, lab: np.ndarray) -> np.ndarray:
    padded = _padded(lab)
    has_mate = np.zeros(lab.shape, dtype=bool)
    for k in range(lay.nbr.shape[1]):
        has_mate |= padded[lay.nbr[:, k]] == lab
    return has_mate


def _isolated(lay: _Layout, lab: np.ndarray) -> np.ndarray:
    return np.count_nonzero(~_has_mate(lay, lab), axis=0) / lab.shape[0]


def _spread(lay: _Layout, lab: np.ndarray) -> np.ndarray:
    n, s = lab.shape
    k = lay.n_labels
    idx = (lab + k * np.arange(s)).ravel()  # one bin per (labelling, cluster)
    count = np.bincount(idx, minlength=s * k).reshape(s, k)
    total = np.zeros((s, k))
    for x in lay.pos.T.astype(np.float64):
        x = x - x.mean()  # centred: sxx/count - mean^2 then loses fewer digits
        xs = np.broadcast_to(x[:, None], (n, s)).ravel()
        sx = np.bincount(idx, weights=xs, minlength=s * k).reshape(s, k)
        sxx = np.bincount(idx, weights=xs * xs, minlength=s * k).reshape(s, k)
        with np.errstate(invalid="ignore", divide="ignore"):
            total += np.where(count > 0, sxx / count - np.square(sx / count), 0.0)
    # Rounding can leave -1e-16 for a one-neuron cluster; a variance is never negative.
    return np.maximum(total, 0.0).sum(axis=1) / (count > 0).sum(axis=1)


def _component_size(lay: _Layout, lab: np.ndarray) -> np.ndarray:
    n, s = lab.shape
    padded = _padded(lab)
    rows, cols = [], []
    for k in lay.half:  # one direction per neighbour pair: the graph is undirected
        a, sh = np.nonzero(padded[lay.nbr[:, k]] == lab)
        rows.append(sh * n + a)
        cols.append(sh * n + lay.nbr[a, k])
    r, c = np.concatenate(rows), np.concatenate(cols)
    # Node sh * n + a is neuron a in labelling sh: a block-diagonal graph, one block each.
    graph = scipy.sparse.coo_matrix((np.ones(r.size, dtype=np.int8), (r, c)), shape=(s * n, s * n))
    _, comp = connected_components(graph.tocsr(), directed=False)
    size = np.bincount(comp)[comp].reshape(s, n)
    return size.mean(axis=1)


_FUNCS = {"isolated_fraction": _isolated, "cluster_spread": _spread, "mean_cluster_size": _component_size}


def isolated_neurons(coords: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Which neurons are isolated: active, with no lattice neighbour in their own cluster.

    ``coords`` and ``labels`` as :func:`isolated_fraction`; returns ``(N,)`` bool, False for
    inactive neurons. Its mean over the active neurons is :func:`isolated_fraction`.
    """
    lay = _layout(coords, labels)
    out = np.zeros(np.asarray(labels).shape[0], dtype=bool)
    out[np.asarray(labels) >= 0] = ~_has_mate(lay, lay.labels[:, None])[:, 0]
    return out


def isolated_fraction(coords: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of active neurons with no lattice neighbour in their own cluster.

    ``coords``: ``(N, d)`` or ``(N,)`` integer lattice positions; ``labels``: ``(N,)``
    int, cluster of each active neuron, -1 for inactive. Inactive neurons and empty
    lattice cells never count as same-cluster neighbours. Returns a float in [0, 1]
    (dimensionless). Liu et al., section 3.3.
    """
    lay = _layout(coords, labels)
    return float(_isolated(lay, lay.labels[:, None])[0])


def cluster_spread(coords: np.ndarray, labels: np.ndarray) -> float:
    """Mean over clusters of the within-cluster variance of lattice positions.

    For cluster c with members at lattice positions x_m: ``mean_m |x_m - mean(x)|^2``
    (the sum over axes of the population variance of the indices; 0 for a one-neuron
    cluster); the result is the unweighted mean over clusters, in squared lattice
    steps (multiply by the squared grid spacing for squared length units). Arguments
    as :func:`isolated_fraction`. Liu et al.'s "variance of indices within clusters".
    """
    lay = _layout(coords, labels)
    return float(_spread(lay, lay.labels[:, None])[0])


def mean_cluster_size(coords: np.ndarray, labels: np.ndarray) -> float:
    """Mean, over active neurons, of the size of the connected same-cluster patch holding each.

    Same-cluster neurons that are lattice neighbours are joined; each neuron's patch is
    its connected component (8-connectivity on a 2-D grid). Returns ``sum_p |p|^2 /
    N_active`` over patches p (neurons), between 1 (every neuron isolated) and the
    largest cluster's size. Arguments as :func:`isolated_fraction`.
    """
    lay = _layout(coords, labels)
    return float(_component_size(lay, lay.labels[:, None])[0])


def _percentile(null: np.ndarray, observed: float) -> float:
    below = np.count_nonzero(null < observed)
    ties = np.count_nonzero(null == observed)
    return float(100.0 * (below + 0.5 * ties) / null.size)


def shuffle_baseline(
    coords: np.ndarray,
    labels: np.ndarray,
    *,
    rng: np.random.Generator | int,
    n_shuffles: int = 10_000,
    statistics: tuple[str, ...] = ANATOMY_STATISTICS,
    chunk_size: int = 500,
) -> dict[str, NullComparison]:
    """Each statistic of ``labels`` against random permutations of the active labels.

    Parameters
    ----------
    coords, labels:
        As :func:`isolated_fraction`.
    rng:
        A ``numpy.random.Generator`` (e.g. the run's named stream) or an int seed.
    n_shuffles:
        Number of shuffled labellings (Liu et al.: 10,000). Each permutes the labels
        among the active positions; inactive positions stay inactive, so cluster sizes
        and the set of active positions are those of the observed network.
    statistics:
        Names from :data:`ANATOMY_STATISTICS`.
    chunk_size:
        Shuffles evaluated together. Memory is about ``chunk_size * N_active * 3^d``
        bytes for the neighbour comparison (and 50x that for ``mean_cluster_size``'s
        graph). The result does not depend on it.

    Returns
    -------
    ``{name: NullComparison(observed, null (n_shuffles,), percentile)}``.

    The permutations come from ``rng.random((chunk, N_active))`` sorted per row, drawn
    chunk after chunk, so the same generator state gives the same null whatever
    ``chunk_size``. Every statistic is computed for all shuffles of a chunk at once:
    the isolated fraction and the spread with array operations, the patch sizes with
    one ``connected_components`` call on the block-diagonal graph of the chunk.
    """
    lay = _layout(coords, labels)
    bad = [s for s in statistics if s not in _FUNCS]
    if bad or not statistics:
        raise ValueError(f"unknown statistics {bad}; expected names from {', '.join(ANATOMY_STATISTICS)}")
    for name, v in (("n_shuffles", n_shuffles), ("chunk_size", chunk_size)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        rng = np.random.default_rng(int(rng))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator or an int seed, got {rng!r}")
    n = lay.labels.size
    observed = {s: float(_FUNCS[s](lay, lay.labels[:, None])[0]) for s in statistics}
    null = {s: np.empty(n_shuffles) for s in statistics}
    for start in range(0, n_shuffles, chunk_size):
        m = min(chunk_size, n_shuffles - start)
        perm = np.argsort(rng.random((m, n)), axis=1)
        lab = np.ascontiguousarray(lay.labels[perm].T)  # (n, m)
        for s in statistics:
            null[s][start : start + m] = _FUNCS[s](lay, lab)
    return {s: NullComparison(observed[s], null[s], _percentile(null[s], observed[s])) for s in statistics}
