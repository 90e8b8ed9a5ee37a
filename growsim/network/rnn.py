"""Yang et al.'s leaky RNN with a connectivity mask on its recurrent weights.

    h_t = (1 - alpha) h_{t-1} + alpha f(W_rec h_{t-1} + W_in (x_t + n_x) + b_rec + n_rec)
    y_t = W_out h_t + b_out

with n_x ~ N(0, (sqrt(2/alpha) sigma_x)^2) and n_rec ~ N(0, (sqrt(2/alpha) sigma_rec)^2).
W_rec[i, j] is the synapse from neuron j onto neuron i. Absent synapses are exact zeros
in W_rec itself, and a gradient hook zeroes their gradients, so no optimizer ever moves
them. The class takes flat arguments; it never sees the spec.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from growsim.network._recurrence import ACTIVATIONS, leaky_recurrence


class LeakyRNN(nn.Module):
    def __init__(
        self,
        *,
        w_in: torch.Tensor,  # (N, n_input)
        w_rec: torch.Tensor,  # (N, N), full initial draw; masked here
        w_out: torch.Tensor,  # (n_output, N)
        mask: torch.Tensor,  # (N, N) bool
        alpha: float,
        activation: str = "relu",
        sigma_rec: float = 0.05,
        sigma_x: float = 0.01,
        train_biases: bool = True,
        neuron_sign: torch.Tensor | None = None,  # (N,) +1 excitatory, -1 inhibitory: Dale's law; None: no constraint
    ):
        super().__init__()
        n = w_rec.shape[0]
        if w_rec.shape != (n, n) or mask.shape != (n, n) or w_in.shape[0] != n or w_out.shape[1] != n:
            raise ValueError("inconsistent weight shapes")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha = dt/tau must be in (0, 1]; got {alpha}")
        self.alpha = float(alpha)
        self.activation = activation
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; one of {sorted(ACTIVATIONS)}")
        self.sigma_rec = float(sigma_rec)
        self.sigma_x = float(sigma_x)
        mask = mask.to(torch.bool)
        self.dale = neuron_sign is not None
        sign = torch.ones(n, dtype=w_rec.dtype) if neuron_sign is None else neuron_sign.to(w_rec.dtype)
        if self.dale and not bool(((sign == 1) | (sign == -1)).all()):
            raise ValueError("neuron_sign must be +1 (excitatory) or -1 (inhibitory) for every neuron")
        # The sign of each neuron's outgoing synapses (column j of W_rec is neuron j's).
        self.register_buffer("neuron_sign", sign)
        if self.dale:
            w_rec = w_rec.abs() * sign[None, :]
        self.register_buffer("mask", mask.to(w_rec.dtype))
        # The initial draw of every synapse, present or not: a synapse added later can start here.
        self.register_buffer("w_rec_initial", w_rec.detach().clone())
        # The step at which each synapse was made (-1: absent), for pruning by age.
        self.register_buffer("synapse_born", torch.where(mask, 0, -1).to(torch.int32))
        self.w_in = nn.Parameter(w_in.detach().clone())
        self.w_rec = nn.Parameter(w_rec.detach().clone() * self.mask)
        self.b_rec = nn.Parameter(torch.zeros(n, dtype=w_rec.dtype), requires_grad=train_biases)
        self.w_out = nn.Parameter(w_out.detach().clone())
        self.b_out = nn.Parameter(torch.zeros(w_out.shape[0], dtype=w_rec.dtype), requires_grad=train_biases)
        self.w_rec.register_hook(self._mask_grad)

    def _mask_grad(self, grad: torch.Tensor) -> torch.Tensor:
        return grad * self.mask

    @property
    def n_neurons(self) -> int:
        return self.w_rec.shape[0]

    @property
    def n_connections(self) -> int:
        return int(self.mask.count_nonzero())  # an exact count at any size, unlike a float sum

    def forward(
        self, x: torch.Tensor, *, noise: bool = True, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (T, B, n_input) -> (outputs (T, B, n_output) before the readout nonlinearity, rates (T, B, N))."""
        hidden = self.rates(self.drive(x, noise=noise, generator=generator))
        return self.readout(hidden), hidden

    def rates(self, drive: torch.Tensor) -> torch.Tensor:
        """The rates (T, B, N) the recurrence makes of an external drive (T, B, N), from rest."""
        return leaky_recurrence(drive, self.w_rec, self.alpha, self.activation)

    def drive(self, x: torch.Tensor, *, noise: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """The external input to every neuron at every step, noise included: (T, B, N).

        Draws the input noise, then the recurrent noise, from `generator` (in that order).
        """
        steps, batch, _ = x.shape
        scale = math.sqrt(2.0 / self.alpha)
        # Each noise is drawn already scaled (normal_ with its std: the same numbers as
        # std * randn) into a buffer of its own, to which the rest is added in place.
        if noise and self.sigma_x > 0:
            x = torch.empty_like(x).normal_(0.0, scale * self.sigma_x, generator=generator).add_(x)
        bias = self.b_rec
        if noise and self.sigma_rec > 0:
            rec_noise = x.new_empty(steps * batch, self.n_neurons)
            bias = rec_noise.normal_(0.0, scale * self.sigma_rec, generator=generator).add_(self.b_rec)
        # The input drive of every step at once: one large matmul instead of T small ones.
        return torch.addmm(bias, x.reshape(steps * batch, -1), self.w_in.t()).view(steps, batch, -1)

    def external_noise(self, steps: int, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The noise part of the drive, W_in n_x + n_rec, as (T, B, N); zeros without noise.

        `drive(x) == drive(x, noise=False) + external_noise(...)` in distribution; the input
        noise is drawn first, then the recurrent noise, as `drive` draws them.
        """
        scale = math.sqrt(2.0 / self.alpha)
        w_in = self.w_in.detach()
        x_noise = None
        if self.sigma_x > 0:
            x_noise = w_in.new_empty(steps * batch, w_in.shape[1])
            x_noise.normal_(0.0, scale * self.sigma_x, generator=generator)
        noise = w_in.new_zeros(steps * batch, self.n_neurons)
        if self.sigma_rec > 0:
            noise.normal_(0.0, scale * self.sigma_rec, generator=generator)
        if x_noise is not None:
            noise = torch.addmm(noise, x_noise, w_in.t())
        return noise.view(steps, batch, -1)

    def piecewise_drive(self, rows: torch.Tensor, index: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The drive (T, B, N) of an input that is constant between events: `rows` (K, B, n_input)
        are its distinct rows and `index` (T,) the row of every step. Only the K rows are
        projected; `noise` (at least T steps, B, N), from `external_noise`, is added.
        """
        k, batch, n_input = rows.shape
        projected = torch.addmm(self.b_rec, rows.reshape(k * batch, n_input), self.w_in.t()).view(k, batch, -1)
        drive = projected.index_select(0, index)
        if noise is not None:
            drive += noise[: index.shape[0]]
        return drive

    def readout(self, hidden: torch.Tensor) -> torch.Tensor:
        """Outputs (T, B, n_output), before the readout nonlinearity, of rates (T, B, N)."""
        steps, batch, _ = hidden.shape
        return torch.addmm(self.b_out, hidden.reshape(steps * batch, -1), self.w_out.t()).view(steps, batch, -1)

    def weights(self) -> dict[str, np.ndarray]:
        """The weights as numpy arrays, for snapshots (mask as uint8)."""
        return {
            "w_rec": self.w_rec.detach().cpu().numpy(),
            "mask": self.mask.detach().cpu().numpy().astype(np.uint8),
            "w_in": self.w_in.detach().cpu().numpy(),
            "w_out": self.w_out.detach().cpu().numpy(),
            "b_rec": self.b_rec.detach().cpu().numpy(),
            "b_out": self.b_out.detach().cpu().numpy(),
            **({"neuron_sign": self.neuron_sign.cpu().numpy().astype(np.int8)} if self.dale else {}),
        }

    def final_weights(self) -> dict[str, np.ndarray]:
        """The arrays of the run file's /final: the weights, and the initial draw of W_rec."""
        return {**self.weights(), "w_rec_initial": self.w_rec_initial.detach().cpu().numpy()}

    @torch.no_grad()
    def constrain(self) -> None:
        """After an optimizer step: project W_rec back onto Dale's law (a weight that changed
        sign becomes 0, staying a synapse); nothing without populations."""
        if self.dale:
            sign = self.neuron_sign[None, :]
            self.w_rec.copy_(sign * (sign * self.w_rec).clamp_(min=0))

    def structure(self) -> None:
        """None: the shape of a leaky RNN never changes (growth fills its mask)."""
        return None

    def grow_to(self, structure: dict, rng: np.random.Generator) -> None:
        raise ValueError("a leaky RNN has a fixed shape: there is no structure to grow to")

    def sizes(self) -> dict[str, float]:
        """What the run logs of its size at every evaluation and event: the synapses."""
        return {"connections": float(self.n_connections)}

    @torch.no_grad()
    def add_synapses(self, post: torch.Tensor, pre: torch.Tensor, values: torch.Tensor, step: int = 0) -> None:
        """Make synapses pre->post exist with the given starting weights, born at `step`."""
        self.mask[post, pre] = 1.0
        values = values.to(self.w_rec.dtype)
        if self.dale:  # a synapse takes the sign of its presynaptic neuron
            values = values.abs() * self.neuron_sign[pre]
        self.w_rec[post, pre] = values
        self.synapse_born[post, pre] = int(step)

    @torch.no_grad()
    def remove_synapses(self, post: torch.Tensor, pre: torch.Tensor) -> None:
        """Make synapses pre->post absent: exact zeros, masked, no longer learning."""
        self.mask[post, pre] = 0.0
        self.w_rec[post, pre] = 0.0
        if self.w_rec.grad is not None:
            self.w_rec.grad[post, pre] = 0.0
        self.synapse_born[post, pre] = -1

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints written before synapses had birth steps: every synapse present is taken
        # as born at 0 (as the initial ones are).
        key = prefix + "synapse_born"
        if key not in state_dict and prefix + "mask" in state_dict:
            state_dict[key] = torch.where(state_dict[prefix + "mask"] > 0, 0, -1).to(torch.int32)
        key = prefix + "neuron_sign"  # and before populations: every neuron's sign +1, unconstrained
        if key not in state_dict and prefix + "mask" in state_dict and not self.dale:
            state_dict[key] = torch.ones(state_dict[prefix + "mask"].shape[0], dtype=self.neuron_sign.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def stacked_rates(networks: list[LeakyRNN], drives: list[torch.Tensor]) -> list[torch.Tensor]:
    """Run several networks of one shape and dynamics as one stacked model.

    `drives[s]` is network s's external drive (T_s, B, N) (from `LeakyRNN.drive`); trials
    shorter than the longest are padded at the end, which the recurrence, being causal,
    cannot feel. One batched product per time step serves every network; gradients reach
    each network's own `w_rec` (and its mask hook) through the stack. Returns each
    network's rates (T_s, B, N), as `LeakyRNN.rates` would compute them up to float
    rounding (exactly, for a single network, which takes `LeakyRNN.rates` itself).
    """
    if len(networks) == 1:
        return [networks[0].rates(drives[0])]
    first = networks[0]
    lengths = [d.shape[0] for d in drives]
    steps = max(lengths)
    padded = [d if d.shape[0] == steps else torch.nn.functional.pad(d, (0, 0, 0, 0, 0, steps - d.shape[0])) for d in drives]
    drive = torch.stack(padded, dim=1)  # (T, S, B, N)
    w_rec = torch.stack([net.w_rec for net in networks])  # (S, N, N)
    rates = leaky_recurrence(drive, w_rec, first.alpha, first.activation)
    # unbind, not indexing: each member's slice would otherwise get a gradient of the whole stack
    members = rates.transpose(0, 1).unbind(0)  # S x (T, B, N)
    return [h if h.shape[0] == t else h[:t] for h, t in zip(members, lengths)]
