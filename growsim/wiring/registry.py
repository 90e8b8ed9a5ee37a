"""The registry of wiring rules: built-ins, plugin files, modules and entry points.

A rule is a function `rule(request, params) -> pairs` registered with
`@wiring_rule("name", params=ParamsModel)`. The decorator returns the function
unchanged. Installed packages add rules through the entry-point group
`growsim.wiring`; those are loaded only when a rule is looked up or listed, never on
import. Registering one name twice is an error. The machinery is growsim.registry's,
shared by every extension point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from growsim.registry import (
    Entry,
    NoParams,
    PluginLoadError,
    Registry,
    RegistryError,
    UnknownNameError,
    load_plugin_file,
    load_plugin_module,
)

ENTRY_POINT_GROUP = "growsim.wiring"

RULES = Registry("wiring rule", ENTRY_POINT_GROUP, "growsim.wiring.rules", reserved=("rule",))

RuleInfo = Entry  # a registered rule: name, func, params (model), origin
UnknownRuleError = UnknownNameError

__all__ = [
    "ENTRY_POINT_GROUP",
    "NoParams",
    "PluginLoadError",
    "RULES",
    "RegistryError",
    "RuleInfo",
    "UnknownRuleError",
    "WiringRequest",
    "available_rules",
    "get_rule",
    "load_plugin_file",
    "load_plugin_module",
    "unregister",
    "wiring_rule",
]


@dataclass(frozen=True)
class WiringRequest:
    """What a rule sees when it is asked to add synapses.

    All arrays index synapses as (post, pre): entry [i, j] is the synapse from neuron j
    onto neuron i.
    """

    distances: np.ndarray  # (N, N) float64, distance between post i and pre j
    mask: np.ndarray  # (N, N) bool, synapses that exist now
    candidates: np.ndarray  # (N, N) bool, absent synapses that may be added
    n: int  # how many to add; never more than candidates.sum()
    rng: np.random.Generator  # the run's wiring stream: draw only from it
    weights: np.ndarray  # (N, N) float64, current recurrent weights (a copy)


RuleFunction = Callable[[WiringRequest, Any], np.ndarray]


def wiring_rule(name: str, *, params: type[BaseModel] = NoParams) -> Callable[[RuleFunction], RuleFunction]:
    """Register `func` as the wiring rule `name` whose parameters `params` validates."""
    return RULES.register(name, params)


def available_rules() -> dict[str, RuleInfo]:
    """Every rule: built-ins, installed entry points and plugins loaded so far."""
    return RULES.available()


def get_rule(name: str) -> RuleInfo:
    return RULES.get(name)


def unregister(name: str) -> None:
    """Remove a rule (for tests and interactive sessions)."""
    RULES.unregister(name)

