"""Directed modularity of weighted networks and community detection.

Conventions
-----------
``A`` is an ``(N, N)`` non-negative weight matrix with ``A[i, j]`` the weight of the
edge *from* ``j`` *to* ``i`` (for growsim, ``A = abs(W_rec)``, ``W_rec[i, j]`` being the
synapse from neuron ``j`` onto neuron ``i``). With ``m = A.sum()``,
``k_in = A.sum(axis=1)`` and ``k_out = A.sum(axis=0)``, the directed modularity of
Leicht & Newman (2008, PRL 100, 118703) of a partition ``c`` is::

    Q = (1/m) * sum_ij [A_ij - gamma * k_in_i * k_out_j / m] * delta(c_i, c_j)

with resolution ``gamma`` (1 for the standard Q). ``Q`` is unchanged by transposing
``A``, so the edge direction convention only matters for readability. Self-loops
(non-zero diagonal) count like any other edge.

This module depends on numpy, scipy and networkx only.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

__all__ = ["METHODS", "ModularityResult", "communities", "modularity_matrix", "modularity_q"]

#: Community-detection methods accepted by :func:`communities`.
METHODS: tuple[str, ...] = ("spectral", "louvain")

# A split is kept only if it raises Q by more than this (Q is dimensionless).
_Q_TOL = 1e-10
# Subgroups up to this size get LAPACK's dense eigensolver; larger ones get Lanczos
# (ARPACK) with a non-BLAS matrix-vector product. LAPACK is 2x faster on an idle
# machine, but its threaded BLAS slows down 10-200x when other processes hold the
# cores (measured on 2 cores: n = 400 took 0.8 s instead of 4 ms), and growsim runs
# this next to torch.
_DENSE_EIG_MAX = 48
# Kernighan-Lin passes per bisection; each pass moves every node once, and passes
# stop as soon as one brings no gain, which in practice takes a handful.
_MAX_KL_PASSES = 50


class ModularityResult(NamedTuple):
    """Result of :func:`communities`; unpacks as ``labels, q = communities(A)``.

    Attributes
    ----------
    labels:
        ``(N,)`` int64 community of each node, numbered ``0..k-1`` in order of first
        appearance (node 0 is always in community 0).
    q:
        Directed modularity of that partition, at the resolution used.
    """

    labels: np.ndarray
    q: float

    @property
    def n_communities(self) -> int:
        """Number of communities k."""
        return int(self.labels.max()) + 1 if self.labels.size else 0


def _weights(A: object) -> np.ndarray:
    """``A`` as a validated float64 ``(N, N)`` array (copy-free when possible)."""
    if scipy.sparse.issparse(A):
        A = A.toarray()  # type: ignore[union-attr]
    a = np.asarray(A)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"A must be a square (N, N) matrix, got shape {a.shape}")
    if np.iscomplexobj(a) or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise ValueError(f"A must hold real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        i, j = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"A contains a non-finite value {a[i, j]} at [{i}, {j}]")
    if np.any(a < 0):
        i, j = np.argwhere(a < 0)[0]
        raise ValueError(f"A must be non-negative (use abs(W) for signed weights); A[{i}, {j}] = {a[i, j]}")
    return a


def _check_resolution(resolution: object) -> float:
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Real):
        raise ValueError(f"resolution must be a number, got {resolution!r}")
    if not (math.isfinite(resolution) and resolution > 0):
        raise ValueError(f"resolution must be positive and finite, got {resolution!r}")
    return float(resolution)


def _first_appearance(codes: np.ndarray) -> np.ndarray:
    """Renumber integer codes ``0..k-1`` in order of first appearance; int64 ``(N,)``."""
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.ravel()]


def _q(a: np.ndarray, codes: np.ndarray, resolution: float) -> float:
    """Q for validated ``a`` and integer community codes ``0..k-1``."""
    m = a.sum()
    if m == 0:
        return 0.0
    k = int(codes.max()) + 1
    same = codes[:, None] == codes[None, :]
    within = a[same].sum()
    k_in_c = np.bincount(codes, weights=a.sum(axis=1), minlength=k)
    k_out_c = np.bincount(codes, weights=a.sum(axis=0), minlength=k)
    return float(within / m - resolution * np.dot(k_in_c, k_out_c) / (m * m))


def modularity_q(A: np.ndarray, labels: np.ndarray, *, resolution: float = 1.0) -> float:
    """Directed modularity Q of a given partition (Leicht & Newman 2008).

    Parameters
    ----------
    A:
        ``(N, N)`` non-negative, finite weights; ``A[i, j]`` is the edge from ``j`` to
        ``i``. A scipy sparse matrix is accepted too.
    labels:
        ``(N,)`` community of each node; any values that ``numpy.unique`` can sort
        (ints, strings...). Only equality between labels matters.
    resolution:
        ``gamma`` in the null-model term; 1 gives the standard Q.

    Returns
    -------
    Q as a float in ``[-1, 1)``. ``Q(A) == Q(A.T)``. For a graph without weight
    (``A.sum() == 0``) Q is defined as 0.0.

    Agrees with ``networkx.algorithms.community.modularity`` on the weighted
    ``nx.DiGraph`` of ``A`` (either orientation).

    Raises
    ------
    ValueError
        ``A`` is not square, not real, has NaN/inf or negative entries, or ``labels``
        has the wrong length.
    """
    a = _weights(A)
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != a.shape[0]:
        raise ValueError(f"labels must have shape ({a.shape[0]},) to match A, got {lab.shape}")
    if lab.size == 0:
        return 0.0
    _, codes = np.unique(lab, return_inverse=True)
    return _q(a, codes.ravel().astype(np.int64), _check_resolution(resolution))


def modularity_matrix(A: np.ndarray, *, resolution: float = 1.0) -> np.ndarray:
    """Directed modularity matrix ``B = A - gamma * outer(k_in, k_out) / m``.

    ``A`` as in :func:`modularity_q`; returns ``(N, N)`` float64, so that
    ``Q = B[same community].sum() / m``. An all-zero ``A`` gives an all-zero ``B``.
    """
    a = _weights(A)
    gamma = _check_resolution(resolution)
    m = a.sum()
    if m == 0:
        return np.zeros_like(a)
    return a - gamma * np.outer(a.sum(axis=1), a.sum(axis=0)) / m


# ----------------------------------------------------------------- spectral method


def _leading_eigenpair(bg: np.ndarray) -> tuple[float, np.ndarray]:
    """Largest eigenvalue of symmetric ``bg`` ``(n, n)`` and its eigenvector ``(n,)``."""
    n = bg.shape[0]
    if n > _DENSE_EIG_MAX:
        # Fixed start vector: ARPACK's default one is random, which would make the
        # partition vary from run to run. Not all-ones: that is an eigenvector of bg
        # (its rows sum to zero) and would trap Lanczos in the wrong subspace.
        v0 = np.random.default_rng(12345).uniform(0.5, 1.5, size=n)
        # einsum's own loop rather than a threaded BLAS product (see _DENSE_EIG_MAX).
        op = LinearOperator((n, n), matvec=lambda x: np.einsum("ij,j->i", bg, x), dtype=np.float64)
        try:
            w, v = eigsh(op, k=1, which="LA", v0=v0)
            return float(w[0]), v[:, 0]
        except (ArpackNoConvergence, ArpackError):
            pass  # fall back to the dense solver below
    # Only the top eigenpair: about 3x faster than a full decomposition.
    w, v = scipy.linalg.eigh(bg, subset_by_index=[n - 1, n - 1], driver="evr", check_finite=False)
    return float(w[0]), v[:, 0]


def _kernighan_lin(bg: np.ndarray, s: np.ndarray, eps: float) -> np.ndarray:
    """Fine-tune a bisection ``s`` (``(n,)`` of +-1.0) to raise ``s @ bg @ s``.

    Newman (2006, PNAS 103, 8577): in each pass, move every node once, each time the
    node whose move raises (or least lowers) the objective; then keep the best state
    seen in the pass. Passes repeat until one brings no gain above ``eps``.
    """
    n = s.size
    order = np.empty(n, dtype=np.int64)
    for _ in range(_MAX_KL_PASSES):
        # d = diag(s) bg diag(s) without its diagonal (s_i^2 = 1: diagonal terms never
        # change). Moving i changes the objective by 4 g_i, g_i = -sum_k d_ik. Within a
        # pass a node moves at most once, so moving j changes g_i by exactly 2 d_ij.
        d2 = bg * (2.0 * s)[:, None]
        d2 *= s
        np.fill_diagonal(d2, 0.0)
        g = d2.sum(axis=1)
        g *= -0.5
        gain = best = 0.0
        best_t = -1
        for t in range(n):
            j = int(g.argmax())
            gain += 4.0 * float(g[j])
            g += d2[j]  # d2 symmetric: row j == column j
            g[j] = -np.inf  # moved: locked for the rest of the pass
            order[t] = j
            if gain > best + eps:
                best, best_t = gain, t
        s[order[: best_t + 1]] *= -1.0  # keep the moves up to the best state
        if best_t < 0:
            break
    return s


def _bisect(bs: np.ndarray, group: np.ndarray, m: float) -> np.ndarray | None:
    """Best split of ``group`` (node indices) as +-1 ``(len(group),)``, or ``None``.

    ``bs = B + B.T`` is the symmetrised modularity matrix of the whole graph; the
    split maximises ``s @ bg @ s / (4 m)``, the gain in Q, with ``bg`` the generalised
    modularity matrix of the group (Newman 2006; Leicht & Newman 2008).
    """
    n = group.size
    if n < 2:
        return None
    bg = bs[np.ix_(group, group)]
    bg[np.diag_indices(n)] -= bg.sum(axis=1)
    lam, v = _leading_eigenpair(bg)
    # s @ bg @ s <= lam * n for every s: nothing to gain unless lam is positive.
    if lam * n / (4.0 * m) <= _Q_TOL:
        return None
    s = np.where(v >= 0, 1.0, -1.0)
    s = _kernighan_lin(bg, s, eps=_Q_TOL * 4.0 * m)
    if abs(s.sum()) == n or float(np.dot(s, np.einsum("ij,j->i", bg, s))) / (4.0 * m) <= _Q_TOL:
        return None
    return s


def _spectral(a: np.ndarray, resolution: float) -> np.ndarray:
    n = a.shape[0]
    m = a.sum()
    b = a - resolution * np.outer(a.sum(axis=1), a.sum(axis=0)) / m
    bs = b + b.T
    codes = np.zeros(n, dtype=np.int64)
    n_codes = 1
    todo = [np.arange(n)]
    # Each group's split depends on the group alone, so the processing order does not
    # change the final partition.
    while todo:
        group = todo.pop()
        s = _bisect(bs, group, m)
        if s is None:
            continue
        codes[group[s < 0]] = n_codes
        n_codes += 1
        todo.extend((group[s > 0], group[s < 0]))
    return codes


def _louvain(a: np.ndarray, resolution: float, seed: int | None) -> np.ndarray:
    import networkx as nx

    # Transposed so that networkx's edge j -> i carries A[i, j].
    g = nx.from_numpy_array(a.T, create_using=nx.DiGraph)
    parts = nx.community.louvain_communities(g, weight="weight", resolution=resolution, seed=seed)
    codes = np.empty(a.shape[0], dtype=np.int64)
    for c, nodes in enumerate(parts):
        codes[list(nodes)] = c
    return codes


def communities(
    A: np.ndarray,
    *,
    method: str = "spectral",
    seed: int | None = None,
    resolution: float = 1.0,
) -> ModularityResult:
    """Partition a weighted directed graph into communities by maximising Q.

    Parameters
    ----------
    A:
        ``(N, N)`` non-negative, finite weights, ``A[i, j]`` = edge from ``j`` to ``i``
        (for growsim, ``abs(W_rec)``); scipy sparse accepted.
    method:
        ``"spectral"`` (default): Leicht & Newman's directed spectral method. With the
        symmetrised modularity matrix ``B + B.T``, groups are bisected recursively by
        the sign of the leading eigenvector of each group's generalised modularity
        matrix; each bisection is refined by Kernighan-Lin-style single-node moves
        (Newman 2006's fine-tuning); a group is left whole when no split raises Q.
        Deterministic: ``seed`` is ignored. The Brain Connectivity Toolbox's
        ``modularity_dir`` implements the same method with a single fine-tuning pass
        per split; repeating passes until none gains, as Newman describes, gives an
        equal or slightly higher Q.
        ``"louvain"``: ``networkx.community.louvain_communities`` on the weighted
        ``nx.DiGraph``, with ``seed`` (an int gives a reproducible result; ``None``
        draws from global randomness).
    seed:
        Random seed, used by ``"louvain"`` only.
    resolution:
        ``gamma`` > 0 in the null-model term; larger values favour smaller communities.

    Returns
    -------
    :class:`ModularityResult` ``(labels, q)``: ``labels`` ``(N,)`` int64 numbered
    ``0..k-1`` in order of first appearance, and ``q``, the modularity of that
    partition at ``resolution`` (the standard Q when ``resolution == 1``).

    A graph without weight (``A.sum() == 0``, including ``N == 0``) has no community
    structure: every node is put in one community (labels all 0) and ``q = 0.0``,
    by either method and without warnings. Nodes without any edge join an arbitrary
    (but, for ``"spectral"``, deterministic) community; they do not change Q.

    Cost of ``"spectral"``: about O(N^2) memory and, per bisection of a group of ``n``
    nodes, O(n^2) per fine-tuning pass plus an eigen-solve (LAPACK up to 48 nodes,
    Lanczos above). It avoids threaded BLAS in its hot paths, so its run time holds up
    when other processes (e.g. torch) keep the cores busy.

    Raises
    ------
    ValueError
        Bad ``A`` (see :func:`modularity_q`), unknown ``method`` or bad ``resolution``.
    """
    a = _weights(A)
    gamma = _check_resolution(resolution)
    if method not in METHODS:
        raise ValueError(f"unknown community method {method!r}; expected one of {', '.join(METHODS)}")
    n = a.shape[0]
    if a.sum() == 0:
        return ModularityResult(np.zeros(n, dtype=np.int64), 0.0)
    codes = _spectral(a, gamma) if method == "spectral" else _louvain(a, gamma, seed)
    labels = _first_appearance(codes)
    return ModularityResult(labels, _q(a, labels, gamma))
