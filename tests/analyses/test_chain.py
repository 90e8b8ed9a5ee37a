"""Chain runs analysed: the network of a step rebuilt, its accuracy, robustness and timescales."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import torch

from growsim.analyses import (
    chain_activity,
    check_applicable,
    modularity_over_snapshots,
    network_at,
    parity_test_set,
    robustness,
    timescales,
)
from growsim.analyses import _robustness as robustness_mod
from growsim.reader import RunFileError, open_run


@pytest.fixture(scope="module")
def runs(make_runs, tmp_path_factory):
    return make_runs.chain_runs(tmp_path_factory.getbasetemp() / "chain-runs")


@pytest.fixture
def copy(runs, tmp_path):
    def make(name: str):
        out = tmp_path / f"{name}.h5"
        shutil.copyfile(runs[name], out)
        return out

    return make


@pytest.fixture
def leaky(make_runs, tmp_path):
    """A leaky-RNN run file written by hand (no network_kind attribute: an older file)."""
    return open_run(make_runs.make_growing(tmp_path / "growing.h5"))


def test_rebuilt_network_gives_the_logged_accuracy(runs, leaky):
    """Rebuilt from a snapshot, on the run's own evaluation sequences: exactly series/perf."""
    run = open_run(runs["chain"])
    series = run.series()
    for step in run.snapshot_steps()[::2] + [run.last_step]:
        net, _ = network_at(run, step)
        row = series[series["step"] == step]
        # Levels evaluated at that step: those of its heads, less one when growth followed it.
        evaluated = [n for n in run.parity_levels(step) if n <= row["n_current"].item()]
        acc = parity_test_set(run, evaluated).accuracy(_heads(net, len(evaluated)))
        np.testing.assert_array_equal(acc.astype(np.float32), row[[f"perf/parity_{n}" for n in evaluated]].to_numpy()[0])
    # /final and the checkpoint (taken at the last step) hold the same network.
    net = network_at(run)[0]
    with h5py.File(runs["chain"], "r") as f:
        assert f["checkpoint"].attrs["step"] == run.last_step
        stored = {k: f["checkpoint/network"][k][()] for k in f["checkpoint/network"]}
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    assert state.keys() == stored.keys()
    for k, value in state.items():
        np.testing.assert_array_equal(value, stored[k])
    assert [p.requires_grad for p in net.blocks[0].parameters()] == [False] * 4  # module 0 frozen (no w_ff)
    assert not net.training
    with pytest.raises(RunFileError, match="rebuilding the network needs a chain run"):
        network_at(leaky)


def _heads(net, n: int):
    """The network with its first n heads only (a snapshot after growth has one head more than was evaluated)."""
    import copy

    out = copy.deepcopy(net)
    out.heads = torch.nn.ModuleList(list(out.heads)[:n])
    out.head_module = out.head_module[:n]
    return out


def test_activity_is_the_forward_pass(runs):
    run = open_run(runs["chain"])
    net = network_at(run)[0]
    rates = chain_activity(net, 40, trials=3, seed=5, chunk=7)
    x = (np.random.Generator(np.random.PCG64(5)).random((40, 3, 1)) < 0.5).astype(np.float32)
    gen = torch.Generator()
    gen.manual_seed(5)
    with torch.no_grad():
        _, expected = net(torch.from_numpy(x), generator=gen)
    np.testing.assert_allclose(rates, expected.reshape(40, 3, -1).numpy(), rtol=1e-5, atol=1e-6)
    # A burn-in drops the first steps of the same simulation.
    np.testing.assert_array_equal(chain_activity(net, 30, trials=3, seed=5, burn_in=10, chunk=7), rates[10:])


