"""The 20 cognitive tasks of Yang et al. (2019), generated a whole batch at a time.

Reference: G. R. Yang, M. R. Joglekar, H. F. Song, W. T. Newsome and X.-J. Wang,
"Task representations in neural networks trained to perform many cognitive
tasks", Nature Neuroscience 22, 297-306 (2019), and its code (gyyang/multitask,
``task.py`` and ``network.py``). This is an independent re-implementation of
that code's training ("random") mode, vectorised over the batch with numpy.

Layout of one time step (``n = n_eachring``)::

    input,  n_input = 1 + 2n + 20
        [0]                 fixation cue, 1 while the fixation point is shown
        [1, 1+n)            ring of modality 1
        [1+n, 1+2n)         ring of modality 2
        [1+2n, 1+2n+20)     rule one-hot; column 1+2n+i for TASK_NAMES[i]
    output, n_output = 1 + n
        [0]                 fixation
        [1, 1+n)            response ring

Ring unit ``k`` prefers the direction ``2*pi*k/n`` rad. A stimulus of strength
``s`` at angle ``a`` drives unit ``k`` by ``s * 0.8 * exp(-d**2 / 2)``, with ``d``
the circular distance between ``a`` and the unit's preferred direction divided
by ``pi/8``.

Timing: every duration is drawn in ms and turned into steps with
``int(ms / dt_ms)``, one duration at a time, as the original does. All trials of
a batch share their timing (hence their length T); locations, strengths and
match/non-match are drawn per trial.

Only numpy is imported; the network adds input noise itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = [
    "TASK_NAMES",
    "TASK_ALIASES",
    "N_RULE",
    "YANG2019_TASK_WEIGHTS",
    "Piecewise",
    "TrialBatch",
    "YangSuite",
    "canonical_task_name",
    "draw_tasks",
    "popvec",
    "performance",
]

TASK_NAMES: tuple[str, ...] = (
    "fdgo", "reactgo", "delaygo", "fdanti", "reactanti", "delayanti",
    "dm1", "dm2", "contextdm1", "contextdm2", "multidm",
    "delaydm1", "delaydm2", "contextdelaydm1", "contextdelaydm2", "multidelaydm",
    "dmsgo", "dmsnogo", "dmcgo", "dmcnogo",
)  # fmt: skip

# neurogym's yang19 names, in the same order as TASK_NAMES.
_NEUROGYM_NAMES = (
    "go", "rtgo", "dlygo", "anti", "rtanti", "dlyanti",
    "dm1", "dm2", "ctxdm1", "ctxdm2", "multidm",
    "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2", "multidlydm",
    "dms", "dnms", "dmc", "dnmc",
)  # fmt: skip

TASK_ALIASES: dict[str, str] = dict(zip(_NEUROGYM_NAMES, TASK_NAMES, strict=True))

N_RULE = 20  # rule units are always 20, whichever tasks are sampled

# Relative task weights of Yang's published runs (experiment.py passes
# rule_prob_map={'contextdm1': 5, 'contextdm2': 5}); YangSuite's default is
# uniform. Usage: YangSuite(task_probs=[YANG2019_TASK_WEIGHTS[t] for t in tasks]).
YANG2019_TASK_WEIGHTS: dict[str, float] = {
    t: (5.0 if t in ("contextdm1", "contextdm2") else 1.0) for t in TASK_NAMES
}

_TWO_PI = 2.0 * np.pi
_BUMP_WIDTH = np.pi / 8.0
_RULE_INDEX = {t: i for i, t in enumerate(TASK_NAMES)}
_DMC_LOCS = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9]) * np.pi
_DM_COHS = np.array([0.01, 0.02, 0.04, 0.08])
_DELAYDM_COHS = np.array([0.08, 0.16, 0.32])


def canonical_task_name(name: str) -> str:
    """Canonical (Yang) name for ``name``: an original name or a neurogym alias.

    Case and surrounding blanks are ignored, and neurogym's registered ids
    (``"yang19.dlygo-v0"``) are accepted. Raises ValueError, with the closest
    known names, for anything else.
    """
    if not isinstance(name, str):
        raise TypeError(f"task name must be a str, got {type(name).__name__}")
    key = name.strip().lower()
    if key.startswith("yang19."):
        key = key[len("yang19.") :]
    if key.endswith("-v0"):
        key = key[: -len("-v0")]
    if key in _RULE_INDEX:
        return key
    if key in TASK_ALIASES:
        return TASK_ALIASES[key]
    import difflib  # only on the error path

    close = difflib.get_close_matches(key, list(TASK_NAMES) + list(TASK_ALIASES), n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown Yang task {name!r}{hint} (known: {', '.join(TASK_NAMES)})")


def draw_tasks(rng: np.random.Generator, k: int, pool: Sequence[str] = TASK_NAMES) -> tuple[str, ...]:
    """``k`` distinct tasks of ``pool``, drawn without replacement, in Yang's order.

    The pool (names or neurogym aliases, no repeats) is put in the order of TASK_NAMES
    first, so the draw does not depend on the order it was written in; then one call,
    ``rng.choice(len(pool), size=k, replace=False)``, picks the tasks, and they are
    returned in the order of TASK_NAMES too. Drawing all of the pool gives the pool.
    """
    canon = [canonical_task_name(t) for t in pool]
    if len(set(canon)) != len(canon):
        raise ValueError(f"duplicate tasks in the pool {list(pool)}")
    k = int(k)
    if not 1 <= k <= len(canon):
        raise ValueError(f"can draw 1 to {len(canon)} tasks from this pool, not {k}")
    ordered = sorted(canon, key=_RULE_INDEX.__getitem__)
    picked = rng.choice(len(ordered), size=k, replace=False)
    return tuple(ordered[i] for i in sorted(int(i) for i in picked))


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


@dataclass(frozen=True, eq=False)
class TrialBatch:
    """One batch of trials of a single task, time-major.

    Attributes:
        task: canonical task name.
        pieces: "x", "y", "c_mask", "y_loc" and "target_class" as :class:`Piecewise`
            arrays; the attributes of the same names are their dense forms, made on
            first use.
        x: (T, B, n_input) float32 inputs, noise-free.
        y: (T, B, n_output) float32 targets for the squared-error loss (0.05
            baseline, fixation 0.8 while held, response bump 0.05 + 0.8*exp(-d^2/2)).
        c_mask: (T, B, n_output) float32 cost mask: 0 for the first 100 ms, 1 until
            the response cue, 0 for a 100 ms grace period, 5 after; column 0
            (fixation) doubled. ``c_mask[..., 1]`` is the per-step weight to use
            with a cross-entropy loss.
        y_loc: (T, B) float32 target angle in rad during the response, -1 where
            the output should fixate (the whole trial on no-go trials).
        target_class: (T, B) int64 cross-entropy class: 0 = fixate, 1 + k = ring
            unit k (the one nearest the target angle).
        epochs: epoch name -> (first step, end step) with None meaning the trial
            start/end; shared by the whole batch ("fix1", "stim1", "delay1",
            "stim2", "delay2", "go1" as the task has them).
        info: the trial parameters (times in ms, angles in rad, per-trial arrays
            of shape (B,)), plus "go" (B,) bool, whether a response is required,
            and "resp_loc" (B,) float64, the response angle.
    """

    task: str
    pieces: dict[str, Piecewise]
    epochs: dict[str, tuple[int | None, int | None]]
    info: dict[str, Any] = field(default_factory=dict)

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


def _circ_dist(a: np.ndarray) -> np.ndarray:
    """Circular distance (rad, in [0, pi]) for angle differences ``a`` in (-2pi, 2pi)."""
    a = np.abs(a)
    return np.minimum(a, _TWO_PI - a)


def popvec(y: np.ndarray) -> np.ndarray:
    """Population-vector read-out of ring activity.

    Args:
        y: (..., n) activity of n ring units with preferred directions 2*pi*k/n.
    Returns:
        (...,) angle in [0, 2pi) rad; NaN where the activity sums to 0.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[-1]
    pref = _TWO_PI * np.arange(n) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        # Dividing by the sum (as Yang does) keeps his sign convention.
        total = y.sum(axis=-1)
        c = (y @ np.cos(pref)) / total
        s = (y @ np.sin(pref)) / total
        return np.mod(np.arctan2(s, c), _TWO_PI)


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
        raise ValueError(
            f"need y_hat (T, B, n_output) and y_loc (T, B); got {y_hat.shape} and {y_loc.shape}"
        )
    last = y_hat[-1]
    target = y_loc[-1].astype(np.float64)
    fixating = last[:, 0] > 0.5
    decoded = popvec(last[:, 1:])
    with np.errstate(invalid="ignore"):
        near = _circ_dist(target - decoded) < 0.2 * np.pi  # NaN decodes count as wrong
    should_fix = target < 0
    correct = np.where(should_fix, fixating, near & ~fixating)
    return correct.astype(np.float64)


