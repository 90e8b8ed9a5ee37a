"""The ring layout that Yang et al.'s tasks (and Mod-Cog's) share, and its renderer.

Layout of one time step (``n = n_eachring``, ``r`` rule units)::

    input,  n_input = 1 + 2n + r
        [0]                 fixation cue, 1 while the fixation point is shown
        [1, 1+n)            ring of modality 1
        [1+n, 1+2n)         ring of modality 2
        [1+2n, 1+2n+r)      rule one-hot, one column per task of the catalogue
    output, n_output = 1 + n
        [0]                 fixation
        [1, 1+n)            response ring

Ring unit ``k`` prefers the direction ``2*pi*k/n`` rad. A stimulus of strength ``s`` at
angle ``a`` drives unit ``k`` by ``s * 0.8 * exp(-d**2 / 2)``, with ``d`` the circular
distance between ``a`` and the unit's preferred direction divided by ``pi/8``.

A task family describes one batch as a `Trial` (its events in steps, its stimuli and its
response); `RingSuite.render` turns a Trial into the batch's piecewise-constant arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from growsim.tasks.base import Catalogue, Piecewise, TrialBatch, TrialSuite, normalised_probs

TWO_PI = 2.0 * np.pi
BUMP_WIDTH = np.pi / 8.0


def circ_dist(a: np.ndarray) -> np.ndarray:
    """Circular distance (rad, in [0, pi]) for angle differences ``a`` in (-2pi, 2pi)."""
    a = np.abs(a)
    return np.minimum(a, TWO_PI - a)


def popvec(y: np.ndarray) -> np.ndarray:
    """Population-vector read-out of ring activity.

    Args:
        y: (..., n) activity of n ring units with preferred directions 2*pi*k/n.
    Returns:
        (...,) angle in [0, 2pi) rad; NaN where the activity sums to 0.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[-1]
    pref = TWO_PI * np.arange(n) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        # Dividing by the sum (as Yang does) keeps his sign convention.
        total = y.sum(axis=-1)
        c = (y @ np.cos(pref)) / total
        s = (y @ np.sin(pref)) / total
        return np.mod(np.arctan2(s, c), TWO_PI)


def performance(y_hat: np.ndarray, y_loc: np.ndarray) -> np.ndarray:
    """Yang's per-trial performance, judged at the last time step.

    Args:
        y_hat: (T, B, 1+n) outputs: sigmoid activations, or class probabilities
            with column 0 = fixation.
        y_loc: (T, B) target angle (rad), negative where the output should fixate.
    Returns:
        (B,) float64, 1 for a correct trial, else 0: fixating (column 0 > 0.5)
        when it should, or not fixating and decoding (popvec) within 0.2*pi rad
        of the target when it should respond.
    """
    y_hat = np.asarray(y_hat)
    y_loc = np.asarray(y_loc)
    if y_hat.ndim != 3 or y_loc.ndim != 2 or y_hat.shape[:2] != y_loc.shape:
        raise ValueError(f"need y_hat (T, B, n_output) and y_loc (T, B); got {y_hat.shape} and {y_loc.shape}")
    last = y_hat[-1]
    target = y_loc[-1].astype(np.float64)
    fixating = last[:, 0] > 0.5
    decoded = popvec(last[:, 1:])
    with np.errstate(invalid="ignore"):
        near = circ_dist(target - decoded) < 0.2 * np.pi  # NaN decodes count as wrong
    should_fix = target < 0
    correct = np.where(should_fix, fixating, near & ~fixating)
    return correct.astype(np.float64)


@dataclass(frozen=True)
class Trial:
    """One batch's events, in steps, as a task family lays them out.

    fix_off: step at which the fixation cue goes off (None: never).
    stims: (first step, end step, modality 1|2, (B, n) float32 pattern); stimuli on the
        same ring never overlap in time.
    resp_on: the response cue's step; the target switches to the response there.
    resp_loc: (B,) response angles; go: (B,) bool, or None if every trial responds.
    drift: rad per step by which the response target moves after resp_on (0: it stays).
    """

    T: int
    fix_off: int | None
    stims: list
    resp_on: int
    resp_loc: np.ndarray
    go: np.ndarray | None
    epochs: dict[str, tuple[int | None, int | None]]
    drift: float = 0.0

    def respond_for(self, steps: int) -> Trial:
        """The same trial with a response period of `steps` steps: stimuli that lasted to
        the end of the trial last to its new end."""
        T = self.resp_on + int(steps)
        stims = [(t0, T if t1 == self.T else t1, mod, pat) for t0, t1, mod, pat in self.stims]
        return replace(self, T=T, stims=stims)


