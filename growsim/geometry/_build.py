"""Synthetic geometries: regular lattices and uniformly scattered points."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ._core import Geometry, GeometryError, check_metric, distance_matrix

__all__ = ["grid", "random_points"]


def _positive_int(value: object, what: str) -> int:
    # bool is an int subclass; True as a size is surely a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise GeometryError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def grid(
    shape: Sequence[int],
    *,
    spacing: float | None = None,
    metric: str = "euclidean",
) -> Geometry:
    """Neurons on a regular 1-D, 2-D or 3-D lattice.

    Parameters
    ----------
    shape:
        Lattice size per axis, e.g. ``[n_h, n_h]``; 1 to 3 positive integers (a bare
        integer means a 1-D lattice). N = product of ``shape``.
    spacing:
        Distance between neighbouring lattice points, in grid units. ``None`` (default)
        puts point ``i`` of an axis of length ``n_a`` at ``i / n_a``, so each axis spans
        ``[0, 1)`` (Liu et al.: an ``n_h x n_h`` grid at ``(i/n_h, j/n_h)``); for a
        non-cubic ``shape`` the spacing then differs between axes.
    metric:
        ``"euclidean"`` or ``"manhattan"``.

    Returns
    -------
    :class:`Geometry` with ``positions`` of shape ``(N, len(shape))`` in row-major
    (C) order -- neuron ``k`` sits at ``np.unravel_index(k, shape)`` -- ``distances``
    ``(N, N)``, no labels, units ``"grid units"``.
    """
    metric = check_metric(metric)
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or not 1 <= len(shape) <= 3:
        raise GeometryError(f"grid shape must be a list of 1 to 3 positive integers, got {shape!r}")
    dims = tuple(_positive_int(s, "each grid size") for s in shape)
    if spacing is not None:
        if isinstance(spacing, bool) or not isinstance(spacing, numbers.Real):
            raise GeometryError(f"grid spacing must be a number, got {spacing!r}")
        if not (math.isfinite(spacing) and spacing > 0):
            raise GeometryError(f"grid spacing must be positive and finite, got {spacing!r}")

    axes = [
        np.arange(n_a, dtype=np.float64) * (float(spacing) if spacing is not None else 1.0 / n_a)
        for n_a in dims
    ]
    # indexing="ij" + C-order ravel = row-major numbering of the neurons.
    mesh = np.meshgrid(*axes, indexing="ij")
    positions = np.stack([m.ravel() for m in mesh], axis=1)
    return Geometry(
        distances=distance_matrix(positions, metric),
        positions=positions,
        labels=None,
        units="grid units",
    )


def random_points(
    n: int,
    *,
    dim: int,
    rng: np.random.Generator,
    extent: float = 1.0,
    metric: str = "euclidean",
) -> Geometry:
    """``n`` neurons placed independently and uniformly in the cube ``[0, extent]^dim``.

    Parameters
    ----------
    n:
        Number of neurons N (>= 1).
    dim:
        Spatial dimension d, 1 to 3.
    rng:
        Source of randomness; the same seeded generator gives the same points.
    extent:
        Side length of the cube, in grid units (> 0).
    metric:
        ``"euclidean"`` or ``"manhattan"``.

    Returns
    -------
    :class:`Geometry` with ``positions`` ``(N, dim)``, ``distances`` ``(N, N)``, no
    labels, units ``"grid units"``.
    """
    metric = check_metric(metric)
    n = _positive_int(n, "number of points n")
    dim = _positive_int(dim, "dimension dim")
    if dim > 3:
        raise GeometryError(f"dimension dim must be 1, 2 or 3, got {dim}")
    if isinstance(extent, bool) or not isinstance(extent, numbers.Real):
        raise GeometryError(f"extent must be a number, got {extent!r}")
    if not (math.isfinite(extent) and extent > 0):
        raise GeometryError(f"extent must be positive and finite, got {extent!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    positions = rng.uniform(0.0, float(extent), size=(n, dim))
    return Geometry(
        distances=distance_matrix(positions, metric),
        positions=positions,
        labels=None,
        units="grid units",
    )