class YangSuite:
    """Batch generator for (a subset of) the 20 Yang tasks.

    Args:
        tasks: task names (originals or neurogym aliases) to sample from.
        n_eachring: units per ring (32 in Yang's runs).
        dt_ms: time step in ms (Yang: 20).
        task_probs: relative probability of each of ``tasks`` (normalised
            here); uniform if None.

    Attributes:
        tasks: canonical names, in the given order.
        n_input: 1 + 2*n_eachring + 20.
        n_output: 1 + n_eachring.
        pref: (n_eachring,) float64 preferred directions (rad).
    """

    def __init__(
        self,
        tasks: Sequence[str] = TASK_NAMES,
        *,
        n_eachring: int = 32,
        dt_ms: float = 20.0,
        task_probs: Sequence[float] | None = None,
    ) -> None:
        if isinstance(tasks, str):
            tasks = (tasks,)
        canon = tuple(canonical_task_name(t) for t in tasks)
        if not canon:
            raise ValueError("YangSuite needs at least one task")
        if len(set(canon)) != len(canon):
            raise ValueError(f"duplicate tasks in {list(tasks)}")
        n_eachring = int(n_eachring)
        if n_eachring < 2:
            raise ValueError(f"n_eachring must be >= 2, got {n_eachring}")
        dt_ms = float(dt_ms)
        if not dt_ms > 0:
            raise ValueError(f"dt_ms must be > 0, got {dt_ms}")

        self.tasks: tuple[str, ...] = canon
        self.n_eachring = n_eachring
        self.dt_ms = dt_ms
        self.n_rule = N_RULE
        self.n_input = 1 + 2 * n_eachring + N_RULE
        self.n_output = 1 + n_eachring
        self.pref = _TWO_PI * np.arange(n_eachring) / n_eachring

        if task_probs is None:
            self.task_probs = None
            self._cdf = None
        else:
            p = np.asarray(task_probs, dtype=np.float64)
            if (
                p.shape != (len(canon),)
                or np.any(p < 0)
                or not np.isfinite(p).all()
                or p.sum() <= 0
            ):
                raise ValueError(
                    f"task_probs must be {len(canon)} non-negative numbers with a positive sum"
                )
            self.task_probs = p / p.sum()
            self._cdf = np.cumsum(self.task_probs)

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
        return (
            f"YangSuite(tasks={list(self.tasks)}, n_eachring={self.n_eachring}, dt_ms={self.dt_ms})"
        )

    # ------------------------------------------------------------------ public

    def rule_column(self, task: str) -> int:
        """Input column of ``task``'s rule unit."""
        return 1 + 2 * self.n_eachring + _RULE_INDEX[canonical_task_name(task)]

    def sample(
        self, rng: np.random.Generator, batch_size: int, task: str | None = None
    ) -> TrialBatch:
        """One training batch of a single task.

        Args:
            rng: the only source of randomness (same state -> same batch).
            batch_size: B, number of trials (>= 1).
            task: task to generate (any of the 20, alias allowed); if None one is
                drawn from ``self.tasks`` (uniformly, or by ``task_probs``).
        Returns:
            A TrialBatch with arrays of shape (T, B, ...), T set by the timing
            drawn for this batch.
        """
        if task is None:
            if self._cdf is None:
                idx = int(rng.integers(len(self.tasks)))
            else:
                idx = int(np.searchsorted(self._cdf, rng.random(), side="right"))
                idx = min(idx, len(self.tasks) - 1)
            name = self.tasks[idx]
        else:
            name = canonical_task_name(task)
        b = int(batch_size)
        if b < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        family, variant = _SPEC[name]
        params = _DRAW[family](rng, b, variant)
        return self._build(name, family, variant, params)

    def build(self, task: str, params: dict[str, Any]) -> TrialBatch:
        """A batch from explicit trial parameters (for tests and psychometrics).

        Times are in ms, angles in rad in [0, 2pi), per-trial values are (B,)
        arrays, modalities are 1 or 2. Keys by task family:

        - fdgo, fdanti: mod, stim_on, stim_dur (stimulus onset to fixation
          offset), loc.
        - reactgo, reactanti: mod, stim_on, loc.
        - delaygo, delayanti: mod, stim_on, stim_dur, delay_dur, loc.
        - dm1, dm2, contextdm1/2, multidm: stim_on, stim_dur, loc1, loc2,
          strength1, strength2 ((2, B): row m-1 = strength in modality m; a row
          of zeros leaves that ring empty).
        - delaydm1/2, contextdelaydm1/2, multidelaydm: stim1_on, stim1_dur,
          delay_dur, stim2_dur, go_delay (stimulus 2 offset to fixation offset),
          loc1, loc2, strength1, strength2.
        - dmsgo, dmsnogo, dmcgo, dmcnogo: mod1, mod2, stim1_on, stim1_dur,
          delay_dur, go_dur (stimulus 2 onset to trial end), loc1, loc2. Match is
          derived: same location within pi/36 (dms), same side of pi (dmc).
        """
        name = canonical_task_name(task)
        family, variant = _SPEC[name]
        p = dict(params)
        missing = sorted(set(_PARAM_KEYS["delaydm" if variant.get("seq") else family]) - set(p))
        if missing:
            raise KeyError(f"{name} needs parameters {missing}")
        locs = [k for k in ("loc", "loc1", "loc2") if k in p]
        for k in locs:
            p[k] = np.mod(np.atleast_1d(np.asarray(p[k], np.float64)), _TWO_PI)
        b = p[locs[0]].shape[0]
        if any(p[k].shape != (b,) for k in locs):
            raise ValueError(
                f"locations must be 1-D arrays of one length, got {[p[k].shape for k in locs]}"
            )
        for k in ("strength1", "strength2"):
            if k in p:
                p[k] = np.asarray(p[k], np.float64)
                if p[k].shape != (2, b):
                    raise ValueError(
                        f"{k} must have shape (2, {b}) (modality, trial), got {p[k].shape}"
                    )
        for k in ("mod", "mod1", "mod2"):
            if k in p and p[k] not in (1, 2):
                raise ValueError(f"{k} must be 1 or 2, got {p[k]!r}")
        return self._build(name, family, variant, p)

    def performance(self, y_hat: np.ndarray, y_loc: np.ndarray) -> np.ndarray:
        """(T,B,n_output) outputs and (T,B) y_loc -> (B,) float 0/1; see ``performance``."""
        return performance(y_hat, y_loc)

    def test_batches(self, n_per_task: int, seed: int = 0) -> dict[str, TrialBatch]:
        """A fixed test batch of every task of the suite, for analyses (task variance).

        Args:
            n_per_task: trials per task (>= 1).
            seed: the same ``seed`` gives the same batches at every call.
        Returns:
            ``{task: TrialBatch}`` in the order of ``self.tasks``. Task ``t``'s batch is
            ``sample(np.random.default_rng((seed, i)), n_per_task, task=t)`` with ``i``
            its index in TASK_NAMES, so it does not depend on which other tasks the
            suite holds. Yang et al.'s analysis uses a deterministic grid of stimulus
            conditions (their "test" mode); this is a fixed-seed random sample of the
            training distribution instead: conditions drawn as in training, and all
            trials of a task sharing their timing (so the epochs are one per batch).
        """
        n = int(n_per_task)
        if n < 1:
            raise ValueError(f"n_per_task must be >= 1, got {n_per_task}")
        return {
            t: self.sample(np.random.default_rng((int(seed), _RULE_INDEX[t])), n, task=t) for t in self.tasks
        }

    # ----------------------------------------------------------------- builders

    def _steps(self, ms: float) -> int:
        return int(ms / self.dt_ms)

    def _bumps(self, locs: np.ndarray) -> np.ndarray:
        """(..., B) angles -> (..., B, n) float32 ring activity 0.8*exp(-d^2/2)."""
        d = _circ_dist(np.asarray(locs, np.float64)[..., None] - self.pref) / _BUMP_WIDTH
        return (0.8 * np.exp(-0.5 * d * d)).astype(np.float32)

    def _build(self, name: str, family: str, variant: dict, p: dict) -> TrialBatch:
        st = self._steps
        if family == "fd":
            loc = np.asarray(p["loc"], np.float64)
            on = st(p["stim_on"])
            fix_off = on + st(p["stim_dur"])
            T = fix_off + st(500)
            stims = [(on, T, p["mod"], self._bumps(loc))]
            resp = np.mod(loc + np.pi, _TWO_PI) if variant["anti"] else loc
            epochs = {"fix1": (None, on), "stim1": (on, fix_off), "go1": (fix_off, None)}
            return self._render(name, p, T, fix_off, stims, fix_off, resp, None, epochs)

        if family == "react":
            loc = np.asarray(p["loc"], np.float64)
            on = st(p["stim_on"])
            T = on + st(500)
            stims = [(on, T, p["mod"], self._bumps(loc))]
            resp = np.mod(loc + np.pi, _TWO_PI) if variant["anti"] else loc
            epochs = {"fix1": (None, on), "go1": (on, None)}
            # The fixation point never goes off: the stimulus onset is the go cue.
            return self._render(name, p, T, None, stims, on, resp, None, epochs)

        if family == "delay":
            loc = np.asarray(p["loc"], np.float64)
            on = st(p["stim_on"])
            off = on + st(p["stim_dur"])
            fix_off = off + st(p["delay_dur"])
            T = fix_off + st(500)
            stims = [(on, off, p["mod"], self._bumps(loc))]
            resp = np.mod(loc + np.pi, _TWO_PI) if variant["anti"] else loc
            epochs = {
                "fix1": (None, on),
                "stim1": (on, off),
                "delay1": (off, fix_off),
                "go1": (fix_off, None),
            }
            return self._render(name, p, T, fix_off, stims, fix_off, resp, None, epochs)

        if family == "dm":
            loc1 = np.asarray(p["loc1"], np.float64)
            loc2 = np.asarray(p["loc2"], np.float64)
            s1 = np.asarray(p["strength1"], np.float64)
            s2 = np.asarray(p["strength2"], np.float64)
            b1, b2 = self._bumps(np.stack([loc1, loc2]))
            resp = self._dm_choice(loc1, loc2, s1, s2, variant["attend"])
            stims = []
            if variant["seq"]:
                on1 = st(p["stim1_on"])
                off1 = on1 + st(p["stim1_dur"])
                on2 = off1 + st(p["delay_dur"])
                off2 = on2 + st(p["stim2_dur"])
                fix_off = off2 + st(p["go_delay"])
                for m in (0, 1):
                    if np.any(s1[m]):
                        stims.append((on1, off1, m + 1, s1[m, :, None].astype(np.float32) * b1))
                    if np.any(s2[m]):
                        stims.append((on2, off2, m + 1, s2[m, :, None].astype(np.float32) * b2))
                epochs = {
                    "fix1": (None, on1),
                    "stim1": (on1, off1),
                    "delay1": (off1, on2),
                    "stim2": (on2, off2),
                    "delay2": (off2, fix_off),
                    "go1": (fix_off, None),
                }
            else:
                on = st(p["stim_on"])
                fix_off = on + st(p["stim_dur"])
                for m in (0, 1):
                    if np.any(s1[m]) or np.any(s2[m]):
                        pat = (s1[m, :, None] * b1 + s2[m, :, None] * b2).astype(np.float32)
                        stims.append((on, fix_off, m + 1, pat))
                epochs = {"fix1": (None, on), "stim1": (on, fix_off), "go1": (fix_off, None)}
            T = fix_off + st(500)
            return self._render(name, p, T, fix_off, stims, fix_off, resp, None, epochs)

        # dms / dmc: sample, delay, then a test stimulus that is the go cue.
        loc1 = np.asarray(p["loc1"], np.float64)
        loc2 = np.asarray(p["loc2"], np.float64)
        on1 = st(p["stim1_on"])
        off1 = on1 + st(p["stim1_dur"])
        on2 = off1 + st(p["delay_dur"])
        T = on2 + st(p["go_dur"])
        b1, b2 = self._bumps(np.stack([loc1, loc2]))
        if family == "dms":
            match = _circ_dist(loc1 - loc2) < np.pi / 36  # Yang's 5-degree criterion
        else:
            match = (loc1 < np.pi) == (loc2 < np.pi)
        go = match if variant["go_on_match"] else ~match
        stims = [(on1, off1, p["mod1"], b1), (on2, T, p["mod2"], b2)]
        epochs = {
            "fix1": (None, on1),
            "stim1": (on1, off1),
            "delay1": (off1, on2),
            "go1": (on2, None),
        }
        p["match"] = match
        return self._render(name, p, T, None, stims, on2, loc2, go, epochs)

    @staticmethod
    def _dm_choice(loc1, loc2, s1, s2, attend) -> np.ndarray:
        """Location of the stimulus with more evidence in the attended modality (0 = both)."""
        if attend == 0:
            e1, e2 = s1[0] + s1[1], s2[0] + s2[1]
        else:
            e1, e2 = s1[attend - 1], s2[attend - 1]
        return np.where(e1 > e2, loc1, loc2)  # ties go to stimulus 2, as in Yang's code

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

    def _render(
        self, name, info, T, fix_in_off, stims, resp_on, resp_loc, go, epochs
    ) -> TrialBatch:
        """The arrays of one batch, as pieces (see Piecewise).

        fix_in_off: step at which the fixation cue goes off (None: never).
        stims: (first step, end step, modality 1|2, (B, n) float32 pattern);
            stimuli on the same ring never overlap in time.
        resp_on: response cue step; the target switches to the response here.
        resp_loc: (B,) response angles; go: (B,) bool, or None if all respond.
        """
        n = self.n_eachring
        B = resp_loc.shape[0]
        f32 = np.float32
        rule_col = 1 + 2 * n + _RULE_INDEX[name]
        fix_off = T if fix_in_off is None else fix_in_off

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

        # Response-period rows: the target bump on the 0.05 baseline, or fixation on no-go trials.
        d = _circ_dist(resp_loc[:, None] - self.pref)
        resp_row = np.empty((B, self.n_output), f32)
        resp_row[:, 0] = 0.05
        z = d / _BUMP_WIDTH
        resp_row[:, 1:] = 0.05 + 0.8 * np.exp(-0.5 * z * z)
        cls_row = 1 + np.argmin(d, axis=1)
        loc_row = resp_loc.astype(f32)
        if go is not None:
            nogo = ~go
            resp_row[nogo, 0] = 0.8
            resp_row[nogo, 1:] = 0.05
            cls_row[nogo] = 0
            loc_row[nogo] = -1.0

        fix_rows, mask_table = self._rows(B)
        # Row 0 before the response cue, row 1 from it on.
        resp_index = np.zeros(T, np.int64)
        resp_index[resp_on:] = 1

        # Yang's add_c_mask: 0 for the first 100 ms, 1 until the cue, 0 for a
        # 100 ms grace period, then 5; these four fills cover every step.
        pre_on = self._steps(100)
        check = resp_on + pre_on
        mask_index = np.empty(T, np.int64)
        mask_index[:pre_on] = 0
        mask_index[resp_on:check] = 0
        mask_index[check:] = 2
        mask_index[pre_on:resp_on] = 1

        pieces = {
            "x": Piecewise(x_rows, x_index),
            "y": Piecewise(np.stack([fix_rows, resp_row]), resp_index),
            "c_mask": Piecewise(mask_table, mask_index),
            "y_loc": Piecewise(np.stack([np.full(B, -1.0, f32), loc_row]), resp_index),
            "target_class": Piecewise(np.stack([np.zeros(B, np.int64), cls_row.astype(np.int64)]), resp_index),
        }
        info["go"] = np.ones(B, bool) if go is None else go
        info["resp_loc"] = resp_loc
        return TrialBatch(name, pieces, epochs, info)


