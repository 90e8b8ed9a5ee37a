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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from pydantic import BaseModel, ConfigDict, Field

from growsim.metrics.wiring_cost import bimt_cost, l1_cost, piecewise_schedule
from growsim.registry import Entry, NoParams, Registry

__all__ = [
    "ALL_PARAMS",
    "LOSS_TERMS",
    "TERM_KINDS",
    "Regularisers",
    "Term",
    "TermContext",
    "available_terms",
    "get_term",
    "liu_terms",
    "loss_term",
    "strength_at",
]

ENTRY_POINT_GROUP = "growsim.loss_terms"

# The keys of a regulariser in the spec that every kind shares: no kind's parameter may take one.
COMMON_KEYS = ("kind", "strength", "schedule", "name")

LOSS_TERMS = Registry("loss term", ENTRY_POINT_GROUP, "growsim.train.regularisers", reserved=COMMON_KEYS)


@dataclass(frozen=True)
class TermContext:
    """What a loss term sees: the network's parameters by name (``w_rec`` the effective,
    masked recurrent weights), the distances between neurons (a tensor on ``w_rec``'s
    device and dtype; None where neurons have no positions), and the step."""

    parameters: Mapping[str, torch.Tensor]
    distances: torch.Tensor | None
    step: int
    total_steps: int


def loss_term(
    name: str, *, params: type[BaseModel] = NoParams, needs_distances: bool = False
) -> Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]:
    """Register `func(context, **params) -> 0-d tensor` (differentiable, unscaled: the spec's
    strength and schedule multiply it) as the loss term `name`."""
    return LOSS_TERMS.register(name, params, {"needs_distances": needs_distances})


def available_terms() -> dict[str, Entry]:
    """Every loss term: built-ins, installed entry points and plugins loaded so far."""
    return LOSS_TERMS.available()


def get_term(name: str) -> Entry:
    return LOSS_TERMS.get(name)

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
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)  # another kind's own parameters (validated by its model)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a term's name must be a non-empty string, got {self.name!r}")
        if self.kind in TERM_KINDS:
            self._built_in_kind()
        else:
            self._registered_kind()
        object.__setattr__(self, "strength", _finite(self.strength, f"term {self.name!r}: strength", nonneg=True))
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

    def _built_in_kind(self) -> None:
        """l1 and wiring: their parameters as fields (params, A, l0), or in args as for any kind."""
        if self.args:
            if self.params or self.A != 1.0 or self.l0 != 0.0:
                raise ValueError(f"term {self.name!r}: give its parameters as args or as fields, not both")
            entry = get_term(self.kind)
            args = entry.params.model_validate(dict(self.args)).model_dump()
            object.__setattr__(self, "params", tuple(args.get("params", ())))
            object.__setattr__(self, "A", args.get("A", 1.0))
            object.__setattr__(self, "l0", args.get("l0", 0.0))
        params = self.params
        if isinstance(params, str):
            params = (params,)
        params = tuple(params) or (ALL_PARAMS if self.kind == "l1" else ("w_rec",))
        if not all(isinstance(p, str) and p for p in params) or len(set(params)) != len(params):
            raise ValueError(f"term {self.name!r}: params must be distinct parameter names, got {params!r}")
        if self.kind == "wiring" and params != ("w_rec",):
            raise ValueError(f"term {self.name!r}: a wiring term penalises w_rec only, got params {params!r}")
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "A", _finite(self.A, f"term {self.name!r}: A"))
        object.__setattr__(self, "l0", _finite(self.l0, f"term {self.name!r}: l0", nonneg=True))
        if self.kind == "l1" and (self.A != 1.0 or self.l0 != 0.0):
            raise ValueError(f"term {self.name!r}: A and l0 belong to wiring terms")
        built_in = {"params": list(params)} if self.kind == "l1" else {"A": self.A, "l0": self.l0}
        object.__setattr__(self, "args", built_in)

    def _registered_kind(self) -> None:
        """Another registered kind (a plugin's): its args validated by its own model."""
        from growsim.registry import RegistryError

        try:
            entry = get_term(self.kind)
        except RegistryError as exc:
            raise ValueError(f"term {self.name!r}: {exc}") from None
        if self.params or self.A != 1.0 or self.l0 != 0.0:
            raise ValueError(f"term {self.name!r}: params, A and l0 belong to l1 and wiring terms; give args")
        object.__setattr__(self, "args", entry.params.model_validate(dict(self.args)).model_dump())


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
            if any(get_term(t.kind).meta.get("needs_distances") for t in self.terms):
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

    def value(self, term: Term, named_params: Mapping[str, torch.Tensor], step: int = 0, total_steps: int = 1) -> torch.Tensor:
        """The unscaled value of ``term`` (differentiable), whatever its strength."""
        missing = [p for p in term.params if p not in named_params]
        if missing:
            raise KeyError(f"term {term.name!r} needs parameters {missing}; got {sorted(named_params)}")
        entry = get_term(term.kind)
        distances = None
        if self._d is not None and "w_rec" in named_params:
            distances = self._distances(named_params["w_rec"])
        context = TermContext(parameters=named_params, distances=distances, step=step, total_steps=total_steps)
        return entry.func(context, **term.args)

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
            v = self.value(term, named_params, step, total_steps)
            values[term.name] = v.detach()
            total = lam * v if total is None else total + lam * v
        if total is None:
            ref = next(iter(named_params.values()), None)
            if ref is None:
                return torch.zeros(()), values
            return torch.zeros((), dtype=ref.dtype, device=ref.device), values
        return total, values


# --- the built-in kinds ----------------------------------------------------------------------


class L1Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    params: list[Literal["w_rec", "w_in", "w_out", "b_rec", "b_out"]] = Field(
        list(ALL_PARAMS), min_length=1, description="Parameters of an l1 term."
    )


class WiringParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    A: float = Field(1.0, ge=0, description="Weight of the distances in a wiring term.")
    l0: float = Field(0.0, ge=0, description="A distance-free cost per unit weight in a wiring term (BIMT's notebooks: 0.1).")


@loss_term("l1", params=L1Params)
def l1(context: TermContext, *, params: Iterable[str] = ALL_PARAMS) -> torch.Tensor:
    """sum |p| over every entry of the named parameters (vanilla L1)."""
    return l1_cost(context.parameters[p] for p in params)


@loss_term("wiring", params=WiringParams, needs_distances=True)
def wiring(context: TermContext, *, A: float = 1.0, l0: float = 0.0) -> torch.Tensor:
    """A sum(D |W_rec|) + l0 sum |W_rec|: Liu et al.'s distance-weighted L1 (D from the geometry)."""
    return bimt_cost(context.parameters["w_rec"], context.distances, weight_factor=A, l0=l0)
