"""What every task suite of trials shares: batches, the suite interface, task catalogues.

A *trial suite* makes batches of trials of one task at a time, time-major, and scores a
network's output at the last step of each trial. Yang et al.'s 20 tasks, Mod-Cog's 82, a
neurogym environment and a user's own task are trial suites; the engine's trial objective
(growsim.train.objectives.TrialObjective) trains any of them, with the masked squared
error or the cross-entropy loss.

A suite subclasses `TrialSuite` and sets `tasks`, `n_input`, `n_output` and `dt_ms`, and
writes `make_batch(rng, batch_size, task)`. It may override `score` (the default: the
argmax of the outputs at the last step against `target_class` there). A batch is a
`TrialBatch` of piecewise-constant arrays; `TrialBatch.from_dense` builds one from dense
(T, B, ...) arrays for a suite that does not care about the piecewise form.

Only numpy is imported.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["Catalogue", "Piecewise", "TrialBatch", "TrialSuite"]


@dataclass(frozen=True, eq=False)
class Piecewise:
    """A (T, B, ...) array that is constant over runs of time steps: ``table[index]``.

    Every array of a batch of trials is piecewise constant in time, so it is kept as its
    few distinct (B, ...) rows and, for every step, which row it holds. The dense array
    is a gather of rows, which a GPU does from the small table (a device's batches are
    built there, not copied over), and which numpy does on first use.

    Attributes:
        table: (K, B, ...) the distinct rows.
        index: (T,) int64, the row of every time step.
    """

    table: np.ndarray
    index: np.ndarray

    def dense(self) -> np.ndarray:
        """The (T, B, ...) array."""
        return self.table[self.index]

    @classmethod
    def of(cls, dense: np.ndarray) -> Piecewise:
        """The piecewise form of a dense (T, B, ...) array: one row per run of equal steps."""
        dense = np.asarray(dense)
        if dense.ndim < 2 or dense.shape[0] < 1:
            raise ValueError(f"need a (T, B, ...) array with T >= 1, got shape {dense.shape}")
        flat = dense.reshape(dense.shape[0], -1)
        new = np.ones(dense.shape[0], bool)
        new[1:] = np.any(flat[1:] != flat[:-1], axis=1)
        starts = np.flatnonzero(new)
        return cls(np.ascontiguousarray(dense[starts]), np.cumsum(new) - 1)


@dataclass(frozen=True, eq=False)
class TrialBatch:
    """One batch of trials of a single task, time-major.

    Attributes:
        task: the task's canonical name.
        pieces: "x", "y", "c_mask" and "target_class" (and "y_loc" for the ring tasks) as
            :class:`Piecewise` arrays; the attributes of the same names are their dense
            forms, made on first use.
        x: (T, B, n_input) float32 inputs, noise-free.
        y: (T, B, n_output) float32 targets of the squared-error loss.
        c_mask: (T, B, n_output) float32 cost mask; ``c_mask[..., 1]`` is the per-step
            weight of the cross-entropy loss.
        target_class: (T, B) int64 class of the cross-entropy loss.
        y_loc: (T, B) float32 (ring tasks) target angle in rad, -1 where the output
            should fixate.
        epochs: epoch name -> (first step, end step), None meaning the trial start/end;
            shared by the whole batch.
        info: the trial parameters (per-trial arrays of shape (B,)).
    """

    task: str
    pieces: dict[str, Piecewise]
    epochs: dict[str, tuple[int | None, int | None]]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dense(
        cls,
        task: str,
        *,
        x: np.ndarray,
        y: np.ndarray,
        c_mask: np.ndarray,
        target_class: np.ndarray,
        epochs: Mapping[str, tuple[int | None, int | None]] | None = None,
        info: Mapping[str, Any] | None = None,
        **more: np.ndarray,
    ) -> TrialBatch:
        """A batch from dense time-major arrays: x (T, B, n_input), y and c_mask
        (T, B, n_output), target_class (T, B); `more` adds other (T, B, ...) arrays."""
        arrays = {"x": (x, np.float32), "y": (y, np.float32), "c_mask": (c_mask, np.float32),
                  "target_class": (target_class, np.int64)}
        arrays.update({k: (v, np.asarray(v).dtype) for k, v in more.items()})
        shape = np.shape(x)
        if len(shape) != 3:
            raise ValueError(f"x must be (T, B, n_input), got shape {shape}")
        pieces = {}
        for name, (value, dtype) in arrays.items():
            value = np.asarray(value, dtype)
            if value.shape[:2] != shape[:2]:
                raise ValueError(f"{name} has shape {value.shape}; every array must start with (T, B) = {shape[:2]}")
            pieces[name] = Piecewise.of(value)
        if np.shape(y) != np.shape(c_mask) or np.ndim(y) != 3:
            raise ValueError(f"y {np.shape(y)} and c_mask {np.shape(c_mask)} must both be (T, B, n_output)")
        if np.ndim(target_class) != 2:
            raise ValueError(f"target_class must be (T, B), got shape {np.shape(target_class)}")
        return cls(task, pieces, dict(epochs or {}), dict(info or {}))

    @cached_property
    def x(self) -> np.ndarray:
        return self.pieces["x"].dense()

    @cached_property
    def y(self) -> np.ndarray:
        return self.pieces["y"].dense()

    @cached_property
    def c_mask(self) -> np.ndarray:
        return self.pieces["c_mask"].dense()

    @cached_property
    def y_loc(self) -> np.ndarray:
        return self.pieces["y_loc"].dense()

    @cached_property
    def target_class(self) -> np.ndarray:
        return self.pieces["target_class"].dense()

    @property
    def n_steps(self) -> int:
        """T, the number of time steps."""
        return self.pieces["x"].index.shape[0]

    @property
    def batch_size(self) -> int:
        """B, the number of trials."""
        return self.pieces["x"].table.shape[1]

    def last(self, name: str, trials: slice = slice(None)) -> np.ndarray:
        """The (B, ...) row of array `name` at the last step (of some trials)."""
        piece = self.pieces[name]
        return piece.table[piece.index[-1], trials]


class Catalogue:
    """The task names of a suite, in the order of its rule inputs, with aliases.

    `canonical` maps a name or alias (case and blanks ignored) to the canonical name;
    `draw` picks k tasks of a pool, in catalogue order, the same for the same stream.
    """

    def __init__(self, what: str, names: Sequence[str], aliases: Mapping[str, str] | None = None):
        self.what = what
        self.names: tuple[str, ...] = tuple(names)
        self.aliases: dict[str, str] = dict(aliases or {})
        self.index = {t: i for i, t in enumerate(self.names)}
        if len(self.index) != len(self.names):
            raise ValueError(f"{what}: task names repeat")

    def _key(self, name: str) -> str:
        return name.strip().lower()

    def canonical(self, name: str) -> str:
        """The canonical name of `name`; ValueError (with the closest names) if unknown."""
        if not isinstance(name, str):
            raise TypeError(f"task name must be a str, got {type(name).__name__}")
        key = self._key(name)
        if key in self.index:
            return key
        if key in self.aliases:
            return self.aliases[key]
        close = difflib.get_close_matches(key, list(self.names) + list(self.aliases), n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(self.names) if len(self.names) <= 30 else f"{len(self.names)} tasks, see the docs"
        raise ValueError(f"unknown {self.what} task {name!r}{hint} (known: {known})")

    def draw(self, rng: np.random.Generator, k: int, pool: Sequence[str] | None = None) -> tuple[str, ...]:
        """``k`` distinct tasks of ``pool`` (default: all), drawn without replacement.

        The pool (names or aliases, no repeats) is put in catalogue order first, so the draw
        does not depend on the order it was written in; then one call,
        ``rng.choice(len(pool), size=k, replace=False)``, picks the tasks, and they are
        returned in catalogue order too. Drawing all of the pool gives the pool.
        """
        canon = [self.canonical(t) for t in (self.names if pool is None else pool)]
        if len(set(canon)) != len(canon):
            raise ValueError(f"duplicate tasks in the pool {list(pool or ())}")
        k = int(k)
        if not 1 <= k <= len(canon):
            raise ValueError(f"can draw 1 to {len(canon)} tasks from this pool, not {k}")
        ordered = sorted(canon, key=self.index.__getitem__)
        picked = rng.choice(len(ordered), size=k, replace=False)
        return tuple(ordered[i] for i in sorted(int(i) for i in picked))


class TrialSuite:
    """Base of a suite of trial-based tasks: the interface the trial objective trains on.

    A subclass sets in its ``__init__``:
        tasks: the task names sampled, in the order of the run file's per-task columns.
        n_input, n_output: the widths of x and of the network's output.
        dt_ms: the time step in ms (a leaky network's alpha is dt_ms / tau_ms).
        task_probs: None (uniform) or the normalised probability of each task.
    and defines ``make_batch(rng, batch_size, task)``. It may define
    ``longest_trial_steps()``, a bound on the length of its trials, which lets a spec's
    cost be checked before a run starts.
    """

    tasks: tuple[str, ...] = ()
    n_input: int = 0
    n_output: int = 0
    dt_ms: float = 1.0
    task_probs: np.ndarray | None = None

    def make_batch(self, rng: np.random.Generator, batch_size: int, task: str) -> TrialBatch:
        """One batch of `batch_size` trials of `task` (a name of `tasks`), drawn from `rng` only."""
        raise NotImplementedError

    def longest_trial_steps(self) -> int | None:
        """At least as many steps as the longest trial has, or None when the suite cannot
        tell before it makes trials (then the cost limits on trials are not checked)."""
        return None

    def canonical(self, task: str) -> str:
        """The name `task` stands for (a suite with aliases overrides this)."""
        if task not in self.tasks:
            raise ValueError(f"unknown task {task!r} (this suite has: {', '.join(self.tasks)})")
        return task

    def pick_task(self, rng: np.random.Generator) -> str:
        """One task of `tasks`: uniformly (one ``rng.integers``), or by ``task_probs``
        (one ``rng.random``)."""
        if self.task_probs is None:
            return self.tasks[int(rng.integers(len(self.tasks)))]
        cdf = np.cumsum(self.task_probs)
        idx = int(np.searchsorted(cdf, rng.random(), side="right"))
        return self.tasks[min(idx, len(self.tasks) - 1)]

    def sample(self, rng: np.random.Generator, batch_size: int, task: str | None = None) -> TrialBatch:
        """One training batch of a single task: `task`, or one drawn by `pick_task`."""
        name = self.pick_task(rng) if task is None else self.canonical(task)
        b = int(batch_size)
        if b < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return self.make_batch(rng, b, name)

    def score(self, y_last: np.ndarray, batch: TrialBatch, trials: slice = slice(None)) -> np.ndarray:
        """(B,) 1.0 for each trial answered right, else 0.0, from the outputs at the last step.

        y_last: (B, n_output) outputs after the readout nonlinearity. The default: the
        largest output is the class `target_class` holds at the last step.
        """
        y_last = np.asarray(y_last)
        return (np.argmax(y_last, axis=-1) == batch.last("target_class", trials)).astype(np.float64)

    def test_batches(self, n_per_task: int, seed: int = 0) -> dict[str, TrialBatch]:
        """A fixed batch of every task, for analyses: task ``t``'s is
        ``sample(np.random.default_rng((seed, i)), n_per_task, task=t)``, ``i`` its index in
        `tasks` (a suite with a catalogue uses the catalogue's index, so that the batch
        does not depend on which other tasks the suite holds)."""
        n = int(n_per_task)
        if n < 1:
            raise ValueError(f"n_per_task must be >= 1, got {n_per_task}")
        return {t: self.sample(np.random.default_rng((int(seed), self._test_index(t))), n, task=t) for t in self.tasks}

    def _test_index(self, task: str) -> int:
        return self.tasks.index(task)


def normalised_probs(probs: Sequence[float] | None, n: int) -> np.ndarray | None:
    """`probs` (n non-negative numbers with a positive sum) normalised; None stays None."""
    if probs is None:
        return None
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (n,) or np.any(p < 0) or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError(f"task_probs must be {n} non-negative numbers with a positive sum")
    return p / p.sum()
