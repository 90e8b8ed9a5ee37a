"""Per-neuron time constants (network.tau): the recurrence with one alpha per neuron, its
gradients (alpha's included), the recurrent noise per neuron, bounds on trained tau, swaps,
snapshots, resume, stacking and the spec's checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from growsim.build import build_engine, member_specs, prepare
from growsim.train.ensemble import why_not_stacked
from growsim.growth.swap import neuron_axes_of, permute_network
from growsim.network import LeakyRNN
from growsim.network._recurrence import ACTIVATIONS, leaky_recurrence
from growsim.reader import open_run
from growsim.runner import run
from growsim.spec import SpecError, load_spec

ROOT = Path(__file__).parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"

# Two neurons, W[i, j] from j onto i: neuron 1 drives neuron 0 with weight 1, neuron 0
# drives neuron 1 with 0.5. alpha = (0.5, 0.25), relu, three steps from rest.
W2 = [[0.0, 1.0], [0.5, 0.0]]
DRIVE2 = [[[1.0, 2.0]], [[0.0, 0.0]], [[1.0, -1.0]]]  # (T=3, B=1, N=2)
# By hand:  t0: u = (1, 2)                         h = (0.5 * 1, 0.25 * 2)                 = (0.5, 0.5)
#           t1: u = (0 + 1 * 0.5, 0 + 0.5 * 0.5)   = (0.5, 0.25)
#               h = (0.5 * 0.5 + 0.5 * 0.5, 0.75 * 0.5 + 0.25 * 0.25)                     = (0.5, 0.4375)
#           t2: u = (1 + 0.4375, -1 + 0.5 * 0.5)   = (1.4375, -0.75), f(u) = (1.4375, 0)
#               h = (0.5 * 0.5 + 0.5 * 1.4375, 0.75 * 0.4375 + 0)                         = (0.96875, 0.328125)
RATES2 = [[[0.5, 0.5]], [[0.5, 0.4375]], [[0.96875, 0.328125]]]


def test_two_neurons_with_their_own_alpha_by_hand():
    drive, w = torch.tensor(DRIVE2), torch.tensor(W2)
    alpha = torch.tensor([0.5, 0.25])
    assert leaky_recurrence(drive, w, alpha, "relu").tolist() == RATES2  # forward loop alone
    w.requires_grad_()  # the autograd function's forward
    assert leaky_recurrence(drive, w, alpha, "relu").tolist() == RATES2


def test_two_neurons_in_a_network_with_tau_in_ms():
    net = LeakyRNN(w_in=torch.eye(2), w_rec=torch.tensor(W2), w_out=torch.ones(1, 2), mask=torch.tensor(W2) != 0,
                   alpha=0.2, sigma_rec=0.0, sigma_x=0.0, tau_ms=torch.tensor([40.0, 80.0]), dt_ms=20.0)
    torch.testing.assert_close(net.alphas(), torch.tensor([0.5, 0.25]))
    _, rates = net(torch.tensor(DRIVE2), noise=False)
    torch.testing.assert_close(rates, torch.tensor(RATES2), rtol=1e-6, atol=1e-7)
    assert net.weights()["tau"] == pytest.approx([40.0, 80.0], rel=1e-6)


def test_the_gradient_of_alpha_by_hand():
    # One step: h_0 = alpha * f(d_0), so d(sum h_0)/d alpha = f(d_0) = (1, 2).
    # Two steps, neuron 0 alone (no synapses): h_1 = (1 - a) a f(d_0) + a f(d_1), so
    # dh_1/da = (1 - 2a) f(d_0) + f(d_1) = (1 - 1) * 1 + 3 = 3 at a = 0.5.
    alpha = torch.tensor([0.5, 0.25], dtype=torch.float64, requires_grad=True)
    w = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    one = leaky_recurrence(torch.tensor([[[1.0, 2.0]]], dtype=torch.float64), w, alpha, "relu")
    assert torch.autograd.grad(one.sum(), alpha)[0].tolist() == [1.0, 2.0]
    two = leaky_recurrence(torch.tensor([[[1.0, 0.0]], [[3.0, 0.0]]], dtype=torch.float64), w, alpha, "relu")
    assert torch.autograd.grad(two[1, 0, 0], alpha)[0].tolist() == [3.0, 0.0]


def _autograd_loop(drive, w, alpha, activation):
    f, h, out = ACTIVATIONS[activation], drive.new_zeros(drive.shape[1:]), []
    for d in drive.unbind(0):
        h = (1 - alpha) * h + alpha * f(d + h @ w.t())
        out.append(h)
    return torch.stack(out)


def _inputs(seed):
    g = torch.Generator().manual_seed(seed)
    drive = torch.randn(8, 3, 4, generator=g, dtype=torch.float64)
    w = 0.5 * torch.randn(4, 4, generator=g, dtype=torch.float64)
    return drive, w, torch.tensor([0.1, 0.35, 0.7, 1.0], dtype=torch.float64)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
@pytest.mark.parametrize("train_alpha", [False, True])
def test_gradients_with_per_neuron_alpha_pass_gradcheck(activation, train_alpha):
    drive, w, alpha = _inputs(0)
    if activation == "relu":  # keep pre-activations away from the kink, where finite differences fail
        drive += 0.05 * torch.sign(drive)
        w *= 0.1
    drive.requires_grad_(), w.requires_grad_(), alpha.requires_grad_(train_alpha)
    inputs = (drive, w, alpha) if train_alpha else (drive, w)
    fn = (lambda d, w, a: leaky_recurrence(d, w, a, activation)) if train_alpha else \
        (lambda d, w: leaky_recurrence(d, w, alpha, activation))
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_rates_and_gradients_with_per_neuron_alpha_equal_autograd_through_the_loop(activation):
    drive, w, alpha = _inputs(1)
    for t in (drive, w, alpha):
        t.requires_grad_()
    upstream = torch.randn(8, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ours = leaky_recurrence(drive, w, alpha, activation)
    got = torch.autograd.grad((ours * upstream).sum(), (drive, w, alpha))
    theirs = _autograd_loop(drive, w, alpha, activation)
    want = torch.autograd.grad((theirs * upstream).sum(), (drive, w, alpha))
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    for g, e in zip(got, want):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def test_a_tensor_of_equal_alphas_computes_what_the_scalar_does():
    drive, w, _ = _inputs(3)
    w.requires_grad_()
    scalar = leaky_recurrence(drive, w, 0.25, "tanh")
    tensor = leaky_recurrence(drive, w, torch.full((4,), 0.25, dtype=torch.float64), "tanh")
    torch.testing.assert_close(tensor, scalar, rtol=1e-14, atol=1e-14)
    grads = [torch.autograd.grad(r.square().sum(), w)[0] for r in (scalar, tensor)]
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-12, atol=1e-14)


def test_recurrent_noise_is_scaled_per_neuron_and_input_noise_by_the_scalar_alpha():
    # sigma_rec = 0.1: std sqrt(2 / 0.5) * 0.1 = 0.2 and sqrt(2 / 0.25) * 0.1 = 0.2828...
    net = LeakyRNN(w_in=torch.eye(2), w_rec=torch.zeros(2, 2), w_out=torch.ones(1, 2), mask=torch.zeros(2, 2),
                   alpha=0.2, sigma_rec=0.1, sigma_x=0.0, tau_ms=torch.tensor([40.0, 80.0]), dt_ms=20.0)
    g = torch.Generator().manual_seed(0)
    std = net.drive(torch.zeros(500, 200, 2), generator=g).detach().reshape(-1, 2).std(0)
    assert std.tolist() == pytest.approx([0.2, math.sqrt(8) * 0.1], rel=0.01)
    std = net.external_noise(500, 200, generator=g).reshape(-1, 2).std(0)
    assert std.tolist() == pytest.approx([0.2, math.sqrt(8) * 0.1], rel=0.01)
    # Input noise only (sigma_x = 0.1, no recurrent noise): W_in = I, scale sqrt(2 / 0.2) * 0.1 = 0.316 on both.
    net.sigma_rec, net.sigma_x = 0.0, 0.1
    std = net.drive(torch.zeros(500, 200, 2), generator=g).detach().reshape(-1, 2).std(0)
    assert std.tolist() == pytest.approx([math.sqrt(10) * 0.1] * 2, rel=0.01)


def _trained_net(bounds=(30.0, 100.0)):
    return LeakyRNN(w_in=torch.eye(3), w_rec=torch.full((3, 3), 0.1), w_out=torch.ones(1, 3),
                    mask=torch.ones(3, 3, dtype=torch.bool), alpha=0.2, sigma_rec=0.0, sigma_x=0.0,
                    tau_ms=torch.tensor([40.0, 80.0, 60.0]), dt_ms=20.0, train_tau=True, tau_bounds_ms=bounds)


def test_a_trained_tau_is_a_parameter_clamped_to_its_bounds_and_a_fixed_one_a_buffer():
    net = _trained_net()
    assert isinstance(net.log_tau, torch.nn.Parameter) and "log_tau" in dict(net.named_parameters())
    with torch.no_grad():
        net.log_tau.copy_(torch.log(torch.tensor([10.0, 500.0, 50.0])))
    net.constrain()
    assert net.weights()["tau"] == pytest.approx([30.0, 100.0, 50.0], rel=1e-6)
    fixed = LeakyRNN(w_in=torch.eye(2), w_rec=torch.zeros(2, 2), w_out=torch.ones(1, 2), mask=torch.zeros(2, 2),
                     alpha=0.2, tau_ms=torch.tensor([40.0, 80.0]), dt_ms=20.0)
    assert "log_tau" in dict(fixed.named_buffers()) and "log_tau" not in dict(fixed.named_parameters())
    fixed.constrain()  # nothing to clamp: a fixed tau stays where it was
    assert fixed.weights()["tau"] == pytest.approx([40.0, 80.0], rel=1e-6)


def test_a_tau_clamped_at_the_time_step_gives_alpha_at_most_one():
    net = _trained_net(bounds=(20.0, 100.0))
    with torch.no_grad():
        net.log_tau.fill_(0.0)  # tau = 1 ms, below dt
    net.constrain()
    alphas = net.alphas()
    assert alphas.tolist() == pytest.approx([1.0] * 3, rel=1e-6) and bool((alphas <= 1.0).all())


def test_a_tau_shorter_than_the_time_step_is_refused_by_the_network():
    with pytest.raises(ValueError, match="at least dt_ms"):
        LeakyRNN(w_in=torch.eye(2), w_rec=torch.zeros(2, 2), w_out=torch.ones(1, 2), mask=torch.zeros(2, 2),
                 alpha=0.2, tau_ms=torch.tensor([10.0, 80.0]), dt_ms=20.0)


def test_a_swap_moves_each_neurons_tau_and_its_adam_state():
    net = _trained_net()
    assert neuron_axes_of(net)["log_tau"] == (0,)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    _, rates = net(torch.ones(4, 2, 3), noise=False)
    rates.square().sum().backward()
    opt.step()
    before_tau = net.weights()["tau"]
    before_avg = opt.state[net.log_tau]["exp_avg"].clone()
    permute_network(net, opt, np.array([1, 0, 2]))  # neurons 0 and 1 trade places
    assert net.weights()["tau"].tolist() == before_tau[[1, 0, 2]].tolist()
    assert opt.state[net.log_tau]["exp_avg"].tolist() == before_avg[[1, 0, 2]].tolist()


def _tau_spec(tmp_path, tau, dt_ms=None, lr=None):
    data = yaml.safe_load(TINY.read_text())
    data["network"]["tau"] = tau
    if dt_ms is not None:
        data["task"]["dt_ms"] = dt_ms
    if lr is not None:
        data["train"]["optimizer"] = {"kind": "adam", "lr": lr}
    path = tmp_path / "tau.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


TRAINED = {"init": "uniform", "low": 50.0, "high": 200.0, "trainable": True, "min_ms": 40.0, "max_ms": 250.0}


def test_a_run_learns_tau_within_its_bounds_and_snapshots_it(tmp_path):
    # A large learning rate on log tau, so that some time constants reach their bounds in 40 batches.
    spec = _tau_spec(tmp_path, TRAINED, lr=0.05)
    assert run(spec, tmp_path / "tau.h5").status == "completed"
    r = open_run(tmp_path / "tau.h5")
    steps = r.snapshot_steps()
    first, last = r.snapshot(steps[0]).extra["tau"], r.final().extra["tau"]
    assert first.shape == (16,) and first.dtype == np.float32
    assert ((first >= 50) & (first <= 200)).all() and np.unique(first).size == 16  # the uniform draw
    assert np.abs(last - first).max() > 1.0  # tau learned
    at_bounds = 0
    for step in steps:
        tau = r.snapshot(step).extra["tau"]
        assert ((tau >= 40 * (1 - 1e-6)) & (tau <= 250 * (1 + 1e-6))).all()
        at_bounds += int(np.isclose(tau, 40, rtol=1e-6).sum() + np.isclose(tau, 250, rtol=1e-6).sum())
    assert at_bounds > 0  # the clamp held some there


def test_the_weights_are_drawn_as_without_tau_and_the_default_stays_scalar(tmp_path):
    plain = build_engine(prepare(load_spec(TINY)), []).network
    assert not plain.per_neuron_tau and isinstance(plain.alpha, float) and "log_tau" not in plain.state_dict()
    with_tau = build_engine(prepare(load_spec(_tau_spec(tmp_path, TRAINED))), []).network
    for name in ("w_in", "w_rec", "w_out", "w_rec_initial"):
        assert torch.equal(getattr(plain, name), getattr(with_tau, name)), name
    constant = build_engine(prepare(load_spec(_tau_spec(tmp_path, {"init": "constant"}))), []).network
    assert constant.weights()["tau"] == pytest.approx([100.0] * 16, rel=1e-6)  # network.tau_ms
    assert not isinstance(constant.log_tau, torch.nn.Parameter)


def test_a_stopped_run_with_trained_tau_resumes_exactly(tmp_path, h5_contents, assert_same_h5, stop_and_resume):
    spec = _tau_spec(tmp_path, TRAINED, lr=0.05)
    ref, resumed, step = stop_and_resume(tmp_path, spec, ["train.batches=30", "log.every=10"], 13)
    assert step == 14
    ours, theirs = h5_contents(resumed), h5_contents(ref)
    assert_same_h5(theirs, ours)
    assert not np.array_equal(open_run(ref).final().extra["tau"], open_run(ref).snapshot(0).extra["tau"])


def test_members_with_per_neuron_tau_do_not_stack(tmp_path):
    loaded = load_spec(_tau_spec(tmp_path, TRAINED), ["seed=[0, 1]"])
    engines = [build_engine(prepare(m), []) for m in member_specs(loaded)]
    assert "per-neuron time constants" in why_not_stacked(engines)


def _write(tmp_path, tau_lines: str, dt_ms: float = 20.0) -> Path:
    text = (
        "seed: 0\n"                                     # 1
        "network:\n"                                    # 2
        "  geometry: {kind: grid, shape: [4, 4]}\n"     # 3
        "  tau:\n"                                      # 4
        f"{tau_lines}"                                  # 5...
        "task:\n"
        "  tasks: [fdgo]\n"
        f"  dt_ms: {dt_ms}\n"
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "tau_lines,message",
    [
        ("    init: uniform\n    low: 10\n    high: 200\n",
         r"network\.tau\.low: a time constant of 10 ms is shorter than the time step task\.dt_ms = 20 ms.*\(line 6\)"),
        ("    init: uniform\n    low: 50\n    high: 200\n    trainable: true\n    min_ms: 5\n",
         r"network\.tau\.min_ms: a lower bound of 5 ms is shorter than the time step.*\(line 9\)"),
        ("    init: uniform\n    low: 50\n    high: 200\n    trainable: true\n    max_ms: 150\n",
         r"network\.tau\.high: the initial time constants \(200 ms\) start above max_ms \(150 ms\).*\(line 7\)"),
        ("    init: uniform\n    low: 50\n",
         r"network\.tau: .*init: uniform needs low and high.*\(line 4\)"),
        ("    init: constant\n    min_ms: 30\n",
         r"network\.tau: .*set trainable: true.*\(line 4\)"),
    ],
)
def test_spec_errors_name_the_path_and_line(tmp_path, tau_lines, message):
    with pytest.raises(SpecError, match=message):
        load_spec(_write(tmp_path, tau_lines))


def test_task_variance_runs_each_neuron_at_its_own_alpha():
    from growsim.analyses._task_variance import _rates
    from growsim.reader import Snapshot

    snap = Snapshot(step=0, w_rec=np.array(W2), w_in=np.eye(2), b_rec=np.zeros(2))
    rates = _rates(snap, np.array(DRIVE2), 20.0 / np.array([40.0, 80.0]), "relu")
    assert rates.tolist() == RATES2
