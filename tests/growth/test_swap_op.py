"""Neuron swaps applied to a live LeakyRNN and its optimizer (growsim.growth.swap)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from growsim.geometry import grid
from growsim.growth.swap import NEURON_AXES, bimt_swap, permute_network
from growsim.network import LeakyRNN, compose_swaps


def _net(n=9, n_in=4, n_out=3, seed=0, density=0.6):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    np.fill_diagonal(mask, False)
    net = LeakyRNN(
        w_in=torch.tensor(rng.standard_normal((n, n_in)), dtype=torch.float64),
        w_rec=torch.tensor(rng.standard_normal((n, n)) * 0.4, dtype=torch.float64),
        w_out=torch.tensor(rng.standard_normal((n_out, n)), dtype=torch.float64),
        mask=torch.tensor(mask),
        alpha=0.2,
        activation="tanh",
    )
    with torch.no_grad():
        net.b_rec.copy_(torch.tensor(rng.standard_normal(n) * 0.3))
        net.b_out.copy_(torch.tensor(rng.standard_normal(n_out)))
    return net


def _x(n_in=4, seed=1):
    return torch.tensor(np.random.default_rng(seed).standard_normal((8, 5, n_in)))


def _wiring(net, d):
    return float((np.abs(net.w_rec.detach().numpy()) * d).sum())


def _snapshot(net):
    return {k: v.detach().clone() for k, v in list(net.named_parameters()) + list(net.named_buffers())}


def test_outputs_identical_under_random_permutations():
    net = _net()
    x = _x()
    out0, hid0 = net(x, noise=False)
    rng = np.random.default_rng(5)
    total = np.arange(net.n_neurons)
    for _ in range(4):
        perm = rng.permutation(net.n_neurons)
        permute_network(net, None, perm)
        total = total[perm]
        out, hid = net(x, noise=False)
        torch.testing.assert_close(out, out0, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(hid, hid0[..., total], rtol=1e-12, atol=1e-12)


def test_every_per_neuron_quantity_moves_and_parameters_stay_the_same_objects():
    net = _net()
    before = _snapshot(net)
    ids = {k: id(v) for k, v in list(net.named_parameters()) + list(net.named_buffers())}
    perm = np.random.default_rng(2).permutation(net.n_neurons)
    t = torch.as_tensor(perm)
    permute_network(net, None, perm)
    after = _snapshot(net)
    assert ids == {k: id(v) for k, v in list(net.named_parameters()) + list(net.named_buffers())}
    for name in ("w_rec", "mask", "w_rec_initial"):
        assert torch.equal(after[name], before[name][t][:, t])
    assert torch.equal(after["w_in"], before["w_in"][t])
    assert torch.equal(after["b_rec"], before["b_rec"][t])
    assert torch.equal(after["w_out"], before["w_out"][:, t])
    assert torch.equal(after["b_out"], before["b_out"])


class _TauRNN(LeakyRNN):
    def __init__(self, base: LeakyRNN):
        super().__init__(
            w_in=base.w_in.detach(), w_rec=base.w_rec_initial, w_out=base.w_out.detach(),
            mask=base.mask.bool(), alpha=base.alpha,
        )  # fmt: skip
        self.tau = torch.nn.Parameter(torch.arange(base.n_neurons, dtype=torch.float64) + 1.0)


class _Unknown(LeakyRNN):
    def __init__(self, base: LeakyRNN):
        super().__init__(
            w_in=base.w_in.detach(), w_rec=base.w_rec_initial, w_out=base.w_out.detach(),
            mask=base.mask.bool(), alpha=base.alpha,
        )  # fmt: skip
        self.gain = torch.nn.Parameter(torch.ones(base.n_neurons, dtype=torch.float64))


def test_future_per_neuron_parameter_follows_and_unknown_ones_are_refused():
    assert NEURON_AXES["tau"] == (0,)
    net = _TauRNN(_net())
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    net.tau.sum().backward()
    opt.step()
    perm = np.random.default_rng(3).permutation(net.n_neurons)
    tau0 = net.tau.detach().clone()
    m0 = opt.state[net.tau]["exp_avg"].clone()
    permute_network(net, opt, perm)
    assert torch.equal(net.tau.detach(), tau0[perm])
    assert torch.equal(opt.state[net.tau]["exp_avg"], m0[perm])

    unk = _Unknown(_net())
    before = _snapshot(unk)
    with pytest.raises(ValueError, match="gain"):
        permute_network(unk, None, perm)
    # ... and nothing moved
    for k, v in _snapshot(unk).items():
        assert torch.equal(v, before[k])
    permute_network(unk, None, perm, extra_axes={"gain": (0,)})  # declared: accepted


def test_gradients_are_permuted_with_their_parameters():
    net = _net()
    out, _ = net(_x(), noise=False)
    out.square().mean().backward()
    g = {k: p.grad.clone() for k, p in net.named_parameters()}
    perm = np.random.default_rng(4).permutation(net.n_neurons)
    t = torch.as_tensor(perm)
    permute_network(net, None, perm)
    assert torch.equal(net.w_rec.grad, g["w_rec"][t][:, t])
    assert torch.equal(net.w_in.grad, g["w_in"][t])
    assert torch.equal(net.w_out.grad, g["w_out"][:, t])
    assert torch.equal(net.b_rec.grad, g["b_rec"][t])
    assert torch.equal(net.b_out.grad, g["b_out"])


def _loss(net, x):
    out, _ = net(x, noise=False)
    # A permutation-invariant loss: prediction error plus plain L1 of every parameter.
    return out.square().mean() + 1e-3 * sum(p.abs().sum() for p in net.parameters())


_OPTIMIZERS = {
    "adam_amsgrad": lambda ps: torch.optim.Adam(ps, lr=1e-2, amsgrad=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("opt_name", sorted(_OPTIMIZERS))
def test_a_step_after_a_swap_equals_the_step_then_the_swap(opt_name):
    make = _OPTIMIZERS[opt_name]
    a, b = _net(), _net()  # two identical networks (deepcopy would drop w_rec's mask hook)
    opt_a, opt_b = make(a.parameters()), make(b.parameters())
    x = _x()
    for _ in range(3):  # build optimizer state on both, identically
        for net, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            _loss(net, x).backward()
            opt.step()
    perm = np.random.default_rng(7).permutation(a.n_neurons)
    permute_network(b, opt_b, perm)  # b: swap, then step
    for net, opt in ((a, opt_a), (b, opt_b)):
        opt.zero_grad()
        _loss(net, x).backward()
        opt.step()
    permute_network(a, opt_a, perm)  # a: step, then swap
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    for name, param_a in pa.items():
        torch.testing.assert_close(pb[name], param_a, rtol=1e-9, atol=1e-12, msg=name)
        sa, sb = opt_a.state[param_a], opt_b.state[pb[name]]
        assert sa.keys() == sb.keys() and sa
        for key in sa:
            if torch.is_tensor(sa[key]):
                torch.testing.assert_close(sb[key], sa[key], rtol=1e-9, atol=1e-12, msg=f"{name}.{key}")
            else:
                assert sb[key] == sa[key]
    for name, buf in a.named_buffers():
        assert torch.equal(dict(b.named_buffers())[name], buf)


def test_mask_stays_consistent_through_swaps_and_training():
    net = _net(n=16, density=0.4)
    d = grid((4, 4)).distances
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    x = _x()
    n_conn = net.n_connections
    for step in range(6):
        if step % 2 == 0:
            permute_network(net, opt, np.random.default_rng(step).permutation(16))
        else:
            bimt_swap(net, opt, d, top_k=4)
        absent = net.mask == 0
        assert torch.all(net.w_rec[absent] == 0)
        assert net.n_connections == n_conn
        opt.zero_grad()
        _loss(net, x).backward()
        assert torch.all(net.w_rec.grad[absent] == 0)
        opt.step()
        assert torch.all(net.w_rec[net.mask == 0] == 0)
        assert torch.all(opt.state[net.w_rec]["exp_avg"][net.mask == 0] == 0)


def test_bimt_swap_keeps_outputs_and_never_raises_the_cost():
    net = _net(n=16, density=0.7, seed=3)
    d = grid((4, 4)).distances
    x = _x()
    out0, _ = net(x, noise=False)
    costs = [_wiring(net, d)]
    applied = []
    for _ in range(5):
        swaps = bimt_swap(net, None, d, top_k=6)
        applied += swaps
        costs.append(_wiring(net, d))
        out, _ = net(x, noise=False)
        torch.testing.assert_close(out, out0, rtol=1e-10, atol=1e-12)
    assert applied  # a random network on a grid always has something to gain
    assert all(c1 <= c0 + 1e-12 for c0, c1 in itertools.pairwise(costs))
    assert costs[-1] < costs[0]
    for i, j in applied:
        assert 0 <= i < 16 and 0 <= j < 16 and i != j


def _line_net(w_in_big: bool = False):
    """4 neurons on a line (D = |i - j|), one strong loop between the ends 0 and 3."""
    n = 4
    w = torch.zeros(n, n, dtype=torch.float64)
    w[0, 3] = w[3, 0] = 1.0
    w_in = torch.zeros(n, 2, dtype=torch.float64)
    if w_in_big:
        w_in[1] = 10.0  # neuron 1: the largest total weight, but no recurrent synapse
    mask = torch.ones(n, n, dtype=torch.bool)
    mask.fill_diagonal_(False)
    net = LeakyRNN(w_in=w_in, w_rec=w, w_out=torch.zeros(1, n, dtype=torch.float64), mask=mask, alpha=0.5)
    d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]).astype(float)
    return net, d


def test_bimt_swap_hand_built_case():
    net, d = _line_net()
    assert _wiring(net, d) == 6.0  # 1 * 3 + 1 * 3
    # Neurons 0 and 3 tie for the top rank; 0 goes first (stable order). Moving it to
    # position 2 (next to 3) costs 2 x 1; to position 1, 2 x 2: swap (0, 2).
    swaps = bimt_swap(net, None, d, top_k=1)
    assert swaps == [(0, 2)]
    assert _wiring(net, d) == 2.0
    expected = torch.zeros(4, 4, dtype=torch.float64)
    expected[2, 3] = expected[3, 2] = 1.0
    assert torch.equal(net.w_rec.detach(), expected)
    assert torch.equal(net.mask[2, 2], torch.tensor(0.0, dtype=torch.float64))  # self-loop slot moved too
    # Already optimal for one pair of neighbours: nothing more to gain.
    assert bimt_swap(net, None, d, top_k=4) == []
    assert _wiring(net, d) == 2.0


def test_include_io_decides_the_ranking():
    net, d = _line_net(w_in_big=True)
    # With input weights, neuron 1 (no recurrent synapse) ranks first. Its best move is
    # to trade places with neuron 3, which puts 3 next to 0: cost 6 -> 2 (with 0: 4).
    with_io, _ = _line_net(w_in_big=True)
    assert bimt_swap(with_io, None, d, top_k=1, include_io=True) == [(1, 3)]
    assert _wiring(with_io, d) == 2.0
    assert torch.equal(with_io.w_in[3], torch.full((2,), 10.0, dtype=torch.float64))
    # On W_rec alone, neuron 0 ranks first and moves right next to 3 instead.
    assert bimt_swap(net, None, d, top_k=1, include_io=False) == [(0, 2)]
    assert _wiring(net, d) == 2.0
    assert torch.equal(net.w_in[1], torch.full((2,), 10.0, dtype=torch.float64))  # neuron 1 stayed


def test_bimt_swap_weight_factor_l0_and_arguments():
    net, d = _line_net()
    assert bimt_swap(net, None, d, top_k=1, weight_factor=0.0) == []  # no cost change possible
    assert bimt_swap(net, None, d, top_k=0) == []
    assert bimt_swap(_line_net()[0], None, d, top_k=1, l0=0.5, weight_factor=3.0) == [(0, 2)]
    with pytest.raises(ValueError):
        bimt_swap(net, None, d, top_k=-1)
    with pytest.raises(ValueError):
        bimt_swap(net, None, d, top_k=1, weight_factor=-1.0)
    assert bimt_swap(net, None, torch.as_tensor(d), top_k=1) == [(0, 2)]  # tensors accepted


def test_bimt_swap_returns_the_swaps_it_applied():
    net = _net(n=16, density=0.7, seed=8)
    ref = _snapshot(net)
    d = grid((4, 4)).distances
    swaps = bimt_swap(net, None, d, top_k=8)
    perm = torch.as_tensor(compose_swaps(16, swaps))
    assert torch.equal(net.w_rec.detach(), ref["w_rec"][perm][:, perm])
    assert torch.equal(net.w_in.detach(), ref["w_in"][perm])


def test_unpermutable_optimizer_state_is_refused_before_anything_changes():
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    opt.state[net.w_rec]["odd"] = torch.zeros(3)
    before = _snapshot(net)
    with pytest.raises(ValueError, match="odd"):
        permute_network(net, opt, np.random.default_rng(0).permutation(net.n_neurons))
    for k, v in _snapshot(net).items():
        assert torch.equal(v, before[k])
    with pytest.raises(ValueError):
        permute_network(net, None, np.array([0, 0, 1, 2, 3, 4, 5, 6, 7]))
