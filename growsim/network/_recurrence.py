"""The leaky recurrence with a hand-written backward pass.

    u_t = drive_t + W h_{t-1},   h_t = (1 - alpha) h_{t-1} + alpha f(u_t),   h_{-1} = 0

Autograd would record three nodes per time step and, going back, run each node's
backward with its bookkeeping: about ten operator calls per step, two of them small matrix
products (one for the gradient of h_{t-1}, one for the step's share of the weight
gradient, accumulated step by step). Written by hand, the backward is three calls a step:

    dh_t = dH_t + carry,   du_t = dh_t * alpha f'(u_t),   carry = (1 - alpha) dh_t + du_t W

and the weight gradient is one large product over the whole sequence,
dW = sum_t du_t^T h_{t-1}, made after the loop. On one CPU thread, forward and backward of
the recurrence of an 84-neuron network (64 trials, 100 steps) take 9.7 ms against
autograd's 14.1 ms; a whole training step of Wu & Gu's spec 1.13 times less time
(benchmarks/bench_speed.py, benchmarks/RESULTS.md).

The same function serves one network (drive (T, B, N), weights (N, N)) and a stack of S
networks of one shape (drive (T, S, B, N), weights (S, N, N)), with `addmm` or `baddbmm`.
Without a gradient to compute (evaluation) it runs the forward loop alone and keeps
nothing.

alpha is a number (one time constant for every neuron: the default, and the fastest path)
or a tensor (N,) of per-neuron alpha_i = dt / tau_i. With a tensor the carry takes two calls,
(1 - alpha) * dh_t, then + du_t W. When that tensor requires a gradient (trainable time
constants), the total gradient dh_t reaching every h_t is kept, and

    dalpha_i = sum over t and trials of dh_t,i (h_t - h_{t-1})_i / alpha_i

since h_t = h_{t-1} + alpha (f(u_t) - h_{t-1}) and u_t does not depend on alpha.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _derivative(activation: str, pre: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """alpha f'(pre), computed in place of `pre` where the activation allows."""
    if activation == "relu":
        return pre.gt_(0).mul_(alpha)  # gt_ writes 1.0 / 0.0 in the tensor's own dtype
    if activation == "tanh":
        return pre.tanh_().square_().neg_().add_(1.0).mul_(alpha)
    if activation == "softplus":  # torch's softplus (beta 1, threshold 20): d/du = sigmoid(u), 1 above 20
        return torch.where(pre > 20.0, 1.0, torch.sigmoid(pre)).mul_(alpha)
    raise ValueError(f"unknown activation {activation!r}")


ACTIVATIONS = {"relu": torch.relu, "softplus": F.softplus, "tanh": torch.tanh}


def _forward(pre: torch.Tensor, w_t: torch.Tensor, alpha: float | torch.Tensor, f, keep_pre: bool) -> torch.Tensor:
    """Rates (T, ...) of the recurrence driven by `pre`, which is overwritten.

    `pre` holds the drive on entry and the pre-activations u_t after: each step adds its
    recurrent input to its own row in place (what `addmm` into an output computes, less the
    copy of the row that it makes first). Unless `keep_pre`, relu then overwrites them too.
    """
    stacked = w_t.dim() == 3
    product = torch.Tensor.baddbmm_ if stacked else torch.Tensor.addmm_
    in_place = not keep_pre and f is torch.relu
    rates = torch.empty_like(pre)
    h = pre.new_zeros(pre.shape[1:])
    # unbind once: indexing a step at a time would cost an operator call per step and tensor
    for t, (pre_t, rate_t) in enumerate(zip(pre.unbind(0), rates.unbind(0))):
        if t:  # h_{-1} = 0: the first step has no recurrent input
            product(pre_t, h, w_t)
        h = torch.lerp(h, pre_t.relu_() if in_place else f(pre_t), alpha, out=rate_t)
    return rates