# ---------------------------------------------------------------- random draws
# Each draw takes (rng, B, variant) and returns the parameters ``YangSuite.build``
# takes. One rng call per batch: per-batch scalars first, then per-trial rows.


def _draw(rng: np.random.Generator, n_scalars: int, n_rows: int, b: int):
    r = rng.random(n_scalars + n_rows * b)
    return r[:n_scalars], r[n_scalars:].reshape(n_rows, b)


def _pick(options: Sequence[float], u: float) -> float:
    return options[int(u * len(options))]


def _sign(u: np.ndarray) -> np.ndarray:
    return np.where(u < 0.5, -1.0, 1.0)


def _draw_fd(rng, b, variant):
    s, u = _draw(rng, 3, 1, b)
    # Yang's fdgo: U(300, 700) ms to the stimulus, U(500, 1500) ms more to the go cue.
    return {
        "mod": 1 + int(2 * s[0]),
        "stim_on": 300.0 + 400.0 * s[1],
        "stim_dur": 500.0 + 1000.0 * s[2],
        "loc": _TWO_PI * u[0],
    }


def _draw_react(rng, b, variant):
    s, u = _draw(rng, 2, 1, b)
    return {"mod": 1 + int(2 * s[0]), "stim_on": 500.0 + 2000.0 * s[1], "loc": _TWO_PI * u[0]}


