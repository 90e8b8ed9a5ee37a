"""Tests of growsim.metrics.wiring_cost: wiring length, BIMT costs, strength schedules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growsim.metrics.wiring_cost import (
    active_connections,
    bimt_cost,
    distance_weighted_l1,
    l1_cost,
    piecewise_schedule,
    wiring_length,
)


def _grid_l1(n_h: int) -> np.ndarray:
    """Liu et al.'s (N, N) L1 distances of an n_h x n_h grid at (i/n_h, j/n_h)."""
    ij = np.stack(np.unravel_index(np.arange(n_h * n_h), (n_h, n_h)), axis=1) / n_h
    return np.abs(ij[:, None, :] - ij[None, :, :]).sum(axis=2)


# ---------------------------------------------------------------- metrics


def test_active_connections_and_wiring_length_by_hand():
    w = np.array([[0.0, 0.5, -0.02], [0.01, -0.011, 2.0], [-3.0, 0.0, 0.009]])
    d = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    # |w| > 1e-2: 0.5, 0.02, 0.011, 2.0, 3.0 (0.01 is not above the threshold).
    expected = np.array([[False, True, True], [False, True, True], [True, False, False]])
    np.testing.assert_array_equal(active_connections(w), expected)
    assert wiring_length(w, d) == 1.0 + 2.0 + 0.0 + 3.0 + 2.0
    assert wiring_length(w, d, threshold=1.0) == 3.0 + 2.0
    assert active_connections(w, threshold=0.0).sum() == 7


def test_wiring_length_errors():
    with pytest.raises(ValueError, match="shape"):
        wiring_length(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="real numbers"):
        active_connections(np.array(["a"]))


# ---------------------------------------------------------------- costs


def test_costs_match_liu_eq2_with_numpy_and_torch():
    rng = np.random.default_rng(0)
    d = _grid_l1(4)
    w_rec, w_in, w_out = rng.normal(size=(16, 16)), rng.normal(size=(16, 5)), rng.normal(size=(3, 16))
    b_rec, b_out = rng.normal(size=16), rng.normal(size=3)
    params = [w_rec, w_in, w_out, b_rec, b_out]
    l1 = sum(np.abs(p).sum() for p in params)
    assert l1_cost(params) == pytest.approx(l1, rel=1e-12)
    expected_local = 2.5 * sum(d[i, j] * abs(w_rec[i, j]) for i in range(16) for j in range(16))
    assert distance_weighted_l1(w_rec, d, A=2.5) == pytest.approx(expected_local, rel=1e-12)
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    cost = l1_cost(tensors) + distance_weighted_l1(tensors[0], torch.tensor(d), A=2.5)
    assert cost.item() == pytest.approx(l1 + expected_local, rel=1e-12)
    cost.backward()
    # d|w|/dw = sign(w): gradient of the L1 term, plus A * D * sign(W) for W_rec.
    np.testing.assert_allclose(tensors[0].grad.numpy(), np.sign(w_rec) * (1 + 2.5 * d), rtol=1e-12)
    np.testing.assert_allclose(tensors[4].grad.numpy(), np.sign(b_out))


def test_numpy_distances_with_a_tensor_weight_are_converted():
    w = torch.randn(6, 6, dtype=torch.float32, requires_grad=True)
    d = _grid_l1(3)[:6, :6]
    out = distance_weighted_l1(w, d)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.requires_grad
    assert out.item() == pytest.approx(float((d * np.abs(w.detach().numpy())).sum()), rel=1e-6)
    with pytest.raises(ValueError, match="shape"):
        distance_weighted_l1(w, np.ones((6, 5)))


def test_bimt_cost_is_l1_plus_distance_term():
    rng = np.random.default_rng(1)
    w, d = rng.normal(size=(9, 9)), _grid_l1(3)
    got = bimt_cost(w, d, weight_factor=2.0, l0=0.5)
    assert got == pytest.approx(float((np.abs(w) * (2.0 * d + 0.5)).sum()), rel=1e-12)
    assert got == pytest.approx(0.5 * l1_cost([w]) + distance_weighted_l1(w, d, A=2.0), rel=1e-12)
    wt = torch.tensor(w, requires_grad=True)
    bimt_cost(wt, torch.tensor(d), weight_factor=2.0, l0=0.5).backward()
    np.testing.assert_allclose(wt.grad.numpy(), np.sign(w) * (2.0 * d + 0.5), rtol=1e-12)


def test_l1_cost_of_nothing_is_zero():
    assert l1_cost([]) == 0.0


# ---------------------------------------------------------------- schedules


