"""Growth operations: they change the network and the optimizer's state together."""

from __future__ import annotations

import numpy as np
import torch


def zero_optimizer_state_at(optimizer: torch.optim.Optimizer, param: torch.Tensor, index: tuple) -> None:
    """Zero every per-entry state tensor of `param` (Adam's moments, SGD's momentum) at `index`.

    A new synapse starts with no history; existing synapses keep theirs.
    """
    state = optimizer.state.get(param)
    if not state:
        return
    for value in state.values():
        if torch.is_tensor(value) and value.shape == param.shape:
            value[index] = 0


def reset_optimizer(optimizer: torch.optim.Optimizer) -> None:
    """Forget all optimizer state (moments and step counts), as re-creating the optimizer would."""
    optimizer.state.clear()


def add_connections(
    network,
    optimizer: torch.optim.Optimizer,
    pairs: np.ndarray,
    *,
    init: str,
    value: float = 0.0,
    step: int = 0,
    values: np.ndarray | None = None,
) -> None:
    """Add synapses `pairs` ((k, 2) int: post, pre) to `network`, born at `step`, starting at
    their initial draw (init "initial"), at `value` ("constant") or at `values` ("given")."""
    if len(pairs) == 0:
        return
    device = network.w_rec.device
    post = torch.as_tensor(pairs[:, 0], device=device)
    pre = torch.as_tensor(pairs[:, 1], device=device)
    if init == "initial":
        start = network.w_rec_initial[post, pre]
    elif init == "given":
        start = torch.as_tensor(values, device=device, dtype=network.w_rec.dtype)
    else:
        start = torch.full((len(pairs),), float(value), device=device, dtype=network.w_rec.dtype)
    network.add_synapses(post, pre, start, step)
    zero_optimizer_state_at(optimizer, network.w_rec, (post, pre))


def remove_connections(network, optimizer: torch.optim.Optimizer, pairs: np.ndarray) -> None:
    """Remove synapses `pairs` ((k, 2) int: post, pre): exact zeros, and no optimizer history
    left at them (a synapse grown there later starts afresh)."""
    if len(pairs) == 0:
        return
    device = network.w_rec.device
    post = torch.as_tensor(pairs[:, 0], device=device)
    pre = torch.as_tensor(pairs[:, 1], device=device)
    network.remove_synapses(post, pre)
    zero_optimizer_state_at(optimizer, network.w_rec, (post, pre))
