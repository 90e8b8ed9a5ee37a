"""The registry of growth operations: built-ins, plugin files, modules and entry points.

An operation is a function `op(context, **params) -> Outcome | None` registered with
`@growth_operation("name", params=ParamsModel)`; the decorator returns it unchanged. A
spec names it in an event (`op: name`) with its parameters beside the event's schedule;
the parameters are validated by the operation's model, like a wiring rule's. The engine
calls the operation with a `GrowthContext` and the validated parameters as keywords: it
names no operation itself. Installed packages add operations through the entry-point
group `growsim.growth`; a spec's plugin files and modules may register them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from growsim.registry import Entry, NoParams, Registry

ENTRY_POINT_GROUP = "growsim.growth"

# The keys of an event that say when it fires (and which operation): no operation's parameter
# may take one of these names.
TRIGGER_KEYS = ("op", "every", "start", "stop", "at", "when")

OPERATIONS = Registry("growth operation", ENTRY_POINT_GROUP, "growsim.growth.builtin", reserved=TRIGGER_KEYS)

NETWORK_KINDS = ("leaky_rnn", "chain")


@dataclass
class GrowthContext:
    """What an operation may use and change when its event fires.

    It changes the network and the optimizer's state together (a new parameter joins the
    optimizer; a new synapse starts with no optimizer history) and draws randomness only
    from `rng`.
    """

    step: int  # the step boundary: batches done so far
    network: Any  # the network (growsim.network.Network), changed in place
    optimizer: Any  # its torch optimizer, changed in place
    rng: np.random.Generator  # the run's `growth` stream
    condition: str | None = None  # the condition that fired the event (`when`), or None
    distances: np.ndarray | None = None  # (N, N) distances between neurons, where they have positions
    grow: Callable[[int], np.ndarray] | None = None  # add n synapses chosen by the wiring rule -> (k, 2) (post, pre)


@dataclass
class Outcome:
    """What an operation did, for the run file's /events: JSON-able details and, where
    synapses or neurons were paired, a (k, 2) int array (post, pre; or the swapped pairs)."""

    details: dict[str, Any] = field(default_factory=dict)
    pairs: np.ndarray | None = None


OperationInfo = Entry  # name, func, params (model), origin, meta["networks"]


def growth_operation(
    name: str, *, params: type[BaseModel] = NoParams, networks: tuple[str, ...] | None = None
) -> Callable[[Callable[..., Outcome | None]], Callable[..., Outcome | None]]:
    """Register `func` as the growth operation `name`, whose parameters `params` validates.

    `networks`: the kinds of network it applies to (leaky_rnn, chain); None for any.
    A spec that uses it on another kind is refused at the event's `op`."""
    if networks is not None:
        unknown = [k for k in networks if k not in NETWORK_KINDS]
        if unknown:
            raise ValueError(f"growth operation {name!r}: unknown network kinds {unknown} (known: {NETWORK_KINDS})")
    return OPERATIONS.register(name, params, {"networks": tuple(networks) if networks else None})


def available_operations() -> dict[str, OperationInfo]:
    """Every operation: built-ins, installed entry points and plugins loaded so far."""
    return OPERATIONS.available()


def get_operation(name: str) -> OperationInfo:
    return OPERATIONS.get(name)


def applies_to(info: OperationInfo, network_kind: str) -> bool:
    networks = info.meta.get("networks")
    return networks is None or network_kind in networks
