"""Tests of growsim.metrics.robustness: Eq. 5 of Hamidi et al. and robustness curves."""

from __future__ import annotations

import numpy as np
import pytest

from growsim.metrics.robustness import (
    RobustnessResult,
    perturb_tau,
    perturb_weights,
    robustness_curve,
)


def fro(a) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64)))


@pytest.fixture
def w():
    return np.random.default_rng(100).normal(0.0, 0.3, size=(6, 6))


# ------------------------------------------------------------------ Eq. 5


@pytest.mark.parametrize("eps", [1e-4, 0.01, 0.3, 1.0, 7.5])
def test_weight_perturbation_has_exactly_the_norm_of_eq5(w, eps):
    new = perturb_weights(w, eps, np.random.default_rng(0))
    assert new.shape == w.shape and new.dtype == np.float64
    assert fro(new - w) == pytest.approx(eps * fro(w), rel=1e-12)


def test_weight_perturbation_direction_is_the_seeded_normal_draw(w):
    new = perturb_weights(w, 0.2, np.random.default_rng(42))
    xi = np.random.default_rng(42).standard_normal(w.shape)
    assert np.allclose((new - w) / fro(new - w), xi / fro(xi), atol=1e-12)


def test_eps_zero_and_zero_weights_leave_weights_unchanged(w):
    assert np.array_equal(perturb_weights(w, 0.0, np.random.default_rng(0)), w)
    zeros = np.zeros((3, 3))
    assert np.array_equal(perturb_weights(zeros, 1.0, np.random.default_rng(0)), zeros)


def test_float32_weights_stay_float32_and_keep_the_norm_to_float_precision(w):
    w32 = w.astype(np.float32)
    new = perturb_weights(w32, 0.1, np.random.default_rng(0))
    assert new.dtype == np.float32
    # rounding W' to float32 moves each entry by <= 6e-8 |W|: relative error ~1e-6 at eps 0.1
    assert fro(new.astype(np.float64) - w32) == pytest.approx(0.1 * fro(w32), rel=1e-5)


def test_mask_keeps_absent_synapses_at_zero_and_the_norm_exact(w):
    mask = np.random.default_rng(1).random(w.shape) < 0.4
    np.fill_diagonal(mask, False)  # no autapses, as in Hamidi's modules
    w_masked = np.where(mask, w, 0.0)
    new = perturb_weights(w_masked, 0.5, np.random.default_rng(3), mask=mask)
    assert np.all(new[~mask] == 0.0)
    assert fro(new - w_masked) == pytest.approx(0.5 * fro(w_masked), rel=1e-12)


def test_same_seed_same_perturbation_other_seed_other(w):
    a = perturb_weights(w, 0.1, np.random.default_rng(7))
    b = perturb_weights(w, 0.1, 7)
    c = perturb_weights(w, 0.1, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_input_arrays_are_not_modified(w):
    before = w.copy()
    perturb_weights(w, 1.0, np.random.default_rng(0))
    perturb_tau(np.abs(w[0]) + 1, 1.0, np.random.default_rng(0))
    assert np.array_equal(w, before)


# ------------------------------------------------------------------ tau


@pytest.mark.parametrize("eps", [0.001, 0.1, 2.0])
def test_tau_only_grows_and_has_the_norm_of_eq5(eps):
    tau = 1.0 + np.random.default_rng(5).random(15)  # Hamidi's init: 1 + U(0, 1)
    for seed in range(20):
        new = perturb_tau(tau, eps, np.random.default_rng(seed))
        assert np.all(new >= tau)
        assert np.all(new > tau)  # |xi| > 0 almost surely
        assert fro(new - tau) == pytest.approx(eps * fro(tau), rel=1e-12)


def test_tau_direction_is_abs_of_the_seeded_normal_draw():
    tau = np.array([1.0, 1.5, 2.0, 3.0])
    new = perturb_tau(tau, 0.3, np.random.default_rng(9))
    xi = np.abs(np.random.default_rng(9).standard_normal(4))
    assert np.allclose(new - tau, 0.3 * fro(tau) * xi / fro(xi), rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: perturb_weights(np.ones(3), -0.1, 0), "eps"),
        (lambda: perturb_weights(np.ones(3), float("nan"), 0), "eps"),
        (lambda: perturb_weights(np.array([1.0, np.inf]), 0.1, 0), "NaN or inf"),
        (lambda: perturb_weights(np.ones(3), 0.1, None), "Generator"),
        (lambda: perturb_weights(np.ones(3), 0.1, 0, mask=np.ones(4, bool)), "mask"),
    ],
)
def test_bad_arguments_are_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ robustness curves


