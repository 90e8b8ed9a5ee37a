"""A worked wiring-rule plugin: the generative network model's "matching" rule.

Betzel et al. (2016, NeuroImage 124:1054) and Akarca et al. (2021) grow connectomes by
adding one edge at a time with probability

    P(i <- j)  ~  (d_ij + eps)^eta  *  (K_ij + k_offset)^gamma

where K_ij is the matching index of i and j: the overlap of their neighbourhoods,
|N(i) & N(j)| / |N(i) | N(j)|, each neighbourhood leaving out i and j themselves.
Neighbourhoods are taken over existing synapses in either direction. Nodes that
already share partners attract each other, so the rule grows clustered, economical
networks.

Use it from a spec:

    plugins: [../plugins/gnm_matching.py]   # relative to the spec file
    wiring:
      rule: gnm_matching
      eta: -3.0
      gamma: 0.3

It shows the whole plugin contract: a pydantic model declares (and validates) the
parameters; the rule takes the request's arrays and returns (n, 2) (post, pre) pairs,
drawing only from `request.rng`.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from growsim.wiring import WiringRequest, wiring_rule


class MatchingParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    eta: float = Field(-3.0, description="Exponent of distance (negative favours near pairs).")
    gamma: float = Field(0.3, ge=0, description="Exponent of the matching index (0: distance only).")
    eps: float = Field(1e-5, gt=0, description="Added to distances so that zero stays finite.")
    k_offset: float = Field(1e-3, gt=0, description="Added to the matching index so that unmatched pairs can connect.")


def matching_index(adjacency: np.ndarray) -> np.ndarray:
    """(N, N) matching index of an undirected boolean adjacency without self-loops."""
    a = adjacency.astype(np.float64)
    common = a @ a  # |N(i) & N(j)|; neither i nor j can be in both
    degree = a.sum(axis=1)
    union = degree[:, None] + degree[None, :] - common - 2 * a  # leave i and j out of each other's set
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(union > 0, common / union, 0.0)
    np.fill_diagonal(m, 0.0)
    return m


@wiring_rule("gnm_matching", params=MatchingParams)
def gnm_matching(request: WiringRequest, params: MatchingParams) -> np.ndarray:
    """Generative network model: distance^eta x (matching index)^gamma, one synapse at a time."""
    mask = request.mask.copy()
    candidates = request.candidates.copy()
    with np.errstate(divide="ignore", over="ignore"):
        distance_term = np.power(request.distances + params.eps, params.eta)
    distance_term = np.nan_to_num(distance_term, posinf=np.finfo(np.float64).max / distance_term.size)
    chosen = np.empty((request.n, 2), dtype=np.int64)
    for k in range(request.n):
        adjacency = mask | mask.T
        np.fill_diagonal(adjacency, False)
        p = distance_term * np.power(matching_index(adjacency) + params.k_offset, params.gamma)
        flat = np.flatnonzero(candidates)
        w = p.reshape(-1)[flat]
        pick = flat[request.rng.choice(flat.size, p=w / w.sum())]
        post, pre = divmod(int(pick), mask.shape[1])
        chosen[k] = (post, pre)
        mask[post, pre] = True
        candidates[post, pre] = False
    return chosen
