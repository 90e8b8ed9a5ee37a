"""Core types of :mod:`growsim.geometry`: the error, the container and distances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist, squareform

__all__ = ["METRICS", "Geometry", "GeometryError", "distance_matrix"]

#: Metrics understood by :func:`distance_matrix` (and every constructor's ``metric=``).
METRICS: tuple[str, ...] = ("euclidean", "manhattan")

# Our metric names -> scipy's.
_SCIPY_METRIC = {"euclidean": "euclidean", "manhattan": "cityblock"}


class GeometryError(ValueError):
    """A geometry cannot be built from what the user gave (bad file, shape, value...)."""


def check_metric(metric: object) -> str:
    """Return ``metric`` if it is one of :data:`METRICS`, else raise :class:`GeometryError`."""
    if not isinstance(metric, str) or metric not in _SCIPY_METRIC:
        raise GeometryError(f"unknown distance metric {metric!r}; expected one of {', '.join(METRICS)}")
    return metric


def distance_matrix(positions: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """Pairwise distances between points.

    Parameters
    ----------
    positions:
        ``(N, d)`` array of coordinates, any real dtype, all finite.
    metric:
        ``"euclidean"`` (L2) or ``"manhattan"`` (L1, city block).

    Returns
    -------
    ``(N, N)`` float64 array, in the units of ``positions``; exactly symmetric with an
    exactly zero diagonal.
    """
    metric = check_metric(metric)
    pos = np.asarray(positions)
    if pos.ndim != 2:
        raise GeometryError(f"positions must be a 2-D array of shape (N, d), got shape {pos.shape}")
    if not (np.issubdtype(pos.dtype, np.number) or pos.dtype == np.bool_) or np.iscomplexobj(pos):
        raise GeometryError(f"positions must be real numbers, got dtype {pos.dtype}")
    pos = pos.astype(np.float64, copy=False)
    if not np.all(np.isfinite(pos)):
        i, j = np.argwhere(~np.isfinite(pos))[0]
        raise GeometryError(f"positions contain a non-finite value {pos[i, j]} at row {i}, column {j}")
    n = pos.shape[0]
    if n < 2:
        return np.zeros((n, n))
    # pdist + squareform: symmetric and zero on the diagonal by construction.
    return squareform(pdist(pos, metric=_SCIPY_METRIC[metric]))


def _frozen_array(a: np.ndarray) -> np.ndarray:
    out = np.array(a, dtype=np.float64, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Geometry:
    """Where the N neurons of a network sit, and how far apart they are.

    Attributes
    ----------
    distances:
        ``(N, N)`` float64, in ``units``; ``distances[i, j]`` is the distance from neuron
        ``j`` to neuron ``i``. Non-negative and finite; symmetry is not required (a
        distance file may hold, e.g., fibre lengths that differ by direction).
    positions:
        ``(N, d)`` float64 with ``d`` in 1..3, in ``units``; ``None`` when only a distance
        matrix is known.
    labels:
        ``N`` region or neuron names, or ``None``.
    units:
        Length unit of ``distances`` and ``positions``, e.g. ``"mm"`` or ``"grid units"``.

    The arrays are copied on construction and made read-only, so a ``Geometry`` can be
    shared safely; copy an array before changing it. Equality is identity (``eq=False``),
    because element-wise array comparison has no single truth value.
    """

    distances: np.ndarray
    positions: np.ndarray | None
    labels: tuple[str, ...] | None
    units: str

    def __post_init__(self) -> None:
        d = np.asarray(self.distances)
        if d.ndim != 2 or d.shape[0] != d.shape[1]:
            raise GeometryError(f"distances must be a square (N, N) matrix, got shape {d.shape}")
        if np.iscomplexobj(d) or not (np.issubdtype(d.dtype, np.number) or d.dtype == np.bool_):
            raise GeometryError(f"distances must be real numbers, got dtype {d.dtype}")
        d = _frozen_array(d)
        if not np.all(np.isfinite(d)):
            raise GeometryError("distances contain NaN or infinite values")
        if np.any(d < 0):
            raise GeometryError("distances contain negative values")
        n = d.shape[0]
        object.__setattr__(self, "distances", d)

        if self.positions is not None:
            p = np.asarray(self.positions)
            if p.ndim != 2 or p.shape[0] != n or not 1 <= p.shape[1] <= 3:
                raise GeometryError(
                    f"positions must have shape ({n}, d) with d in 1..3 to match {n} distances, "
                    f"got shape {p.shape}"
                )
            p = _frozen_array(p)
            if not np.all(np.isfinite(p)):
                raise GeometryError("positions contain NaN or infinite values")
            object.__setattr__(self, "positions", p)

        if self.labels is not None:
            labels = tuple(str(x) for x in self.labels)
            if len(labels) != n:
                raise GeometryError(f"got {len(labels)} labels for {n} neurons")
            object.__setattr__(self, "labels", labels)

        if not isinstance(self.units, str) or not self.units:
            raise GeometryError(f"units must be a non-empty string, got {self.units!r}")

    @property
    def n(self) -> int:
        """Number of neurons N."""
        return int(self.distances.shape[0])

    @property
    def dim(self) -> int | None:
        """Spatial dimension d of ``positions``, or ``None`` without positions."""
        return None if self.positions is None else int(self.positions.shape[1])

    def __repr__(self) -> str:
        where = "no positions" if self.positions is None else f"{self.dim}-D positions"
        lab = "" if self.labels is None else ", labelled"
        return f"Geometry(n={self.n}, {where}{lab}, units={self.units!r})"
