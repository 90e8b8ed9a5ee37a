"""Tests of growsim.tasks.yang: the 20 Yang et al. (2019) tasks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from growsim.tasks import (
    N_RULE,
    TASK_ALIASES,
    TASK_NAMES,
    YANG2019_TASK_WEIGHTS,
    Piecewise,
    TrialBatch,
    YangSuite,
    canonical_task_name,
    performance,
    popvec,
)

PI = np.pi
N = 32
DT = 20.0

# Tasks whose fixation cue stays on the whole trial (the go cue is a stimulus).
FIX_WHOLE_TRIAL = {"reactgo", "reactanti", "dmsgo", "dmsnogo", "dmcgo", "dmcnogo"}
NOGO_TASKS = {"dmsgo", "dmsnogo", "dmcgo", "dmcnogo"}

# T in steps at dt 20 ms, from the timing of Yang's task.py (min, max).
T_RANGE = {
    "fdgo": (65, 133), "fdanti": (65, 133),
    "reactgo": (50, 149), "reactanti": (50, 149),
    "delaygo": (60, 170), "delayanti": (60, 170),
    "dm1": (50, 124), "dm2": (50, 124), "contextdm1": (50, 124),
    "contextdm2": (50, 124), "multidm": (50, 124),
    "delaydm1": (70, 209), "delaydm2": (70, 209), "contextdelaydm1": (70, 209),
    "contextdelaydm2": (70, 209), "multidelaydm": (70, 209),
    "dmsgo": (55, 165), "dmsnogo": (55, 165),
    "dmcgo": (40, 170), "dmcnogo": (40, 170),
}  # fmt: skip


@pytest.fixture(scope="module")
def suite() -> YangSuite:
    return YangSuite()


def circ(a, b):
    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)) % (2 * PI)
    return np.minimum(d, 2 * PI - d)


def bump(loc, n=N):
    pref = 2 * PI * np.arange(n) / n
    d = circ(np.asarray(loc)[..., None], pref) / (PI / 8)
    return 0.8 * np.exp(-0.5 * d**2)


def stim_steps(task: str, ep: dict, T: int) -> np.ndarray:
    """Bool (T,) of the steps where some ring input should be on."""
    on = np.zeros(T, bool)

    def span(a, b):
        on[(a or 0) : (T if b is None else b)] = True

    if task in ("fdgo", "fdanti"):
        span(ep["stim1"][0], None)
    elif task in ("reactgo", "reactanti"):
        span(ep["go1"][0], None)
    elif task in NOGO_TASKS:
        span(*ep["stim1"])
        span(ep["go1"][0], None)
    else:
        span(*ep["stim1"])
        if "stim2" in ep:
            span(*ep["stim2"])
    return on


# ----------------------------------------------------------------- names


def test_names_and_aliases():
    assert len(TASK_NAMES) == 20 and len(set(TASK_NAMES)) == 20
    assert TASK_NAMES[0] == "fdgo" and TASK_NAMES[-1] == "dmcnogo"
    assert list(TASK_ALIASES.values()) == list(TASK_NAMES)
    assert TASK_ALIASES["go"] == "fdgo"
    assert TASK_ALIASES["dlyanti"] == "delayanti"
    assert TASK_ALIASES["ctxdlydm2"] == "contextdelaydm2"
    assert TASK_ALIASES["dnms"] == "dmsnogo"
    assert TASK_ALIASES["dnmc"] == "dmcnogo"
    for alias, orig in TASK_ALIASES.items():
        assert canonical_task_name(alias) == orig
    for t in TASK_NAMES:
        assert canonical_task_name(t) == t
    assert canonical_task_name(" RTGo ") == "reactgo"
    assert canonical_task_name("yang19.dlygo-v0") == "delaygo"
    assert N_RULE == 20
    assert YANG2019_TASK_WEIGHTS["contextdm1"] == 5.0 and YANG2019_TASK_WEIGHTS["fdgo"] == 1.0


def test_unknown_name_suggests():
    with pytest.raises(ValueError, match="did you mean 'delaygo'"):
        canonical_task_name("delaygoo")
    with pytest.raises(ValueError, match="unknown Yang task"):
        canonical_task_name("xyzzy")
    with pytest.raises(ValueError):
        YangSuite(["fdgo", "nope"])
    with pytest.raises(ValueError, match="duplicate"):
        YangSuite(["fdgo", "go"])


# ------------------------------------------------------- every task, drawn


@pytest.mark.parametrize("task", TASK_NAMES)
def test_task_structure(suite, task):
    rng = np.random.default_rng(TASK_NAMES.index(task))
    for _ in range(3):
        B = 32
        b = suite.sample(rng, B, task)
        assert isinstance(b, TrialBatch) and b.task == task
        T = b.x.shape[0]
        assert b.x.shape == (T, B, 85) and b.x.dtype == np.float32
        assert b.y.shape == (T, B, 33) and b.y.dtype == np.float32
        assert b.c_mask.shape == (T, B, 33) and b.c_mask.dtype == np.float32
        assert b.y_loc.shape == (T, B) and b.y_loc.dtype == np.float32
        assert b.target_class.shape == (T, B) and b.target_class.dtype == np.int64
        lo, hi = T_RANGE[task]
        assert lo <= T <= hi

        # Rule one-hot in its own column for the whole trial.
        rule = np.zeros(N_RULE, np.float32)
        rule[TASK_NAMES.index(task)] = 1
        assert np.array_equal(b.x[:, :, 1 + 2 * N :], np.broadcast_to(rule, (T, B, N_RULE)))
        assert suite.rule_column(task) == 1 + 2 * N + TASK_NAMES.index(task)

        ep = b.epochs
        go_on = ep["go1"][0]
        assert ep["go1"][1] is None and ep["fix1"][0] is None and 0 < go_on < T

        # Fixation cue: on until fixation offset (the go cue), or the whole trial.
        if task in FIX_WHOLE_TRIAL:
            assert np.all(b.x[:, :, 0] == 1)
        else:
            assert np.all(b.x[:go_on, :, 0] == 1) and np.all(b.x[go_on:, :, 0] == 0)

        # Ring inputs exactly during the stimulus epochs.
        rings_on = np.any(b.x[:, :, 1 : 1 + 2 * N] != 0, axis=(1, 2))
        assert np.array_equal(rings_on, stim_steps(task, ep, T))
        assert b.x[:, :, 1 : 1 + 2 * N].min() >= 0

        # Cost mask: 0 for 100 ms, 1 until the cue, 0 for 100 ms, 5 after; fixation x2.
        c = b.c_mask
        pre, grace = 5, go_on + 5
        assert np.all(c[:pre] == 0)
        assert np.all(c[pre:go_on, :, 1:] == 1) and np.all(c[pre:go_on, :, 0] == 2)
        assert np.all(c[go_on:grace] == 0)
        assert np.all(c[grace:, :, 1:] == 5) and np.all(c[grace:, :, 0] == 10)

        # Targets before the response: hold fixation.
        assert np.all(b.y_loc[:go_on] == -1)
        assert np.all(b.target_class[:go_on] == 0)
        assert np.all(b.y[:go_on, :, 0] == np.float32(0.8))
        assert np.all(b.y[:go_on, :, 1:] == np.float32(0.05))

        # Response period: the bump peaks at the target; no-go trials keep fixating.
        go = b.info["go"]
        if task not in NOGO_TASKS:
            assert go.all()
        resp = b.y[go_on:]
        assert np.all(resp == resp[:1])  # constant over the response period
        assert np.all(b.y_loc[go_on:, ~go] == -1) and np.all(b.target_class[go_on:, ~go] == 0)
        assert np.all(resp[:, ~go, 0] == np.float32(0.8)) and np.all(
            resp[:, ~go, 1:] == np.float32(0.05)
        )
        loc = b.y_loc[-1, go]
        assert np.all((loc >= 0) & (loc < 2 * PI + 1e-6))
        assert np.allclose(loc, b.info["resp_loc"][go], atol=1e-6)
        assert np.all(resp[:, go, 0] == np.float32(0.05))
        ring = resp[0, go, 1:]
        assert np.allclose(ring, 0.05 + bump(loc), atol=1e-6)
        pref = 2 * PI * np.arange(N) / N
        peak = np.argmax(ring, axis=1)
        assert np.all(circ(pref[peak], loc) <= PI / N + 1e-6)
        assert np.array_equal(b.target_class[-1, go], 1 + peak)
        assert np.all(
            np.isclose(
                ring.max(axis=1),
                0.05 + 0.8 * np.exp(-0.5 * (circ(pref[peak], loc) / (PI / 8)) ** 2),
            )
        )

        # The target itself scores perfectly, and so does its one-hot class probability.
        assert np.all(suite.performance(b.y, b.y_loc) == 1)
        onehot = np.eye(33, dtype=np.float32)[b.target_class]
        assert np.all(suite.performance(onehot, b.y_loc) == 1)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_stuck_fixation_and_wrong_direction(suite, task):
    b = suite.sample(np.random.default_rng(7), 64, task)
    go = b.info["go"]
    stuck = np.full_like(b.y, 0.05)
    stuck[..., 0] = 0.8
    perf = suite.performance(stuck, b.y_loc)
    assert np.array_equal(perf, (~go).astype(float))

    # Rotating the response bump by 4 units (0.25 pi) fails; by 3 units (0.1875 pi) passes.
    for shift, expect in ((4, 0.0), (-4, 0.0), (3, 1.0), (-3, 1.0)):
        y_hat = b.y.copy()
        y_hat[-1, :, 1:] = np.roll(b.y[-1, :, 1:], shift, axis=-1)
        perf = suite.performance(y_hat, b.y_loc)
        assert np.all(perf[go] == expect)
        assert np.all(perf[~go] == 1)


def test_timing_shared_and_ranges_over_many_batches(suite):
    rng = np.random.default_rng(123)
    seen = {t: set() for t in TASK_NAMES}
    for task in TASK_NAMES:
        for _ in range(25):
            b = suite.sample(rng, 4, task)
            lo, hi = T_RANGE[task]
            assert lo <= b.x.shape[0] <= hi
            seen[task].add(b.x.shape[0])
    # Timing is redrawn from batch to batch.
    assert all(len(s) > 3 for s in seen.values())


# ------------------------------------------------------- hand-built trials


@pytest.mark.parametrize(
    "go_task,anti_task", [("fdgo", "fdanti"), ("reactgo", "reactanti"), ("delaygo", "delayanti")]
)
def test_anti_is_stimulus_plus_pi(suite, go_task, anti_task):
    loc = np.array([0.3, 2.0, 4.0, 6.0])
    p = {"mod": 2, "stim_on": 400.0, "stim_dur": 600.0, "delay_dur": 400.0, "loc": loc}
    g = suite.build(go_task, p)
    a = suite.build(anti_task, p)
    assert np.allclose(g.y_loc[-1], loc, atol=1e-6)
    assert np.allclose(circ(a.y_loc[-1], loc + PI), 0, atol=1e-6)
    # The stimulus itself is the same, on ring 2 only, peaking at loc.
    assert np.array_equal(g.x[:, :, : 1 + 2 * N], a.x[:, :, : 1 + 2 * N])
    t = g.epochs["stim1"][0] if "stim1" in g.epochs else g.epochs["go1"][0]
    assert np.all(g.x[:, :, 1 : 1 + N] == 0)
    assert np.allclose(g.x[t, :, 1 + N : 1 + 2 * N], bump(loc), atol=1e-6)


def dm_params(s1, s2, loc1=(0.5, 0.5), loc2=(3.5, 3.5), delayed=False):
    p = {
        "loc1": np.array(loc1),
        "loc2": np.array(loc2),
        "strength1": np.array(s1, float),
        "strength2": np.array(s2, float),
    }
    if delayed:
        p.update(stim1_on=200, stim1_dur=400, delay_dur=800, stim2_dur=400, go_delay=200)
    else:
        p.update(stim_on=200, stim_dur=800)
    return p


@pytest.mark.parametrize("delayed", [False, True])
def test_dm_responds_to_stronger(suite, delayed):
    task = "delaydm1" if delayed else "dm1"
    p = dm_params([[1.1, 0.9], [0, 0]], [[0.9, 1.1], [0, 0]], delayed=delayed)
    b = suite.build(task, p)
    assert np.allclose(b.y_loc[-1], [0.5, 3.5])
    assert np.all(b.x[:, :, 1 + N : 1 + 2 * N] == 0)  # modality 2 stays empty
    if delayed:
        t1, t2 = b.epochs["stim1"][0], b.epochs["stim2"][0]
        assert np.allclose(
            b.x[t1, :, 1 : 1 + N], np.array([1.1, 0.9])[:, None] * bump(p["loc1"]), atol=1e-6
        )
        assert np.allclose(
            b.x[t2, :, 1 : 1 + N], np.array([0.9, 1.1])[:, None] * bump(p["loc2"]), atol=1e-6
        )
        assert np.all(b.x[b.epochs["delay1"][0] : t2, :, 1:65] == 0)
    else:
        t = b.epochs["stim1"][0]
        want = np.array([1.1, 0.9])[:, None] * bump(p["loc1"]) + np.array([0.9, 1.1])[
            :, None
        ] * bump(p["loc2"])
        assert np.allclose(b.x[t, :, 1 : 1 + N], want, atol=1e-6)
    # dm2 reads modality 2.
    p2 = dm_params([[0, 0], [1.1, 0.9]], [[0, 0], [0.9, 1.1]], delayed=delayed)
    b2 = suite.build("delaydm2" if delayed else "dm2", p2)
    assert np.allclose(b2.y_loc[-1], [0.5, 3.5])
    assert np.all(b2.x[:, :, 1 : 1 + N] == 0)


@pytest.mark.parametrize("delayed", [False, True])
def test_context_and_multisensory(suite, delayed):
    names = (
        ("contextdelaydm1", "contextdelaydm2", "multidelaydm")
        if delayed
        else ("contextdm1", "contextdm2", "multidm")
    )
    # Modality 1 slightly favours stimulus 1; modality 2 strongly favours stimulus 2.
    p = dm_params([[1.05, 1.05], [0.6, 0.6]], [[0.95, 0.95], [1.4, 1.4]], delayed=delayed)
    c1, c2, multi = (suite.build(t, p) for t in names)
    assert np.allclose(c1.y_loc[-1], 0.5)  # ignores modality 2
    assert np.allclose(c2.y_loc[-1], 3.5)  # ignores modality 1
    assert np.allclose(multi.y_loc[-1], 3.5)  # sum: 1.65 vs 2.35
    # Both rings carry both stimuli with their own strengths.
    t = c1.epochs["stim1"][0]
    ring1, ring2 = slice(1, 1 + N), slice(1 + N, 1 + 2 * N)
    b1, b2 = bump(p["loc1"]), bump(p["loc2"])
    if delayed:
        t2 = c1.epochs["stim2"][0]
        assert np.allclose(c1.x[t, :, ring1], 1.05 * b1, atol=1e-6)
        assert np.allclose(c1.x[t, :, ring2], 0.6 * b1, atol=1e-6)
        assert np.allclose(c1.x[t2, :, ring2], 1.4 * b2, atol=1e-6)
    else:
        assert np.allclose(c1.x[t, :, ring1], 1.05 * b1 + 0.95 * b2, atol=1e-6)
        assert np.allclose(c1.x[t, :, ring2], 0.6 * b1 + 1.4 * b2, atol=1e-6)
    assert np.array_equal(c1.x[:, :, :65], multi.x[:, :, :65])
    # Changing only modality-2 strengths leaves contextdm1's answer alone.
    q = dm_params([[1.05, 1.05], [2.0, 0.1]], [[0.95, 0.95], [0.1, 2.0]], delayed=delayed)
    assert np.allclose(suite.build(names[0], q).y_loc[-1], 0.5)
    assert np.allclose(suite.build(names[1], q).y_loc[-1], [0.5, 3.5])


def match_params(loc1, loc2, go_dur=400):
    return {
        "mod1": 1, "mod2": 2, "stim1_on": 200, "stim1_dur": 400, "delay_dur": 800,
        "go_dur": go_dur, "loc1": np.array(loc1), "loc2": np.array(loc2),
    }  # fmt: skip


def check_go_nogo(b, go):
    go = np.asarray(go)
    on = b.epochs["go1"][0]
    assert np.array_equal(b.info["go"], go)
    assert np.all(b.y_loc[:, ~go] == -1)  # fixate for the whole trial
    assert np.all(b.target_class[:, ~go] == 0)
    assert np.all(b.y[:, ~go, 0] == np.float32(0.8))
    assert np.all(b.y_loc[on:, go] == b.y_loc[-1, go]) and np.all(b.y_loc[-1, go] >= 0)
    assert np.all(b.y[on:, go, 0] == np.float32(0.05))


def test_dms_match_decides(suite):
    p = match_params([1.0, 1.0, 5.0], [1.0, 3.0, 5.0 + 0.02])
    go = suite.build("dmsgo", p)
    nogo = suite.build("dmsnogo", p)
    check_go_nogo(go, [True, False, True])
    check_go_nogo(nogo, [False, True, False])
    assert np.allclose(go.y_loc[-1, [0, 2]], [1.0, 5.02], atol=1e-6)
    assert np.allclose(nogo.y_loc[-1, 1], 3.0)
    # Sample on ring 1, test on ring 2, test stays on to the end.
    t1, t2 = go.epochs["stim1"][0], go.epochs["go1"][0]
    assert np.allclose(go.x[t1, :, 1 : 1 + N], bump(p["loc1"]), atol=1e-6)
    assert np.allclose(go.x[-1, :, 1 + N : 1 + 2 * N], bump(p["loc2"]), atol=1e-6)
    assert np.all(go.x[t2:, :, 1 : 1 + N] == 0)


def test_dmc_category_rule(suite):
    # Same category (both < pi), different categories though close, both > pi.
    loc1 = np.array([0.1, 0.9, 1.9, 1.1]) * PI
    loc2 = np.array([0.9, 1.1, 1.1, 0.3]) * PI
    go = suite.build("dmcgo", match_params(loc1, loc2))
    nogo = suite.build("dmcnogo", match_params(loc1, loc2))
    check_go_nogo(go, [True, False, True, False])
    check_go_nogo(nogo, [False, True, False, True])
    assert np.allclose(go.y_loc[-1, 0], 0.9 * PI) and np.allclose(nogo.y_loc[-1, 1], 1.1 * PI)


def test_drawn_parameters_follow_yang(suite):
    rng = np.random.default_rng(5)
    dms = [suite.sample(rng, 256, "dmsgo") for _ in range(4)]
    match = np.concatenate([b.info["match"] for b in dms])
    assert 0.4 < match.mean() < 0.6
    for b in dms:
        d = circ(b.info["loc1"], b.info["loc2"])
        assert np.all(d[b.info["match"]] == 0) and np.all(d[~b.info["match"]] >= PI / 9 - 1e-9)
    dmc = [suite.sample(rng, 256, "dmcnogo") for _ in range(4)]
    allowed = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9]) * PI
    for b in dmc:
        assert np.all(np.isin(np.round(b.info["loc1"], 9), np.round(allowed, 9)))
        assert np.array_equal(b.info["go"], (b.info["loc1"] < PI) != (b.info["loc2"] < PI))
    assert 0.4 < np.mean([b.info["match"].mean() for b in dmc]) < 0.6

    for task, cohs in (("dm1", [0.01, 0.02, 0.04, 0.08]), ("delaydm2", [0.08, 0.16, 0.32])):
        b = suite.sample(rng, 512, task)
        m = int(task[-1]) - 1
        s1, s2 = b.info["strength1"], b.info["strength2"]
        assert np.all(s1[1 - m] == 0) and np.all(s2[1 - m] == 0)
        coh = np.abs(s1[m] - s2[m]) / 2
        assert np.allclose(np.sort(np.unique(np.round(coh, 9))), cohs)
        mean = (s1[m] + s2[m]) / 2
        assert mean.min() >= 0.8 and mean.max() <= 1.2
        sep = circ(b.info["loc1"], b.info["loc2"])
        assert sep.min() >= 0.5 * PI - 1e-9
        assert np.allclose(
            b.info["resp_loc"], np.where(s1[m] > s2[m], b.info["loc1"], b.info["loc2"])
        )

    b = suite.sample(rng, 512, "multidm")
    s1, s2 = b.info["strength1"], b.info["strength2"]
    for s in (s1, s2):
        total = (s[0] + s[1]) / 2
        frac = np.abs(s[0] - s[1]) / total
        assert frac.min() >= 0.2 - 1e-9 and frac.max() <= 0.8 + 1e-9
    assert np.allclose(
        b.info["resp_loc"], np.where(s1.sum(0) > s2.sum(0), b.info["loc1"], b.info["loc2"])
    )


# ----------------------------------------------------- suite-level behaviour


def test_determinism(suite):
    a = suite.sample(np.random.default_rng(42), 16)
    b = suite.sample(np.random.default_rng(42), 16)
    assert a.task == b.task
    for f in ("x", "y", "c_mask", "y_loc", "target_class"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert a.epochs == b.epochs
    c = suite.sample(np.random.default_rng(43), 16, a.task)
    d = suite.sample(np.random.default_rng(42), 16, a.task)
    assert c.x.shape != d.x.shape or not np.array_equal(c.x, d.x)
    # Successive batches from one generator differ too.
    rng = np.random.default_rng(0)
    e, f = suite.sample(rng, 16, "dm1"), suite.sample(rng, 16, "dm1")
    assert e.x.shape != f.x.shape or not np.array_equal(e.x, f.x)


def test_small_ring():
    s = YangSuite(n_eachring=16)
    assert (s.n_input, s.n_output) == (53, 17)
    rng = np.random.default_rng(1)
    for task in TASK_NAMES:
        b = s.sample(rng, 8, task)
        assert (
            b.x.shape[1:] == (8, 53) and b.y.shape[1:] == (8, 17) and b.c_mask.shape[1:] == (8, 17)
        )
        assert np.all(b.x[:, :, 33 + TASK_NAMES.index(task)] == 1)
        assert np.all(s.performance(b.y, b.y_loc) == 1)
        assert b.target_class.max() <= 16


def test_subset_and_probs():
    s = YangSuite(["dm1", "dms", "yang19.dnmc-v0"])
    assert s.tasks == ("dm1", "dmsgo", "dmcnogo")
    assert s.n_input == 85  # always 20 rule units
    rng = np.random.default_rng(3)
    drawn = [s.sample(rng, 2).task for _ in range(300)]
    assert set(drawn) == set(s.tasks)
    counts = np.array([drawn.count(t) for t in s.tasks])
    assert counts.min() > 60
    w = YangSuite(["fdgo", "dm2"], task_probs=[0.0, 3.0])
    assert {w.sample(rng, 2).task for _ in range(50)} == {"dm2"}
    w = YangSuite(["fdgo", "dm2"], task_probs=[1.0, 3.0])
    frac = np.mean([w.sample(rng, 1).task == "dm2" for _ in range(400)])
    assert 0.65 < frac < 0.85
    with pytest.raises(ValueError):
        YangSuite(["fdgo"], task_probs=[1.0, 1.0])
    with pytest.raises(ValueError):
        YangSuite(["fdgo", "dm1"], task_probs=[-1.0, 1.0])
    with pytest.raises(ValueError):
        s.sample(rng, 0)
    # An explicit task outside the subset is still generated (held-out evaluation).
    assert s.sample(rng, 2, "anti").task == "fdanti"


def test_other_dt():
    s = YangSuite(["delaydm1"], dt_ms=10.0)
    b = s.sample(np.random.default_rng(0), 4)
    assert 140 <= b.x.shape[0] <= 418
    on = b.epochs["go1"][0]
    assert np.all(b.c_mask[on : on + 10] == 0) and np.all(b.c_mask[on + 10 :, :, 1] == 5)
    assert np.all(b.c_mask[:10] == 0) and np.all(b.c_mask[10:on, :, 1] == 1)


def test_performance_function():
    T, B = 3, 4
    y_loc = np.full((T, B), -1.0, np.float32)
    y_loc[-1] = [-1, 1.0, 1.0, 1.0]
    y = np.full((T, B, N + 1), 0.05, np.float32)
    y[-1, 0, 0] = 0.9  # fixates, should fixate: correct
    y[-1, 1, 1:] += bump(1.0)  # responds at 1.0: correct
    y[-1, 2, 1:] += bump(1.0 + 0.21 * PI)  # off by more than 0.2 pi: wrong
    y[-1, 3, 0] = 0.6  # right direction but still fixating: wrong
    y[-1, 3, 1:] += bump(1.0)
    assert np.array_equal(performance(y, y_loc), [1.0, 1.0, 0.0, 0.0])
    assert np.isclose(popvec(bump(2.5)), 2.5, atol=1e-6)
    with pytest.raises(ValueError):
        performance(y[0], y_loc)


def test_module_imports_numpy_only():
    code = (
        "import sys; import growsim.tasks.yang; "
        "bad = [m for m in ('torch', 'scipy', 'pydantic', 'yaml', 'h5py') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_checks_and_wraps_angles(suite):
    p = {"mod": 1, "stim_on": 400, "stim_dur": 600, "loc": np.array([0.5 + 2 * PI, -1.0])}
    b = suite.build("fdgo", p)
    assert np.allclose(b.y_loc[-1], [0.5, 2 * PI - 1.0], atol=1e-5)
    assert np.isclose(b.y_loc[-1, 0], popvec(b.y[-1, 0, 1:]), atol=1e-5)
    with pytest.raises(KeyError, match="stim_dur"):
        suite.build("fdgo", {"mod": 1, "stim_on": 400, "loc": [1.0]})
    with pytest.raises(ValueError, match="mod"):
        suite.build("fdgo", dict(p, mod=3))
    with pytest.raises(ValueError, match="strength1"):
        suite.build("dm1", dm_params([1.1, 0.9], [[0.9, 1.1], [0, 0]]))
    # The drawn parameters rebuild the same batch.
    a = suite.sample(np.random.default_rng(9), 8, "contextdelaydm2")
    params = {k: v for k, v in a.info.items() if k not in ("go", "resp_loc")}
    again = suite.build("contextdelaydm2", params)
    assert np.array_equal(a.x, again.x) and np.array_equal(a.y, again.y)


def test_piecewise_hand_case():
    table = np.array([[[1.0], [2.0]], [[3.0], [4.0]]], np.float32)  # 2 rows of (B=2, 1)
    p = Piecewise(table, np.array([0, 0, 1, 0]))
    expected = np.array([[[1], [2]], [[1], [2]], [[3], [4]], [[1], [2]]], np.float32)
    np.testing.assert_array_equal(p.dense(), expected)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_a_batch_is_a_few_rows_and_the_row_of_every_step(suite, task):
    b = suite.sample(np.random.default_rng(5), 16, task=task)
    names = ("x", "y", "c_mask", "y_loc", "target_class")
    assert sorted(b.pieces) == sorted(names)
    for name in names:
        piece = b.pieces[name]
        assert piece.index.shape == (b.n_steps,) and piece.table.shape[1] == 16
        # few rows cross to a device: at most one per stretch between the trial's events
        assert piece.table.shape[0] <= 8 < b.n_steps
        dense = getattr(b, name)
        assert dense is getattr(b, name)  # made once
        np.testing.assert_array_equal(dense, piece.table[piece.index])
    # the rows change where the epochs say: the response cue switches the targets
    go_on = b.epochs["go1"][0]
    assert (b.pieces["y"].index[:go_on] == 0).all() and (b.pieces["y"].index[go_on:] == 1).all()
