"""Learning-rate schedules: pure functions of the step.

`lr_factor(kind, step, batches, **params)` is the multiplier of the optimizer's learning
rate for the batch trained at `step` (0-based) of `batches`; the engine sets every
parameter group's rate to `lr * factor` before each optimizer step. Being a function of
the step alone, a schedule needs no state: a resumed run continues it exactly.

Kinds:
    constant     1
    step         gamma ** floor(step / every)
    milestones   gamma ** (number of milestones <= step)
    exponential  gamma ** step
    cosine       min_factor + (1 - min_factor) (1 + cos(pi step / batches)) / 2
and `warmup` W (any kind): times (step + 1) / W for the first W batches.

This module imports only the standard library.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

KINDS = ("constant", "step", "milestones", "exponential", "cosine")


def lr_factor(
    kind: str,
    step: int,
    batches: int,
    *,
    gamma: float = 0.1,
    every: int = 1,
    at: Sequence[int] = (),
    min_factor: float = 0.0,
    warmup: int = 0,
) -> float:
    """The learning-rate multiplier at `step` of `batches` (see the module docstring)."""
    if kind == "constant":
        factor = 1.0
    elif kind == "step":
        factor = gamma ** (step // every)
    elif kind == "milestones":
        factor = gamma ** bisect.bisect_right(sorted(at), step)
    elif kind == "exponential":
        factor = gamma**step
    elif kind == "cosine":
        progress = min(step / batches, 1.0)
        factor = min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        raise ValueError(f"unknown learning-rate schedule {kind!r} (one of {', '.join(KINDS)})")
    if warmup and step < warmup:
        factor *= (step + 1) / warmup
    return factor