def test_robustness_at_eps_zero_and_the_size_of_perturbations(runs, monkeypatch):
    run = open_run(runs["chain"])
    from growsim.metrics import robustness as metric

    seen: list[tuple[dict, dict]] = []  # (what was perturbed, the weights evaluated), in call order
    real = metric.robustness_curve

    def recording(evaluate, weights, **kw):
        def wrapped(trial):
            seen.append((kw["perturb"], {k: v.copy() for k, v in trial.items()}))
            return evaluate(trial)

        return real(wrapped, weights, **kw)

    monkeypatch.setattr(metric, "robustness_curve", recording)  # looked up when the analysis runs
    eps = [0.0, 0.1, 0.3]
    res = robustness(run, eps=eps, draws=2, trials=64)
    data = {k: v[0] for k, v in res.datasets.items()}
    assert list(data["what"]) == ["recurrent", "feedforward", "tau", "connections"]
    assert list(data["levels"]) == run.parity_levels()
    assert data["accuracy"].shape == (4, 3, 2, len(data["levels"])) and data["n_solved_above"].shape == (4, 3, 2)
    # eps = 0: the unperturbed accuracy, exactly, for every target and draw.
    for i in range(4):
        for d in range(2):
            np.testing.assert_array_equal(data["accuracy"][i, 0, d], data["accuracy_unperturbed"])
    net, _ = network_at(run)
    np.testing.assert_array_equal(data["accuracy_unperturbed"], parity_test_set(run, run.parity_levels(), trials=64).accuracy(net))
    np.testing.assert_array_equal(data["n_solved_above"], (data["accuracy"] > 0.9).sum(axis=3))
    # Each perturbed tensor moved by eps times its own Frobenius norm; the others not at all.
    base = robustness_mod._module_tensors(net)
    assert len(seen) == 4 * 3 * 2
    for n, (perturb, trial) in enumerate(seen):
        e = eps[n % 3]  # per target: draw after draw, eps after eps within a draw
        for name, value in trial.items():
            delta = np.linalg.norm(value.astype(np.float64) - base[name].astype(np.float64))
            if name in perturb:
                assert delta == pytest.approx(e * np.linalg.norm(base[name].astype(np.float64)), rel=1e-5, abs=1e-6)
            else:
                assert delta == 0
        for name in perturb:
            if name.startswith("w_rec"):
                assert np.all(np.diag(trial[name]) == 0)  # no autapses: the diagonal stays 0
            if name.startswith("tau"):
                assert np.all(trial[name] >= base[name])  # upward only
    assert {frozenset(p) for p, _ in seen} == {frozenset({"w_rec/0", "w_rec/1"}), frozenset({"w_ff/1"}),
                                               frozenset({"tau/0", "tau/1"}),
                                               frozenset({"w_rec/0", "w_rec/1", "w_ff/1"})}  # connections
    # a module's connections' norm: its W_rec and W_ff together
    w_rec1, w_ff1 = (base[n].astype(np.float64) for n in ("w_rec/1", "w_ff/1"))
    assert data["norm"][3, 1] == pytest.approx(np.sqrt((w_rec1 ** 2).sum() + (w_ff1 ** 2).sum()))
    assert data["norm"][3, 0] == pytest.approx(np.linalg.norm(base["w_rec/0"].astype(np.float64)))
    # Each target has its own random stream: tau alone gives the tau rows of "all".
    alone = robustness(run, what="tau", eps=eps, draws=2, trials=64)
    np.testing.assert_array_equal(alone.datasets["accuracy"][0][0], data["accuracy"][2])


def test_robustness_of_a_single_module(runs):
    run = open_run(runs["chain_nonmodular"])
    res = robustness(run, eps=[0.0, 0.5], draws=1, trials=32, scope="network")
    # "all" leaves out the absent W_ff; a single module's connections are its W_rec (Fig. 3
    # compares the connections of modular and non-modular networks)
    assert list(res.datasets["what"][0]) == ["recurrent", "tau", "connections"]
    norm = res.datasets["norm"][0]
    assert norm[2, 0] == pytest.approx(norm[0, 0])
    with pytest.raises(ValueError, match="one module"):
        robustness(run, what="feedforward", eps=[0.1], draws=1, trials=32)


def test_timescales_at_every_solve_step(runs):
    """Fig. 4: one call gives, at every step where N_solved rose, what `timescales` gives there."""
    from growsim.analyses import solve_steps, timescales_at_solves

    run = open_run(runs["chain"])
    series = run.series()
    rose, previous = [], 0
    for step, solved in zip(series["step"], series["n_solved"]):  # by hand
        if solved > previous:
            rose.append(int(step))
        previous = max(previous, solved)
    assert list(solve_steps(run)[0]) == rose and len(rose) >= 2
    options = {"steps": 400, "max_lag": 10, "burn_in": 20}
    res = timescales_at_solves(run, **options)
    data = {k: v[0] for k, v in res.datasets.items()}
    kept = [s for s in rose if s in run.snapshot_steps()]
    assert list(data["step"]) == kept
    for i, step in enumerate(kept):
        one = {k: v[0] for k, v in timescales(run, step=step, **options).datasets.items()}
        k = one["tau_trained"].shape[0]
        assert data["n_modules"][i] == k
        np.testing.assert_array_equal(data["tau_trained"][i, :k], one["tau_trained"])
        np.testing.assert_array_equal(data["tau_effective"][i, :k], one["tau_effective"])
        np.testing.assert_array_equal(data["tau_unresolved_fraction"][i, :k], one["tau_unresolved_fraction"])
        assert np.isnan(data["tau_trained"][i, k:]).all()  # padded beyond the step's own modules
        assert np.isnan(data["tau_unresolved_fraction"][i, k:]).all()
    with pytest.raises(ValueError, match="chooses its own steps"):
        timescales_at_solves(run, step=0)