def network(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "w_rec": rng.normal(size=(5, 5)),
        "w_ff": rng.normal(size=(5, 5)),
        "tau": 1.0 + rng.random(5),
        "w_out": rng.normal(size=(2, 5)),
    }


def test_curve_counts_levels_above_threshold():
    # Level l loses 2 * l * (relative change of w_rec) accuracy: with eps exact, level
    # l stays above 0.9 while 2 * l * eps < 0.1.
    base = network()

    def evaluate(weights):
        rel = fro(weights["w_rec"] - base["w_rec"]) / fro(base["w_rec"])
        return 1.0 - 2.0 * rel * np.arange(1, 5)

    res = robustness_curve(
        evaluate, base, perturb={"w_rec": "weight"}, eps=[0.0, 0.004, 0.015, 0.03, 0.2], n_draws=3, rng=0
    )
    assert isinstance(res, RobustnessResult)
    assert res.accuracies.shape == (5, 3, 4) and res.n_solved.shape == (5, 3)
    assert res.n_solved.dtype == np.int64 and res.threshold == 0.9
    assert res.n_solved.tolist() == [[4] * 3, [4] * 3, [3] * 3, [1] * 3, [0] * 3]
    assert res.eps.tolist() == [0.0, 0.004, 0.015, 0.03, 0.2]


def test_threshold_is_strict():
    res = robustness_curve(
        lambda _: [0.9, 0.9000001, 0.95], network(), perturb={"tau": "tau"}, eps=[0.1], n_draws=2, rng=0
    )
    assert res.n_solved.tolist() == [[2, 2]]
    res = robustness_curve(
        lambda _: [0.9, 0.95], network(), perturb={"tau": "tau"}, eps=[0.1], n_draws=1, rng=0, threshold=0.94
    )
    assert res.n_solved.tolist() == [[1]]


def test_evaluate_sees_every_tensor_and_only_the_named_ones_move():
    base = network()
    originals = {k: v.copy() for k, v in base.items()}
    seen = []

    def evaluate(weights):
        seen.append(weights)
        return [1.0]

    robustness_curve(evaluate, base, perturb={"w_ff": "weight", "tau": "tau"}, eps=[0.0, 0.5], n_draws=2, rng=1)
    assert len(seen) == 4
    for weights in seen:
        assert set(weights) == set(base)
        assert np.array_equal(weights["w_rec"], base["w_rec"]) and np.array_equal(weights["w_out"], base["w_out"])
        assert np.all(weights["tau"] >= base["tau"])
    assert np.array_equal(seen[0]["w_ff"], base["w_ff"])  # eps 0
    assert fro(seen[1]["w_ff"] - base["w_ff"]) == pytest.approx(0.5 * fro(base["w_ff"]), rel=1e-12)
    assert fro(seen[1]["tau"] - base["tau"]) == pytest.approx(0.5 * fro(base["tau"]), rel=1e-12)
    for k in base:  # nothing was modified in place
        assert np.array_equal(base[k], originals[k])


def test_evaluate_may_edit_its_weights_in_place():
    base = network()
    originals = {k: v.copy() for k, v in base.items()}
    seen = []

    def evaluate(weights):
        seen.append(weights["w_ff"].copy())
        for a in weights.values():
            a[...] = 0.0  # e.g. a forward pass that zeroes entries of its weights
        return [1.0]

    robustness_curve(evaluate, base, perturb={"w_ff": "weight"}, eps=[0.0, 0.1], n_draws=2, rng=0)
    assert np.array_equal(seen[0], originals["w_ff"]) and np.array_equal(seen[2], originals["w_ff"])
    for k in base:
        assert np.array_equal(base[k], originals[k])


def test_a_draw_keeps_its_direction_across_eps():
    base = network()
    deltas = []

    def evaluate(weights):
        deltas.append(weights["w_rec"] - base["w_rec"])
        return [1.0]

    eps = [0.01, 0.1, 1.0]
    robustness_curve(evaluate, base, perturb={"w_rec": "weight"}, eps=eps, n_draws=2, rng=5)
    # calls run draw by draw, eps inside
    d0 = [deltas[i] / e for i, e in enumerate(eps)]
    d1 = [deltas[3 + i] / e for i, e in enumerate(eps)]
    assert np.allclose(d0[0], d0[1]) and np.allclose(d0[0], d0[2])
    assert np.allclose(d1[0], d1[2])
    assert not np.allclose(d0[0], d1[0])


