"""The decision-making family of Yang et al. (2019): respond toward the stronger of two
stimuli, 0.5pi to 1.5pi apart, with mean strength U(0.8, 1.2) +/- a coherence.

- dm1, dm2: both stimuli in one modality (1 or 2); coherences {0.01, 0.02, 0.04, 0.08}.
- contextdm1, contextdm2: independent evidence in both modalities; only the named one counts.
- multidm: one total strength per stimulus, split unevenly over the modalities; the sum counts.
- delaydm1/2, contextdelaydm1/2, multidelaydm: the two stimuli one after the other, with a
  delay between them; coherences {0.08, 0.16, 0.32}.

Timing: simultaneous stimuli at U(100, 400) ms for {400, 800, 1600} ms; sequential ones at
{200, 400, 600} ms, each for {200, 400, 600} ms, delay {200, 400, 800, 1600} ms, then
U(100, 300) ms to the go cue. The response lasts 500 ms. Ties go to stimulus 2, as in
Yang's code.
"""

from __future__ import annotations

import numpy as np

from growsim.tasks.yang.ring import TWO_PI, Family, Trial, draw_uniform, pick, sign

_DM_COHS = np.array([0.01, 0.02, 0.04, 0.08])
_DELAYDM_COHS = np.array([0.08, 0.16, 0.32])


def _strengths(u_mean, u_coh, u_sign, cohs):
    """Yang's two-stimulus strengths: mean U(0.8, 1.2) +/- coherence."""
    mean = 0.8 + 0.4 * u_mean
    delta = cohs[(u_coh * len(cohs)).astype(np.intp)] * sign(u_sign)
    return mean + delta, mean - delta


def _draw_dm(rng, b, variant):
    attend, seq = variant["attend"], variant["seq"]
    cohs = _DELAYDM_COHS if seq else _DM_COHS
    n_rows = 3 + (3 if variant["single"] else 6 if attend else 7)
    s, u = draw_uniform(rng, 5 if seq else 2, n_rows, b)
    loc1 = TWO_PI * u[0]
    # The two stimuli are 0.5pi to 1.5pi apart, either way round.
    loc2 = np.mod(loc1 + (0.5 + u[1]) * np.pi * sign(u[2]), TWO_PI)
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
        d1 = t1 * (0.2 + 0.6 * u[6]) * sign(u[7])
        d2 = t2 * (0.2 + 0.6 * u[8]) * sign(u[9])
        s1[0], s1[1] = t1 + d1 / 2, t1 - d1 / 2
        s2[0], s2[1] = t2 + d2 / 2, t2 - d2 / 2
    p = {"loc1": loc1, "loc2": loc2, "strength1": s1, "strength2": s2}
    if seq:
        p.update(
            stim1_on=pick((200, 400, 600), s[0]),
            stim1_dur=pick((200, 400, 600), s[1]),
            delay_dur=pick((200, 400, 800, 1600), s[2]),
            stim2_dur=pick((200, 400, 600), s[3]),
            go_delay=100.0 + 200.0 * s[4],
        )
    else:
        p.update(stim_on=100.0 + 300.0 * s[0], stim_dur=pick((400, 800, 1600), s[1]))
    return p


def _choice(loc1, loc2, s1, s2, attend) -> np.ndarray:
    """Location of the stimulus with more evidence in the attended modality (0 = both)."""
    if attend == 0:
        e1, e2 = s1[0] + s1[1], s2[0] + s2[1]
    else:
        e1, e2 = s1[attend - 1], s2[attend - 1]
    return np.where(e1 > e2, loc1, loc2)  # ties go to stimulus 2, as in Yang's code


def _layout_dm(suite, p, variant) -> Trial:
    st = suite.steps
    loc1 = np.asarray(p["loc1"], np.float64)
    loc2 = np.asarray(p["loc2"], np.float64)
    s1 = np.asarray(p["strength1"], np.float64)
    s2 = np.asarray(p["strength2"], np.float64)
    b1, b2 = suite.bumps(np.stack([loc1, loc2]))
    resp = _choice(loc1, loc2, s1, s2, variant["attend"])
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
        epochs = {"fix1": (None, on1), "stim1": (on1, off1), "delay1": (off1, on2), "stim2": (on2, off2),
                  "delay2": (off2, fix_off), "go1": (fix_off, None)}
    else:
        on = st(p["stim_on"])
        fix_off = on + st(p["stim_dur"])
        for m in (0, 1):
            if np.any(s1[m]) or np.any(s2[m]):
                pat = (s1[m, :, None] * b1 + s2[m, :, None] * b2).astype(np.float32)
                stims.append((on, fix_off, m + 1, pat))
        epochs = {"fix1": (None, on), "stim1": (on, fix_off), "go1": (fix_off, None)}
    return Trial(fix_off + st(500), fix_off, stims, fix_off, resp, None, epochs)


DM = Family("dm", _draw_dm, _layout_dm, ("stim_on", "stim_dur", "loc1", "loc2", "strength1", "strength2"))
DELAYDM = Family("delaydm", _draw_dm, _layout_dm, ("stim1_on", "stim1_dur", "delay_dur", "stim2_dur", "go_delay",
                                                   "loc1", "loc2", "strength1", "strength2"))


def _variant(seq: bool, attend: int, single: bool) -> tuple[Family, dict]:
    return (DELAYDM if seq else DM, {"seq": seq, "attend": attend, "single": single})


# attend 0 = both modalities.
TASKS = {
    "dm1": _variant(False, 1, True),
    "dm2": _variant(False, 2, True),
    "contextdm1": _variant(False, 1, False),
    "contextdm2": _variant(False, 2, False),
    "multidm": _variant(False, 0, False),
    "delaydm1": _variant(True, 1, True),
    "delaydm2": _variant(True, 2, True),
    "contextdelaydm1": _variant(True, 1, False),
    "contextdelaydm2": _variant(True, 2, False),
    "multidelaydm": _variant(True, 0, False),
}
