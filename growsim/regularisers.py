"""Regularisation terms of the loss, as pure functions of the training step.

A :class:`Term` says what is penalised and how strongly at each step; a
:class:`Regularisers` sums the terms active at a step into one differentiable tensor to
add to the prediction loss, and reports each term's unscaled value for logging.

Kinds of term
-------------
``"l1"``
    ``sum |p|`` over every entry of the named parameters (vanilla L1).
``"wiring"``
    ``sum(|W_rec| * (A * D + l0))`` over the recurrent weights, ``D`` the ``(N, N)``
    distances between the neurons' positions: Liu et al.'s distance-weighted L1 with
    ``l0 = 0``, the BIMT notebooks' connection cost with ``A`` their ``weight_factor``.

A term's contribution at step ``s`` of ``S`` is ``strength_at(term, s, S) * value``,
with ``strength_at = strength * multiplier(s / S)``; the multiplier is piecewise
constant, 1 until the first point of ``schedule`` and then the multiplier of the last
point reached (point ``(f, m)`` takes over at step ``floor(f * S)``, as the BIMT
notebooks switch at ``step == int(steps * f)``; see
:func:`growsim.metrics.wiring_cost.piecewise_schedule`). Multipliers are relative to
``strength``, not to each other.

Liu, Khona, Fiete & Tegmark's loss
----------------------------------
Their connection cost is ``l_cc = L1(W_in, W_rec, W_out, b_rec, b_out) + A * sum(D *
|W_rec|)`` and the loss ``l_pred + lambda * l_cc`` (A = 1, lambda = 1e-5 in the main
figure). Since ``lambda * l_cc = lambda * L1 + lambda * (A * sum(D |W_rec|))``, it is
two terms sharing strength and schedule (:func:`liu_terms` builds them)::

    Term("l1", "l1", ("w_rec", "w_in", "w_out", "b_rec", "b_out"), strength=lam, schedule=sch)
    Term("wiring", "wiring", ("w_rec",), strength=lam, schedule=sch, A=A)

with BIMT's schedule ``sch = ((0.25, 10.0),)`` (lambda x10 from a quarter of training),
or ``((0.25, 10.0), (0.75, 1.0))`` to return to lambda later (the notebooks' x0.1), or
``((0.25, 10.0), (0.5, 100.0))`` for x10 again. ``A = 0`` leaves vanilla L1; ``lambda =
0`` no regularisation (and no cost: inactive terms build no graph).

``W_rec`` is taken as given: pass the effective weights (:class:`growsim.network.LeakyRNN`
stores them already masked, absent synapses being exact zeros), so absent synapses
cost nothing.

This module imports torch, numpy and :mod:`growsim.metrics.wiring_cost` only.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from growsim.metrics.wiring_cost import bimt_cost, l1_cost, piecewise_schedule

__all__ = ["ALL_PARAMS", "TERM_KINDS", "Regularisers", "Term", "liu_terms", "strength_at"]

#: Kinds of :class:`Term`.
TERM_KINDS: tuple[str, ...] = ("l1", "wiring")
#: Every weight and bias of a :class:`growsim.network.LeakyRNN`: the default of an l1 term.
ALL_PARAMS: tuple[str, ...] = ("w_rec", "w_in", "w_out", "b_rec", "b_out")


def _finite(v: object, name: str, *, nonneg: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    if nonneg and v < 0:
        raise ValueError(f"{name} must be >= 0, got {v!r}")
    return float(v)


@dataclass(frozen=True)
class Term:
    """One regularisation term.

    Attributes
    ----------
    name:
        Key of the term's value in the log (unique within a :class:`Regularisers`).
    kind:
        ``"l1"`` or ``"wiring"`` (see the module docstring).
    params:
        Names of the parameters it penalises. ``()`` (default): :data:`ALL_PARAMS` for
        ``"l1"``, ``("w_rec",)`` for ``"wiring"`` (the only choice there). Lists are
        accepted and stored as tuples.
    strength:
        lambda, >= 0, before the schedule's multiplier.
    schedule:
        ``((fraction, multiplier), ...)``, fractions of training in [0, 1] increasing
        strictly, multipliers >= 0: from ``fraction`` on, ``strength * multiplier``.
        Empty: constant ``strength``.
    A:
        ``"wiring"`` only: cost per unit length (Liu et al.'s A; the BIMT notebooks'
        ``weight_factor``).
    l0:
        ``"wiring"`` only: cost per unit weight whatever the length, >= 0 (BIMT
        notebooks: 0.1 to 0.5; Liu et al.'s RNN: 0, with a separate l1 term).
    """

    name: str
    kind: str
    params: tuple[str, ...] = ()
    strength: float = 0.0
    schedule: tuple[tuple[float, float], ...] = ()
    A: float = 1.0
    l0: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a term's name must be a non-empty string, got {self.name!r}")
        if self.kind not in TERM_KINDS:
            raise ValueError(f"term {self.name!r}: unknown kind {self.kind!r}; expected one of {', '.join(TERM_KINDS)}")
        params = self.params
        if isinstance(params, str):
            params = (params,)
        params = tuple(params) or (ALL_PARAMS if self.kind == "l1" else ("w_rec",))
        if not all(isinstance(p, str) and p for p in params) or len(set(params)) != len(params):
            raise ValueError(f"term {self.name!r}: params must be distinct parameter names, got {params!r}")
        if self.kind == "wiring" and params != ("w_rec",):
            raise ValueError(f"term {self.name!r}: a wiring term penalises w_rec only, got params {params!r}")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "strength", _finite(self.strength, f"term {self.name!r}: strength", nonneg=True))
        object.__setattr__(self, "A", _finite(self.A, f"term {self.name!r}: A"))
        object.__setattr__(self, "l0", _finite(self.l0, f"term {self.name!r}: l0", nonneg=True))
        if self.kind == "l1" and (self.A != 1.0 or self.l0 != 0.0):
            raise ValueError(f"term {self.name!r}: A and l0 belong to wiring terms")
        try:
            sched = tuple((float(f), float(m)) for f, m in self.schedule)
        except (TypeError, ValueError):
            raise ValueError(
                f"term {self.name!r}: schedule must be (fraction, multiplier) pairs, got {self.schedule!r}"
            ) from None
        fr = [f for f, _ in sched]
        if any(not 0.0 <= f <= 1.0 for f in fr) or any(b <= a for a, b in itertools.pairwise(fr)):
            raise ValueError(f"term {self.name!r}: schedule fractions must increase strictly within [0, 1], got {fr}")
        if any(not math.isfinite(m) or m < 0 for _, m in sched):
            raise ValueError(f"term {self.name!r}: schedule multipliers must be finite and >= 0, got {sched}")
        object.__setattr__(self, "schedule", sched)


def strength_at(term: Term, step: int, total_steps: int) -> float:
    """The term's lambda at ``step`` of ``total_steps``: ``strength * multiplier``.

    Pure. ``step >= 0`` (steps past the end keep the last multiplier), ``total_steps >=
    1``. Point ``(f, m)`` of the schedule applies from step ``floor(f * total_steps)``.
    """
    points = list(term.schedule)
    if not points or points[0][0] != 0.0:
        points.insert(0, (0.0, 1.0))
    return term.strength * piecewise_schedule(step, total_steps, points, mode="step")


def liu_terms(
    lam: float = 1e-5,
    A: float = 1.0,
    schedule: Iterable[tuple[float, float]] = (),
    *,
    l1_params: tuple[str, ...] = ALL_PARAMS,
) -> tuple[Term, Term]:
    """Liu et al.'s ``lam * (L1(all weights and biases) + A * sum(D |W_rec|))`` as two terms.

    Returns ``(Term("l1", ...), Term("wiring", ...))`` sharing ``lam`` and ``schedule``
    (e.g. BIMT's ``((0.25, 10.0),)``).
    """
    sched = tuple(schedule)
    return (
        Term("l1", "l1", tuple(l1_params), strength=lam, schedule=sched),
        Term("wiring", "wiring", ("w_rec",), strength=lam, schedule=sched, A=A),
    )


class Regularisers:
    """The sum of several :class:`Term` at a step, to add to the prediction loss.

    Parameters
    ----------
    terms:
        The terms, names distinct.
    distances:
        ``(N, N)`` distances between the neurons' positions (tensor or array), for the
        wiring terms; may be None when there are none. Kept as a tensor, converted once
        to the dtype and device of ``w_rec`` at its first use (pass it already there to
        spare the copy).
    """

    def __init__(self, terms: Iterable[Term], distances: torch.Tensor | np.ndarray | None = None) -> None:
        self.terms: tuple[Term, ...] = tuple(terms)
        for t in self.terms:
            if not isinstance(t, Term):
                raise TypeError(f"terms must be Term instances, got {type(t).__name__}")
        names = [t.name for t in self.terms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate term names {dup}")
        if distances is None:
            if any(t.kind == "wiring" for t in self.terms):
                raise ValueError("wiring terms need the distance matrix")
            self._d = None
        else:
            d = torch.as_tensor(distances)
            if d.dim() != 2 or d.shape[0] != d.shape[1]:
                raise ValueError(f"distances must be a square (N, N) matrix, got {tuple(d.shape)}")
            if not torch.isfinite(d).all():
                raise ValueError("distances contain NaN or inf")
            self._d = d

    def __repr__(self) -> str:
        return f"Regularisers({[t.name for t in self.terms]})"

    def strengths(self, step: int, total_steps: int) -> dict[str, float]:
        """Each term's lambda at ``step`` (for logging), by name."""
        return {t.name: strength_at(t, step, total_steps) for t in self.terms}

    def _distances(self, w: torch.Tensor) -> torch.Tensor:
        d = self._d
        assert d is not None
        if d.dtype != w.dtype or d.device != w.device:
            d = d.to(dtype=w.dtype, device=w.device)
            self._d = d
        if d.shape != w.shape:
            raise ValueError(f"distances have shape {tuple(d.shape)}, w_rec {tuple(w.shape)}")
        return d

    def value(self, term: Term, named_params: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The unscaled value of ``term`` (differentiable), whatever its strength."""
        missing = [p for p in term.params if p not in named_params]
        if missing:
            raise KeyError(f"term {term.name!r} needs parameters {missing}; got {sorted(named_params)}")
        if term.kind == "l1":
            return l1_cost(named_params[p] for p in term.params)
        w = named_params["w_rec"]
        return bimt_cost(w, self._distances(w), weight_factor=term.A, l0=term.l0)

    def __call__(
        self, named_params: Mapping[str, torch.Tensor], step: int, total_steps: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The regularisation loss at ``step`` and each active term's value.

        Parameters
        ----------
        named_params:
            Name to tensor, e.g. ``dict(network.named_parameters())``; ``w_rec`` the
            effective (masked) recurrent weights.
        step, total_steps:
            Batches done and the length of training, for the schedules.

        Returns
        -------
        ``(total, values)``: ``total`` a 0-d tensor, ``sum_t strength_at(t) * value_t``
        over the terms whose strength is non-zero at ``step`` (a constant 0 without
        gradient when there are none); ``values`` maps the name of each of those terms
        to its unscaled value, detached, for logging. Terms of strength 0 at this step
        are not evaluated and do not appear in ``values``.
        """
        total: torch.Tensor | None = None
        values: dict[str, torch.Tensor] = {}
        for term in self.terms:
            lam = strength_at(term, step, total_steps)
            if lam == 0.0:
                continue
            v = self.value(term, named_params)
            values[term.name] = v.detach()
            total = lam * v if total is None else total + lam * v
        if total is None:
            ref = next(iter(named_params.values()), None)
            if ref is None:
                return torch.zeros(()), values
            return torch.zeros((), dtype=ref.dtype, device=ref.device), values
        return total, values
