"""Growth of a chain of modules: duplicate the newest module, add a readout head, freeze.

Each operation changes the network and the optimizer together: new parameters join the
optimizer as a parameter group of their own (so a checkpoint can rebuild the groups by
name), frozen parameters get requires_grad False and no gradient, which every torch
optimizer skips: no update, no weight decay, no momentum drift.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

#: Freeze policies of `duplicate_module` (spec: growth.events[].freeze).
FREEZE_POLICIES = ("previous_modules", "recurrent_after_first", "feedforward_after_first_link", "none")


#: Parts of a new module that may be frozen along with the link a policy freezes.
ALSO_FROZEN = ("input", "bias", "tau")


def apply_freeze_policy(network, policy: str, also: tuple[str, ...] | list[str] = ()) -> None:
    """Freeze what `policy` says, the newest module being `network.n_modules - 1`.

    previous_modules: every module before the newest, and every head reading one of them
    (Hamidi et al.'s default); recurrent_after_first: that, and the newest module's W_rec
    (a copy of the first module's, never trained again); feedforward_after_first_link:
    that, and the newest module's W_ff from module 2 on (the first link, into module 1,
    is learned); none: nothing. `also` (input, bias, tau): parts of the newest module
    frozen with the link the policy freezes, where it freezes one; with all three, the
    new module learns only the other link, as in Hamidi et al.'s Fig. 6a.
    """
    if policy not in FREEZE_POLICIES:
        raise ValueError(f"unknown freeze policy {policy!r}; choose among {FREEZE_POLICIES}")
    if also and policy not in ("recurrent_after_first", "feedforward_after_first_link"):
        raise ValueError(f"parts frozen also ({', '.join(also)}) need a policy that freezes a link of the new module, not {policy!r}")
    if unknown := [p for p in also if p not in ALSO_FROZEN]:
        raise ValueError(f"unknown parts {unknown}; choose among {ALSO_FROZEN}")
    if policy == "none":
        return
    newest = network.n_modules - 1
    for m in range(newest):
        network.freeze(m)
    for h, m in enumerate(network.head_module):
        if m < newest:
            network.freeze_head(h)
    if policy == "recurrent_after_first" and newest >= 1:
        network.freeze(newest, ["recurrent", *also])
    if policy == "feedforward_after_first_link" and newest >= 2:
        network.freeze(newest, ["feedforward", *also])


def _copy_state(optimizer: torch.optim.Optimizer, source: dict, target: dict) -> int:
    """Give each new parameter a copy of the optimizer state of its counterpart; return how many."""
    copied = 0
    for part, p_new in target.items():
        p_old = source.get(part)
        state = optimizer.state.get(p_old) if p_old is not None else None
        if not state or p_old.shape != p_new.shape:
            continue
        optimizer.state[p_new] = {k: v.detach().clone() if torch.is_tensor(v) else v for k, v in state.items()}
        copied += 1
    return copied


def duplicate_module(
    network,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    *,
    copy_recurrent: bool,
    copy_feedforward: bool,
    copy_tau: bool,
    copy_input: bool,
    noise_weights: float,
    noise_tau: float,
    freeze: str,
    optimizer_state: str,
    freeze_also: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    """Append a module copied (as flagged) from the newest, apply `freeze`, and give its
    parameters to the optimizer with no state ("zero") or a copy of the previous module's
    ("copy"). Returns details for the event log."""
    source = network.module_parameters(network.n_modules - 1)
    params = network.add_module(
        rng,
        copy_recurrent=copy_recurrent,
        copy_feedforward=copy_feedforward,
        copy_tau=copy_tau,
        copy_input=copy_input,
        noise_weights=noise_weights,
        noise_tau=noise_tau,
    )
    new = network.n_modules - 1
    apply_freeze_policy(network, freeze, freeze_also)
    optimizer.add_param_group({"params": params})
    copied = _copy_state(optimizer, source, network.module_parameters(new)) if optimizer_state == "copy" else 0
    return {
        "module": new,
        "n_modules": network.n_modules,
        "copied": [part for part, flag in (("recurrent", copy_recurrent), ("feedforward", copy_feedforward and new >= 2),
                                           ("input", copy_input), ("tau", copy_tau)) if flag],
        "freeze": freeze,
        "freeze_also": list(freeze_also),
        "optimizer_state_copied": copied,
        "count": 1,
    }


def add_readout(network, optimizer: torch.optim.Optimizer, rng: np.random.Generator, *, module: str) -> dict[str, Any]:
    """A new 2-class head on the newest or the first module, trained from now on."""
    target = network.n_modules - 1 if module == "newest" else 0
    params = network.add_head(rng, target)
    optimizer.add_param_group({"params": params})
    return {"head": network.n_heads - 1, "module": target, "count": 1}