class _LeakyRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, drive: torch.Tensor, w_rec: torch.Tensor, alpha: float | torch.Tensor, activation: str):
        pre = drive.detach().clone(memory_format=torch.contiguous_format)
        w_t = w_rec.transpose(-1, -2)
        if isinstance(alpha, torch.Tensor):
            alpha = alpha.detach()
        rates = _forward(pre, w_t, alpha, ACTIVATIONS[activation], keep_pre=True)
        ctx.alpha = alpha
        ctx.save_for_backward(rates, _derivative(activation, pre, alpha), w_rec)
        return rates

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_rates: torch.Tensor):
        rates, gain, w_rec = ctx.saved_tensors
        alpha = ctx.alpha
        per_neuron = isinstance(alpha, torch.Tensor)
        keep = per_neuron and ctx.needs_input_grad[2]  # dh_t of every step, for dalpha
        stacked = w_rec.dim() == 3
        product = torch.baddbmm if stacked else torch.addmm
        grad_rates = grad_rates.contiguous()
        grad_pre = torch.empty_like(rates)
        grad_h = torch.empty_like(rates) if keep else None
        carry = None
        last = rates.shape[0] - 1
        steps = list(zip(grad_rates.unbind(0), gain.unbind(0), grad_pre.unbind(0)))
        if per_neuron:
            leak = 1.0 - alpha
        for k, (grad_t, gain_t, grad_pre_t) in enumerate(reversed(steps)):  # t = last - k
            dh = grad_t if carry is None else grad_t + carry
            if keep:
                grad_h[last - k] = dh
            du = torch.mul(dh, gain_t, out=grad_pre_t)
            if k < last:  # the gradient reaching h_{t-1}
                if per_neuron:
                    carry = product(dh * leak, du, w_rec)
                else:
                    carry = product(dh, du, w_rec, beta=1.0 - alpha)
        grad_w = None
        if ctx.needs_input_grad[1] and rates.shape[0] > 1:
            # dW[i, j] = sum over steps t >= 1 and trials of du_t[i] h_{t-1}[j]: one product.
            n = rates.shape[-1]
            du, h_prev = grad_pre[1:], rates[:-1]
            if stacked:
                s = rates.shape[1]
                du = du.transpose(0, 1).reshape(s, -1, n)
                h_prev = h_prev.transpose(0, 1).reshape(s, -1, n)
                grad_w = torch.bmm(du.transpose(1, 2), h_prev)
            else:
                grad_w = du.reshape(-1, n).t() @ h_prev.reshape(-1, n)
        elif ctx.needs_input_grad[1]:
            grad_w = torch.zeros_like(w_rec)
        grad_alpha = None
        if keep:
            change = rates.clone()  # h_t - h_{t-1}, with h_{-1} = 0
            change[1:] -= rates[:-1]
            grad_alpha = (grad_h * change).reshape(-1, rates.shape[-1]).sum(0) / alpha
            grad_alpha = grad_alpha.reshape(alpha.shape)
        return (grad_pre if ctx.needs_input_grad[0] else None), grad_w, grad_alpha, None


def leaky_recurrence(
    drive: torch.Tensor, w_rec: torch.Tensor, alpha: float | torch.Tensor, activation: str, *, consume: bool = False
) -> torch.Tensor:
    """Rates (T, ...) of the leaky recurrence from rest, driven by `drive` (T, ...).

    `w_rec` is (N, N), or (S, N, N) for a stack whose drive is (T, S, B, N);
    W[i, j] is the synapse from neuron j onto neuron i. `alpha` is a number, or a tensor
    (N,) of per-neuron alphas (a gradient reaches it when it requires one). `consume`: without
    a gradient to compute, the recurrence may overwrite `drive` (a temporary of the caller's,
    contiguous) instead of copying it.
    """
    needs = drive.requires_grad or w_rec.requires_grad or (isinstance(alpha, torch.Tensor) and alpha.requires_grad)
    if torch.is_grad_enabled() and needs:
        return _LeakyRecurrence.apply(drive, w_rec, alpha, activation)
    if isinstance(alpha, torch.Tensor):
        alpha = alpha.detach()
    pre = drive if consume and drive.is_contiguous() else drive.clone(memory_format=torch.contiguous_format)
    return _forward(pre, w_rec.transpose(-1, -2), alpha, ACTIVATIONS[activation], keep_pre=False)
