"""The go family of Yang et al. (2019): respond toward (go) or away from (anti) a stimulus.

- fdgo, fdanti ("fd"): the stimulus stays on; respond when the fixation cue goes off.
  Stimulus onset U(300, 700) ms, then U(500, 1500) ms to the go cue, then 500 ms.
- reactgo, reactanti ("react"): the fixation cue never goes off; the stimulus onset,
  U(500, 2500) ms, is the go cue; 500 ms to respond.
- delaygo, delayanti ("delay"): a brief stimulus, a delay, then the go cue. Onset
  {300, 500, 700} ms, stimulus {200, 400, 600} ms, delay {200, 400, 800, 1600} ms, 500 ms.

The modality (1 or 2) is drawn per batch, the location per trial, uniformly on the ring.
"""

from __future__ import annotations

import numpy as np

from growsim.tasks.yang.ring import TWO_PI, Family, Trial, anti_of, draw_uniform, pick


def _draw_fd(rng, b, variant):
    s, u = draw_uniform(rng, 3, 1, b)
    # Yang's fdgo: U(300, 700) ms to the stimulus, U(500, 1500) ms more to the go cue.
    return {"mod": 1 + int(2 * s[0]), "stim_on": 300.0 + 400.0 * s[1], "stim_dur": 500.0 + 1000.0 * s[2],
            "loc": TWO_PI * u[0]}


def _layout_fd(suite, p, variant) -> Trial:
    loc = np.asarray(p["loc"], np.float64)
    on = suite.steps(p["stim_on"])
    fix_off = on + suite.steps(p["stim_dur"])
    T = fix_off + suite.steps(500)
    epochs = {"fix1": (None, on), "stim1": (on, fix_off), "go1": (fix_off, None)}
    return Trial(T, fix_off, [(on, T, p["mod"], suite.bumps(loc))], fix_off, anti_of(loc, variant["anti"]), None, epochs)


def _draw_react(rng, b, variant):
    s, u = draw_uniform(rng, 2, 1, b)
    return {"mod": 1 + int(2 * s[0]), "stim_on": 500.0 + 2000.0 * s[1], "loc": TWO_PI * u[0]}


def _layout_react(suite, p, variant) -> Trial:
    loc = np.asarray(p["loc"], np.float64)
    on = suite.steps(p["stim_on"])
    T = on + suite.steps(500)
    epochs = {"fix1": (None, on), "go1": (on, None)}
    # The fixation point never goes off: the stimulus onset is the go cue.
    return Trial(T, None, [(on, T, p["mod"], suite.bumps(loc))], on, anti_of(loc, variant["anti"]), None, epochs)


def _draw_delay(rng, b, variant):
    s, u = draw_uniform(rng, 4, 1, b)
    return {
        "mod": 1 + int(2 * s[0]),
        "stim_on": pick((300, 500, 700), s[1]),
        "stim_dur": pick((200, 400, 600), s[2]),
        "delay_dur": pick((200, 400, 800, 1600), s[3]),
        "loc": TWO_PI * u[0],
    }


def _layout_delay(suite, p, variant) -> Trial:
    loc = np.asarray(p["loc"], np.float64)
    on = suite.steps(p["stim_on"])
    off = on + suite.steps(p["stim_dur"])
    fix_off = off + suite.steps(p["delay_dur"])
    T = fix_off + suite.steps(500)
    epochs = {"fix1": (None, on), "stim1": (on, off), "delay1": (off, fix_off), "go1": (fix_off, None)}
    return Trial(T, fix_off, [(on, off, p["mod"], suite.bumps(loc))], fix_off, anti_of(loc, variant["anti"]), None, epochs)


FD = Family("fd", _draw_fd, _layout_fd, ("mod", "stim_on", "stim_dur", "loc"))
REACT = Family("react", _draw_react, _layout_react, ("mod", "stim_on", "loc"))
DELAY = Family("delay", _draw_delay, _layout_delay, ("mod", "stim_on", "stim_dur", "delay_dur", "loc"))

TASKS = {
    "fdgo": (FD, {"anti": False}),
    "reactgo": (REACT, {"anti": False}),
    "delaygo": (DELAY, {"anti": False}),
    "fdanti": (FD, {"anti": True}),
    "reactanti": (REACT, {"anti": True}),
    "delayanti": (DELAY, {"anti": True}),
}
