"""Initial weight matrices, drawn in numpy from a given generator (device independent)."""

from __future__ import annotations

import numpy as np


def draw_weight(dist: str, shape: tuple[int, int], gain: float, rng: np.random.Generator) -> np.ndarray:
    """A (fan_out, fan_in) float64 matrix.

    normal: N(0,1)/sqrt(fan_in); uniform: U(-1,1)/sqrt(fan_in); orthogonal: Haar-random
    orthogonal (square only); diagonal: identity (square only); zeros. All times `gain`.
    """
    fan_out, fan_in = shape
    if dist == "normal":
        w = rng.standard_normal(shape) / np.sqrt(fan_in)
    elif dist == "uniform":
        w = rng.uniform(-1.0, 1.0, shape) / np.sqrt(fan_in)
    elif dist == "orthogonal":
        if fan_out != fan_in:
            raise ValueError(f"an orthogonal initialisation needs a square matrix, not {shape}")
        q, r = np.linalg.qr(rng.standard_normal(shape))
        w = q * np.sign(np.diag(r))  # the sign fix makes q Haar-distributed
    elif dist == "diagonal":
        if fan_out != fan_in:
            raise ValueError(f"a diagonal initialisation needs a square matrix, not {shape}")
        w = np.eye(fan_out)
    elif dist == "zeros":
        w = np.zeros(shape)
    else:
        raise ValueError(f"unknown weight distribution {dist!r}")
    return gain * w
