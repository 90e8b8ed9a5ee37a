"""The matching family of Yang et al. (2019): a sample, a delay, then a test stimulus that
is the go cue; respond to the test on a match (go) or on a non-match (nogo), else fixate.

- dmsgo, dmsnogo: match to sample, the same location within pi/36 (Yang's 5 degrees);
  half the trials match, non-matches are 20 to 340 degrees away; 500 ms to respond.
- dmcgo, dmcnogo: match to category, the same side of pi; both locations drawn from 10
  (0.1pi, 0.3pi, ..., 1.9pi); {200, 400, 600} ms to respond.

Sample onset and duration {200, 400, 600} ms, delay {200, 400, 800, 1600} ms; the two
stimuli's modalities are drawn per batch, independently. The fixation cue stays on.
"""

from __future__ import annotations

import numpy as np

from growsim.tasks.yang.ring import TWO_PI, Family, Trial, circ_dist, draw_uniform, pick, sign

_DMC_LOCS = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9]) * np.pi


def _draw(rng, b, variant):
    s, u = draw_uniform(rng, 6, 4, b)
    if variant["category"]:
        # Independent draws from 10 locations, 5 per category: match half the time.
        loc1 = _DMC_LOCS[(u[0] * len(_DMC_LOCS)).astype(np.intp)]
        loc2 = _DMC_LOCS[(u[1] * len(_DMC_LOCS)).astype(np.intp)]
        go_dur = pick((200, 400, 600), s[5])
    else:
        loc1 = TWO_PI * u[0]
        match = u[1] < 0.5
        # Non-match offsets of 20 to 340 degrees either way, so never a near-match.
        offset = (np.pi / 9 + (16 * np.pi / 9) * u[2]) * sign(u[3])
        loc2 = np.where(match, loc1, np.mod(loc1 + offset, TWO_PI))
        go_dur = 500.0
    return {
        "mod1": 1 + int(2 * s[0]),
        "mod2": 1 + int(2 * s[1]),
        "stim1_on": pick((200, 400, 600), s[2]),
        "stim1_dur": pick((200, 400, 600), s[3]),
        "delay_dur": pick((200, 400, 800, 1600), s[4]),
        "go_dur": go_dur,
        "loc1": loc1,
        "loc2": loc2,
    }


def _layout(suite, p, variant) -> Trial:
    st = suite.steps
    loc1 = np.asarray(p["loc1"], np.float64)
    loc2 = np.asarray(p["loc2"], np.float64)
    on1 = st(p["stim1_on"])
    off1 = on1 + st(p["stim1_dur"])
    on2 = off1 + st(p["delay_dur"])
    T = on2 + st(p["go_dur"])
    b1, b2 = suite.bumps(np.stack([loc1, loc2]))
    if variant["category"]:
        match = (loc1 < np.pi) == (loc2 < np.pi)
    else:
        match = circ_dist(loc1 - loc2) < np.pi / 36  # Yang's 5-degree criterion
    go = match if variant["go_on_match"] else ~match
    p["match"] = match
    epochs = {"fix1": (None, on1), "stim1": (on1, off1), "delay1": (off1, on2), "go1": (on2, None)}
    return Trial(T, None, [(on1, off1, p["mod1"], b1), (on2, T, p["mod2"], b2)], on2, loc2, go, epochs)


_KEYS = ("mod1", "mod2", "stim1_on", "stim1_dur", "delay_dur", "go_dur", "loc1", "loc2")
DMS = Family("dms", _draw, _layout, _KEYS)
DMC = Family("dmc", _draw, _layout, _KEYS)

TASKS = {
    "dmsgo": (DMS, {"category": False, "go_on_match": True}),
    "dmsnogo": (DMS, {"category": False, "go_on_match": False}),
    "dmcgo": (DMC, {"category": True, "go_on_match": True}),
    "dmcnogo": (DMC, {"category": True, "go_on_match": False}),
}
