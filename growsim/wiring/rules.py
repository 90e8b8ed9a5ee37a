"""Built-in wiring rules: distance, random and mixture (Wu & Gu)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from growsim.wiring.registry import WiringRequest, wiring_rule


class DistanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    eta: float = Field(-3.0, description="Exponent of the distance: P(i<-j) ~ (d_ij + eps)^eta. Negative favours near pairs.")
    eps: float = Field(1e-5, gt=0, description="Added to every distance so that zero distances stay finite.")


class RandomParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MixtureParams(DistanceParams):
    p_random: float = Field(
        0.5, ge=0, le=1, description="Probability that each new synapse is drawn uniformly rather than by distance."
    )


def distance_weights(distances: np.ndarray, eta: float, eps: float) -> np.ndarray:
    """(d + eps)^eta, computed in float64; shape of `distances`."""
    with np.errstate(over="ignore", divide="ignore"):
        w = np.power(distances.astype(np.float64) + eps, eta)
    return np.nan_to_num(w, nan=0.0, posinf=np.finfo(np.float64).max / distances.size)


def _draw(flat: np.ndarray, weights: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    if n == 0:
        return flat[:0]
    if weights is None:
        return rng.choice(flat, size=n, replace=False)
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        return rng.choice(flat, size=n, replace=False)
    # Successive draws without replacement, each proportional to the remaining weights.
    return rng.choice(flat, size=n, replace=False, p=weights / total)


def _pairs(flat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    post, pre = np.unravel_index(flat, shape)
    return np.stack([post, pre], axis=1).astype(np.int64)


@wiring_rule("distance", params=DistanceParams)
def distance(request: WiringRequest, params: DistanceParams) -> np.ndarray:
    """P(new synapse i<-j) proportional to (d_ij + eps)^eta over absent synapses."""
    flat = np.flatnonzero(request.candidates)
    w = distance_weights(request.distances.reshape(-1)[flat], params.eta, params.eps)
    return _pairs(_draw(flat, w, request.n, request.rng), request.mask.shape)


@wiring_rule("random", params=RandomParams)
def uniform(request: WiringRequest, params: RandomParams) -> np.ndarray:
    """Uniform over absent synapses."""
    flat = np.flatnonzero(request.candidates)
    return _pairs(_draw(flat, None, request.n, request.rng), request.mask.shape)


@wiring_rule("mixture", params=MixtureParams)
def mixture(request: WiringRequest, params: MixtureParams) -> np.ndarray:
    """Each new synapse uniform with probability p_random, otherwise by distance."""
    flat = np.flatnonzero(request.candidates)
    w = distance_weights(request.distances.reshape(-1)[flat], params.eta, params.eps)
    available = np.ones(flat.size, dtype=bool)
    chosen = np.empty(request.n, dtype=np.int64)
    for k in range(request.n):  # n is small (10 per event in Wu & Gu)
        idx = np.flatnonzero(available)
        if request.rng.random() < params.p_random:
            pick = idx[request.rng.integers(idx.size)]
        else:
            pw = w[idx]
            total = pw.sum()
            pick = idx[request.rng.choice(idx.size, p=pw / total)] if total > 0 else idx[request.rng.integers(idx.size)]
        chosen[k] = flat[pick]
        available[pick] = False
    return _pairs(chosen, request.mask.shape)
