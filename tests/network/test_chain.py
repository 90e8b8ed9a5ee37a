"""The chain of modules against step-by-step numpy and dense implementations; its growth and freezing."""

from __future__ import annotations

import copy
import itertools
import json

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from growsim.network import ChainRNN
from growsim.network.chain import PARTS


def _net(k=3, m=4, n_in=2, seed=0, **kw) -> ChainRNN:
    kw.setdefault("dtype", torch.float64)
    return ChainRNN(n_input=n_in, module_size=m, rng=np.random.default_rng(seed), n_modules=k, **kw)


def _x(t=7, b=5, n_in=2, seed=1, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor(np.random.default_rng(seed).standard_normal((t, b, n_in)), dtype=dtype)


def _values(net: ChainRNN) -> list[dict[str, np.ndarray]]:
    return [{p: v.detach().numpy().copy() for p, v in net.module_parameters(m).items()} for m in range(net.n_modules)]


def _reference(net: ChainRNN, x: np.ndarray, r0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The equations, one module and one step at a time, in numpy: (logits (H, B, 2), rates (T, B, K, M))."""
    mods = _values(net)
    slope = net.negative_slope
    r = [r0[m].copy() for m in range(net.n_modules)]
    out = []
    for t in range(x.shape[0]):
        new = []
        for m, p in enumerate(mods):
            c = r[m] @ p["recurrent"].T + x[t] @ p["input"].T + p["bias"]
            if m >= 1:
                c = c + r[m - 1] @ p["feedforward"].T
            tau = np.maximum(p["tau"], 1.0)
            new.append((1 - 1 / tau) * r[m] + (1 / tau) * np.where(c > 0, c, slope * c))
        r = new
        out.append(np.stack(r, axis=1))
    heads = zip(net.heads, net.head_module, strict=True)
    logits = [r[m] @ h.weight.detach().numpy().T + h.bias.detach().numpy() for h, m in heads]
    return np.stack(logits), np.stack(out)


def _dense_forward(d: dict[str, torch.Tensor], x: torch.Tensor, r0: torch.Tensor, slope: float):
    """A plain leaky-ReLU RNN of K*M neurons with per-neuron tau: (logits, rates (T, B, K*M))."""
    r, out = r0, []
    for t in range(x.shape[0]):
        c = r @ d["w_rec"].T + x[t] @ d["w_in"].T + d["bias"]
        r = (1 - 1 / d["tau"]) * r + (1 / d["tau"]) * F.leaky_relu(c, slope)
        out.append(r)
    logits = torch.einsum("hok,bk->hbo", d["w_out"], r) + d["b_out"][:, None, :]
    return logits, torch.stack(out)


def _loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, 2), y.reshape(-1), reduction="sum") / logits.shape[1]


# --- forward --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3])
def test_forward_matches_numpy_reference_with_zero_h0(k):
    net = _net(k=k, h0_scale=0.0, negative_slope=0.1)
    with torch.no_grad():
        net.blocks[0].tau[0] = 0.5  # below 1: the forward pass must clamp it
        net.blocks[-1].tau[1] = 4.0
    x = _x()
    logits, rates = net(x)
    assert logits.shape == (k, 5, 2) and rates.shape == (7, 5, k, 4)
    ref_logits, ref_rates = _reference(net, x.numpy(), np.zeros((k, 5, 4)))
    np.testing.assert_allclose(rates.detach().numpy(), ref_rates, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(logits.detach().numpy(), ref_logits, rtol=1e-12, atol=1e-14)
    with torch.no_grad():  # the in-place path that frozen modules take
        logits, rates = net(x)
    np.testing.assert_allclose(rates.numpy(), ref_rates, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(logits.numpy(), ref_logits, rtol=1e-12, atol=1e-14)


def test_forward_draws_h0_from_the_generator():
    net = _net(h0_scale=0.1)
    x = _x()
    logits, rates = net(x, generator=torch.Generator().manual_seed(3))
    # r(0) = h0_scale U(0, 1), drawn as (K, B, M).
    r0 = 0.1 * torch.rand((3, 5, 4), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert 0 < r0.min() and r0.max() < 0.1
    ref_logits, ref_rates = _reference(net, x.numpy(), r0.numpy())
    np.testing.assert_allclose(rates.detach().numpy(), ref_rates, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(logits.detach().numpy(), ref_logits, rtol=1e-12, atol=1e-14)
    again = net(x, generator=torch.Generator().manual_seed(3))[1]
    other = net(x, generator=torch.Generator().manual_seed(4))[1]
    assert torch.equal(again, rates) and not torch.allclose(other, rates)


def test_chain_equals_the_dense_masked_network():
    net = _net(k=4, m=5, n_in=3, h0_scale=0.1)
    net.add_module(np.random.default_rng(9), copy_recurrent=True, copy_feedforward=True, noise_weights=0.05)
    net.add_head(np.random.default_rng(10), 1)
    d = net.dense_equivalent()
    n = 5 * 5
    structural = np.zeros((n, n), dtype=bool)
    for m in range(5):
        structural[m * 5 : (m + 1) * 5, m * 5 : (m + 1) * 5] = True
        if m:
            structural[m * 5 : (m + 1) * 5, (m - 1) * 5 : m * 5] = True
    np.fill_diagonal(structural, False)
    assert np.array_equal(d["mask"].numpy(), structural)
    assert torch.all(d["w_rec"][~d["mask"]] == 0)
    x = _x(t=9, b=6, n_in=3)
    logits, rates = net(x, generator=torch.Generator().manual_seed(0))
    r0 = 0.1 * torch.rand((5, 6, 5), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    dl, dr = _dense_forward(d, x, r0.permute(1, 0, 2).reshape(6, n), net.negative_slope)
    torch.testing.assert_close(logits, dl, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(rates.reshape(9, 6, n), dr, rtol=1e-12, atol=1e-13)


def test_non_modular_baseline_reads_every_head_from_module_0():
    net = ChainRNN(n_input=1, module_size=91, rng=np.random.default_rng(0), head_module=[0, 0, 0])
    net.add_head(np.random.default_rng(1), 0)
    x = torch.randn(12, 8, 1)
    logits, rates = net(x, generator=torch.Generator().manual_seed(0))
    assert logits.shape == (4, 8, 2) and rates.shape == (12, 8, 1, 91)
    for h, head in enumerate(net.heads):
        torch.testing.assert_close(logits[h], head(rates[-1, :, 0]))


def test_no_grad_forward_equals_grad_forward():
    net = _net(k=4)
    net.freeze(0)
    x = _x()
    with torch.no_grad():
        a = net(x, generator=torch.Generator().manual_seed(0))
    b = net(x, generator=torch.Generator().manual_seed(0))
    assert not a[0].requires_grad and b[0].requires_grad
    torch.testing.assert_close(a[0], b[0], rtol=1e-13, atol=0)
    torch.testing.assert_close(a[1], b[1], rtol=1e-13, atol=0)


def test_no_grad_forward_in_time_chunks_matches_the_reference(monkeypatch):
    monkeypatch.setattr("growsim.network.chain._CHUNK_FLOATS", 3 * 5 * 4 * 2)  # 2 steps a chunk; 7 steps
    net = _net(h0_scale=0.0)
    x = _x()
    with torch.no_grad():
        logits, rates = net(x)
    ref_logits, ref_rates = _reference(net, x.numpy(), np.zeros((3, 5, 4)))
    np.testing.assert_allclose(rates.numpy(), ref_rates, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(logits.numpy(), ref_logits, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_frozen", [0, 2, 4])
def test_keep_rates_false_gives_the_same_logits_and_gradients(n_frozen):
    net = _net(k=4, h0_scale=0.1)
    for m in range(n_frozen):
        net.freeze(m)
    x, y = _x(), torch.tensor(np.random.default_rng(2).integers(0, 2, (4, 5)))
    grads = []
    for keep in (True, False):
        net.zero_grad()
        logits, rates = net(x, generator=torch.Generator().manual_seed(0), keep_rates=keep)
        assert (rates is None) != keep
        _loss(logits, y).backward()
        grads.append([None if p.grad is None else p.grad.clone() for p in net.parameters()])
        if keep:
            kept = logits
    torch.testing.assert_close(logits, kept, rtol=1e-13, atol=0)
    for a, b in zip(*grads, strict=True):
        assert (a is None and b is None) or torch.allclose(a, b, rtol=1e-12, atol=1e-15)


# --- the frozen prefix ------------------------------------------------------------------


def test_frozen_prefix_counts_only_wholly_frozen_leading_modules():
    net = _net(k=4)
    assert net.n_frozen_prefix == 0
    net.freeze(1)
    assert net.n_frozen_prefix == 0  # module 0 still learns
    net.freeze(0, ["recurrent", "input", "bias"])
    assert net.n_frozen_prefix == 0  # module 0's tau still learns
    net.freeze(0, "tau")
    assert net.n_frozen_prefix == 2
    net.freeze(2, [p for p in PARTS if p != "feedforward"])
    assert net.n_frozen_prefix == 2
    net.freeze(2, ["feedforward"])
    assert net.n_frozen_prefix == 3


def _saved_bytes(net: ChainRNN, x: torch.Tensor) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x, generator=torch.Generator().manual_seed(0))
    return total


def test_frozen_prefix_builds_no_autograd_graph():
    net = _net(k=8, m=6, dtype=torch.float32)
    x = _x(t=30, b=16, dtype=torch.float32)
    all_learn = _saved_bytes(net, x)
    for m in range(7):
        net.freeze(m)
    frozen, trainable = net.trajectories(x, generator=torch.Generator().manual_seed(0))
    assert frozen.shape == (30, 16, 7, 6) and trainable.shape == (30, 16, 1, 6)
    assert not frozen.requires_grad and frozen.grad_fn is None
    assert trainable.requires_grad
    # What autograd stores for backward: the one trainable module's share, not the whole chain's.
    assert _saved_bytes(net, x) < all_learn / 8 * 1.5


@pytest.mark.parametrize("frozen", [[0], [0, 1, 2], [0, 1, 2, 3]])
def test_frozen_prefix_gives_the_same_results_and_gradients_as_all_autograd(frozen):
    net = _net(k=4, m=5, h0_scale=0.1)
    for m in frozen:
        net.freeze(m)
    if len(frozen) < 4:
        net.freeze(3, ["tau"])  # a partly frozen module stays in the autograd part
    net.freeze_head(0)
    everything = copy.deepcopy(net)  # the same values, all of it through autograd
    for m in range(4):
        everything.unfreeze(m)
    assert net.n_frozen_prefix == len(frozen) and everything.n_frozen_prefix == 0
    x, y = _x(t=11, b=6), torch.tensor(np.random.default_rng(2).integers(0, 2, (4, 6)))
    results = []
    for model in (net, everything):
        logits, rates = model(x, generator=torch.Generator().manual_seed(5))
        # A loss on the returned rates too: gradients also flow through them.
        (_loss(logits, y) + rates[:, :, 2:].square().mean()).backward()
        results.append((logits, rates))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-13, atol=1e-15)
    named = dict(everything.named_parameters())
    for name, p in net.named_parameters():
        if p.requires_grad:
            torch.testing.assert_close(p.grad, named[name].grad, rtol=1e-10, atol=1e-13)
        else:
            assert p.grad is None


# --- growth ---------------------------------------------------------------------------


@pytest.mark.parametrize("flags", list(itertools.product([False, True], repeat=4)))
def test_add_module_copies_exactly_the_flagged_parts_into_the_new_module(flags):
    copy_recurrent, copy_feedforward, copy_tau, copy_input = flags
    net = _net(k=2, m=6, seed=4)
    before = _values(net)
    new = net.add_module(
        np.random.default_rng(7),
        copy_recurrent=copy_recurrent,
        copy_feedforward=copy_feedforward,
        copy_tau=copy_tau,
        copy_input=copy_input,
    )
    assert net.n_modules == 3
    assert [id(p) for p in new] == [id(p) for p in net.module_parameters(2).values()]
    assert {id(p) for p in new} <= {id(p) for p in net.parameters()}
    assert all(p.requires_grad for p in new)
    # Modules 0 and 1 untouched (Hamidi's code writes into the wrong module after growing).
    after = _values(net)
    for m in range(2):
        assert after[m].keys() == before[m].keys()
        for part in before[m]:
            assert np.array_equal(after[m][part], before[m][part]), (m, part)
    copied = {"recurrent": copy_recurrent, "feedforward": copy_feedforward, "input": copy_input,
              "bias": copy_input, "tau": copy_tau}
    for part, value in after[2].items():
        assert value.shape == before[1][part].shape
        assert np.array_equal(value, before[1][part]) == copied[part], part
        assert not np.array_equal(value, before[0].get(part, np.zeros(0)))  # from module 1, not module 0
    assert np.all(np.diag(after[2]["recurrent"]) == 0)
    assert np.all(after[2]["tau"] >= 1)


def test_add_module_advances_the_stream_alike_whatever_the_flags():
    a, b = _net(k=2), _net(k=2)
    ra, rb = np.random.default_rng(3), np.random.default_rng(3)
    a.add_module(ra, copy_recurrent=True, copy_feedforward=True, copy_tau=True, copy_input=True)
    b.add_module(rb)
    assert ra.random() == rb.random()


def test_module_1_draws_its_feedforward_afresh_whatever_the_flag():
    a, b = _net(k=1), _net(k=1)
    a.add_module(np.random.default_rng(3), copy_feedforward=True, copy_recurrent=True)
    b.add_module(np.random.default_rng(3), copy_feedforward=False, copy_recurrent=True)
    assert torch.equal(a.blocks[1].w_ff, b.blocks[1].w_ff)
    assert torch.equal(a.blocks[1].w_rec, a.blocks[0].w_rec)
    bound = 1 / np.sqrt(4)
    assert a.blocks[1].w_ff.abs().max() <= bound and a.blocks[1].w_ff.abs().min() > 0


def test_copy_noise_is_multiplicative_with_the_given_scale():
    m = 300
    net = _net(k=2, m=m, n_in=20, tau_init=(5.0, 10.0))
    src = _values(net)[1]
    net.add_module(
        np.random.default_rng(1), copy_recurrent=True, copy_feedforward=True, copy_tau=True, copy_input=True,
        noise_weights=0.03, noise_tau=0.02,
    )
    new = _values(net)[2]
    assert np.all(np.diag(new["recurrent"]) == 0)
    for part, sigma in [("recurrent", 0.03), ("feedforward", 0.03), ("input", 0.03), ("bias", 0.03), ("tau", 0.02)]:
        ratio = new[part][src[part] != 0] / src[part][src[part] != 0] - 1
        n = ratio.size
        assert abs(ratio.mean()) < 5 * sigma / np.sqrt(n), part
        assert ratio.std() == pytest.approx(sigma, rel=6 / np.sqrt(n) + 0.01), part
        # Elementwise, not one factor for the whole matrix.
        assert len(np.unique(np.round(ratio, 12))) > n // 2


def test_copied_tau_stays_at_least_one_after_noise():
    net = _net(k=2, m=200, tau_init=(1.0, 1.01))
    net.add_module(np.random.default_rng(0), copy_tau=True, noise_tau=0.5)
    tau = net.blocks[2].tau.detach()
    assert tau.min() == 1.0 and (tau == 1.0).sum() > 50


def test_add_head_reads_the_given_module():
    net = _net(k=3)
    params = net.add_head(np.random.default_rng(0), 1)
    assert net.head_module == [0, 1, 2, 1]
    assert params[0] is net.heads[3].weight and params[0].shape == (2, 4) and params[1].shape == (2,)
    logits, rates = net(_x(), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(logits[3], net.heads[3](rates[-1, :, 1]))
    with pytest.raises(ValueError):
        net.add_head(np.random.default_rng(0), 3)


def test_nn_module_add_module_still_registers_submodules():
    net = _net()
    net.add_module("extra", torch.nn.Linear(2, 2))
    assert isinstance(net.extra, torch.nn.Linear)
    assert net.n_modules == 3


def test_new_module_joins_an_existing_optimizer():
    net = _net(k=1, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    x, y = _x(dtype=torch.float32), torch.tensor([[0, 1, 0, 1, 1]])
    for _ in range(2):
        opt.zero_grad()
        _loss(net(x)[0], y).backward()
        opt.step()
    net.freeze(0)
    net.freeze_head(0)
    new = net.add_module(np.random.default_rng(1), copy_recurrent=True, copy_tau=True)
    new += net.add_head(np.random.default_rng(2), 1)
    opt.add_param_group({"params": new})
    start = [p.detach().clone() for p in new]
    for _ in range(3):
        opt.zero_grad()
        _loss(net(x)[0], torch.cat([y, 1 - y])).backward()
        opt.step()
    assert all(not torch.equal(p, s) for p, s in zip(new, start, strict=True))


# --- freezing ---------------------------------------------------------------------------


def _sgd(params):
    return torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)


def _adam(params):
    return torch.optim.Adam(params, lr=0.05, weight_decay=0.1)


@pytest.mark.parametrize("make_opt", [_sgd, _adam], ids=["sgd_nesterov", "adam"])
def test_frozen_parameters_stay_bit_identical_under_optimizers(make_opt):
    net = _net(k=3, m=5, dtype=torch.float32)
    opt = make_opt(net.parameters())
    x = _x(t=8, b=6, dtype=torch.float32)
    y = torch.tensor(np.random.default_rng(0).integers(0, 2, (3, 6)))

    def train(steps):
        for _ in range(steps):
            opt.zero_grad()  # set_to_none by default; frozen grads stay None either way
            logits, rates = net(x, generator=torch.Generator().manual_seed(0))
            (_loss(logits, y) + rates.square().mean()).backward()
            opt.step()

    train(3)  # every parameter now has momentum / moments
    net.freeze(0)
    net.freeze(1, ["recurrent", "tau"])
    net.freeze(2, "bias")
    net.freeze_head(0)
    frozen = [*net.module_parameters(0).values(), net.blocks[1].w_rec, net.blocks[1].tau, net.blocks[2].bias,
              *net.heads[0].parameters()]
    assert all(p.grad is None and not p.requires_grad for p in frozen)
    before = {id(p): p.detach().clone() for p in net.parameters()}
    train(5)
    for p in net.parameters():
        if any(p is q for q in frozen):
            assert torch.equal(p, before[id(p)])
            assert p.grad is None
        else:
            assert not torch.equal(p, before[id(p)])
    net.unfreeze(1, ["tau"])
    train(1)
    assert not torch.equal(net.blocks[1].tau, before[id(net.blocks[1].tau)])


@pytest.mark.parametrize("make_opt", [_sgd, _adam], ids=["sgd_nesterov", "adam"])
def test_recurrent_diagonal_stays_zero(make_opt):
    net = _net(k=2, m=6, dtype=torch.float32)
    net.add_module(np.random.default_rng(0), copy_recurrent=True, noise_weights=0.1)
    opt = make_opt(net.parameters())
    x = _x(dtype=torch.float32)
    for _ in range(5):
        opt.zero_grad()
        net(x)[1].square().mean().backward()
        for b in net.blocks:
            assert torch.all(b.w_rec.grad.diagonal() == 0)
        opt.step()
    for b in net.blocks:
        assert torch.all(b.w_rec.diagonal() == 0) and torch.any(b.w_rec != 0)
    clone = copy.deepcopy(net)  # survives a copy (a tensor hook would not)
    clone(x)[1].sum().backward()
    assert torch.all(clone.blocks[1].w_rec.grad.diagonal() == 0)


def test_freeze_rejects_unknown_parts():
    net = _net()
    with pytest.raises(ValueError):
        net.freeze(0, ["weights"])
    net.freeze(0, ["feedforward"])  # module 0 has none: nothing to do
    assert all(p.requires_grad for p in net.parameters())


# --- structure, checkpoints, logging -----------------------------------------------------


def _grown(seed=0) -> ChainRNN:
    rng = np.random.default_rng(seed)
    net = ChainRNN(n_input=2, module_size=4, rng=rng, h0_scale=0.1, dtype=torch.float64)
    for k in range(1, 4):
        net.freeze(k - 1)
        net.freeze_head(k - 1)
        net.add_module(rng, copy_recurrent=True, copy_feedforward=True, noise_weights=0.03)
        net.add_head(rng, k)
    net.add_head(rng, 0)
    net.freeze(3, ["recurrent"])
    return net


def test_structure_round_trip_loads_a_checkpoint():
    net = _grown()
    structure = json.loads(json.dumps(net.structure()))
    assert structure["n_modules"] == 4 and structure["module_size"] == 4
    assert structure["head_module"] == [0, 1, 2, 3, 0]
    assert structure["frozen_heads"] == [True, True, True, False, False]
    assert structure["frozen"][3] == {"recurrent": True, "feedforward": False, "input": False, "bias": False,
                                      "tau": False}
    assert "feedforward" not in structure["frozen"][0]
    fresh = ChainRNN.from_structure(structure, rng=np.random.default_rng(99), h0_scale=0.1, dtype=torch.float64)
    fresh.load_state_dict(net.state_dict())
    assert fresh.structure() == net.structure()
    assert [p.requires_grad for p in fresh.parameters()] == [p.requires_grad for p in net.parameters()]
    x = _x()
    a, b = net(x, generator=torch.Generator().manual_seed(1)), fresh(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_grow_to_extends_a_smaller_network_and_refuses_a_non_prefix():
    net = _grown()
    small = ChainRNN(n_input=2, module_size=4, rng=np.random.default_rng(5), n_modules=2, head_module=[0, 1],
                     dtype=torch.float64)
    small.grow_to(net.structure(), np.random.default_rng(6))
    small.load_state_dict(net.state_dict())
    assert small.structure() == net.structure()
    other = ChainRNN(n_input=2, module_size=4, rng=np.random.default_rng(5), head_module=[0, 0])
    with pytest.raises(ValueError):
        other.grow_to(net.structure(), np.random.default_rng(6))
    with pytest.raises(ValueError):
        wider = ChainRNN(n_input=2, module_size=5, rng=np.random.default_rng(5))
        wider.grow_to(net.structure(), np.random.default_rng(6))


def test_weights_for_logging():
    net = _grown()
    w = net.weights()
    k, m = 4, 4
    assert w["w_rec"].shape == (k, m, m) and w["w_ff"].shape == (k, m, m) and w["w_in"].shape == (k, m, 2)
    assert w["bias"].shape == (k, m) and w["tau"].shape == (k, m)
    assert w["head_w"].shape == (5, 2, m) and w["head_b"].shape == (5, 2)
    assert w["head_module"].tolist() == [0, 1, 2, 3, 0]
    assert np.all(w["w_ff"][0] == 0)
    for mod in range(k):
        for part, p in net.module_parameters(mod).items():
            name = {"recurrent": "w_rec", "feedforward": "w_ff", "input": "w_in", "bias": "bias", "tau": "tau"}[part]
            assert np.array_equal(w[name][mod], p.detach().numpy())
    expected = np.array([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]], dtype=np.uint8)
    assert w["trainable"].dtype == np.uint8 and np.array_equal(w["trainable"], expected)
    assert all(isinstance(v, np.ndarray) for v in w.values())
