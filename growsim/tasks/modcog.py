"""The Mod-Cog tasks of Khona, Chandra, Ma & Fiete (2022): Yang et al.'s 20 tasks and two
extensions that need recurrent dynamics to solve, generated a whole batch at a time.

Reference: M. Khona, S. Chandra, J. J. Ma and I. Fiete, "Winning the lottery with
neurobiology: faster learning on many cognitive tasks with fixed sparse RNNs" (2022), and
its task code (mikailkhona/Mod_Cog, ``mod_cog_tasks.py``, CC0), read for facts. This is an
independent implementation on growsim's Yang tasks (growsim.tasks.yang).

- ``seq`` (``seqr`` clockwise, ``seql`` counter-clockwise), on every one of the 20 tasks:
  the response lasts `seq_response_ms` (1000 ms) and its target moves around the ring at
  `omega` rad/ms, starting where the base task's response is.
- ``int`` (``intr``, ``intl``), on the 11 tasks with a delay (dlygo, dlyanti, dlydm1,
  dlydm2, ctxdlydm1, ctxdlydm2, multidlydm, dms, dnms, dmc, dnmc): the delay lasts one of
  0, 100, ..., 1100 ms, drawn per batch, and the response is the base task's, turned by
  ``+-omega x delay``: the network must integrate the delay's length.

That gives 20 + 40 + 22 = 82 tasks, named as in the Mod_Cog repository (neurogym's names
for the 20: go, rtgo, dlygo, ...; then dlygointr, ..., goseqr, ..., goseql, ...), in the
order its README lists them, which is also the order of their rule inputs. Yang's names
are accepted for the 20 base tasks.

What differs from the Mod_Cog code (docs/tasks.md has the table):

- The 20 base tasks are Yang et al.'s (growsim's yang20), as the paper says it extends;
  the code builds on neurogym's yang19, which defines 12 of them differently.
- One angular velocity for both extensions, in rad/ms: pi/800 by default, which is what
  the code's ``omega = 0.01`` does with its 16-unit ring (it adds ``omega * ms`` to ring
  indices: one unit, 2pi/16, per 100 ms). The code's go-family int turns the stimulus by
  0.01 rad/ms instead, and its decision-family int fixes the delay at 500 ms (a constant
  turn); here every int task turns the response by omega x a drawn delay.
- A seq target moves smoothly, at every step; the code moves it by whole ring units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from growsim.tasks.base import Catalogue, TrialBatch
from growsim.tasks.yang.ring import TWO_PI, RingSuite
from growsim.tasks.yang.suite import FAMILY_OF, LONGEST_TRIAL_MS, RESPONSE_MS, TASK_ALIASES, TASK_NAMES

# The 20 base tasks by their Mod-Cog (neurogym) names, in Yang's order.
BASE_NAMES: tuple[str, ...] = tuple(TASK_ALIASES)
# The tasks with a delay, which take the int extension, in the order of Mod_Cog's README.
DELAY_TASKS: tuple[str, ...] = (
    "dlygo", "dlyanti", "dlydm1", "dlydm2", "ctxdlydm1", "ctxdlydm2", "multidlydm", "dms", "dnms", "dmc", "dnmc",
)  # fmt: skip

TASK_NAMES_MODCOG: tuple[str, ...] = (
    BASE_NAMES
    + tuple(f"{t}int{d}" for t in DELAY_TASKS for d in "rl")
    + tuple(f"{t}seqr" for t in BASE_NAMES)
    + tuple(f"{t}seql" for t in BASE_NAMES)
)

INT_DELAYS_MS = tuple(range(0, 1200, 100))  # the int extension's delays: 0, 100, ..., 1100 ms


def _parts(name: str) -> tuple[str, str, int]:
    """'dlygointr' -> ('delaygo', 'int', +1): the Yang base task, the extension, its sense."""
    for ext in ("int", "seq"):
        for d, sense in (("r", 1), ("l", -1)):
            if name.endswith(ext + d):
                return TASK_ALIASES[name[: -len(ext) - 1]], ext, sense
    return TASK_ALIASES[name], "", 0


PARTS = {t: _parts(t) for t in TASK_NAMES_MODCOG}
CATALOGUE = Catalogue("Mod-Cog", TASK_NAMES_MODCOG, {yang: ng for ng, yang in TASK_ALIASES.items()})
assert len(TASK_NAMES_MODCOG) == 82 and set(t for t, _, _ in PARTS.values()) == set(TASK_NAMES)


class ModCogSuite(RingSuite):
    """Batch generator for (a subset of) the 82 Mod-Cog tasks, in Yang's ring layout with
    one rule input per Mod-Cog task (n_input = 1 + 2 n_eachring + 82).

    Args:
        tasks: Mod-Cog names (or Yang's, for the 20 base tasks).
        n_eachring: units per ring (Mod-Cog and Liu et al.: 16).
        dt_ms: time step in ms.
        task_probs: relative probability of each task (uniform if None).
        omega: angular velocity of both extensions, rad/ms.
        seq_response_ms: how long a seq task's response lasts.
    """

    catalogue = CATALOGUE

    def __init__(
        self,
        tasks: Sequence[str] = TASK_NAMES_MODCOG,
        *,
        n_eachring: int = 16,
        dt_ms: float = 20.0,
        task_probs: Sequence[float] | None = None,
        omega: float = np.pi / 800,
        seq_response_ms: float = 1000.0,
    ) -> None:
        self._setup(tasks, n_eachring, dt_ms, task_probs)
        if not (np.isfinite(omega) and np.isfinite(seq_response_ms) and seq_response_ms > 0):
            raise ValueError("omega must be finite and seq_response_ms positive")
        self.omega = float(omega)
        self.seq_response_ms = float(seq_response_ms)

    def make_batch(self, rng: np.random.Generator, batch_size: int, task: str) -> TrialBatch:
        base, ext, sense = PARTS[task]
        family, variant = FAMILY_OF[base]
        params = family.draw(rng, batch_size, variant)
        if ext == "int":
            params["delay_dur"] = float(INT_DELAYS_MS[int(rng.integers(len(INT_DELAYS_MS)))])
        trial = family.layout(self, params, variant)
        if ext == "int":
            turn = sense * self.omega * params["delay_dur"]
            trial = replace(trial, resp_loc=np.mod(trial.resp_loc + turn, TWO_PI))
        elif ext == "seq":
            trial = replace(trial.respond_for(self.steps(self.seq_response_ms)), drift=sense * self.omega * self.dt_ms)
        return self.render(task, params, trial)

    def longest_trial_steps(self) -> int:
        # Yang's longest trial, its response lasting seq_response_ms if that is longer (an
        # int task's delay, at most 1100 ms, is shorter than the 1600 ms it replaces).
        longest = LONGEST_TRIAL_MS - RESPONSE_MS + max(RESPONSE_MS, self.seq_response_ms)
        return math.ceil(longest / self.dt_ms)
