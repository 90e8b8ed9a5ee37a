"""Tests of growsim.network.swap: neuron permutations, swap cost deltas, BIMT's swap step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growsim.network.swap import (
    best_swaps,
    compose_swaps,
    permutation_for_swap,
    permute_neurons,
    swap_cost_deltas,
)

# Neuron axes of the tiny RNN below and of its Adam state.
AXES = {
    "w_rec": (0, 1),
    "mask": (0, 1),
    "w_in": (0,),
    "w_out": (1,),
    "b_rec": (0,),
    "tau": (0,),
    "h0": (0,),
    "b_out": (),
}
PARAMS = ("w_rec", "w_in", "w_out", "b_rec", "tau", "b_out")


def _problem(n: int, n_in: int, n_out: int, seed: int, density: float = 0.4):
    """Random sparse weights and L1 distances between random positions of hidden,
    input and output units (D not symmetric for inputs/outputs: different layers)."""
    rng = np.random.default_rng(seed)
    w_rec = rng.normal(size=(n, n)) * (rng.random((n, n)) < density)
    w_in, w_out = rng.normal(size=(n, n_in)), rng.normal(size=(n_out, n))
    pos, p_in, p_out = rng.random((n, 2)), rng.random((n_in, 2)), rng.random((n_out, 2))
    d = np.abs(pos[:, None] - pos[None]).sum(-1)
    d_in = np.abs(pos[:, None] - p_in[None]).sum(-1)
    d_out = np.abs(p_out[:, None] - pos[None]).sum(-1)
    return w_rec, w_in, w_out, d, d_in, d_out


def _cost(w_rec, w_in, w_out, d, d_in=None, d_out=None) -> float:
    """The wiring cost from scratch, entry by entry (an independent implementation)."""
    total = sum(d[a, b] * abs(w_rec[a, b]) for a in range(d.shape[0]) for b in range(d.shape[1]))
    if d_in is not None:
        total += float((d_in * np.abs(w_in)).sum())
    if d_out is not None:
        total += float((d_out * np.abs(w_out)).sum())
    return float(total)


def _swapped(w_rec, w_in, w_out, i, j):
    """Swap neurons i and j by hand: rows and columns exchanged one by one."""
    w_rec, w_in, w_out = w_rec.copy(), w_in.copy(), w_out.copy()
    w_rec[[i, j]] = w_rec[[j, i]]
    w_rec[:, [i, j]] = w_rec[:, [j, i]]
    w_in[[i, j]] = w_in[[j, i]]
    w_out[:, [i, j]] = w_out[:, [j, i]]
    return w_rec, w_in, w_out


# ------------------------------------------------------------ permutations


def test_permutation_for_swap():
    np.testing.assert_array_equal(permutation_for_swap(5, 1, 3), [0, 3, 2, 1, 4])
    np.testing.assert_array_equal(permutation_for_swap(4, 2, 2), np.arange(4))
    p = permutation_for_swap(6, 0, 5)
    np.testing.assert_array_equal(p[p], np.arange(6))  # its own inverse
    with pytest.raises(ValueError, match="j must be"):
        permutation_for_swap(4, 0, 4)
    with pytest.raises(ValueError, match="n must be"):
        permutation_for_swap(0, 0, 0)


def test_permute_neurons_moves_each_entry_with_its_neurons():
    rng = np.random.default_rng(0)
    n = 6
    arrays = {
        "w_rec": rng.normal(size=(n, n)),
        "w_in": rng.normal(size=(n, 3)),
        "w_out": torch.tensor(rng.normal(size=(2, n))),
        "b_out": rng.normal(size=2),
    }
    perm = compose_swaps(n, [(0, 4), (1, 4), (2, 5)])
    out = permute_neurons(arrays, perm, {**AXES, "w_out": -1})
    inv = np.argsort(perm)  # neuron k now sits at position inv[k]
    for a in range(n):
        for b in range(n):
            # The synapse from neuron b onto neuron a keeps its weight, at its neurons' new places.
            assert out["w_rec"][inv[a], inv[b]] == arrays["w_rec"][a, b]
        np.testing.assert_array_equal(out["w_in"][inv[a]], arrays["w_in"][a])
        np.testing.assert_array_equal(out["w_out"][:, inv[a]].numpy(), arrays["w_out"][:, a].numpy())
    assert isinstance(out["w_out"], torch.Tensor) and out["w_out"].dtype == torch.float64
    assert out["b_out"] is arrays["b_out"]  # axes (): left as it is


def test_compose_swaps_equals_sequential_swaps():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 7))
    swaps = [(0, 3), (3, 6), (2, 2), (1, 0)]
    y = x
    for i, j in swaps:
        y = permute_neurons({"x": y}, permutation_for_swap(7, i, j), {"x": (0, 1)})["x"]
    z = permute_neurons({"x": x}, compose_swaps(7, swaps), {"x": (0, 1)})["x"]
    np.testing.assert_array_equal(y, z)


@pytest.mark.parametrize(
    "arrays, perm, axes, match",
    [
        ({"w": np.ones((3, 3))}, [0, 1, 1], {"w": (0,)}, "permutation"),
        ({"w": np.ones((3, 3))}, [0, 1, 2], {}, "no neuron axes"),
        ({"w": np.ones((3, 4))}, [0, 1, 2], {"w": (1,)}, "4 entries along axis 1"),
        ({"w": np.ones((3, 3))}, [0, 1, 2], {"w": (2,)}, "not an axis"),
        ({"w": np.ones((3, 3))}, [0, 1, 2], {"w": (0, -2)}, "twice"),
        ({"w": np.ones(3)}, [0.0, 1.0, 2.0], {"w": (0,)}, "integer"),
    ],
)
def test_permute_neurons_errors(arrays, perm, axes, match):
    with pytest.raises(ValueError, match=match):
        permute_neurons(arrays, np.asarray(perm), axes)


def test_permute_neurons_rejects_other_types():
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        permute_neurons({"w": [1, 2, 3]}, np.arange(3), {"w": (0,)})


# ------------------------------------------------------------ cost deltas


@pytest.mark.parametrize("with_io", [False, True])
def test_swap_cost_deltas_agree_with_cost_recomputed_after_the_swap(with_io):
    w_rec, w_in, w_out, d, d_in, d_out = _problem(12, 4, 3, seed=2)
    np.fill_diagonal(w_rec, 1.5)  # autapses: the corners of the swapped rows and columns
    d_in, d_out = (d_in, d_out) if with_io else (None, None)
    before = _cost(w_rec, w_in, w_out, d, d_in, d_out)
    for i in (0, 5, 11):
        deltas = swap_cost_deltas(w_rec, w_in, w_out, d, i, d_in=d_in, d_out=d_out)
        assert deltas.shape == (12,) and deltas[i] == 0.0
        for j in range(12):
            after = _cost(*_swapped(w_rec, w_in, w_out, i, j), d, d_in, d_out)
            assert deltas[j] == pytest.approx(after - before, abs=1e-10)


def test_swap_cost_deltas_with_asymmetric_distances_and_candidate_subset():
    w_rec, w_in, w_out, _, _, _ = _problem(9, 2, 2, seed=3)
    d = np.random.default_rng(3).random((9, 9))  # any distances, not even symmetric
    cand = np.array([8, 3, 3, 0])
    deltas = swap_cost_deltas(torch.tensor(w_rec), None, None, d, 3, cand)
    before = _cost(w_rec, w_in, w_out, d)
    expected = [_cost(*_swapped(w_rec, w_in, w_out, 3, j), d) - before for j in cand]
    np.testing.assert_allclose(deltas, expected, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"w_rec": np.ones((3, 4))}, "square"),
        ({"distances": np.ones((2, 2))}, "distances"),
        ({"d_in": np.ones((4, 2))}, "w_in is None"),
        ({"w_in": np.ones((4, 2)), "d_in": np.ones((4, 3))}, "w_in and d_in"),
        ({"w_out": np.ones((2, 4)), "d_out": np.ones((4, 2))}, "w_out and d_out"),
        ({"i": 4}, "i must be"),
        ({"candidates": np.array([0, 9])}, "candidates"),
        ({"w_rec": np.full((4, 4), np.nan)}, "NaN"),
    ],
)
def test_swap_cost_deltas_errors(kwargs, match):
    args = {"w_rec": np.ones((4, 4)), "w_in": None, "w_out": None, "distances": np.ones((4, 4)), "i": 0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        swap_cost_deltas(**args)


# ------------------------------------------------------------ BIMT swap step


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_best_swaps_never_raise_the_cost(seed):
    w_rec, w_in, w_out, d, d_in, d_out = _problem(15, 4, 3, seed=seed)
    swaps = best_swaps(w_rec, w_in, w_out, d, top_k=8, d_in=d_in, d_out=d_out)
    assert swaps, "a random arrangement always has some improving swap"
    cost = _cost(w_rec, w_in, w_out, d, d_in, d_out)
    for i, j in swaps:
        w_rec, w_in, w_out = _swapped(w_rec, w_in, w_out, i, j)
        new = _cost(w_rec, w_in, w_out, d, d_in, d_out)
        assert new < cost
        cost = new


def test_best_swaps_bring_two_coupled_neurons_together_on_a_line():
    # 1-D lattice of 8; only neurons 0 and 7 are connected (strongly, both ways).
    n = 8
    d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]).astype(float)
    w = np.zeros((n, n))
    w[0, 7] = w[7, 0] = 2.0
    w[1, 2] = w[2, 1] = 0.1  # a weak pair that is already adjacent
    swaps = best_swaps(w, None, None, d, top_k=1)
    # The top neuron (0; ties by index) moves next to 7: position 6 (cost 2*2*6 -> 2*2*1).
    assert swaps == [(0, 6)]
    w2 = permute_neurons({"w": w}, compose_swaps(n, swaps), {"w": (0, 1)})["w"]
    a, b = np.argwhere(w2 == 2.0)[0]
    assert abs(a - b) == 1


def test_best_swaps_top_k_zero_movable_and_optimum():
    w_rec, w_in, w_out, d, _, _ = _problem(10, 2, 2, seed=7)
    assert best_swaps(w_rec, w_in, w_out, d, top_k=0) == []
    movable = np.zeros(10, bool)
    movable[[2, 3, 4]] = True
    for i, j in best_swaps(w_rec, w_in, w_out, d, top_k=10, movable=movable):
        assert {i, j} <= {2, 3, 4}
    # At a local optimum (no single swap helps) nothing moves.
    for _ in range(20):
        swaps = best_swaps(w_rec, None, None, d, top_k=10)
        if not swaps:
            break
        w_rec = permute_neurons({"w": w_rec}, compose_swaps(10, swaps), {"w": (0, 1)})["w"]
    assert best_swaps(w_rec, None, None, d, top_k=10) == []
    with pytest.raises(ValueError, match="top_k"):
        best_swaps(w_rec, None, None, d, top_k=-1)
    with pytest.raises(ValueError, match="movable"):
        best_swaps(w_rec, None, None, d, top_k=1, movable=np.ones(3, bool))


# ------------------------------------------------------------ function preserved


def _rnn_params(n: int, n_in: int, n_out: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(n, n, generator=g) < 0.5).double()
    return {
        "w_rec": 0.4 * torch.randn(n, n, generator=g, dtype=torch.float64) * mask,
        "mask": mask,
        "w_in": torch.randn(n, n_in, generator=g, dtype=torch.float64),
        "w_out": torch.randn(n_out, n, generator=g, dtype=torch.float64),
        "b_rec": 0.1 * torch.randn(n, generator=g, dtype=torch.float64),
        "tau": 1.0 + torch.rand(n, generator=g, dtype=torch.float64),  # per-neuron, in steps
        "h0": 0.1 * torch.rand(n, generator=g, dtype=torch.float64),  # non-zero start state
        "b_out": torch.randn(n_out, generator=g, dtype=torch.float64),
    }


def _forward(p: dict[str, torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Leaky RNN: h <- (1 - 1/tau) h + (1/tau) relu(W_rec h + W_in x + b); y = W_out h + b_out.
    x: (T, B, n_in) -> outputs (T, B, n_out), rates (T, B, N)."""
    h = p["h0"].expand(x.shape[1], -1)
    w = p["w_rec"] * p["mask"]
    alpha = 1.0 / p["tau"]
    rates = []
    for x_t in x.unbind(0):
        h = (1 - alpha) * h + alpha * torch.relu(h @ w.T + x_t @ p["w_in"].T + p["b_rec"])
        rates.append(h)
    r = torch.stack(rates)
    return r @ p["w_out"].T + p["b_out"], r


