"""Yang et al.'s 20 tasks as one suite: their names, rule columns, and `YangSuite`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from growsim.tasks.base import Catalogue, TrialBatch
from growsim.tasks.yang import decision, go, matching
from growsim.tasks.yang.ring import TWO_PI, RingSuite

TASK_NAMES: tuple[str, ...] = (
    "fdgo", "reactgo", "delaygo", "fdanti", "reactanti", "delayanti",
    "dm1", "dm2", "contextdm1", "contextdm2", "multidm",
    "delaydm1", "delaydm2", "contextdelaydm1", "contextdelaydm2", "multidelaydm",
    "dmsgo", "dmsnogo", "dmcgo", "dmcnogo",
)  # fmt: skip

# neurogym's yang19 names, in the same order as TASK_NAMES. Names only: neurogym defines 12
# of these 20 tasks differently (docs/tasks.md), so an alias picks growsim's (Yang's) task.
_NEUROGYM_NAMES = (
    "go", "rtgo", "dlygo", "anti", "rtanti", "dlyanti",
    "dm1", "dm2", "ctxdm1", "ctxdm2", "multidm",
    "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2", "multidlydm",
    "dms", "dnms", "dmc", "dnmc",
)  # fmt: skip

TASK_ALIASES: dict[str, str] = dict(zip(_NEUROGYM_NAMES, TASK_NAMES, strict=True))

N_RULE = 20  # rule units are always 20, whichever tasks are sampled

# The longest trial of the 20 tasks, in ms: a sequential decision task with every duration
# at its longest (stimulus 1 at 600 ms for 600 ms, a delay of 1600 ms, stimulus 2 for
# 600 ms, 300 ms to the go cue, a response of 500 ms). Each duration is floored to whole
# steps, so no trial has more than LONGEST_TRIAL_MS / dt_ms steps.
LONGEST_TRIAL_MS = 600.0 + 600.0 + 1600.0 + 600.0 + 300.0 + 500.0
RESPONSE_MS = 500.0  # the response of the task above (a seq extension replaces it)

# Relative task weights of Yang's published runs (experiment.py passes
# rule_prob_map={'contextdm1': 5, 'contextdm2': 5}); YangSuite's default is
# uniform. Usage: YangSuite(task_probs=[YANG2019_TASK_WEIGHTS[t] for t in tasks]).
YANG2019_TASK_WEIGHTS: dict[str, float] = {t: (5.0 if t in ("contextdm1", "contextdm2") else 1.0) for t in TASK_NAMES}

# task -> (family, variant), one entry per task, from the family modules.
FAMILY_OF = {**go.TASKS, **decision.TASKS, **matching.TASKS}
assert set(FAMILY_OF) == set(TASK_NAMES)


class YangCatalogue(Catalogue):
    """Yang's names; neurogym's ids ("yang19.dlygo-v0") are read as their aliases."""

    def _key(self, name: str) -> str:
        key = name.strip().lower()
        if key.startswith("yang19."):
            key = key[len("yang19.") :]
        if key.endswith("-v0"):
            key = key[: -len("-v0")]
        return key


CATALOGUE = YangCatalogue("Yang", TASK_NAMES, TASK_ALIASES)


def canonical_task_name(name: str) -> str:
    """Canonical (Yang) name for ``name``: an original name or a neurogym alias.

    Case and surrounding blanks are ignored, and neurogym's registered ids
    (``"yang19.dlygo-v0"``) are accepted. Raises ValueError, with the closest
    known names, for anything else.
    """
    return CATALOGUE.canonical(name)


def draw_tasks(rng: np.random.Generator, k: int, pool: Sequence[str] = TASK_NAMES) -> tuple[str, ...]:
    """``k`` distinct tasks of ``pool``, drawn without replacement, in Yang's order
    (see `Catalogue.draw`)."""
    return CATALOGUE.draw(rng, k, pool)


class YangSuite(RingSuite):
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

    Timing: every duration is drawn in ms and turned into steps with ``int(ms / dt_ms)``,
    one duration at a time, as the original does. All trials of a batch share their timing
    (hence their length T); locations, strengths and match/non-match are drawn per trial.
    """

    catalogue = CATALOGUE

    def __init__(
        self,
        tasks: Sequence[str] = TASK_NAMES,
        *,
        n_eachring: int = 32,
        dt_ms: float = 20.0,
        task_probs: Sequence[float] | None = None,
    ) -> None:
        self._setup(tasks, n_eachring, dt_ms, task_probs)

    def make_batch(self, rng: np.random.Generator, batch_size: int, task: str) -> TrialBatch:
        family, variant = FAMILY_OF[task]
        return self._build(task, family.draw(rng, batch_size, variant))

    def longest_trial_steps(self) -> int:
        return math.ceil(LONGEST_TRIAL_MS / self.dt_ms)

    def _build(self, name: str, params: dict[str, Any]) -> TrialBatch:
        family, variant = FAMILY_OF[name]
        return self.render(name, params, family.layout(self, params, variant))

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
        family, _ = FAMILY_OF[name]
        p = checked_params(family.keys, name, params)
        return self._build(name, p)


def checked_params(keys: Sequence[str], name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Explicit trial parameters, checked: every key present, angles wrapped to [0, 2pi),
    per-trial arrays of one length, strengths (2, B), modalities 1 or 2."""
    p = dict(params)
    missing = sorted(set(keys) - set(p))
    if missing:
        raise KeyError(f"{name} needs parameters {missing}")
    locs = [k for k in ("loc", "loc1", "loc2") if k in p]
    for k in locs:
        p[k] = np.mod(np.atleast_1d(np.asarray(p[k], np.float64)), TWO_PI)
    b = p[locs[0]].shape[0]
    if any(p[k].shape != (b,) for k in locs):
        raise ValueError(f"locations must be 1-D arrays of one length, got {[p[k].shape for k in locs]}")
    for k in ("strength1", "strength2"):
        if k in p:
            p[k] = np.asarray(p[k], np.float64)
            if p[k].shape != (2, b):
                raise ValueError(f"{k} must have shape (2, {b}) (modality, trial), got {p[k].shape}")
    for k in ("mod", "mod1", "mod2"):
        if k in p and p[k] not in (1, 2):
            raise ValueError(f"{k} must be 1 or 2, got {p[k]!r}")
    return p