def test_timescales_of_a_network_with_known_timescales(copy):
    """No recurrent or feed-forward weights, input weight 1 and bias 0.5: each rate is
    r_t = (1 - 1/tau) r_{t-1} + (0.5 + x_t) / tau with i.i.d. bits x_t, an AR(1) process whose
    autocorrelation is (1 - 1/tau)^k = exp(-k / tau'), tau' = -1 / ln(1 - 1/tau)."""
    path = copy("chain")
    tau = np.linspace(1.5, 8.0, 12).reshape(2, 6).astype(np.float32)
    with h5py.File(path, "a") as f:
        g = f["final"]
        for key, value in (("w_rec", 0.0), ("w_ff", 0.0), ("w_in", 1.0), ("bias", 0.5)):
            g[key][...] = value
        g["tau"][...] = tau
    res = timescales(open_run(path), steps=20_000, trials=2, burn_in=200)
    data = {k: v[0] for k, v in res.datasets.items()}
    expected = -1.0 / np.log(1.0 - 1.0 / tau.astype(np.float64))
    np.testing.assert_allclose(data["tau_trained"], tau, rtol=1e-6)
    np.testing.assert_allclose(data["tau_effective"], expected, rtol=0.1)
    np.testing.assert_allclose(data["tau_single"], expected, rtol=0.1)
    np.testing.assert_allclose(data["ac"][:4, 1, 5], (1 - 1 / tau[1, 5]) ** np.arange(4), atol=0.03)
    assert data["tau_effective"].shape == data["model"].shape == (2, 6) and data["ac"].shape == (31, 2, 6)
    np.testing.assert_allclose(data["tau_trained_mean"], tau.mean(axis=1), rtol=1e-6)
    assert res.attrs["n_fitted"] == 12 and list(data["reason"]) == [""] * 12


def test_a_neuron_at_the_fits_upper_bound_is_counted_not_averaged(runs, monkeypatch):
    """The fit as it is, but neuron 2 of module 0 reported at the upper bound (as a neuron
    whose autocorrelation barely decays over the lags is): the module mean leaves it out and
    its fraction says so, while the per-neuron datasets keep what the fit gave."""
    import growsim.metrics.timescales as ts

    fit = ts.effective_timescales

    def one_at_the_bound(*args, **kwargs):
        res = fit(*args, **kwargs)
        tau, at_bound = res.tau.copy(), res.at_bound.copy()
        tau[2], at_bound[2] = ts.TAU_BOUNDS[1], True
        return res._replace(tau=tau, at_bound=at_bound)

    monkeypatch.setattr(ts, "effective_timescales", one_at_the_bound)
    res = timescales(open_run(runs["chain"]), steps=2000, max_lag=10, burn_in=20)
    data = {k: v[0] for k, v in res.datasets.items()}
    eff = data["tau_effective"]
    assert eff[0, 2] == ts.TAU_BOUNDS[1] and data["at_bound"][0, 2] == 1 and np.isfinite(eff).all()
    assert data["tau_effective_mean"][0] == pytest.approx(np.delete(eff[0], 2).mean())
    assert data["tau_effective_mean"][0] < 100 < eff[0].mean()
    np.testing.assert_allclose(data["tau_unresolved_fraction"], [1 / 6, 0.0])


def test_modularity_of_a_chain_and_what_applies(runs, leaky):
    run = open_run(runs["chain"])
    res = modularity_over_snapshots(run)
    n = res.datasets["n_neurons"][0]
    assert n[0] == 6 and n[-1] == 12 and res.datasets["labels"][0].shape == (len(n), 12)
    with pytest.raises(RunFileError, match="task_variance needs a leaky-RNN run .* chain run"):
        check_applicable(run, "task_variance")
    with pytest.raises(RunFileError, match="robustness needs a chain run .* leaky-RNN run"):
        robustness(leaky)
    with pytest.raises(RunFileError, match="timescales needs a chain run"):
        timescales(leaky)
