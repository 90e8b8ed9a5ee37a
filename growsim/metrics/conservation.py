"""How much of a weight matrix is kept from one module of a chain to the next (Hamidi et al., Fig. 5c).

Hamidi et al. z-score each module's weights "by its mean and standard deviation to correct
for systematic differences across module sizes", take the change of the normalised weight
between corresponding neurons i, j of consecutive modules m - 1 and m::

    dZ_ij = Z^m_ij - Z^(m-1)_ij,     Z^m = (W^m - mean(W^m)) / std(W^m)

and report its variance over the entries, an inverse proxy for conservation: 0 when a
module's weights are an increasing affine function of the previous module's.

Choices the paper leaves open, made here:

- A module's mean and standard deviation are over all the entries that enter the
  comparison, one pair of numbers per matrix (not per row or column).
- The standard deviation and the variance are population ones (ddof 0). With them the
  mean of dZ is exactly 0 and its variance is ``2 (1 - r)``, with r the Pearson correlation
  of the two matrices' entries: it lies in [0, 4], 0 for r = 1 and 4 for r = -1 (a sign flip).
- ``exclude_diagonal``: for a recurrent matrix whose diagonal is structurally zero (a chain
  without autapses, ``network.zero_diagonal``), the diagonal is left out. Those M zeros are
  no trained weights; kept, they shift every module's mean and standard deviation and add
  M identical entries that pull the correlation towards 1.

Depends on numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ConstantMatrixError", "normalized_weights", "weight_change_variance"]

# A matrix whose standard deviation is below this fraction of its largest |entry| is
# constant up to rounding (the mean of n equal float values need not equal them exactly).
_CONSTANT_RTOL = 1e-12


class ConstantMatrixError(ValueError):
    """A matrix whose entries are all equal: its z-scores are undefined. ``index`` is its place in the list."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def _entries(w: np.ndarray, exclude_diagonal: bool) -> np.ndarray:
    """The entries compared, row by row (the diagonal left out when asked), as float64."""
    if not exclude_diagonal:
        return w.reshape(-1)
    return w[~np.eye(w.shape[0], dtype=bool)]


def _zscores(values: np.ndarray, index: int) -> np.ndarray:
    std = values.std()  # ddof 0
    if not std > _CONSTANT_RTOL * np.abs(values).max(initial=0.0):
        raise ConstantMatrixError(
            f"weights[{index}] is constant ({values[0]:g} everywhere compared): its z-scores are undefined", index
        )
    return (values - values.mean()) / std


def _checked(weights: Sequence[object], exclude_diagonal: bool) -> list[np.ndarray]:
    arrays = [np.asarray(w) for w in weights]
    if not arrays:
        raise ValueError("weights is empty: give one matrix per module")
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.ndim != 2:
            raise ValueError(f"weights[{i}] must be a 2-D matrix, got shape {a.shape}")
        if a.shape != shape:
            raise ValueError(f"weights[{i}] has shape {a.shape}, weights[0] {shape}: modules must have one shape")
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise ValueError(f"weights[{i}] must hold real numbers, got dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"weights[{i}] contains NaN or inf")
    if exclude_diagonal and shape[0] != shape[1]:
        raise ValueError(f"exclude_diagonal needs square matrices, got shape {shape}")
    n_compared = shape[0] * shape[1] - (shape[0] if exclude_diagonal else 0)
    if n_compared < 2:
        raise ValueError(f"matrices of shape {shape} leave {n_compared} entries to compare; need at least 2")
    return [_entries(a.astype(np.float64), exclude_diagonal) for a in arrays]


def normalized_weights(w: object, *, exclude_diagonal: bool = False) -> np.ndarray:
    """The z-scores of a matrix's entries: ``(w - mean) / std`` over the entries compared.

    Args:
        w: (R, C) weights of one module.
        exclude_diagonal: leave out the diagonal (square ``w`` only).

    Returns:
        (R * C,) float64 z-scores in row-major order, or (R * R - R,) without the diagonal.
        Raises :class:`ConstantMatrixError` (a ValueError) for a constant matrix.
    """
    return _zscores(_checked([w], exclude_diagonal)[0], 0)


def weight_change_variance(weights: Sequence[object], *, exclude_diagonal: bool = False) -> np.ndarray:
    """Variance of the normalised weight change between consecutive modules (Hamidi et al., Fig. 5c).

    Args:
        weights: one (R, C) matrix per module, all of one shape, in chain order (module 0
            first). Entry (i, j) of one module corresponds to entry (i, j) of the next.
        exclude_diagonal: leave each matrix's diagonal out of the z-scores and of the
            variance (square matrices; for a recurrent W whose diagonal is structurally zero).

    Returns:
        (n - 1,) float64 for n matrices: element k is the population variance (ddof 0) over
        the entries of ``Z[k + 1] - Z[k]``, Z the z-scores of :func:`normalized_weights`.
        Dimensionless, in [0, 4]: 0 when module k + 1's weights are ``a W_k + b`` with
        a > 0, 4 when a < 0. Empty for a single matrix.

    Raises:
        ValueError: no matrices, matrices of different shapes or not 2-D, NaN or inf, fewer
            than 2 entries to compare; :class:`ConstantMatrixError` (a ValueError, with the
            ``index`` of the matrix) when a matrix's compared entries are all equal.
    """
    z = [_zscores(values, i) for i, values in enumerate(_checked(weights, exclude_diagonal))]
    return np.array([np.var(after - before) for before, after in zip(z[:-1], z[1:])], dtype=np.float64)