def _draw_delay(rng, b, variant):
    s, u = _draw(rng, 4, 1, b)
    return {
        "mod": 1 + int(2 * s[0]),
        "stim_on": _pick((300, 500, 700), s[1]),
        "stim_dur": _pick((200, 400, 600), s[2]),
        "delay_dur": _pick((200, 400, 800, 1600), s[3]),
        "loc": _TWO_PI * u[0],
    }


def _strengths(u_mean, u_coh, u_sign, cohs):
    """Yang's two-stimulus strengths: mean U(0.8, 1.2) +/- coherence."""
    mean = 0.8 + 0.4 * u_mean
    delta = cohs[(u_coh * len(cohs)).astype(np.intp)] * _sign(u_sign)
    return mean + delta, mean - delta


def _draw_dm(rng, b, variant):
    attend, seq = variant["attend"], variant["seq"]
    cohs = _DELAYDM_COHS if seq else _DM_COHS
    n_rows = 3 + (3 if variant["single"] else 6 if attend else 7)
    s, u = _draw(rng, 5 if seq else 2, n_rows, b)
    loc1 = _TWO_PI * u[0]
    # The two stimuli are 0.5pi to 1.5pi apart, either way round.
    loc2 = np.mod(loc1 + (0.5 + u[1]) * np.pi * _sign(u[2]), _TWO_PI)
    s1 = np.zeros((2, b))
    s2 = np.zeros((2, b))
    if variant["single"]:  # dm1/dm2: one modality only
        m = attend - 1
        s1[m], s2[m] = _strengths(u[3], u[4], u[5], cohs)
    elif attend:  # context tasks: independent evidence in each modality
        s1[0], s2[0] = _strengths(u[3], u[4], u[5], cohs)
        s1[1], s2[1] = _strengths(u[6], u[7], u[8], cohs)
    else:  # multisensory: one total strength per stimulus, split unevenly
        t1, t2 = _strengths(u[3], u[4], u[5], cohs)
        d1 = t1 * (0.2 + 0.6 * u[6]) * _sign(u[7])
        d2 = t2 * (0.2 + 0.6 * u[8]) * _sign(u[9])
        s1[0], s1[1] = t1 + d1 / 2, t1 - d1 / 2
        s2[0], s2[1] = t2 + d2 / 2, t2 - d2 / 2
    p = {"loc1": loc1, "loc2": loc2, "strength1": s1, "strength2": s2}
    if seq:
        p.update(
            stim1_on=_pick((200, 400, 600), s[0]),
            stim1_dur=_pick((200, 400, 600), s[1]),
            delay_dur=_pick((200, 400, 800, 1600), s[2]),
            stim2_dur=_pick((200, 400, 600), s[3]),
            go_delay=100.0 + 200.0 * s[4],
        )
    else:
        p.update(stim_on=100.0 + 300.0 * s[0], stim_dur=_pick((400, 800, 1600), s[1]))
    return p


