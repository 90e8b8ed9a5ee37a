"""Yang et al.'s leaky RNN with a connectivity mask on its recurrent weights.

    h_t = (1 - alpha) h_{t-1} + alpha f(W_rec h_{t-1} + W_in (x_t + n_x) + b_rec + n_rec)
    y_t = W_out h_t + b_out

with n_x ~ N(0, (sqrt(2/alpha) sigma_x)^2) and n_rec ~ N(0, (sqrt(2/alpha) sigma_rec)^2).
W_rec[i, j] is the synapse from neuron j onto neuron i. Absent synapses are exact zeros
in W_rec itself, and a gradient hook zeroes their gradients, so no optimizer ever moves
them. The class takes flat arguments; it never sees the spec.

alpha = dt / tau is one number for every neuron (the default), or, given `tau_ms` (N,), one
per neuron: alpha_i = dt / tau_i, kept as log tau (a parameter when `train_tau`, clamped to
`tau_bounds_ms` by `constrain`; a buffer otherwise). The recurrent noise of neuron i is then
scaled by sqrt(2/alpha_i) at the current tau (no gradient flows through the noise's size);
the input noise, drawn in input space, keeps the scalar alpha.
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
        tau_ms: torch.Tensor | None = None,  # (N,) per-neuron time constants; None: the scalar alpha for all
        dt_ms: float | None = None,  # the time step, with tau_ms: alpha_i = dt_ms / tau_i
        train_tau: bool = False,
        tau_bounds_ms: tuple[float, float] | None = None,  # (lowest, highest) a trained tau may take
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
        self.per_neuron_tau = tau_ms is not None
        self.dt_ms = None if dt_ms is None else float(dt_ms)
        self.tau_bounds_ms = None
        if self.per_neuron_tau:
            tau_ms = tau_ms.detach().to(w_rec.dtype)
            if tau_ms.shape != (n,):
                raise ValueError(f"tau_ms must have one time constant per neuron, shape ({n},); got {tuple(tau_ms.shape)}")
            if self.dt_ms is None or not self.dt_ms > 0:
                raise ValueError("per-neuron time constants need the time step dt_ms > 0")
            if not bool((tau_ms >= self.dt_ms).all()):
                raise ValueError(f"every tau_i must be at least dt_ms = {self.dt_ms:g} (alpha_i = dt / tau_i <= 1)")
            low, high = (self.dt_ms, math.inf) if tau_bounds_ms is None else (float(tau_bounds_ms[0]), float(tau_bounds_ms[1]))
            if not self.dt_ms <= low <= high:
                raise ValueError(f"tau bounds must satisfy dt_ms <= low <= high; got {(low, high)} with dt_ms {self.dt_ms:g}")
            self.tau_bounds_ms = (low, high)
            log_tau = tau_ms.log()
            if train_tau:
                self.log_tau = nn.Parameter(log_tau)
            else:
                self.register_buffer("log_tau", log_tau)
        elif train_tau or tau_bounds_ms is not None:
            raise ValueError("train_tau and tau_bounds_ms need per-neuron time constants (tau_ms)")

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
        hidden = self.rates(self.drive(x, noise=noise, generator=generator), consume=True)
        return self.readout(hidden), hidden

    def outputs(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """What training reads: the outputs (T, B, n_output) of inputs x, with noise from `generator`."""
        return self(x, noise=True, generator=generator)[0]

    def alphas(self) -> torch.Tensor:
        """(N,) alpha_i = dt / tau_i of every neuron (with a gradient when tau learns)."""
        if not self.per_neuron_tau:
            return torch.full((self.n_neurons,), self.alpha, dtype=self.w_rec.dtype, device=self.w_rec.device)
        # at most 1 also where a tau clamped to dt_ms rounds a hair below it in float32
        return (self.dt_ms * torch.exp(-self.log_tau)).clamp(max=1.0)

    def _noise_scale(self) -> float | torch.Tensor:
        """sqrt(2/alpha): a number, or (N,) with per-neuron time constants (no gradient)."""
        if not self.per_neuron_tau:
            return math.sqrt(2.0 / self.alpha)
        return (2.0 / self.alphas().detach()).sqrt_()

    def rates(self, drive: torch.Tensor, *, consume: bool = False) -> torch.Tensor:
        """The rates (T, B, N) the recurrence makes of an external drive (T, B, N), from rest.

        `consume`: the drive is a temporary that the recurrence may overwrite (without a
        gradient to compute it then makes no copy of it)."""
        alpha = self.alphas() if self.per_neuron_tau else self.alpha
        return leaky_recurrence(drive, self.w_rec, alpha, self.activation, consume=consume)

    def drive(self, x: torch.Tensor, *, noise: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """The external input to every neuron at every step, noise included: (T, B, N).

        Draws the input noise, then the recurrent noise, from `generator` (in that order).
        """
        steps, batch, _ = x.shape
        scale = math.sqrt(2.0 / self.alpha)  # the input noise's, in input space: the scalar alpha's
        # Each noise is drawn already scaled (normal_ with its std: the same numbers as
        # std * randn) into a buffer of its own, to which the rest is added in place.
        if noise and self.sigma_x > 0:
            x = torch.empty_like(x).normal_(0.0, scale * self.sigma_x, generator=generator).add_(x)
        bias = self.b_rec
        if noise and self.sigma_rec > 0:
            rec_noise = x.new_empty(steps * batch, self.n_neurons)
            if self.per_neuron_tau:  # sqrt(2/alpha_i) sigma_rec for neuron i
                rec_noise.normal_(0.0, 1.0, generator=generator).mul_(self._noise_scale() * self.sigma_rec)
                bias = rec_noise.add_(self.b_rec)
            else:
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
            if self.per_neuron_tau:
                noise.normal_(0.0, 1.0, generator=generator).mul_(self._noise_scale() * self.sigma_rec)
            else:
                noise.normal_(0.0, scale * self.sigma_rec, generator=generator)
        if x_noise is not None:
            noise.addmm_(x_noise, w_in.t())  # in place: what addmm computes, without a third buffer
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
            **({"tau": self.log_tau.detach().exp().cpu().numpy()} if self.per_neuron_tau else {}),
        }

    def final_weights(self) -> dict[str, np.ndarray]:
        """The arrays of the run file's /final: the weights, and the initial draw of W_rec."""
        return {**self.weights(), "w_rec_initial": self.w_rec_initial.detach().cpu().numpy()}

    @torch.no_grad()
    def constrain(self) -> None:
        """After an optimizer step: project W_rec back onto Dale's law (a weight that changed
        sign becomes 0, staying a synapse); and clamp trained time constants to their bounds."""
        if self.dale:
            sign = self.neuron_sign[None, :]
            self.w_rec.copy_(sign * (sign * self.w_rec).clamp_(min=0))
        if self.per_neuron_tau and isinstance(self.log_tau, nn.Parameter):
            low, high = self.tau_bounds_ms
            self.log_tau.clamp_(min=math.log(low), max=math.log(high) if math.isfinite(high) else None)

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
    if any(net.per_neuron_tau for net in networks):
        raise ValueError("networks with per-neuron time constants do not stack")
    lengths = [d.shape[0] for d in drives]
    steps = max(lengths)
    padded = [d if d.shape[0] == steps else torch.nn.functional.pad(d, (0, 0, 0, 0, 0, steps - d.shape[0])) for d in drives]
    drive = torch.stack(padded, dim=1)  # (T, S, B, N)
    w_rec = torch.stack([net.w_rec for net in networks])  # (S, N, N)
    rates = leaky_recurrence(drive, w_rec, first.alpha, first.activation)
    # unbind, not indexing: each member's slice would otherwise get a gradient of the whole stack
    members = rates.transpose(0, 1).unbind(0)  # S x (T, B, N)
    return [h if h.shape[0] == t else h[:t] for h, t in zip(members, lengths)]
