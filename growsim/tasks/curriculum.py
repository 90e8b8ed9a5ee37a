"""Hamidi et al.'s parity curriculum as pure functions of frozen state.

The network trains on levels ``n_start .. n_current`` (one readout head each).
After each evaluation, :func:`advance` checks the success criterion on the
accuracies of those heads; when it holds, the newest level counts as solved and
the next level (one more head, and in the modular network one more module) joins.

The criterion, from the paper (methods, "Task"): task N is solved when i) the
accuracy on N is > 98% and ii) the mean accuracy over all previous tasks is > 98%.
The LevinaLab code (``train_growth.py``) instead tests the mean over ALL heads,
the newest included (``accuracy.mean() > 98 and accuracy[-1] > 98``); choose it
with ``Criterion(mean_over="all")``. Both comparisons are strict, so an accuracy of
exactly the threshold does not pass. Accuracies are fractions in [0, 1].

Only numpy is imported; nothing here needs torch.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

import numpy as np

__all__ = ["CODE_CRITERION", "PAPER_CRITERION", "Criterion", "CurriculumState", "advance", "is_solved"]


def _fraction(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must be a number in [0, 1], got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Criterion:
    """When the newest level counts as solved.

    Attributes:
        newest: the newest level's accuracy must be strictly above this.
        mean: the mean accuracy over ``mean_over`` must be strictly above this.
        mean_over: ``"previous"`` (the paper: every level but the newest; with one
            level there are none and the condition holds) or ``"all"`` (the code:
            every level, the newest included).
    """

    newest: float = 0.98
    mean: float = 0.98
    mean_over: Literal["previous", "all"] = "previous"

    def __post_init__(self) -> None:
        _fraction(self.newest, "Criterion.newest")
        _fraction(self.mean, "Criterion.mean")
        if self.mean_over not in ("previous", "all"):
            raise ValueError(f"Criterion.mean_over must be 'previous' or 'all', got {self.mean_over!r}")


#: The paper's criterion: > 98% on the newest level and > 98% mean over the earlier ones.
PAPER_CRITERION = Criterion(0.98, 0.98, "previous")
#: The LevinaLab code's: > 98% on the newest level and > 98% mean over all levels.
CODE_CRITERION = Criterion(0.98, 0.98, "all")


@dataclass(frozen=True)
class CurriculumState:
    """Where the curriculum stands. Frozen; :func:`advance` returns a new one.

    Attributes:
        n_start: the first level (Hamidi et al.: N = 2).
        n_solved: the largest level solved so far (the paper's N_solved);
            ``n_start - 1`` while none is.
        n_max: the last level, or None for an open-ended curriculum. Once ``n_max``
            is solved the state is ``finished`` and no level is added.

    ``dataclasses.asdict`` gives a plain dict of ints (or None) for saving.
    """

    n_start: int = 2
    n_solved: int | None = None
    n_max: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_start", "n_solved", "n_max"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
                raise ValueError(f"CurriculumState.{name} must be an integer, got {v!r}")
        if self.n_start < 1:
            raise ValueError(f"CurriculumState.n_start must be >= 1, got {self.n_start}")
        if self.n_solved is None:
            object.__setattr__(self, "n_solved", self.n_start - 1)
        if self.n_solved < self.n_start - 1:
            raise ValueError(
                f"CurriculumState.n_solved must be >= n_start - 1 = {self.n_start - 1}, got {self.n_solved}"
            )
        if self.n_max is not None:
            if self.n_max < self.n_start:
                raise ValueError(f"CurriculumState.n_max ({self.n_max}) must be >= n_start ({self.n_start})")
            if self.n_solved > self.n_max:
                raise ValueError(f"CurriculumState.n_solved ({self.n_solved}) must be <= n_max ({self.n_max})")

    @property
    def finished(self) -> bool:
        """True once ``n_max`` is solved."""
        return self.n_max is not None and self.n_solved >= self.n_max  # type: ignore[operator]

    @property
    def n_current(self) -> int:
        """The newest level being trained (``n_max`` once finished)."""
        return self.n_max if self.finished else self.n_solved + 1  # type: ignore[operator,return-value]

    @property
    def levels(self) -> tuple[int, ...]:
        """Levels being trained, one head each: ``n_start .. n_current``."""
        return tuple(range(self.n_start, self.n_current + 1))

    @property
    def n_levels(self) -> int:
        """Number of heads."""
        return self.n_current - self.n_start + 1


def is_solved(accuracies: Sequence[float] | np.ndarray, criterion: Criterion = PAPER_CRITERION) -> bool:
    """Whether ``criterion`` holds for per-level accuracies, the newest LAST.

    Args:
        accuracies: (n_levels,) fractions in [0, 1], in level order.
        criterion: thresholds and which mean to test.
    Returns:
        True when the newest accuracy and the mean are both strictly above their
        thresholds.
    """
    acc = np.asarray(accuracies, dtype=np.float64)
    if acc.ndim != 1 or acc.size == 0:
        raise ValueError(f"accuracies must be a non-empty 1-D sequence, got shape {acc.shape}")
    if not np.all((acc >= 0.0) & (acc <= 1.0)):  # also rejects NaN
        raise ValueError(f"accuracies must be fractions in [0, 1], got {acc.tolist()}")
    if not acc[-1] > criterion.newest:
        return False
    pool = acc if criterion.mean_over == "all" else acc[:-1]
    if pool.size == 0:
        return True
    # Exact rational mean: a mean of values all equal to the threshold must not pass.
    mean = sum((Fraction(v) for v in pool.tolist()), Fraction(0)) / pool.size
    return mean > Fraction(criterion.mean)


def advance(
    state: CurriculumState,
    accuracies: Sequence[float] | np.ndarray,
    *,
    criterion: Criterion = PAPER_CRITERION,
) -> tuple[CurriculumState, bool]:
    """One curriculum check after an evaluation.

    Args:
        state: the current state.
        accuracies: (state.n_levels,) accuracy of each head, in ``state.levels`` order.
        criterion: when the newest level counts as solved.
    Returns:
        ``(new_state, solved)``: if the criterion holds, ``solved`` is True and the
        new state has ``n_solved = state.n_current`` (so one more level, unless that
        was ``n_max``); otherwise the state is returned unchanged with False. A
        finished state stays as it is (``solved`` still reports the criterion).
    """
    acc = np.asarray(accuracies, dtype=np.float64)
    if acc.shape != (state.n_levels,):
        raise ValueError(
            f"expected {state.n_levels} accuracies for levels {list(state.levels)}, got shape {acc.shape}"
        )
    solved = is_solved(acc, criterion)
    if not solved or state.finished:
        return state, solved
    return replace(state, n_solved=state.n_current), True
