"""The N-parity task of Hamidi et al., generated a whole batch at a time.

Reference: M. Hamidi, S. Khajehabdollahi, E. Giannakakis, T. J. Schäfer, A. Levina
and C. M. Wu, "Modular Growth of Hierarchical Networks: Efficient, General, and
Robust Curriculum Learning" (methods, "Task"), and the LevinaLab code it builds on
(``src/tasks/tasks.py``, ``make_batch_Nbit_pair_parity``). This is an independent
re-implementation, vectorised over the batch with numpy.

One batch, time-major:

- The input is a random bit sequence on ONE input channel, the bit itself as 0.0 or
  1.0 (not +-1), one bit per time step: ``x`` has shape (T, B, 1), float32.
- The probability of a 1 is drawn once per batch from U(0, 1) (as the code does;
  ``p_one`` fixes it, ``p_one_scope="sequence"`` draws one per sequence).
- The length T is drawn once per batch, uniformly over the integers of a range set
  by the LARGEST level N of the suite: by default the paper's N+2 to 4N
  (``PAPER_LENGTH``); the code's N+2 to floor(2.5N + 1) is ``CODE_LENGTH``.
- For every level N in ``levels`` the label is the parity (sum modulo 2) of the last
  N bits of the sequence, read at the last time step only: one 2-class readout head
  per level, all heads reading the same sequence at the same (last) step.

Only numpy is imported.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "CODE_LENGTH",
    "ParityCurriculum",
    "PAPER_LENGTH",
    "ParityBatch",
    "ParitySuite",
    "SequenceLength",
    "parity_accuracy",
    "parity_labels",
    "running_parity",
]

# Float products such as 0.29 * 100 land just below an integer; floor needs slack.
_FLOOR_SLACK = 1e-9


def _as_int(value: object, what: str, minimum: int) -> int:
    integral = isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and float(value).is_integer())
    if isinstance(value, bool) or not integral:
        raise ValueError(f"{what} must be an integer, got {value!r}")
    v = int(value)  # type: ignore[arg-type]
    if v < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {v}")
    return v


@dataclass(frozen=True)
class SequenceLength:
    """Range of sequence lengths, in time steps, as linear functions of the level N.

    ``L_min = floor(min_scale * N + min_offset)`` and
    ``L_max = floor(max_scale * N + max_offset)``, both inclusive. With both scales 0
    the range is fixed (see :meth:`fixed`).
    """

    min_scale: float = 1.0
    min_offset: float = 2.0
    max_scale: float = 4.0
    max_offset: float = 0.0

    def __post_init__(self) -> None:
        for name in ("min_scale", "min_offset", "max_scale", "max_offset"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ValueError(f"SequenceLength.{name} must be a finite number, got {v!r}")

    @classmethod
    def fixed(cls, low: int, high: int) -> SequenceLength:
        """Lengths ``low..high`` (inclusive) whatever N is."""
        return cls(0.0, float(_as_int(low, "low", 1)), 0.0, float(_as_int(high, "high", 1)))

    def bounds(self, n: int) -> tuple[int, int]:
        """(L_min, L_max) in steps, inclusive, for level ``n``."""
        lo = math.floor(self.min_scale * n + self.min_offset + _FLOOR_SLACK)
        hi = math.floor(self.max_scale * n + self.max_offset + _FLOOR_SLACK)
        return lo, hi


#: The paper: "length L chosen uniformly from the interval {N+2, 4N}".
PAPER_LENGTH = SequenceLength(1.0, 2.0, 4.0, 0.0)
#: The code: ``randint(N + 2, N + 2 + 1.5 N)``, high exclusive, so N+2 .. floor(2.5N + 1).
CODE_LENGTH = SequenceLength(1.0, 2.0, 2.5, 1.0)

_NAMED_LENGTHS = {"paper": PAPER_LENGTH, "code": CODE_LENGTH}


@dataclass(frozen=True, eq=False)
class ParityBatch:
    """One batch of parity sequences, time-major.

    Attributes:
        x: (T, B, 1) float32 input, the bits as 0.0 / 1.0.
        labels: (n_levels, B) int64 parity (0 or 1) of the last ``levels[i]`` bits of
            each sequence, the target of head i at the last time step.
        levels: the N of each head, in the suite's order.
        p_one: (B,) float64 probability of a 1 that generated each sequence (NaN for
            batches built from given bits).
    """

    x: np.ndarray
    labels: np.ndarray
    levels: tuple[int, ...]
    p_one: np.ndarray

    @property
    def n_steps(self) -> int:
        """T, the number of time steps."""
        return self.x.shape[0]

    @property
    def batch_size(self) -> int:
        """B, the number of sequences."""
        return self.x.shape[1]

    @property
    def n_levels(self) -> int:
        """Number of heads (levels)."""
        return len(self.levels)


def _bits_2d(bits: object) -> np.ndarray:
    """(T, B) array of 0/1 as int64; raises on anything else."""
    b = np.asarray(bits)
    if b.ndim == 1:
        b = b[:, None]
    if b.ndim == 3 and b.shape[2] == 1:
        b = b[:, :, 0]
    if b.ndim != 2:
        raise ValueError(f"bits must have shape (T,), (T, B) or (T, B, 1), got {b.shape}")
    if b.size and not np.all((b == 0) | (b == 1)):
        raise ValueError("bits must be 0 or 1")
    return b.astype(np.int64)


def _check_levels(levels: Sequence[int] | int) -> tuple[int, ...]:
    if isinstance(levels, numbers.Integral):
        levels = (levels,)  # type: ignore[assignment]
    out = tuple(_as_int(n, "every level N", 1) for n in levels)  # type: ignore[union-attr]
    if not out:
        raise ValueError("need at least one level N")
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate levels in {list(out)}")
    return out


def parity_labels(bits: np.ndarray, levels: Sequence[int] | int) -> np.ndarray:
    """Parity of the last N bits at the end of each sequence, for each N.

    Args:
        bits: (T, B) (or (T,) or (T, B, 1)) array of 0/1, time first.
        levels: the N of each head; every N <= T.
    Returns:
        (n_levels, B) int64, 0 for an even number of ones among the last N bits.
    """
    b = _bits_2d(bits)
    lv = _check_levels(levels)
    n_max = max(lv)
    if n_max > b.shape[0]:
        raise ValueError(f"a sequence of {b.shape[0]} steps has no last {n_max} bits")
    # tail[k] = number of ones among the last k+1 bits.
    tail = np.cumsum(b[b.shape[0] - n_max :][::-1], axis=0)
    return tail[np.asarray(lv) - 1] & 1


def running_parity(bits: np.ndarray, n: int) -> np.ndarray:
    """Parity of the last ``n`` bits at every time step (continuous evaluation).

    Args:
        bits: (T, ...) array of 0/1, time first.
        n: the level N (>= 1).
    Returns:
        (T, ...) int64: at step t the parity of ``bits[t-n+1 .. t]``, or -1 for the
        first n-1 steps, where fewer than n bits have been seen.
    """
    n = _as_int(n, "n", 1)
    b = np.asarray(bits)
    if b.ndim == 0 or (b.size and not np.all((b == 0) | (b == 1))):
        raise ValueError("bits must be an array of 0/1 with time on axis 0")
    c = np.cumsum(b.astype(np.int64), axis=0)
    out = np.full(c.shape, -1, dtype=np.int64)
    if c.shape[0] >= n:
        window = c[n - 1 :].copy()
        window[1:] -= c[: c.shape[0] - n]
        out[n - 1 :] = window & 1
    return out


def parity_accuracy(logits_per_head: object, labels: np.ndarray) -> np.ndarray:
    """Fraction of sequences each 2-class head gets right.

    Args:
        logits_per_head: (n_levels, B, 2) scores (logits or probabilities), or a
            sequence of n_levels arrays of shape (B, 2). Class 1 means odd parity.
            Ties go to class 0 (numpy's argmax).
        labels: (n_levels, B) int 0/1, e.g. ``ParityBatch.labels``.
    Returns:
        (n_levels,) float64 accuracy in [0, 1], one per head.
    """
    if isinstance(logits_per_head, np.ndarray):
        scores = logits_per_head
    else:
        scores = np.stack([np.asarray(s) for s in logits_per_head])  # type: ignore[union-attr]
    y = np.asarray(labels)
    if scores.ndim != 3 or scores.shape[2] != 2:
        raise ValueError(f"logits_per_head must be (n_levels, B, 2), got shape {scores.shape}")
    if y.shape != scores.shape[:2]:
        raise ValueError(f"labels must have shape {scores.shape[:2]} to match the logits, got {y.shape}")
    if y.shape[1] == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    predicted = np.argmax(scores, axis=2)
    return (predicted == y).mean(axis=1, dtype=np.float64)


class ParitySuite:
    """Batch generator for the N-parity task, one head per level.

    Args:
        levels: the N of each readout head, e.g. ``range(2, n_current + 1)`` for
            Hamidi's curriculum; labels come in this order.
        length: the range of sequence lengths, as a function of the largest level:
            a :class:`SequenceLength`, ``"paper"`` (default, N+2 .. 4N), ``"code"``
            (N+2 .. floor(2.5N + 1)), or a fixed ``(low, high)`` pair of steps.
            Every length must be >= the largest level.
        p_one: probability of a 1; None (default) draws it from U(0, 1).
        p_one_scope: ``"batch"`` (default: one p per batch, as the code's
            ``batched_generate_binary_sequence``) or ``"sequence"`` (one per
            sequence, as its older per-sequence generator). Ignored when ``p_one``
            is given.

    Attributes:
        levels: tuple of N, in the given order.
        n_input: 1 (one input channel carrying the bit).
        n_classes: 2 (even, odd) per head.
        min_steps, max_steps: the inclusive range of T.
    """

    n_input = 1
    n_classes = 2

    def __init__(
        self,
        levels: Sequence[int],
        *,
        length: SequenceLength | str | tuple[int, int] = "paper",
        p_one: float | None = None,
        p_one_scope: Literal["batch", "sequence"] = "batch",
    ) -> None:
        self.levels = _check_levels(levels)
        if isinstance(length, str):
            if length not in _NAMED_LENGTHS:
                raise ValueError(
                    f"unknown length {length!r}; expected 'paper', 'code', (low, high) or a SequenceLength"
                )
            rule = _NAMED_LENGTHS[length]
        elif isinstance(length, SequenceLength):
            rule = length
        elif isinstance(length, tuple | list) and len(length) == 2:
            rule = SequenceLength.fixed(*length)
        else:
            raise ValueError(f"length must be 'paper', 'code', (low, high) or a SequenceLength, got {length!r}")
        n_max = max(self.levels)
        lo, hi = rule.bounds(n_max)
        if lo < n_max:
            raise ValueError(f"sequences of {lo} steps are shorter than the largest level N = {n_max}")
        if hi < lo:
            raise ValueError(f"empty length range {lo}..{hi} for N = {n_max}")
        self.length = rule
        self.min_steps, self.max_steps = lo, hi

        if p_one is not None:
            if isinstance(p_one, bool) or not isinstance(p_one, numbers.Real) or not 0.0 <= p_one <= 1.0:
                raise ValueError(f"p_one must be None or a number in [0, 1], got {p_one!r}")
            p_one = float(p_one)
        if p_one_scope not in ("batch", "sequence"):
            raise ValueError(f"p_one_scope must be 'batch' or 'sequence', got {p_one_scope!r}")
        self.p_one = p_one
        self.p_one_scope = p_one_scope

    def __repr__(self) -> str:
        return (
            f"ParitySuite(levels={list(self.levels)}, steps={self.min_steps}..{self.max_steps}, "
            f"p_one={self.p_one!r}, p_one_scope={self.p_one_scope!r})"
        )

    def sample(self, rng: np.random.Generator, batch_size: int) -> ParityBatch:
        """One batch of random sequences.

        Draws, in this order from ``rng``: T, then p(1) (one number, or B of them,
        unless fixed), then the (T, B) bits.

        Args:
            rng: the only source of randomness (same state -> same batch).
            batch_size: B (>= 1).
        Returns:
            A :class:`ParityBatch` with x (T, B, 1) and labels (n_levels, B).
        """
        b = _as_int(batch_size, "batch_size", 1)
        t = int(rng.integers(self.min_steps, self.max_steps + 1))
        if self.p_one is not None:
            p = np.full(b, self.p_one)
        elif self.p_one_scope == "batch":
            p = np.full(b, rng.random())
        else:
            p = rng.random(b)
        bits = rng.random((t, b)) < p
        return self._batch(bits, p)

    def build(self, bits: np.ndarray) -> ParityBatch:
        """A batch from given bits (for tests and analyses).

        Args:
            bits: (T, B) (or (T,) or (T, B, 1)) array of 0/1, T >= the largest level;
                the suite's length range is not enforced.
        Returns:
            A :class:`ParityBatch`; its ``p_one`` is NaN.
        """
        b = _bits_2d(bits)
        if b.shape[0] < max(self.levels):
            raise ValueError(f"a sequence of {b.shape[0]} steps has no last {max(self.levels)} bits")
        return self._batch(b, np.full(b.shape[1], np.nan))

    def accuracy(self, logits_per_head: object, labels: np.ndarray) -> np.ndarray:
        """(n_levels, B, 2) scores and (n_levels, B) labels -> (n_levels,); see ``parity_accuracy``."""
        acc = parity_accuracy(logits_per_head, labels)
        if acc.shape[0] != len(self.levels):
            raise ValueError(f"expected {len(self.levels)} heads, got {acc.shape[0]}")
        return acc

    def _batch(self, bits: np.ndarray, p: np.ndarray) -> ParityBatch:
        x = bits.astype(np.float32)[:, :, None]
        return ParityBatch(x=x, labels=parity_labels(bits, self.levels), levels=self.levels, p_one=p)


@dataclass(frozen=True)
class ParityCurriculum:
    """What the parity task suite makes: the settings of the curriculum objective
    (growsim.train.objectives.ParityObjective), which builds its own `ParitySuite` for the
    levels reached so far. ``criterion`` is a growsim.tasks.curriculum.Criterion."""

    n_start: int
    n_max: int
    length: str
    p_one: float | None
    p_one_scope: str
    criterion: object
