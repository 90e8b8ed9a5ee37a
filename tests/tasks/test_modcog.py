"""The Mod-Cog tasks (Khona et al. 2022): names, rule inputs, and the int and seq extensions."""

from __future__ import annotations

import numpy as np
import pytest

from growsim.tasks import TASK_ALIASES, ModCogSuite, YangSuite
from growsim.tasks.modcog import DELAY_TASKS, INT_DELAYS_MS, TASK_NAMES_MODCOG

TWO_PI = 2 * np.pi
# The tasks of the Mod_Cog README's list, in its order (its int part names dlyanti once here).
README_ORDER = (
    "go rtgo dlygo anti rtanti dlyanti dm1 dm2 ctxdm1 ctxdm2 multidm dlydm1 dlydm2 ctxdlydm1 ctxdlydm2 multidlydm "
    "dms dnms dmc dnmc dlygointr dlygointl dlyantiintr dlyantiintl dlydm1intr dlydm1intl dlydm2intr dlydm2intl "
    "ctxdlydm1intr ctxdlydm1intl ctxdlydm2intr ctxdlydm2intl multidlydmintr multidlydmintl dmsintr dmsintl dnmsintr "
    "dnmsintl dmcintr dmcintl dnmcintr dnmcintl goseqr rtgoseqr dlygoseqr antiseqr rtantiseqr dlyantiseqr dm1seqr "
    "dm2seqr ctxdm1seqr ctxdm2seqr multidmseqr dlydm1seqr dlydm2seqr ctxdlydm1seqr ctxdlydm2seqr multidlydmseqr "
    "dmsseqr dnmsseqr dmcseqr dnmcseqr goseql rtgoseql dlygoseql antiseql rtantiseql dlyantiseql dm1seql dm2seql "
    "ctxdm1seql ctxdm2seql multidmseql dlydm1seql dlydm2seql ctxdlydm1seql ctxdlydm2seql multidlydmseql dmsseql "
    "dnmsseql dmcseql dnmcseql"
).split()


def circ(a, b):
    d = np.abs(np.asarray(a) - np.asarray(b)) % TWO_PI
    return np.minimum(d, TWO_PI - d)


@pytest.fixture(scope="module")
def suite():
    return ModCogSuite(n_eachring=16, dt_ms=20.0)


def test_the_82_tasks_are_mod_cogs_in_the_order_of_its_list():
    assert TASK_NAMES_MODCOG == tuple(README_ORDER) and len(set(TASK_NAMES_MODCOG)) == 82
    assert len(DELAY_TASKS) == 11 and sum(t.endswith(("intr", "intl")) for t in TASK_NAMES_MODCOG) == 22


def test_one_rule_input_per_task_and_yang_names_for_the_base_tasks(suite):
    assert suite.n_input == 1 + 2 * 16 + 82 and suite.n_output == 17
    assert [suite.rule_column(t) for t in TASK_NAMES_MODCOG] == list(range(33, 33 + 82))
    assert suite.canonical("fdgo") == "go" and suite.canonical("DelayGo") == "dlygo"
    with pytest.raises(ValueError, match="did you mean 'goseqr'"):
        suite.canonical("goseqrr")


@pytest.mark.parametrize("name", list(TASK_ALIASES))
def test_a_base_task_is_yangs_task_with_its_own_rule_input(suite, name):
    yang = YangSuite(n_eachring=16, dt_ms=20.0)
    a = suite.sample(np.random.default_rng(5), 9, task=name)
    b = yang.sample(np.random.default_rng(5), 9, task=TASK_ALIASES[name])
    assert np.array_equal(a.x[..., :33], b.x[..., :33])
    for key in ("y", "c_mask", "y_loc", "target_class"):
        assert np.array_equal(a.pieces[key].dense(), b.pieces[key].dense())


@pytest.mark.parametrize("name", [f"{t}int{d}" for t in DELAY_TASKS for d in "rl"])
def test_int_turns_the_response_by_omega_times_the_drawn_delay(suite, name):
    base = name[:-4]
    sense = 1 if name.endswith("r") else -1
    seen = set()
    for seed in range(12):
        a = suite.sample(np.random.default_rng(seed), 32, task=name)
        b = YangSuite(n_eachring=16, dt_ms=20.0).build(TASK_ALIASES[base], {
            k: v for k, v in a.info.items() if k not in ("go", "resp_loc", "match")})
        delay = a.info["delay_dur"]
        seen.add(delay)
        assert delay in INT_DELAYS_MS
        first, end = a.epochs["delay1"]
        assert end - first == int(delay / 20.0)
        go = a.info["go"]
        want = np.mod(b.info["resp_loc"] + sense * suite.omega * delay, TWO_PI)
        assert circ(a.y_loc[-1][go], want[go]).max() < 1e-5
        assert (a.y_loc[-1][~go] == -1).all()
    assert len(seen) >= 6  # the delay is drawn per batch


@pytest.mark.parametrize("name", [f"{t}seq{d}" for t in TASK_ALIASES for d in "rl"])
def test_seq_moves_the_target_round_the_ring_through_a_1000_ms_response(suite, name):
    sense = 1 if name.endswith("r") else -1
    a = suite.sample(np.random.default_rng(2), 16, task=name)
    start = a.epochs["go1"][0]
    assert a.n_steps - start == int(1000 / 20.0)
    go = a.info["go"]
    track = a.y_loc[start:, go].astype(np.float64)
    assert circ(track[0], a.info["resp_loc"][go]).max() < 1e-5
    steps = np.mod(np.diff(track, axis=0) * sense, TWO_PI)
    assert np.allclose(steps, suite.omega * 20.0, atol=1e-5)
    assert (a.y_loc[start:, ~go] == -1).all()
    # The target class follows the moving bump: the nearest ring unit at each step.
    nearest = 1 + np.argmin(circ(track[..., None], suite.pref), axis=-1)
    assert np.array_equal(a.target_class[start:, go], nearest)


def test_a_task_list_and_probabilities_select_the_tasks(suite):
    few = ModCogSuite(["goseqr", "dmsintl"], task_probs=[0.0, 1.0])
    rng = np.random.default_rng(0)
    assert {few.sample(rng, 2).task for _ in range(20)} == {"dmsintl"}
    with pytest.raises(ValueError, match="duplicate"):
        ModCogSuite(["go", "fdgo"])