def _draw_match(rng, b, variant, category: bool):
    s, u = _draw(rng, 6, 4, b)
    if category:
        # Independent draws from 10 locations, 5 per category: match half the time.
        loc1 = _DMC_LOCS[(u[0] * len(_DMC_LOCS)).astype(np.intp)]
        loc2 = _DMC_LOCS[(u[1] * len(_DMC_LOCS)).astype(np.intp)]
        go_dur = _pick((200, 400, 600), s[5])
    else:
        loc1 = _TWO_PI * u[0]
        match = u[1] < 0.5
        # Non-match offsets of 20 to 340 degrees either way, so never a near-match.
        offset = (np.pi / 9 + (16 * np.pi / 9) * u[2]) * _sign(u[3])
        loc2 = np.where(match, loc1, np.mod(loc1 + offset, _TWO_PI))
        go_dur = 500.0
    return {
        "mod1": 1 + int(2 * s[0]),
        "mod2": 1 + int(2 * s[1]),
        "stim1_on": _pick((200, 400, 600), s[2]),
        "stim1_dur": _pick((200, 400, 600), s[3]),
        "delay_dur": _pick((200, 400, 800, 1600), s[4]),
        "go_dur": go_dur,
        "loc1": loc1,
        "loc2": loc2,
    }


_DRAW = {
    "fd": _draw_fd,
    "react": _draw_react,
    "delay": _draw_delay,
    "dm": _draw_dm,
    "dms": lambda rng, b, v: _draw_match(rng, b, v, category=False),
    "dmc": lambda rng, b, v: _draw_match(rng, b, v, category=True),
}