def test_a_swapped_rnn_computes_the_same_outputs():
    n = 10
    p = _rnn_params(n, 3, 2, seed=0)
    x = torch.randn(12, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y, r = _forward(p, x)
    d = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]).astype(float)
    swaps = best_swaps(p["w_rec"].numpy(), p["w_in"].numpy(), p["w_out"].numpy(), d, top_k=5)
    assert swaps
    for perm in [compose_swaps(n, swaps), permutation_for_swap(n, 2, 7), np.random.default_rng(2).permutation(n)]:
        q = permute_neurons(p, perm, AXES)
        y2, r2 = _forward(q, x)
        torch.testing.assert_close(y2, y, rtol=1e-12, atol=1e-12)  # inputs, outputs untouched
        torch.testing.assert_close(r2, r[..., perm], rtol=1e-12, atol=1e-12)  # neurons moved


def _train(p: dict[str, torch.Tensor], opt: torch.optim.Optimizer, x, target, steps: int) -> None:
    for _ in range(steps):
        opt.zero_grad()
        y, _ = _forward(p, x)
        ((y - target) ** 2).mean().backward()
        opt.step()


def _model(p: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.optim.Adam]:
    params = {k: v.clone().requires_grad_(k in PARAMS) for k, v in p.items()}
    return params, torch.optim.Adam([params[k] for k in PARAMS], lr=1e-2, weight_decay=1e-3)


