"""The leaky RNN against a plain second implementation, and its mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growsim.growth.ops import add_connections, reset_optimizer
from growsim.network import LeakyRNN, draw_weight


def _net(n=6, n_in=4, n_out=3, seed=0, density=0.5, activation="relu", alpha=0.2):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    np.fill_diagonal(mask, False)
    return LeakyRNN(
        w_in=torch.tensor(rng.standard_normal((n, n_in)), dtype=torch.float64),
        w_rec=torch.tensor(rng.standard_normal((n, n)) * 0.5, dtype=torch.float64),
        w_out=torch.tensor(rng.standard_normal((n_out, n)), dtype=torch.float64),
        mask=torch.tensor(mask),
        alpha=alpha,
        activation=activation,
    )


def _reference(net: LeakyRNN, x: np.ndarray):
    """h_t = (1-a) h + a f(W_rec h + W_in x_t + b), written step by step in numpy."""
    f = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "softplus": lambda v: np.log1p(np.exp(v))}[net.activation]
    w_in, w_rec = net.w_in.detach().numpy(), net.w_rec.detach().numpy()
    w_out, b, bo = net.w_out.detach().numpy(), net.b_rec.detach().numpy(), net.b_out.detach().numpy()
    h = np.zeros((x.shape[1], w_rec.shape[0]))
    outs = []
    for t in range(x.shape[0]):
        h = (1 - net.alpha) * h + net.alpha * f(h @ w_rec.T + x[t] @ w_in.T + b)
        outs.append(h @ w_out.T + bo)
    return np.stack(outs)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_forward_matches_reference(activation):
    net = _net(activation=activation)
    with torch.no_grad():
        net.b_rec.normal_()
    x = np.random.default_rng(1).standard_normal((7, 5, 4))
    out, hidden = net(torch.tensor(x), noise=False)
    assert hidden.shape == (7, 5, 6)
    np.testing.assert_allclose(out.detach().numpy(), _reference(net, x), rtol=1e-10, atol=1e-12)


def test_absent_synapses_are_exact_zeros_and_stay_so():
    net = _net().float()
    absent = net.mask == 0
    assert torch.all(net.w_rec[absent] == 0)
    opt = torch.optim.Adam(net.parameters(), lr=0.05, weight_decay=0.1)
    x = torch.randn(10, 8, 4)
    for _ in range(20):
        out, _ = net(x, noise=True)
        loss = out.square().mean()
        opt.zero_grad()
        loss.backward()
        assert torch.all(net.w_rec.grad[absent] == 0)
        opt.step()
    assert torch.all(net.w_rec[absent] == 0)
    assert torch.any(net.w_rec[~absent] != 0)


def test_noise_has_the_scaled_variance():
    # With no recurrence and identity input weights, the first step's rate is
    # alpha * relu(n_x + n_rec) with n ~ N(0, (2/alpha)(sx^2 + sr^2)): check the variance.
    n = 200
    net = LeakyRNN(
        w_in=torch.eye(n), w_rec=torch.zeros(n, n), w_out=torch.zeros(1, n), mask=torch.zeros(n, n, dtype=torch.bool),
        alpha=0.2, activation="tanh", sigma_rec=0.05, sigma_x=0.01,
    )
    g = torch.Generator().manual_seed(0)
    _, h = net(torch.zeros(1, 500, n), noise=True, generator=g)
    pre = torch.atanh(h[0] / 0.2)
    expected = (2 / 0.2) * (0.05**2 + 0.01**2)
    assert pre.var().item() == pytest.approx(expected, rel=0.03)
    _, quiet = net(torch.zeros(1, 5, n), noise=False)
    assert torch.all(quiet == 0)


def test_add_connections_starts_new_synapses_fresh_and_keeps_old_state():
    net = _net(n=8, density=0.3).float()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x = torch.randn(5, 4, 4)
    for _ in range(3):
        out, _ = net(x, noise=False)
        opt.zero_grad()
        out.square().mean().backward()
        opt.step()
    state = opt.state[net.w_rec]
    old_avg = state["exp_avg"].clone()
    absent = (net.mask == 0).nonzero()
    absent = absent[absent[:, 0] != absent[:, 1]][:4].numpy()
    # Pretend stale state sits under the absent synapses: adding them must clear it.
    state["exp_avg"][absent[:, 0], absent[:, 1]] = 1.0
    state["exp_avg_sq"][absent[:, 0], absent[:, 1]] = 1.0
    add_connections(net, opt, absent, init="initial")
    assert torch.all(net.mask[absent[:, 0], absent[:, 1]] == 1)
    assert torch.equal(net.w_rec[absent[:, 0], absent[:, 1]], net.w_rec_initial[absent[:, 0], absent[:, 1]])
    assert torch.all(state["exp_avg"][absent[:, 0], absent[:, 1]] == 0)
    assert torch.all(state["exp_avg_sq"][absent[:, 0], absent[:, 1]] == 0)
    keep = torch.ones_like(net.mask, dtype=torch.bool)
    keep[absent[:, 0], absent[:, 1]] = False
    assert torch.equal(state["exp_avg"][keep], old_avg[keep])
    assert state["step"].item() == 3

    add_connections(net, opt, np.array([[absent[0, 1], absent[0, 0]]]), init="constant", value=0.25)
    assert net.w_rec[absent[0, 1], absent[0, 0]].item() == 0.25
    reset_optimizer(opt)
    assert len(opt.state) == 0


def test_draw_weight():
    rng = np.random.default_rng(0)
    q = draw_weight("orthogonal", (50, 50), 0.1, rng)
    np.testing.assert_allclose(q @ q.T, 0.01 * np.eye(50), atol=1e-12)
    w = draw_weight("normal", (300, 400), 1.0, rng)
    assert w.std() == pytest.approx(1 / np.sqrt(400), rel=0.02)
    assert np.array_equal(draw_weight("diagonal", (3, 3), 2.0, rng), 2 * np.eye(3))
    with pytest.raises(ValueError, match="square"):
        draw_weight("orthogonal", (3, 4), 1.0, rng)