class RingSuite(TrialSuite):
    """A suite of ring tasks (Yang's layout): bumps, the rows every batch shares, rendering.

    Subclasses set `catalogue` (the tasks with a rule input each) and call `_setup`."""

    catalogue: Catalogue

    def _setup(self, tasks: Sequence[str], n_eachring: int, dt_ms: float, task_probs: Sequence[float] | None) -> None:
        if isinstance(tasks, str):
            tasks = (tasks,)
        canon = tuple(self.catalogue.canonical(t) for t in tasks)
        if not canon:
            raise ValueError(f"{type(self).__name__} needs at least one task")
        if len(set(canon)) != len(canon):
            raise ValueError(f"duplicate tasks in {list(tasks)}")
        n_eachring = int(n_eachring)
        if n_eachring < 2:
            raise ValueError(f"n_eachring must be >= 2, got {n_eachring}")
        dt_ms = float(dt_ms)
        if not dt_ms > 0:
            raise ValueError(f"dt_ms must be > 0, got {dt_ms}")
        self.tasks = canon
        self.n_eachring = n_eachring
        self.dt_ms = dt_ms
        self.n_rule = len(self.catalogue.names)
        self.n_input = 1 + 2 * n_eachring + self.n_rule
        self.n_output = 1 + n_eachring
        self.pref = TWO_PI * np.arange(n_eachring) / n_eachring
        self.task_probs = normalised_probs(task_probs, len(canon))
        # Rows reused by every batch: the targets before the response and the two mask levels.
        n_out = self.n_output
        self._fix_row = np.full(n_out, 0.05, np.float32)
        self._fix_row[0] = 0.8
        self._pre_row = np.ones(n_out, np.float32)
        self._pre_row[0] = 2.0
        self._post_row = np.full(n_out, 5.0, np.float32)
        self._post_row[0] = 10.0
        self._row_cache: dict[int, tuple[np.ndarray, ...]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tasks={list(self.tasks)}, n_eachring={self.n_eachring}, dt_ms={self.dt_ms})"

    def canonical(self, task: str) -> str:
        return self.catalogue.canonical(task)

    def rule_column(self, task: str) -> int:
        """Input column of ``task``'s rule unit."""
        return 1 + 2 * self.n_eachring + self.catalogue.index[self.canonical(task)]

    def _test_index(self, task: str) -> int:
        return self.catalogue.index[task]

    def score(self, y_last: np.ndarray, batch: TrialBatch, trials: slice = slice(None)) -> np.ndarray:
        """Yang's performance (see `performance`) at the last step."""
        return performance(np.asarray(y_last)[None], batch.last("y_loc", trials)[None])

    def performance(self, y_hat: np.ndarray, y_loc: np.ndarray) -> np.ndarray:
        """(T,B,n_output) outputs and (T,B) y_loc -> (B,) float 0/1; see ``performance``."""
        return performance(y_hat, y_loc)

    # -------------------------------------------------------------- rendering

    def steps(self, ms: float) -> int:
        """Steps in `ms` milliseconds: ``int(ms / dt_ms)``, as Yang's code turns each duration."""
        return int(ms / self.dt_ms)

    def bumps(self, locs: np.ndarray) -> np.ndarray:
        """(..., B) angles -> (..., B, n) float32 ring activity 0.8*exp(-d^2/2)."""
        d = circ_dist(np.asarray(locs, np.float64)[..., None] - self.pref) / BUMP_WIDTH
        return (0.8 * np.exp(-0.5 * d * d)).astype(np.float32)

    def _rows(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Fixation target rows (B, n_output) and the cost mask's table (3, B, n_output):
        0, before the response, after it (float32; cached by B, shared by its batches)."""
        rows = self._row_cache.get(b)
        if rows is None:
            fix = np.ascontiguousarray(np.broadcast_to(self._fix_row, (b, self.n_output)))
            mask = np.stack([np.zeros(self.n_output, np.float32), self._pre_row, self._post_row])
            rows = fix, np.ascontiguousarray(np.broadcast_to(mask[:, None], (3, b, self.n_output)))
            if len(self._row_cache) < 64:
                self._row_cache[b] = rows
        return rows

    def _response_rows(self, resp_loc: np.ndarray, go: np.ndarray | None):
        """The response targets of (K, B) angles: y rows, class rows, angle rows. One row
        (K = 1) in float64 as Yang's code; many (a moving target) in float32, which is
        several times faster here and exact to well within a ring unit."""
        diff = resp_loc[..., None] - self.pref
        d = circ_dist(diff if resp_loc.shape[0] == 1 else diff.astype(np.float32))
        resp_row = np.empty((*resp_loc.shape, self.n_output), np.float32)
        resp_row[..., 0] = 0.05
        z = d / BUMP_WIDTH
        resp_row[..., 1:] = 0.05 + 0.8 * np.exp(-0.5 * z * z)
        cls_row = 1 + np.argmin(d, axis=-1)
        loc_row = resp_loc.astype(np.float32)
        if go is not None:
            nogo = np.broadcast_to(~go, resp_loc.shape)
            resp_row[nogo, 0] = 0.8
            resp_row[nogo, 1:] = 0.05
            cls_row[nogo] = 0
            loc_row[nogo] = -1.0
        return resp_row, cls_row.astype(np.int64), loc_row

    def render(self, name: str, info: dict[str, Any], trial: Trial) -> TrialBatch:
        """The arrays of one batch, as pieces (see Piecewise)."""
        n = self.n_eachring
        T, stims, resp_on = trial.T, trial.stims, trial.resp_on
        resp_loc, go = trial.resp_loc, trial.go
        B = resp_loc.shape[0]
        f32 = np.float32
        rule_col = 1 + 2 * n + self.catalogue.index[name]
        fix_off = T if trial.fix_off is None else trial.fix_off

        # Every array is piecewise constant in time: one (B, ...) row per stretch between
        # events, and for every step the index of its row (see Piecewise).
        cuts = {0, T, min(fix_off, T)}
        for t0, t1, _, _ in stims:
            cuts.update((min(t0, T), min(t1, T)))
        cuts = sorted(cuts)
        x_rows = np.zeros((len(cuts) - 1, B, self.n_input), f32)
        x_rows[:, :, rule_col] = 1.0
        for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
            if a < fix_off:
                x_rows[k, :, 0] = 1.0
            for t0, t1, mod, pat in stims:
                if t0 <= a and b <= t1:
                    lo = 1 + (int(mod) - 1) * n
                    x_rows[k, :, lo : lo + n] += pat
        x_index = np.repeat(np.arange(len(cuts) - 1), np.diff(cuts))

        # Response-period rows: the target bump on the 0.05 baseline, or fixation on no-go
        # trials; one row for the whole response, or one per step where the target drifts.
        n_resp = max(T - resp_on, 0) if trial.drift else 1
        locs = resp_loc[None] if not trial.drift else np.mod(
            resp_loc[None] + trial.drift * np.arange(max(n_resp, 1))[:, None], TWO_PI)
        resp_rows, cls_rows, loc_rows = self._response_rows(locs, go)

        fix_rows, mask_table = self._rows(B)
        # Row 0 before the response cue, row 1 + k at its k-th step (or 1 from it on).
        resp_index = np.zeros(T, np.int64)
        resp_index[resp_on:] = 1 + np.arange(max(T - resp_on, 0)) if trial.drift else 1

        # Yang's add_c_mask: 0 for the first 100 ms, 1 until the cue, 0 for a
        # 100 ms grace period, then 5; these four fills cover every step.
        pre_on = self.steps(100)
        check = resp_on + pre_on
        mask_index = np.empty(T, np.int64)
        mask_index[:pre_on] = 0
        mask_index[resp_on:check] = 0
        mask_index[check:] = 2
        mask_index[pre_on:resp_on] = 1

        pieces = {
            "x": Piecewise(x_rows, x_index),
            "y": Piecewise(np.concatenate([fix_rows[None], resp_rows]), resp_index),
            "c_mask": Piecewise(mask_table, mask_index),
            "y_loc": Piecewise(np.concatenate([np.full((1, B), -1.0, f32), loc_rows]), resp_index),
            "target_class": Piecewise(np.concatenate([np.zeros((1, B), np.int64), cls_rows]), resp_index),
        }
        info["go"] = np.ones(B, bool) if go is None else go
        info["resp_loc"] = resp_loc
        return TrialBatch(name, pieces, trial.epochs, info)


# ---------------------------------------------------------------- random draws
# Each family's draw takes (rng, B, variant) and returns the parameters its layout takes.
# One rng call per batch: per-batch scalars first, then per-trial rows.


def draw_uniform(rng: np.random.Generator, n_scalars: int, n_rows: int, b: int):
    r = rng.random(n_scalars + n_rows * b)
    return r[:n_scalars], r[n_scalars:].reshape(n_rows, b)


def pick(options: Sequence[float], u: float) -> float:
    return options[int(u * len(options))]


def sign(u: np.ndarray) -> np.ndarray:
    return np.where(u < 0.5, -1.0, 1.0)


def anti_of(loc: np.ndarray, anti: bool) -> np.ndarray:
    """The response to a stimulus at `loc`: the same place, or the opposite one."""
    return np.mod(loc + np.pi, TWO_PI) if anti else loc


@dataclass(frozen=True)
class Family:
    """A family of tasks: how a batch's parameters are drawn, how they lay out a Trial,
    and which parameters the layout needs (for `YangSuite.build`). A task is a family and
    a variant (a dict of the family's switches)."""

    name: str
    draw: Any  # (rng, B, variant) -> params
    layout: Any  # (suite, params, variant) -> Trial
    keys: tuple[str, ...]