def _adam_state(params, opt) -> dict[str, torch.Tensor]:
    return {
        f"{k}.{s}": opt.state[params[k]][s] for k in PARAMS for s in ("exp_avg", "exp_avg_sq", "step")
    }


def test_permuted_adam_state_stays_aligned_with_its_synapses():
    n = 8
    g = torch.Generator().manual_seed(3)
    x = torch.randn(6, 5, 3, dtype=torch.float64, generator=g)
    target = torch.randn(6, 5, 2, dtype=torch.float64, generator=g)
    params, opt = _model(_rnn_params(n, 3, 2, seed=4))
    _train(params, opt, x, target, steps=3)
    perm = compose_swaps(n, [(0, 5), (2, 7), (5, 1)])

    # The state of each entry moves with it: synapse (a, b) goes to (inv[a], inv[b]).
    state = _adam_state(params, opt)
    axes = {**{f"{k}.{s}": AXES[k] for k in PARAMS for s in ("exp_avg", "exp_avg_sq")}}
    axes.update({f"{k}.step": () for k in PARAMS})
    moved = permute_neurons(state, perm, axes)
    inv = np.argsort(perm)
    for a, b in [(0, 5), (2, 2), (7, 1)]:
        for s in ("exp_avg", "exp_avg_sq"):
            assert moved[f"w_rec.{s}"][inv[a], inv[b]] == state[f"w_rec.{s}"][a, b]
    assert moved["w_rec.step"] is state["w_rec.step"]

    # Swapped model and state, trained on: the same outputs as the original trained on.
    q_params, q_opt = _model(permute_neurons({k: v.detach() for k, v in params.items()}, perm, AXES))
    for k in PARAMS:
        for s in ("exp_avg", "exp_avg_sq", "step"):
            q_opt.state[q_params[k]][s] = moved[f"{k}.{s}"].clone()
    _train(params, opt, x, target, steps=4)
    _train(q_params, q_opt, x, target, steps=4)
    with torch.no_grad():
        torch.testing.assert_close(_forward(q_params, x)[0], _forward(params, x)[0], rtol=1e-10, atol=1e-12)
        for k in PARAMS:
            expected = permute_neurons({k: params[k]}, perm, AXES)[k]
            torch.testing.assert_close(q_params[k], expected, rtol=1e-10, atol=1e-12)

    # Control: the same swap with the optimizer state left in place diverges.
    bad_params, bad_opt = _model(permute_neurons({k: v.detach() for k, v in params.items()}, perm, AXES))
    ref_params, ref_opt = _model({k: v.detach() for k, v in params.items()})
    for k in PARAMS:
        for s in ("exp_avg", "exp_avg_sq", "step"):
            ref_opt.state[ref_params[k]][s] = opt.state[params[k]][s].clone()
            bad_opt.state[bad_params[k]][s] = opt.state[params[k]][s].clone()  # not permuted
    _train(ref_params, ref_opt, x, target, steps=2)
    _train(bad_params, bad_opt, x, target, steps=2)
    with torch.no_grad():
        assert not torch.allclose(_forward(bad_params, x)[0], _forward(ref_params, x)[0], rtol=1e-6, atol=1e-8)
