"""Wiring rules: which absent synapses to add.

A rule sees arrays (distances, the current mask, the candidates, how many to add, a
random generator), never the spec or the network object.
"""

from __future__ import annotations

import numpy as np

from growsim.wiring.registry import (
    ENTRY_POINT_GROUP,
    NoParams,
    PluginLoadError,
    RegistryError,
    RuleInfo,
    UnknownRuleError,
    WiringRequest,
    available_rules,
    get_rule,
    load_plugin_file,
    load_plugin_module,
    wiring_rule,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "NoParams",
    "PluginLoadError",
    "RegistryError",
    "RuleInfo",
    "UnknownRuleError",
    "WiringRequest",
    "WiringRuleError",
    "available_rules",
    "candidate_mask",
    "choose_synapses",
    "get_rule",
    "load_plugin_file",
    "load_plugin_module",
    "wiring_rule",
]


class WiringRuleError(RuntimeError):
    """A rule raised, or returned something other than n distinct candidate synapses."""


def candidate_mask(mask: np.ndarray, *, allow_autapses: bool) -> np.ndarray:
    """(N, N) bool: absent synapses that may be added."""
    candidates = ~mask
    if not allow_autapses:
        np.fill_diagonal(candidates, False)
    return candidates


def choose_synapses(rule: RuleInfo, params, request: WiringRequest) -> np.ndarray:
    """Call `rule` and check its answer: (n, 2) int64 (post, pre), distinct, all candidates."""
    try:
        pairs = rule.func(request, params)
    except Exception as exc:
        raise WiringRuleError(f"wiring rule {rule.name!r} ({rule.origin}) raised {type(exc).__name__}: {exc}") from exc
    pairs = np.asarray(pairs)
    n_neurons = request.mask.shape[0]
    where = f"wiring rule {rule.name!r} ({rule.origin})"
    if pairs.shape != (request.n, 2) or not np.issubdtype(pairs.dtype, np.integer):
        raise WiringRuleError(
            f"{where} must return an integer array of shape ({request.n}, 2) (post, pre); "
            f"it returned {pairs.dtype} of shape {pairs.shape}"
        )
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n_neurons):
        raise WiringRuleError(f"{where} returned a neuron index outside 0..{n_neurons - 1}")
    flat = pairs[:, 0] * n_neurons + pairs[:, 1]
    if np.unique(flat).size != flat.size:
        raise WiringRuleError(f"{where} returned the same synapse twice")
    if not request.candidates.reshape(-1)[flat].all():
        bad = pairs[~request.candidates.reshape(-1)[flat]][0]
        raise WiringRuleError(
            f"{where} returned synapse {int(bad[1])}->{int(bad[0])}, which exists already or is not allowed"
        )
    return pairs.astype(np.int64)
