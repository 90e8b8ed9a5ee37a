"""The one training step: a single run and an ensemble compute their loss here.

    x, targets = objective.inputs(batch)          each engine's batch, on its device
    outputs    = forward(engines, xs)             each network's outputs on its input: one
                                                  network at a time (`solo`), or an
                                                  ensemble's stacked recurrence
    loss       = objective.loss_of(output, targets)
    total      = loss + the loss terms due at this step (Engine.with_penalty)
    backward of the engines' summed totals (each parameter gets its own engine's gradient)
    per engine: clipping, the optimizer step at the scheduled learning rate, constraints

The ensemble changes only `forward`, so an objective or a loss term of a user's own trains
in a stacked ensemble exactly as in a run of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

#: forward(engines, inputs) -> the outputs of each engine's network on its input, with the
#: noise of its own noise stream.
Forward = Callable[[Sequence[Any], Sequence[torch.Tensor]], list[torch.Tensor]]


def solo(engines: Sequence[Any], inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Each network's forward pass on its own (`Network.outputs`)."""
    return [e.network.outputs(x, generator=e.noise_generator) for e, x in zip(engines, inputs)]


def train_step(engines: Sequence[Any], batches: Sequence[Any], forward: Forward = solo) -> list[torch.Tensor]:
    """One optimisation step of every engine on its own batch; their task losses (0-d
    tensors, detached and not synced, so that the device is not waited for)."""
    prepared = [e.objective.inputs(batch) for e, batch in zip(engines, batches)]
    outputs = forward(engines, [x for x, _ in prepared])
    losses: list[torch.Tensor] = []
    total = None
    for e, out, (_, targets) in zip(engines, outputs, prepared):
        e.optimizer.zero_grad(set_to_none=True)
        loss = e.objective.loss_of(out, targets)
        losses.append(loss.detach())
        part = e.with_penalty(loss)
        total = part if total is None else total + part
    total.backward()
    for e in engines:
        e.clip_and_step()
    return losses
