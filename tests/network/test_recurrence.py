"""The hand-written backward of the leaky recurrence, against finite differences and autograd,
and the evaluation's noise and piecewise drive against the training path's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growsim.network import LeakyRNN
from growsim.network._recurrence import ACTIVATIONS, leaky_recurrence


def _autograd_loop(drive, w, alpha, activation):
    """The recurrence as autograd sees it, one step at a time (today's oracle)."""
    f, h, out = ACTIVATIONS[activation], drive.new_zeros(drive.shape[1:]), []
    for d in drive.unbind(0):
        h = (1 - alpha) * h + alpha * f(d + h @ w.transpose(-1, -2))
        out.append(h)
    return torch.stack(out)


def _inputs(shape, wshape, seed=0):
    g = torch.Generator().manual_seed(seed)
    drive = torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()
    w = (0.6 * torch.randn(*wshape, generator=g, dtype=torch.float64)).requires_grad_()
    return drive, w


SHAPES = [((9, 4, 5), (5, 5)), ((9, 3, 4, 5), (3, 5, 5)), ((1, 4, 5), (5, 5))]


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
@pytest.mark.parametrize("shape,wshape", SHAPES)
def test_gradients_pass_finite_differences(activation, shape, wshape):
    drive, w = _inputs(shape, wshape)
    if activation == "relu":  # keep pre-activations away from the kink, where finite differences fail
        with torch.no_grad():
            drive += 0.05 * torch.sign(drive)
            w.mul_(0.1)
    assert torch.autograd.gradcheck(lambda d, w: leaky_recurrence(d, w, 0.3, activation), (drive, w), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
@pytest.mark.parametrize("shape,wshape", SHAPES)
def test_rates_and_gradients_equal_autograd_through_the_loop(activation, shape, wshape):
    drive, w = _inputs(shape, wshape, seed=1)
    upstream = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ours = leaky_recurrence(drive, w, 0.2, activation)
    grads = torch.autograd.grad((ours * upstream).sum(), (drive, w))
    theirs = _autograd_loop(drive, w, 0.2, activation)
    expected = torch.autograd.grad((theirs * upstream).sum(), (drive, w))
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_without_gradients_the_same_rates_and_nothing_kept():
    drive, w = _inputs((12, 3, 6), (6, 6), seed=3)
    with torch.no_grad():
        quiet = leaky_recurrence(drive, w, 0.2, "relu")
    assert quiet.grad_fn is None
    torch.testing.assert_close(quiet, leaky_recurrence(drive, w, 0.2, "relu").detach(), rtol=0, atol=0)


def test_only_the_gradients_asked_for():
    drive, w = _inputs((5, 2, 3), (3, 3))
    fixed = w.detach()
    (grad_drive,) = torch.autograd.grad(leaky_recurrence(drive, fixed, 0.2, "tanh").sum(), (drive,))
    assert grad_drive.shape == drive.shape
    (grad_w,) = torch.autograd.grad(leaky_recurrence(drive.detach(), w, 0.2, "tanh").sum(), (w,))
    assert grad_w.shape == w.shape and torch.any(grad_w != 0)


def _net(n=7, n_in=5, seed=0):
    rng = np.random.default_rng(seed)
    return LeakyRNN(
        w_in=torch.tensor(rng.standard_normal((n, n_in)), dtype=torch.float64),
        w_rec=torch.tensor(rng.standard_normal((n, n)) * 0.3, dtype=torch.float64),
        w_out=torch.tensor(rng.standard_normal((3, n)), dtype=torch.float64),
        mask=torch.tensor(rng.random((n, n)) < 0.5),
        alpha=0.2,
        sigma_rec=0.05,
        sigma_x=0.01,
    )


def test_piecewise_drive_is_the_dense_drive_plus_the_given_noise():
    net = _net()
    with torch.no_grad():
        net.b_rec.normal_()
    rng = np.random.default_rng(4)
    rows = rng.standard_normal((3, 6, 5))  # 3 distinct input rows of 6 trials
    index = np.array([0, 0, 1, 1, 1, 2, 0, 2])
    noise = torch.tensor(rng.standard_normal((10, 6, 7)))  # longer than the trial: the first 8 steps count
    got = net.piecewise_drive(torch.tensor(rows), torch.tensor(index), noise)
    want = net.drive(torch.tensor(rows[index]), noise=False) + noise[:8]
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        net.piecewise_drive(torch.tensor(rows), torch.tensor(index)), net.drive(torch.tensor(rows[index]), noise=False)
    )


def test_external_noise_has_the_drives_covariance():
    # The noise part of drive() is W_in n_x + n_rec: covariance (2/alpha)(sx^2 W_in W_in^T + sr^2 I).
    net = _net(n=4, n_in=3)
    g = torch.Generator().manual_seed(5)
    noise = net.external_noise(200, 500, g).reshape(-1, 4)
    w_in = net.w_in.detach()
    expected = (2 / 0.2) * (0.01**2 * w_in @ w_in.T + 0.05**2 * torch.eye(4, dtype=torch.float64))
    torch.testing.assert_close(torch.cov(noise.T), expected, rtol=0.03, atol=1e-4)
    assert abs(noise.mean().item()) < 2e-3
    # and drive() with noise scatters about the noise-free drive with that same covariance
    x = torch.zeros(200, 500, 3, dtype=torch.float64)
    scatter = (net.drive(x, noise=True, generator=g) - net.drive(x, noise=False)).reshape(-1, 4).detach()
    torch.testing.assert_close(torch.cov(scatter.T), expected, rtol=0.03, atol=1e-4)


def test_external_noise_draws_nothing_it_does_not_need():
    net = _net()
    net.sigma_x = net.sigma_rec = 0.0
    assert torch.all(net.external_noise(3, 2) == 0)