def test_tensor_and_group_scopes():
    base = network()
    base["w_ff"] = base["w_ff"] * 10  # norms differ a lot
    seen = []

    def evaluate(weights):
        seen.append(weights)
        return [1.0]

    kw = {"perturb": {"w_rec": "weight", "w_ff": "weight"}, "eps": [0.2], "n_draws": 1, "rng": 3}
    robustness_curve(evaluate, base, **kw)
    robustness_curve(evaluate, base, scope="group", **kw)
    per_tensor, group = seen
    for k in ("w_rec", "w_ff"):
        assert fro(per_tensor[k] - base[k]) == pytest.approx(0.2 * fro(base[k]), rel=1e-12)
    joint_delta = np.hypot(fro(group["w_rec"] - base["w_rec"]), fro(group["w_ff"] - base["w_ff"]))
    assert joint_delta == pytest.approx(0.2 * np.hypot(fro(base["w_rec"]), fro(base["w_ff"])), rel=1e-12)
    # Same draws: the group scope spreads one vector's noise over both matrices.
    assert fro(group["w_rec"] - base["w_rec"]) > fro(per_tensor["w_rec"] - base["w_rec"])


def test_masks_in_the_curve():
    base = network()
    mask = np.ones((5, 5), bool)
    np.fill_diagonal(mask, False)
    base["w_rec"][~mask] = 0.0
    seen = []
    robustness_curve(
        lambda wts: seen.append(wts) or [1.0],
        base,
        perturb={"w_rec": "weight"},
        eps=[1.0],
        n_draws=3,
        rng=0,
        masks={"w_rec": mask},
    )
    for weights in seen:
        assert np.all(np.diag(weights["w_rec"]) == 0.0)


def test_curve_is_deterministic_given_the_seed():
    base = network()

    def evaluate(weights):
        # a smooth stand-in for a network's accuracies
        return np.clip(1.0 - np.abs(weights["w_rec"] - base["w_rec"]).sum(axis=1)[:3] / 10, 0, 1)

    kw = {"perturb": {"w_rec": "weight"}, "eps": np.geomspace(1e-3, 1, 6), "n_draws": 4}
    a = robustness_curve(evaluate, base, rng=np.random.default_rng(2), **kw)
    b = robustness_curve(evaluate, base, rng=np.random.default_rng(2), **kw)
    c = robustness_curve(evaluate, base, rng=np.random.default_rng(3), **kw)
    assert np.array_equal(a.accuracies, b.accuracies) and np.array_equal(a.n_solved, b.n_solved)
    assert not np.array_equal(a.accuracies, c.accuracies)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"perturb": {"w_in": "weight"}}, "not in weights"),
        ({"perturb": {"w_rec": "bias"}}, "must be one of"),
        ({"perturb": {}}, "at least one"),
        ({"eps": [0.1, -1.0]}, "eps"),
        ({"eps": []}, "at least one value"),
        ({"n_draws": 0}, "n_draws"),
        ({"threshold": 90}, "threshold"),
        ({"scope": "module"}, "scope"),
        ({"masks": {"w_ff": np.ones((5, 5), bool)}}, "not perturbed"),
    ],
)
def test_curve_argument_errors(kwargs, match):
    args = {"perturb": {"w_rec": "weight"}, "eps": [0.1], "n_draws": 1, "rng": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        robustness_curve(lambda _: [1.0], network(), **args)


def test_evaluate_must_return_one_accuracy_per_level_every_time():
    calls = iter([[1.0, 1.0], [1.0]])
    with pytest.raises(ValueError, match="expected 2"):
        robustness_curve(lambda _: next(calls), network(), perturb={"w_rec": "weight"}, eps=[0.1], n_draws=2, rng=0)


def test_evaluate_may_use_torch_inside():
    torch = pytest.importorskip("torch")
    base = {k: v.astype(np.float32) for k, v in network().items()}
    x = torch.ones(5)

    def evaluate(weights):
        w = torch.from_numpy(weights["w_rec"])  # float32, no copy
        drift = torch.linalg.vector_norm(w @ x - torch.from_numpy(base["w_rec"]) @ x)
        return [float(1.0 - drift / 100.0)]

    res = robustness_curve(evaluate, base, perturb={"w_rec": "weight"}, eps=[0.0, 1.0], n_draws=2, rng=0)
    assert res.accuracies[0].ravel().tolist() == [1.0, 1.0]
    assert np.all(res.accuracies[1] < 1.0)