# Parameters YangSuite.build needs, by family.
_PARAM_KEYS = {
    "fd": ("mod", "stim_on", "stim_dur", "loc"),
    "react": ("mod", "stim_on", "loc"),
    "delay": ("mod", "stim_on", "stim_dur", "delay_dur", "loc"),
    "dm": ("stim_on", "stim_dur", "loc1", "loc2", "strength1", "strength2"),
    "delaydm": (
        "stim1_on", "stim1_dur", "delay_dur", "stim2_dur", "go_delay",
        "loc1", "loc2", "strength1", "strength2",
    ),
    "dms": ("mod1", "mod2", "stim1_on", "stim1_dur", "delay_dur", "go_dur", "loc1", "loc2"),
    "dmc": ("mod1", "mod2", "stim1_on", "stim1_dur", "delay_dur", "go_dur", "loc1", "loc2"),
}  # fmt: skip


def _dm_variant(seq: bool, attend: int, single: bool) -> tuple[str, dict]:
    return ("dm", {"seq": seq, "attend": attend, "single": single})


# task -> (family, variant); attend 0 = both modalities.
_SPEC: dict[str, tuple[str, dict]] = {
    "fdgo": ("fd", {"anti": False}),
    "reactgo": ("react", {"anti": False}),
    "delaygo": ("delay", {"anti": False}),
    "fdanti": ("fd", {"anti": True}),
    "reactanti": ("react", {"anti": True}),
    "delayanti": ("delay", {"anti": True}),
    "dm1": _dm_variant(False, 1, True),
    "dm2": _dm_variant(False, 2, True),
    "contextdm1": _dm_variant(False, 1, False),
    "contextdm2": _dm_variant(False, 2, False),
    "multidm": _dm_variant(False, 0, False),
    "delaydm1": _dm_variant(True, 1, True),
    "delaydm2": _dm_variant(True, 2, True),
    "contextdelaydm1": _dm_variant(True, 1, False),
    "contextdelaydm2": _dm_variant(True, 2, False),
    "multidelaydm": _dm_variant(True, 0, False),
    "dmsgo": ("dms", {"go_on_match": True}),
    "dmsnogo": ("dms", {"go_on_match": False}),
    "dmcgo": ("dmc", {"go_on_match": True}),
    "dmcnogo": ("dmc", {"go_on_match": False}),
}
assert tuple(_SPEC) == TASK_NAMES