def _notebook_lambda(step: int, steps: int, lamb: float, switches: list[tuple[float, float]]) -> float:
    """The BIMT notebooks' loop: multiply lambda by a factor when step == int(steps * f)."""
    for s in range(step + 1):
        for f, factor in switches:
            if s == int(steps * f):
                lamb *= factor
    return lamb


@pytest.mark.parametrize("steps", [20000, 10001, 333, 7])
def test_step_schedule_matches_the_bimt_notebooks(steps):
    # x10 at 1/4 of training, x0.1 at 3/4 (modular addition, symbolic formulas).
    points = [(0.0, 1e-3), (0.25, 1e-2), (0.75, 1e-3)]
    probe = sorted({0, 1, steps // 4 - 1, steps // 4, steps // 4 + 1, 3 * steps // 4 - 1, 3 * steps // 4, steps - 1})
    for step in probe:
        expected = _notebook_lambda(step, steps, 1e-3, [(0.25, 10.0), (0.75, 0.1)])
        assert piecewise_schedule(step, steps, points) == pytest.approx(expected, rel=1e-9), step


def test_step_schedule_boundaries_and_rounding():
    points = [(0, 1.0), (0.29, 2.0), (0.5, 3.0)]
    # 0.29 * 100 is 28.999999999999996 in floating point: the switch must still be at 29.
    assert piecewise_schedule(28, 100, points) == 1.0
    assert piecewise_schedule(29, 100, points) == 2.0
    assert piecewise_schedule(49, 100, points) == 2.0
    assert piecewise_schedule(50, 100, points) == 3.0
    assert piecewise_schedule(10**6, 100, points) == 3.0  # past the end: the last value


def test_linear_schedule_interpolates():
    points = [(0.0, 0.0), (0.5, 1.0), (1.0, 3.0)]
    assert piecewise_schedule(0, 100, points, mode="linear") == 0.0
    assert piecewise_schedule(25, 100, points, mode="linear") == pytest.approx(0.5)
    assert piecewise_schedule(75, 100, points, mode="linear") == pytest.approx(2.0)
    assert piecewise_schedule(200, 100, points, mode="linear") == 3.0
    assert piecewise_schedule(5, 10, [(0.0, 4.0)], mode="linear") == 4.0


@pytest.mark.parametrize(
    "args, match",
    [
        ((-1, 10, [(0, 1.0)]), "step"),
        ((1.5, 10, [(0, 1.0)]), "step"),
        ((1, 0, [(0, 1.0)]), "total_steps"),
        ((1, 10, []), "at least one"),
        ((1, 10, [(0.1, 1.0)]), "fraction 0.0"),
        ((1, 10, [(0, 1.0), (0.5, 2.0), (0.5, 3.0)]), "increase strictly"),
        ((1, 10, [(0, 1.0), (1.5, 2.0)]), "increase strictly"),
        ((1, 10, [(0, float("nan"))]), "finite"),
        ((1, 10, [0.5]), "pairs"),
        ((1, 10, [(0, 1.0)], "cosine"), "unknown schedule mode"),
    ],
)
def test_schedule_errors(args, match):
    with pytest.raises(ValueError, match=match):
        piecewise_schedule(*args)


def test_weight_distance_profile_bins_every_pair_but_the_diagonal():
    from growsim.metrics.wiring_cost import weight_distance_profile

    rng = np.random.default_rng(0)
    n = 30
    pos = rng.random((n, 2))
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)  # continuous distances: equal bins
    w = rng.normal(size=(n, n))
    prof = weight_distance_profile(w, d, max_bins=7, threshold=0.5)
    assert prof.distance.shape == (7,) and prof.n_pairs.sum() == n * (n - 1)
    edges = np.linspace(0, d.max(), 8)
    for k in range(7):
        last = k == 6
        inside = (d >= edges[k]) & ((d <= edges[k + 1]) if last else (d < edges[k + 1])) & ~np.eye(n, dtype=bool)
        assert prof.n_pairs[k] == inside.sum()
        if inside.any():
            assert prof.mean_abs_weight[k] == pytest.approx(np.abs(w[inside]).mean())
            assert prof.active_fraction[k] == pytest.approx(np.mean(np.abs(w[inside]) > 0.5))
        assert prof.distance[k] == pytest.approx((edges[k] + edges[k + 1]) / 2)
    # A lattice's few distances get a bin each.
    line = np.abs(np.arange(5)[:, None] - np.arange(5)[None]).astype(float)
    exact = weight_distance_profile(np.ones((5, 5)), line)
    np.testing.assert_array_equal(exact.distance, [1, 2, 3, 4])
    np.testing.assert_array_equal(exact.n_pairs, [8, 6, 4, 2])
    with pytest.raises(ValueError, match="same"):
        weight_distance_profile(np.ones((3, 3)), np.ones((3, 4)))
