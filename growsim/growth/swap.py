"""Neuron swaps applied to a live network and its optimizer (BIMT's swap step).

:mod:`growsim.network.swap` finds swaps and permutes arrays; this module applies them to
a :class:`growsim.network.LeakyRNN` in training: every per-neuron parameter and buffer,
their gradients and the optimizer's per-entry state move together, in place, so that the
``Parameter`` objects (and the optimizer's references to them) stay the same.

Which axes of which tensor are neuron axes is read from :data:`NEURON_AXES` (name ->
axes, ``()`` for tensors that do not depend on the hidden neurons). A parameter or
buffer missing from that table is an error rather than something silently left in
place: a new per-neuron quantity (say ``tau`` or ``h0``, already listed) has to be
declared there, or passed in ``extra_axes``.

After :func:`permute_network` the network computes the same outputs from the same
inputs (noise aside, which is drawn per position), and one more step of an element-wise
optimizer (Adam, AdamW, SGD with momentum) gives exactly the permutation of the step the
unpermuted network would have taken. Only position-dependent terms, such as the wiring
cost ``sum(D * |W_rec|)``, change.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from growsim.network.swap import best_swaps, compose_swaps, permute_neurons

__all__ = ["NEURON_AXES", "bimt_swap", "neuron_axes_of", "permute_network"]

#: Neuron axes of the parameters and buffers of :class:`growsim.network.LeakyRNN`, and
#: of per-neuron quantities a cell may add (``tau``, ``h0``); ``log_tau`` is a leaky RNN's per-neuron
#: time constants (``network.tau``). ``()``: not per neuron.
NEURON_AXES: dict[str, tuple[int, ...]] = {
    "w_rec": (0, 1),
    "mask": (0, 1),
    "w_rec_initial": (0, 1),
    "synapse_born": (0, 1),
    "neuron_sign": (0,),
    "w_in": (0,),
    "b_rec": (0,),
    "w_out": (1,),
    "b_out": (),
    "tau": (0,),
    "log_tau": (0,),
    "h0": (0,),
}


def neuron_axes_of(
    network: torch.nn.Module, extra_axes: Mapping[str, tuple[int, ...]] | None = None
) -> dict[str, tuple[int, ...]]:
    """Neuron axes of every parameter and buffer of ``network``, by (dotted) name.

    Looks each name up in ``extra_axes`` first, then in :data:`NEURON_AXES` (by the
    full name, then by its last component, so a submodule's ``cell.tau`` finds
    ``tau``). Raises ValueError naming every tensor with no entry.
    """
    table = dict(NEURON_AXES)
    if extra_axes:
        table.update({k: tuple(v) for k, v in extra_axes.items()})
    out: dict[str, tuple[int, ...]] = {}
    unknown = []
    tensors = list(network.named_parameters()) + list(network.named_buffers())
    for name, _ in tensors:
        key = name if name in table else name.rsplit(".", 1)[-1]
        if key in table:
            out[name] = table[key]
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(
            f"no neuron axes known for {unknown}: add them to NEURON_AXES or pass extra_axes "
            "(use () for tensors that do not depend on the hidden neurons)"
        )
    return out


def _permuted(x: torch.Tensor, perm: np.ndarray, axes: tuple[int, ...], name: str) -> torch.Tensor:
    return permute_neurons({name: x}, perm, {name: axes})[name]


@torch.no_grad()
def permute_network(
    network: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    perm: np.ndarray,
    *,
    extra_axes: Mapping[str, tuple[int, ...]] | None = None,
) -> None:
    """Move the hidden neurons of ``network`` by ``perm``, in place.

    Parameters
    ----------
    network:
        A :class:`growsim.network.LeakyRNN` (or any module whose parameters and buffers
        all have an entry in :data:`NEURON_AXES` or ``extra_axes``).
    optimizer:
        Its optimizer, or None. For every parameter it holds state for, each state
        tensor of the parameter's shape (Adam's ``exp_avg``, ``exp_avg_sq``,
        ``max_exp_avg_sq``, SGD's ``momentum_buffer``) is permuted like the parameter;
        scalars (``step``) are left alone. Any other non-scalar state (a factored
        second moment, say) raises ValueError before anything is changed.
    perm:
        ``(N,)`` permutation: position ``a`` receives the neuron that was at
        ``perm[a]`` (see :mod:`growsim.network.swap`), e.g. from
        :func:`growsim.network.compose_swaps`.
    extra_axes:
        Neuron axes of tensors that :data:`NEURON_AXES` does not list.

    Every parameter's ``.grad``, when present, is permuted too. Tensors are updated
    with ``copy_``: the same ``Parameter`` and buffer objects, on the same device.
    """
    axes = neuron_axes_of(network, extra_axes)
    p = np.asarray(perm)
    named = dict(network.named_parameters())
    named.update(dict(network.named_buffers()))
    # Check everything first, so that an error leaves the network and optimizer untouched.
    jobs: list[tuple[str, torch.Tensor, tuple[int, ...]]] = []
    for name, t in named.items():
        ax = axes[name]
        if not ax:
            continue
        jobs.append((name, t, ax))
        if isinstance(t, torch.nn.Parameter) and t.grad is not None:
            jobs.append((f"{name}.grad", t.grad, ax))
        if optimizer is not None:
            for key, value in optimizer.state.get(t, {}).items():
                if not torch.is_tensor(value) or value.dim() == 0:
                    continue  # step counts and other scalars
                if value.shape != t.shape:
                    raise ValueError(
                        f"optimizer state {key!r} of {name!r} has shape {tuple(value.shape)}, the parameter "
                        f"{tuple(t.shape)}: cannot tell how to permute it"
                    )
                jobs.append((f"{name}.{key}", value, ax))
    new = [(t, _permuted(t, p, ax, name)) for name, t, ax in jobs]  # validates perm and shapes
    for t, y in new:
        t.copy_(y)


def _positive_int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    return int(v)


def bimt_swap(
    network: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    distances: Any,
    *,
    top_k: int,
    weight_factor: float = 1.0,
    l0: float = 0.0,
    include_io: bool = True,
    d_in: Any = None,
    d_out: Any = None,
    movable: Any = None,
    extra_axes: Mapping[str, tuple[int, ...]] | None = None,
) -> list[tuple[int, int]]:
    """One BIMT swap step on a live network: swaps that lower the wiring cost, applied.

    1. Rank the hidden neurons by the summed ``|weight|`` of their incoming and outgoing
       synapses: the ``W_rec`` row and column, plus (``include_io=True``, the default)
       the ``W_in`` row and the ``W_out`` column -- all of a hidden neuron's synapses,
       as the BIMT notebooks rank a layer's neurons by their weights to the layers on
       either side. ``include_io=False`` ranks by ``W_rec`` alone, the only weights
       whose cost depends on position when inputs and outputs have no positions.
    2. Take the top ``top_k``; for each in turn, swap it with the neuron whose position
       gives the lowest cost ``sum(|W_rec| * (weight_factor * D + l0))`` (plus
       ``weight_factor * (sum(D_in |W_in|) + sum(D_out |W_out|))`` when ``d_in`` /
       ``d_out`` give input and output distances), if that lowers the cost; later
       neurons see the earlier swaps. This is :func:`growsim.network.best_swaps`.
    3. Apply all swaps at once to the network, its gradients and the optimizer's state
       (:func:`permute_network`).

    ``l0`` charges every weight the same whatever its position, so it never changes
    which swap is best; ``weight_factor`` scales every cost change alike: with 0 no
    swap changes the cost and none is made. ``distances``: ``(N, N)`` array or tensor,
    between positions. ``movable``: boolean ``(N,)``, the neurons that may move.

    Returns
    -------
    The swaps made, ``[(i, j), ...]`` of positions, in the order they were applied
    (``compose_swaps(N, swaps)`` is the permutation applied), for logging.
    """
    k = _positive_int(top_k, "top_k")
    wf = float(weight_factor)
    if not np.isfinite(wf) or wf < 0:
        raise ValueError(f"weight_factor must be finite and >= 0, got {weight_factor!r}")
    if not np.isfinite(float(l0)):
        raise ValueError(f"l0 must be finite, got {l0!r}")
    if k == 0 or wf == 0.0:
        return []
    if not include_io and (d_in is not None or d_out is not None):
        raise ValueError("d_in / d_out put input and output weights into the cost: they need include_io=True")
    w_rec = network.w_rec.detach()
    w_in = network.w_in.detach() if include_io else None
    w_out = network.w_out.detach() if include_io else None
    swaps = best_swaps(w_rec, w_in, w_out, distances, k, d_in=d_in, d_out=d_out, movable=movable)
    if swaps:
        permute_network(network, optimizer, compose_swaps(w_rec.shape[0], swaps), extra_axes=extra_axes)
    return swaps
