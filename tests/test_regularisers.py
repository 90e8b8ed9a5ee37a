"""Regularisation terms (growsim.train.regularisers) against hand-computed values."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from growsim.metrics.wiring_cost import distance_weighted_l1, l1_cost
from growsim.network import LeakyRNN
from growsim.train.regularisers import ALL_PARAMS, Regularisers, Term, liu_terms, strength_at


def _params(dtype=torch.float64, requires_grad=True):
    vals = {
        "w_rec": [[0.0, -2.0], [3.0, 0.5]],
        "w_in": [[1.0], [-1.0]],
        "w_out": [[0.25, -0.75]],
        "b_rec": [0.5, -0.5],
        "b_out": [2.0],
    }
    return {k: torch.tensor(v, dtype=dtype, requires_grad=requires_grad) for k, v in vals.items()}


# Neurons 1 length unit apart; a self-connection has length 0.
D = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
L1_ALL = (2 + 3 + 0.5) + 2 + 1 + 1 + 2  # w_rec, w_in, w_out, b_rec, b_out
WIRING = 2 * 1 + 3 * 1 + 0.5 * 0  # sum D |W_rec|


def test_hand_computed_values_and_total():
    reg = Regularisers(
        [Term("l1", "l1", strength=0.1), Term("wire", "wiring", strength=0.01, A=2.0, l0=0.5)], D
    )
    total, values = reg(_params(), step=0, total_steps=10)
    assert values["l1"].item() == pytest.approx(L1_ALL)
    # sum |W| (A D + l0) = A * 5 + 0.5 * 5.5
    assert values["wire"].item() == pytest.approx(2.0 * WIRING + 0.5 * 5.5)
    assert total.item() == pytest.approx(0.1 * L1_ALL + 0.01 * (2.0 * WIRING + 0.5 * 5.5))
    assert not values["l1"].requires_grad  # detached for logging
    assert total.requires_grad


def test_subset_of_params():
    reg = Regularisers([Term("rec", "l1", ("w_rec", "b_rec"), strength=1.0)])
    total, values = reg(_params(), 0, 1)
    assert values["rec"].item() == pytest.approx(5.5 + 1.0)
    assert total.item() == pytest.approx(6.5)


def test_liu_mapping_equals_lambda_times_connection_cost():
    lam, A = 1e-5, 1.0
    reg = Regularisers(liu_terms(lam, A), D)
    p = _params()
    total, values = reg(p, 3, 10)
    l_cc = l1_cost([p[k] for k in ALL_PARAMS]) + distance_weighted_l1(p["w_rec"], D, A)
    torch.testing.assert_close(total, lam * l_cc)
    assert set(values) == {"l1", "wiring"}


def test_gradient_is_the_analytic_sign_times_weights():
    lam_l1, lam_w, A, l0 = 0.3, 0.07, 1.5, 0.2
    reg = Regularisers([Term("l1", "l1", strength=lam_l1), Term("w", "wiring", strength=lam_w, A=A, l0=l0)], D)
    p = _params()
    total, _ = reg(p, 0, 1)
    total.backward()
    w = p["w_rec"].detach()
    expected = lam_l1 * torch.sign(w) + lam_w * torch.sign(w) * (A * D + l0)
    torch.testing.assert_close(p["w_rec"].grad, expected)
    torch.testing.assert_close(p["w_in"].grad, lam_l1 * torch.sign(p["w_in"].detach()))


def test_gradcheck_away_from_zero():
    reg = Regularisers([Term("l1", "l1", ("w_rec",), strength=0.3), Term("w", "wiring", strength=0.2, A=2.0)], D)
    w = torch.tensor([[0.4, -2.0], [3.0, 0.5]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: reg({"w_rec": x}, 0, 1)[0], (w,))


def test_schedule_boundaries():
    t = Term("l1", "l1", strength=2.0, schedule=((0.25, 10.0), (0.75, 0.5)))
    s = [strength_at(t, step, 100) for step in (0, 24, 25, 74, 75, 99, 100, 500)]
    assert s == [2.0, 2.0, 20.0, 20.0, 1.0, 1.0, 1.0, 1.0]
    # floor(f * total): 0.29 * 100 is 28.999... in floating point but switches at 29.
    t2 = Term("l1", "l1", strength=1.0, schedule=((0.29, 3.0),))
    assert strength_at(t2, 28, 100) == 1.0 and strength_at(t2, 29, 100) == 3.0
    # A point at 0 replaces the starting multiplier.
    t3 = Term("l1", "l1", strength=1.0, schedule=((0.0, 0.0), (0.5, 1.0)))
    assert [strength_at(t3, s, 10) for s in (0, 4, 5)] == [0.0, 0.0, 1.0]
    # Uneven total: floor(0.25 * 7) = 1.
    t4 = Term("l1", "l1", strength=1.0, schedule=((0.25, 10.0),))
    assert [strength_at(t4, s, 7) for s in (0, 1, 6)] == [1.0, 10.0, 10.0]
    assert strength_at(Term("c", "l1", strength=0.5), 12345, 10) == 0.5
    with pytest.raises(ValueError):
        strength_at(t, -1, 100)
    with pytest.raises(ValueError):
        strength_at(t, 0, 0)


def test_inactive_terms_cost_nothing():
    t_off = Term("late", "wiring", strength=1.0, schedule=((0.0, 0.0), (0.5, 1.0)))
    reg = Regularisers([t_off, Term("zero", "l1", strength=0.0)], D)
    calls = []
    orig = reg.value
    reg.value = lambda term, params, *rest: calls.append(term.name) or orig(term, params, *rest)
    total, values = reg(_params(), 0, 10)
    assert calls == [] and values == {}
    assert total.item() == 0.0 and not total.requires_grad and total.grad_fn is None
    assert total.dtype == torch.float64
    total, values = reg(_params(), 5, 10)
    assert calls == ["late"] and set(values) == {"late"}
    assert total.item() == pytest.approx(WIRING)


def test_masked_network_absent_synapses_cost_nothing_and_stay_zero():
    rng = np.random.default_rng(0)
    n = 5
    mask = rng.random((n, n)) < 0.5
    net = LeakyRNN(
        w_in=torch.tensor(rng.standard_normal((n, 2))),
        w_rec=torch.tensor(rng.standard_normal((n, n))),
        w_out=torch.tensor(rng.standard_normal((1, n))),
        mask=torch.tensor(mask),
        alpha=0.5,
    )
    d = rng.random((n, n))  # numpy distances are converted once
    reg = Regularisers(liu_terms(1e-2, 1.0), d)
    full = np.abs(net.w_rec_initial.numpy())
    _, values = reg(dict(net.named_parameters()), 0, 1)
    assert values["wiring"].item() == pytest.approx(float((full * d * mask).sum()))
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    for step in range(5):
        opt.zero_grad()
        total, _ = reg(dict(net.named_parameters()), step, 5)
        total.backward()
        assert torch.all(net.w_rec.grad[~torch.tensor(mask)] == 0)
        opt.step()
    assert torch.all(net.w_rec[~torch.tensor(mask)] == 0)


def test_float32_params_with_float64_distances():
    reg = Regularisers([Term("w", "wiring", strength=1.0)], D)
    p = _params(torch.float32)
    total, values = reg(p, 0, 1)
    assert total.dtype == torch.float32
    assert values["w"].item() == pytest.approx(WIRING)


def test_term_validation_and_normalisation():
    t = Term("a", "l1", ["w_rec", "w_in"], strength=1, schedule=[[0.5, 2]])
    assert t.params == ("w_rec", "w_in") and t.schedule == ((0.5, 2.0),)
    assert isinstance(t.strength, float)
    hash(t)  # frozen, hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.strength = 2.0  # type: ignore[misc]
    assert Term("w", "wiring").params == ("w_rec",)
    assert Term("l", "l1").params == ALL_PARAMS
    bad = [
        {"name": "x", "kind": "l2"},
        {"name": "", "kind": "l1"},
        {"name": "x", "kind": "wiring", "params": ("w_in",)},
        {"name": "x", "kind": "l1", "strength": -1.0},
        {"name": "x", "kind": "l1", "strength": float("nan")},
        {"name": "x", "kind": "l1", "schedule": ((0.5, 1.0), (0.5, 2.0))},
        {"name": "x", "kind": "l1", "schedule": ((1.5, 1.0),)},
        {"name": "x", "kind": "l1", "schedule": ((0.5, -1.0),)},
        {"name": "x", "kind": "l1", "schedule": (0.5,)},
        {"name": "x", "kind": "l1", "A": 2.0},
        {"name": "x", "kind": "wiring", "l0": -0.1},
        {"name": "x", "kind": "l1", "params": ("w_rec", "w_rec")},
    ]
    for kw in bad:
        with pytest.raises(ValueError):
            Term(**kw)


def test_regularisers_validation():
    with pytest.raises(ValueError, match="duplicate"):
        Regularisers([Term("a", "l1"), Term("a", "l1")])
    with pytest.raises(ValueError, match="distance"):
        Regularisers([Term("w", "wiring", strength=1.0)])
    with pytest.raises(ValueError):
        Regularisers([Term("w", "wiring", strength=1.0)], torch.zeros(2, 3))
    reg = Regularisers([Term("a", "l1", ("w_x",), strength=1.0)])
    with pytest.raises(KeyError, match="w_x"):
        reg(_params(), 0, 1)
    reg = Regularisers([Term("w", "wiring", strength=1.0)], torch.zeros(3, 3))
    with pytest.raises(ValueError, match="shape"):
        reg(_params(), 0, 1)
    assert Regularisers([]).strengths(0, 1) == {}
    total, values = Regularisers([])(_params(), 0, 1)
    assert total.item() == 0.0 and values == {}


def test_built_in_terms_take_their_parameters_as_args_too():
    a = Term("w", "wiring", strength=1.0, args={"A": 2.0, "l0": 0.5})
    b = Term("w", "wiring", strength=1.0, A=2.0, l0=0.5)
    assert (a.A, a.l0, a.args) == (b.A, b.l0, b.args) == (2.0, 0.5, {"A": 2.0, "l0": 0.5})
    assert Term("l", "l1", args={"params": ["w_rec"]}).params == ("w_rec",)
    with pytest.raises(ValueError, match="not both"):
        Term("w", "wiring", A=2.0, args={"A": 2.0})
