"""The built-in growth operations, registered like any plugin's.

Each declares its parameters as a pydantic model (validated from the event's YAML) and
the kinds of network it applies to. The heavy work lives in growsim.growth.ops, .swap
and .modules, imported when an operation first runs, so that validating a spec does not
load torch.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from growsim.growth.registry import GrowthContext, Outcome, growth_operation


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddConnectionsParams(_Params):
    count: int = Field(gt=0, description="Synapses added each time.")
    until: int | None = Field(None, gt=0, description="Stop once the network has this many synapses.")
    reset_optimizer: bool = Field(
        False,
        description="Clear the optimizer's state (moments, step counts) when this fires, as Wu & Gu's code "
        "did by re-creating Adam. By default existing synapses keep their state and new ones start at zero.",
    )


@growth_operation("add_connections", params=AddConnectionsParams, networks=("leaky_rnn",))
def add_connections(
    ctx: GrowthContext, *, count: int, until: int | None = None, reset_optimizer: bool = False
) -> Outcome | None:
    """Add `count` synapses chosen by the wiring rule, on a schedule, up to a total of `until`."""
    if until is not None:
        count = min(count, until - ctx.network.n_connections)
    if count <= 0:
        return None  # the cap is reached: the event does not fire
    if reset_optimizer:
        from growsim.growth.ops import reset_optimizer as clear

        clear(ctx.optimizer)
    pairs = ctx.grow(count)
    return Outcome({"count": len(pairs), "requested": count, "reset_optimizer": reset_optimizer}, pairs)


class SwapNeuronsParams(_Params):
    top_k: int = Field(10, ge=1, description="Neurons tried per swap step (Liu et al.: 5 to 30).")


@growth_operation("swap_neurons", params=SwapNeuronsParams, networks=("leaky_rnn",))
def swap_neurons(ctx: GrowthContext, *, top_k: int = 10) -> Outcome:
    """BIMT's neuron swaps: for each of the top_k neurons by incoming + outgoing |w|, the swap that lowers the wiring cost sum(D |W_rec|) most, if any."""
    from growsim.growth import swap

    swaps = swap.bimt_swap(ctx.network, ctx.optimizer, ctx.distances, top_k=top_k)
    return Outcome({"count": len(swaps)}, np.asarray(swaps, dtype=np.int64).reshape(-1, 2))


class DuplicateModuleParams(_Params):
    copy_recurrent: bool = Field(True, description="Copy W_rec of the previous module (else a fresh draw).")
    copy_feedforward: bool = Field(
        True, description="Copy W_ff of the previous module (else a fresh draw; module 1 always draws, module 0 has none)."
    )
    copy_tau: bool = Field(True, description="Copy tau of the previous module.")
    copy_input: bool = Field(True, description="Copy W_in and the bias of the previous module.")
    noise_weights: float = Field(0.0, ge=0, description="Multiplicative noise on copied weights: w (1 + sigma xi) (Hamidi: 0.03).")
    noise_tau: float = Field(0.0, ge=0, description="Multiplicative noise on copied tau (Hamidi: 0.02); tau stays >= 1.")
    freeze: Literal["previous_modules", "recurrent_after_first", "feedforward_after_first_link", "none"] = Field(
        "previous_modules",
        description="previous_modules: only the newest module (and its head) learns (Hamidi's default); "
        "recurrent_after_first: that, and the new module's W_rec is frozen too (from module 1 on); "
        "feedforward_after_first_link: that, and W_ff is frozen from module 2 on; none: everything learns.",
    )
    freeze_also: list[Literal["input", "bias", "tau"]] = Field(
        [],
        description="Parts of the new module frozen along with the link its policy freezes (recurrent_after_first, "
        "feedforward_after_first_link); [input, bias, tau] leaves only the other link learning, as Hamidi et al.'s "
        "Fig. 6a trains it.",
    )
    optimizer_state: Literal["zero", "copy"] = Field(
        "zero", description="The new module's optimizer state: none (zero moments) or a copy of the previous module's."
    )

    @model_validator(mode="after")
    def _also_needs_a_frozen_link(self):
        if self.freeze_also and self.freeze not in ("recurrent_after_first", "feedforward_after_first_link"):
            raise ValueError(
                f"freeze_also freezes parts with the link a policy freezes: use freeze: recurrent_after_first or "
                f"feedforward_after_first_link, not {self.freeze}"
            )
        return self


