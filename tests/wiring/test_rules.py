"""Built-in wiring rules: what they may choose, and with what probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from growsim.wiring import (
    WiringRequest,
    WiringRuleError,
    candidate_mask,
    choose_synapses,
    get_rule,
)
from growsim.wiring.rules import DistanceParams, MixtureParams, RandomParams


def _request(distances, mask=None, n=1, seed=0, autapses=False):
    size = distances.shape[0]
    mask = np.zeros((size, size), bool) if mask is None else mask
    return WiringRequest(
        distances=distances,
        mask=mask,
        candidates=candidate_mask(mask, allow_autapses=autapses),
        n=n,
        rng=np.random.default_rng(seed),
        weights=np.zeros((size, size)),
    )


def _line(n):
    x = np.arange(n, dtype=float)
    return np.abs(x[:, None] - x[None, :])


@pytest.mark.parametrize("rule", ["distance", "random", "mixture"])
def test_rules_choose_distinct_absent_non_autapse_synapses(rule):
    info = get_rule(rule)
    d = _line(10)
    mask = np.zeros((10, 10), bool)
    mask[3, 4] = mask[5, 6] = True
    pairs = choose_synapses(info, info.params(), _request(d, mask, n=40))
    assert pairs.shape == (40, 2)
    assert len({tuple(p) for p in pairs}) == 40
    assert not np.any(pairs[:, 0] == pairs[:, 1]), "no autapses unless allowed"
    assert not mask[pairs[:, 0], pairs[:, 1]].any(), "never an existing synapse"


def test_all_synapses_can_be_filled_and_autapses_when_allowed():
    info = get_rule("random")
    pairs = choose_synapses(info, RandomParams(), _request(_line(4), n=16, autapses=True))
    assert sorted(map(tuple, pairs)) == [(i, j) for i in range(4) for j in range(4)]


def test_distance_rule_matches_its_probabilities():
    # Three neurons on a line at 0, 1, 3: with eta = -1 the first draw picks i<-j with
    # probability (d_ij + eps)^-1 / sum over the 6 candidates (computed by hand).
    pos = np.array([0.0, 1.0, 3.0])
    d = np.abs(pos[:, None] - pos[None, :])
    params = DistanceParams(eta=-1.0, eps=1e-9)
    weights = {(i, j): 1 / d[i, j] for i in range(3) for j in range(3) if i != j}
    total = sum(weights.values())  # 1 + 1 + 1/3 + 1/3 + 1/2 + 1/2 = 11/3
    assert total == pytest.approx(11 / 3)
    rng = np.random.default_rng(1)
    counts = {k: 0 for k in weights}
    draws = 20000
    info = get_rule("distance")
    for _ in range(draws):
        req = _request(d, n=1)
        req = WiringRequest(**{**req.__dict__, "rng": rng})
        counts[tuple(choose_synapses(info, params, req)[0])] += 1
    for k, w in weights.items():
        expected = w / total
        assert counts[k] / draws == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / draws))


def test_strong_distance_preference_picks_nearest_pairs():
    d = _line(20)
    info = get_rule("distance")
    pairs = choose_synapses(info, DistanceParams(eta=-20.0), _request(d, n=10))
    assert np.all(np.abs(pairs[:, 0] - pairs[:, 1]) == 1)


def test_random_rule_is_uniform():
    d = _line(6)
    info = get_rule("random")
    rng = np.random.default_rng(2)
    counts = np.zeros((6, 6))
    draws = 15000
    for _ in range(draws):
        req = WiringRequest(**{**_request(d).__dict__, "rng": rng})
        p = choose_synapses(info, RandomParams(), req)[0]
        counts[p[0], p[1]] += 1
    off = counts[~np.eye(6, dtype=bool)] / draws
    assert np.allclose(off, 1 / 30, atol=4 * np.sqrt((1 / 30) * (29 / 30) / draws))
    assert counts.trace() == 0


def test_mixture_extremes_equal_its_parts():
    d = _line(30)
    near = choose_synapses(get_rule("mixture"), MixtureParams(p_random=0.0, eta=-20.0), _request(d, n=15))
    assert np.all(np.abs(near[:, 0] - near[:, 1]) == 1)
    far = choose_synapses(get_rule("mixture"), MixtureParams(p_random=1.0, eta=-20.0), _request(d, n=200, seed=3))
    assert np.mean(np.abs(far[:, 0] - far[:, 1])) > 5  # uniform pairs are far apart on average


def test_mixture_fraction_of_random_draws():
    # With eta very negative, a distance draw is always a neighbour pair and a random
    # draw almost never is, so the share of non-neighbours estimates p_random (300
    # draws stay below the 398 neighbour pairs of a 200-neuron line).
    d = _line(200)
    params = MixtureParams(p_random=0.3, eta=-30.0)
    far = [
        np.abs(np.diff(choose_synapses(get_rule("mixture"), params, _request(d, n=300, seed=s)), axis=1)) > 1
        for s in range(5)
    ]
    assert np.mean(far) == pytest.approx(0.3, abs=0.05)  # 1,500 draws: about 4 standard errors


def test_same_generator_same_choice():
    d = _line(12)
    info = get_rule("distance")
    a = choose_synapses(info, DistanceParams(), _request(d, n=10, seed=5))
    b = choose_synapses(info, DistanceParams(), _request(d, n=10, seed=5))
    c = choose_synapses(info, DistanceParams(), _request(d, n=10, seed=6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_choose_synapses_rejects_bad_answers():
    from growsim.wiring.registry import RuleInfo, NoParams

    d = _line(5)
    mask = np.zeros((5, 5), bool)
    mask[0, 1] = True

    def make(fn):
        return RuleInfo("bad", fn, NoParams, "test")

    with pytest.raises(WiringRuleError, match="shape"):
        choose_synapses(make(lambda r, p: np.zeros((3, 2), int)), NoParams(), _request(d, mask, n=2))
    with pytest.raises(WiringRuleError, match="twice"):
        choose_synapses(make(lambda r, p: np.array([[2, 3], [2, 3]])), NoParams(), _request(d, mask, n=2))
    with pytest.raises(WiringRuleError, match="exists already"):
        choose_synapses(make(lambda r, p: np.array([[0, 1]])), NoParams(), _request(d, mask, n=1))
    with pytest.raises(WiringRuleError, match="exists already or is not allowed"):
        choose_synapses(make(lambda r, p: np.array([[2, 2]])), NoParams(), _request(d, mask, n=1))
    with pytest.raises(WiringRuleError, match="outside"):
        choose_synapses(make(lambda r, p: np.array([[7, 1]])), NoParams(), _request(d, mask, n=1))
    with pytest.raises(WiringRuleError, match="raised ZeroDivisionError"):
        choose_synapses(make(lambda r, p: 1 / 0), NoParams(), _request(d, mask, n=1))
