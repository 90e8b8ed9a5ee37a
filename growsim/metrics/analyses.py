"""The registry of in-run analyses: metrics a run computes on its network as it trains.

An analysis is a function `analysis(context, **params) -> dict[str, float | ndarray]`
registered with `@analysis("name", params=ParamsModel)`; the decorator returns it
unchanged. A spec names it in `log.analyses` with how often it runs (`every`, a multiple
of `log.every`) and its own parameters beside; the run file gets its results as series,
`<name>_<key>` (a float: one value per log step; an array: one row per log step, NaN or -1
at the log steps where it did not run). Installed packages add analyses through the
entry-point group `growsim.analyses`; a spec's plugin files and modules may register them.

Analyses see arrays, never the spec or the network object: the weights of a snapshot
(numpy), the distances and positions of the neurons, the step, and a seed for any draw.
They are pure functions of those, so the same run gives the same values.

This module imports numpy, pydantic and growsim.registry only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from growsim.registry import Entry, NoParams, Registry

ENTRY_POINT_GROUP = "growsim.analyses"

# The keys of an entry of log.analyses that every analysis shares.
COMMON_KEYS = ("kind", "every", "name")

ANALYSES = Registry("analysis", ENTRY_POINT_GROUP, "growsim.metrics.analyses", reserved=COMMON_KEYS)


@dataclass(frozen=True)
class AnalysisContext:
    """What an analysis sees at a log step."""

    step: int
    weights: Mapping[str, np.ndarray]  # the network's snapshot arrays (a leaky RNN: w_rec [post, pre], mask, w_in, ...)
    distances: np.ndarray | None  # (N, N) between neurons, where they have a geometry
    positions: np.ndarray | None  # (N, d), where known
    seed: int  # for any random draw: the same at every call of a run, so values compare over time


def analysis(name: str, *, params: type[BaseModel] = NoParams) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Register `func(context, **params) -> {key: float or array}` as the analysis `name`."""
    return ANALYSES.register(name, params)


def available_analyses() -> dict[str, Entry]:
    """Every analysis: built-ins, installed entry points and plugins loaded so far."""
    return ANALYSES.available()


def get_analysis(name: str) -> Entry:
    return ANALYSES.get(name)


# --- built-in ---------------------------------------------------------------------------------


class WiringLengthParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(0.0, ge=0, description="Count a synapse only if |w| is above this.")


@analysis("wiring_length", params=WiringLengthParams)
def wiring_length(context: AnalysisContext, *, threshold: float = 0.0) -> dict[str, Any]:
    """The length of the recurrent synapses: their number, mean and total length, and sum(D |W_rec|)."""
    if context.distances is None:
        raise ValueError("wiring_length needs the neurons' distances (a network with a geometry)")
    w = np.abs(np.asarray(context.weights["w_rec"], dtype=np.float64))
    present = np.asarray(context.weights.get("mask", w != 0), dtype=bool) & (w > threshold)
    d = np.asarray(context.distances, dtype=np.float64)
    lengths = d[present]
    return {
        "synapses": float(present.sum()),
        "mean_length": float(lengths.mean()) if lengths.size else float("nan"),
        "total_length": float(lengths.sum()),
        "weighted_length": float((d * w * present).sum()),
    }