@growth_operation("duplicate_module", params=DuplicateModuleParams, networks=("chain",))
def duplicate_module(ctx: GrowthContext, **params) -> Outcome:
    """Append a module to a chain, a copy (as chosen) of the newest one, and apply the freeze policy."""
    from growsim.growth import modules

    return Outcome(modules.duplicate_module(ctx.network, ctx.optimizer, ctx.rng, **params))


class AddReadoutParams(_Params):
    module: Literal["newest", "first"] = Field(
        "newest", description="Which module the head reads: newest (modular growth) or first (the non-modular baseline)."
    )


@growth_operation("add_readout", params=AddReadoutParams, networks=("chain",))
def add_readout(ctx: GrowthContext, *, module: str = "newest") -> Outcome:
    """Add a 2-class readout head, for the curriculum's new level."""
    from growsim.growth import modules

    return Outcome(modules.add_readout(ctx.network, ctx.optimizer, ctx.rng, module=module))


class PruneConnectionsParams(_Params):
    by: Literal["magnitude", "age", "random"] = Field(
        "magnitude",
        description="Which synapses go first: magnitude, the weakest |w| (ties: lower index first); age, the "
        "oldest (ties: the weakest); random, uniformly from the growth stream.",
    )
    count: int | None = Field(None, gt=0, description="Synapses removed each time (give count or fraction, or neither with below).")
    fraction: float | None = Field(None, gt=0, le=1, description="Or: this fraction of the existing synapses, rounded.")
    below: float | None = Field(
        None, gt=0, description="Only synapses with |w| below this may go; with neither count nor fraction, all of them."
    )
    keep: int = Field(0, ge=0, description="Never leave fewer synapses than this.")

    @model_validator(mode="after")
    def _how_many(self) -> PruneConnectionsParams:
        if self.count is not None and self.fraction is not None:
            raise ValueError("give count or fraction, not both")
        if self.count is None and self.fraction is None and self.below is None:
            raise ValueError("say how many synapses go: count, fraction, or below (every synapse weaker than it)")
        return self


@growth_operation("prune_connections", params=PruneConnectionsParams, networks=("leaky_rnn",))
def prune_connections(
    ctx: GrowthContext,
    *,
    by: str = "magnitude",
    count: int | None = None,
    fraction: float | None = None,
    below: float | None = None,
    keep: int = 0,
) -> Outcome | None:
    """Remove synapses by magnitude, by age or at random; their weights become exact zeros and their optimizer state is cleared."""
    from growsim.growth.ops import remove_connections

    net = ctx.network
    mask = net.mask.detach().cpu().numpy() > 0
    weight = np.abs(net.w_rec.detach().cpu().numpy().astype(np.float64))
    existing = np.flatnonzero(mask)  # flat (post, pre) indices, ascending
    eligible = existing if below is None else existing[weight.reshape(-1)[existing] < below]
    if count is not None:
        wanted = count
    elif fraction is not None:
        wanted = int(round(fraction * existing.size))
    else:
        wanted = eligible.size
    n = min(wanted, eligible.size, max(existing.size - keep, 0))
    if n <= 0:
        return None  # nothing may go: the event does not fire
    strength = weight.reshape(-1)[eligible]
    if by == "magnitude":
        order = np.argsort(strength, kind="stable")
    elif by == "age":
        born = net.synapse_born.detach().cpu().numpy().reshape(-1)[eligible]
        order = np.lexsort((strength, born))  # oldest first, then the weakest
    else:
        order = ctx.rng.permutation(eligible.size)
    chosen = np.sort(eligible[order[:n]])
    pairs = np.stack(np.unravel_index(chosen, mask.shape), axis=1).astype(np.int64)
    remove_connections(net, ctx.optimizer, pairs)
    return Outcome({"count": int(n), "requested": int(wanted), "by": by}, pairs)
