"""A growth operation plugin: homeostatic synaptic scaling.

Each neuron's incoming recurrent weights are multiplied by one factor, chosen so that
their total magnitude sum_j |w_ij| moves a fraction `rate` of the way to `target`
(multiplicative scaling, after Turrigiano et al. 1998, Nature 391:892). Signs, relative
strengths and absent synapses (exact zeros) are kept; a neuron with no incoming synapse
is left alone. The optimizer's state is left as it is: the scaled weights keep their
moments, as after any other change of value between two steps.

Name this file in a spec's `plugins` and use the operation in an event:

    growth:
      events:
        - {op: synaptic_scaling, every: 500, target: 0.5, rate: 0.2}
    plugins:
      - ../plugins/synaptic_scaling.py
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from growsim.growth import GrowthContext, Outcome, growth_operation


class ScalingParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: float = Field(1.0, gt=0, description="The total |w| of each neuron's incoming recurrent synapses aimed at.")
    rate: float = Field(0.5, gt=0, le=1, description="The fraction of the way to target moved each time (1: all the way).")


@growth_operation("synaptic_scaling", params=ScalingParams, networks=("leaky_rnn",))
def synaptic_scaling(ctx: GrowthContext, *, target: float = 1.0, rate: float = 0.5) -> Outcome:
    """Homeostatic scaling: each neuron's incoming recurrent weights multiplied so that their total |w| moves toward target."""
    import torch

    w = ctx.network.w_rec
    with torch.no_grad():
        total = w.abs().sum(dim=1)  # (N,) incoming magnitude of each post-synaptic neuron
        wanted = (1 - rate) * total + rate * target
        has_input = total > 0
        factor = torch.where(has_input, wanted / torch.where(has_input, total, torch.ones_like(total)), torch.ones_like(total))
        w.mul_(factor[:, None])
    scaled = factor[has_input]
    return Outcome(
        {
            "neurons": int(has_input.sum()),
            "factor_min": float(scaled.min()) if scaled.numel() else 1.0,
            "factor_max": float(scaled.max()) if scaled.numel() else 1.0,
        }
    )
