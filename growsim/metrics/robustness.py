"""Robustness to weight and timescale perturbations (Hamidi et al., Eq. 5).

A weight tensor ``W`` is perturbed in a random direction with a size relative to its
own Frobenius norm (the normalisation of Wu, Xia & Wang 2020, as Hamidi et al. use it)::

    W' = W + eps * ||W||_F * xi / ||xi||_F,      xi ~ N(0, I), the shape of W

so that ``||W' - W||_F = eps * ||W||_F`` exactly. Timescales are perturbed only
upward, "to avoid tau < 1" (paper, methods "Robustness"). What is implemented is what
the LevinaLab analysis code does for it (perturbation type "normalized tau abs")::

    tau' = tau + eps * ||tau|| * |xi| / || |xi| ||,   xi ~ N(0, I)

so every tau grows (or stays) and ``||tau' - tau|| = eps * ||tau||``.

A mask (True where a synapse exists) restricts the noise to existing entries: absent
synapses stay exact zeros and the norm identity still holds. This differs from the
LevinaLab code, which perturbs the whole matrix and then zeroes the diagonal in its
forward pass (so its effective perturbation there is slightly smaller).

The robustness curve (paper, Fig. 3 and 5) is the number of levels a network still
solves with accuracy > 0.9 as a function of eps. :func:`robustness_curve` takes any
``evaluate(weights) -> accuracies`` callable, so this module needs numpy only.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple

import numpy as np

__all__ = ["KINDS", "RobustnessResult", "perturb_tau", "perturb_weights", "robustness_curve"]

#: How a tensor is perturbed: ``"weight"`` (Eq. 5, signed noise) or ``"tau"`` (upward only).
KINDS: tuple[str, ...] = ("weight", "tau")


class RobustnessResult(NamedTuple):
    """Result of :func:`robustness_curve`.

    Attributes:
        eps: (n_eps,) float64 relative perturbation sizes.
        accuracies: (n_eps, n_draws, n_levels) float64, what ``evaluate`` returned.
        n_solved: (n_eps, n_draws) int64, levels with accuracy strictly above
            ``threshold``: the paper's robustness curve, one draw per column.
        threshold: the accuracy a level must exceed to count as solved.
    """

    eps: np.ndarray
    accuracies: np.ndarray
    n_solved: np.ndarray
    threshold: float


def _check_eps(eps: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not math.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    return float(eps)


def _as_float(a: object, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise ValueError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or inf")
    return arr


def _as_mask(mask: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"mask of {what} must have shape {shape}, got {m.shape}")
    return m.astype(bool)


def _out_dtype(a: np.ndarray) -> np.dtype:
    return a.dtype if np.issubdtype(a.dtype, np.floating) else np.dtype(np.float64)


def _draw_direction(rng: np.random.Generator, shape: tuple[int, ...], kind: str, mask: np.ndarray | None) -> np.ndarray:
    # Drawn over the full shape whatever the mask, so a mask does not shift the stream.
    xi = rng.standard_normal(shape)
    if kind == "tau":
        np.abs(xi, out=xi)
    if mask is not None:
        xi *= mask
    return xi


def _step(ws: Sequence[np.ndarray], xis: Sequence[np.ndarray], eps: float) -> list[np.ndarray]:
    """Eq. 5 on tensors taken together: one norm of all ``ws``, one of all ``xis``."""
    w_norm = math.sqrt(sum(float(np.sum(np.square(w, dtype=np.float64))) for w in ws))
    xi_norm = math.sqrt(sum(float(np.sum(np.square(x))) for x in xis))
    scale = eps * w_norm / xi_norm if xi_norm > 0 else 0.0
    return [(w.astype(np.float64) + scale * x).astype(_out_dtype(w)) for w, x in zip(ws, xis, strict=True)]


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy Generator or an int seed, got {rng!r}")


def perturb_weights(
    w: np.ndarray, eps: float, rng: np.random.Generator | int, *, mask: np.ndarray | None = None
) -> np.ndarray:
    """Eq. 5: ``W + eps * ||W||_F * xi / ||xi||_F`` with ``xi ~ N(0, I)``.

    Args:
        w: weights of any shape (e.g. (M, M) recurrent or (M, M) feed-forward).
        eps: relative size (>= 0): ``||W' - W||_F = eps * ||W||_F``.
        rng: a seeded numpy Generator (or an int seed); draws ``w.size`` normals.
        mask: optional bool array of ``w``'s shape; noise only where True.
    Returns:
        A new array of ``w``'s shape and (floating) dtype; ``w`` is not modified.
    """
    arr = _as_float(w, "w")
    m = None if mask is None else _as_mask(mask, arr.shape, "w")
    xi = _draw_direction(_rng(rng), arr.shape, "weight", m)
    return _step([arr], [xi], _check_eps(eps))[0]


def perturb_tau(
    tau: np.ndarray, eps: float, rng: np.random.Generator | int, *, mask: np.ndarray | None = None
) -> np.ndarray:
    """Upward-only perturbation: ``tau + eps * ||tau|| * |xi| / || |xi| ||``.

    Args:
        tau: per-neuron time constants (in steps), any shape, e.g. (M,).
        eps: relative size (>= 0): ``||tau' - tau|| = eps * ||tau||``.
        rng: a seeded numpy Generator (or an int seed); draws ``tau.size`` normals.
        mask: optional bool array of ``tau``'s shape; only those entries move.
    Returns:
        A new array, elementwise ``>= tau``, of ``tau``'s shape and (floating) dtype.
    """
    arr = _as_float(tau, "tau")
    m = None if mask is None else _as_mask(mask, arr.shape, "tau")
    xi = _draw_direction(_rng(rng), arr.shape, "tau", m)
    return _step([arr], [xi], _check_eps(eps))[0]


def robustness_curve(
    evaluate: Callable[[dict[str, np.ndarray]], Sequence[float] | np.ndarray],
    weights: Mapping[str, np.ndarray],
    *,
    perturb: Mapping[str, str],
    eps: Sequence[float] | np.ndarray,
    n_draws: int,
    rng: np.random.Generator | int,
    threshold: float = 0.9,
    scope: Literal["tensor", "group"] = "tensor",
    masks: Mapping[str, np.ndarray] | None = None,
) -> RobustnessResult:
    """Accuracy per level, and levels still solved, after random perturbations.

    Args:
        evaluate: ``evaluate(weights) -> (n_levels,)`` accuracies in [0, 1]. It gets a
            new dict with a fresh copy of every entry of ``weights``, the perturbed
            ones replaced (numpy arrays it may modify, e.g. load into a torch model
            with ``torch.from_numpy``). For curves that
            differ only by the perturbation, let it re-seed its own test stream at
            every call.
        weights: name -> array, every tensor ``evaluate`` needs (e.g. recurrent,
            feed-forward and tau of each module).
        perturb: name -> ``"weight"`` or ``"tau"``: which tensors move and how
            (e.g. all recurrent matrices, or all feed-forward ones, or all taus).
        eps: (n_eps,) relative sizes, >= 0 (include 0 for the unperturbed accuracy).
        n_draws: random directions per eps (>= 1).
        rng: a seeded numpy Generator (or an int seed). For draw d it draws one
            normal array per perturbed tensor, in ``perturb``'s order, and that same
            direction is used at every eps (common random numbers: along a draw,
            only the size changes).
        threshold: a level counts as solved with accuracy strictly above this
            (paper: 0.9).
        scope: ``"tensor"`` (default): Eq. 5 for each tensor with its own norm, "the
            magnitude of the weights of the layer being targeted"; ``"group"``: all
            tensors of one kind as one vector, with one norm.
        masks: optional name -> bool array (True where a synapse exists); noise is
            put only there, so absent synapses stay exact zeros.
    Returns:
        :class:`RobustnessResult` with accuracies (n_eps, n_draws, n_levels) and
        n_solved (n_eps, n_draws).
    """
    if not callable(evaluate):
        raise TypeError("evaluate must be callable")
    eps_arr = np.asarray(eps, dtype=np.float64).reshape(-1)
    eps_list = [_check_eps(float(e)) for e in eps_arr]
    if not eps_list:
        raise ValueError("eps must hold at least one value")
    if isinstance(n_draws, bool) or not isinstance(n_draws, numbers.Integral) or n_draws < 1:
        raise ValueError(f"n_draws must be an integer >= 1, got {n_draws!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
    if scope not in ("tensor", "group"):
        raise ValueError(f"scope must be 'tensor' or 'group', got {scope!r}")
    if not perturb:
        raise ValueError("perturb must name at least one tensor")
    base = {name: np.asarray(a) for name, a in weights.items()}
    masks = dict(masks or {})
    arrays: dict[str, np.ndarray] = {}
    mask_of: dict[str, np.ndarray | None] = {}
    for name, kind in perturb.items():
        if name not in base:
            raise ValueError(f"perturb names {name!r}, which is not in weights (have {sorted(base)})")
        if kind not in KINDS:
            raise ValueError(f"perturb[{name!r}] must be one of {KINDS}, got {kind!r}")
        arrays[name] = _as_float(base[name], f"weights[{name!r}]")
        mask_of[name] = _as_mask(masks.pop(name), arrays[name].shape, name) if name in masks else None
    if masks:
        raise ValueError(f"masks given for tensors that are not perturbed: {sorted(masks)}")
    gen = _rng(rng)

    # Tensors that share one norm: each alone, or all of one kind.
    names = list(perturb)
    if scope == "tensor":
        groups = [[n] for n in names]
    else:
        groups = [[n for n in names if perturb[n] == k] for k in KINDS]
        groups = [g for g in groups if g]

    accuracies: list[list[np.ndarray]] = [[] for _ in eps_list]
    n_levels: int | None = None
    for _ in range(int(n_draws)):
        xi = {n: _draw_direction(gen, arrays[n].shape, perturb[n], mask_of[n]) for n in names}
        for i, e in enumerate(eps_list):
            # Fresh copies: an evaluate that edits weights in place (a forward pass
            # that zeroes a diagonal, say) must not leak into the next draw.
            trial = {n: a.copy() for n, a in base.items()}
            for g in groups:
                for n, new in zip(g, _step([arrays[n] for n in g], [xi[n] for n in g], e), strict=True):
                    trial[n] = new
            acc = np.asarray(evaluate(trial), dtype=np.float64).reshape(-1)
            if n_levels is None:
                n_levels = acc.size
            if acc.size != n_levels or n_levels == 0:
                raise ValueError(f"evaluate returned {acc.size} accuracies, expected {n_levels} (and at least 1)")
            accuracies[i].append(acc)
    acc_arr = np.array(accuracies, dtype=np.float64)  # (n_eps, n_draws, n_levels)
    solved = np.count_nonzero(acc_arr > threshold, axis=2).astype(np.int64)
    return RobustnessResult(np.array(eps_list), acc_arr, solved, float(threshold))
