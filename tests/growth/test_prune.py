"""prune_connections against hand-computed cases: which synapses go, and that they are gone
(exact zeros, masked, no optimizer history), and a run that prunes from a spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from growsim.cli import main
from growsim.growth import GrowthContext, get_operation
from growsim.network import LeakyRNN
from growsim.reader import open_run
from growsim.spec import SpecError, load_spec

ROOT = Path(__file__).parents[2]
PRUNE = get_operation("prune_connections")

# Existing synapses (post, pre) -> weight; the others are absent.
W = {(0, 1): 0.5, (0, 2): -0.1, (1, 0): 0.3, (1, 2): -0.05, (2, 0): 0.9, (2, 1): 0.2}


def _network():
    w = torch.zeros(3, 3)
    for (i, j), v in W.items():
        w[i, j] = v
    net = LeakyRNN(
        w_in=torch.ones(3, 2), w_rec=w, w_out=torch.ones(1, 3), mask=w != 0, alpha=0.2, sigma_rec=0.0, sigma_x=0.0
    )
    return net


def _context(net, optimizer=None, seed=0):
    return GrowthContext(step=100, network=net, optimizer=optimizer, rng=np.random.default_rng(seed))


def _prune(net, optimizer=None, seed=0, **params):
    if optimizer is None:
        optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    return PRUNE.func(_context(net, optimizer, seed), **PRUNE.params(**params).model_dump())


def _present(net):
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(net.mask.numpy()))}


def test_by_magnitude_removes_the_weakest_and_clears_their_optimizer_state():
    net = _network()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-2)
    net.w_rec.grad = torch.ones(3, 3) * net.mask
    opt.step()  # Adam now has moments at every existing synapse
    before = {k: float(net.w_rec.detach()[k]) for k in W}
    outcome = _prune(net, opt, by="magnitude", count=2)
    # |w|: 0.05 (1,2) and 0.1 (0,2) are the two weakest.
    assert sorted(map(tuple, outcome.pairs.tolist())) == [(0, 2), (1, 2)]
    assert outcome.details == {"count": 2, "requested": 2, "by": "magnitude"}
    assert _present(net) == set(W) - {(0, 2), (1, 2)}
    for k in [(0, 2), (1, 2)]:
        assert float(net.w_rec.detach()[k]) == 0.0 and int(net.synapse_born[k]) == -1
        for state in opt.state[net.w_rec].values():
            if torch.is_tensor(state) and state.shape == net.w_rec.shape:
                assert float(state[k]) == 0.0
    kept = set(W) - {(0, 2), (1, 2)}
    assert all(float(net.w_rec.detach()[k]) == before[k] for k in kept)
    assert all(float(opt.state[net.w_rec]["exp_avg"][k]) != 0 for k in kept)


def test_by_age_removes_the_oldest_then_the_weakest():
    net = _network()
    # (0,1) and (2,0) regrown later: born at 50 and 80; the others at 0.
    net.synapse_born[0, 1] = 50
    net.synapse_born[2, 0] = 80
    outcome = _prune(net, by="age", count=5)
    # Born at 0: (0,2) 0.1, (1,0) 0.3, (1,2) 0.05, (2,1) 0.2 -> weakest first: (1,2), (0,2), (2,1), (1,0); then (0,1) at 50.
    assert _present(net) == {(2, 0)}
    assert sorted(map(tuple, outcome.pairs.tolist())) == sorted([(1, 2), (0, 2), (2, 1), (1, 0), (0, 1)])


def test_fraction_below_and_keep():
    net = _network()
    assert _prune(net, by="magnitude", fraction=0.5).details["count"] == 3  # half of 6
    assert _present(net) == {(0, 1), (2, 0), (1, 0)}
    net = _network()
    out = _prune(net, by="magnitude", below=0.25)  # every |w| < 0.25: 0.1, 0.05, 0.2
    assert out.details == {"count": 3, "requested": 3, "by": "magnitude"}
    assert _present(net) == {(0, 1), (1, 0), (2, 0)}
    net = _network()
    assert _prune(net, by="magnitude", count=10, keep=4).details == {"count": 2, "requested": 10, "by": "magnitude"}
    assert len(_present(net)) == 4
    assert _prune(net, by="magnitude", count=1, keep=4) is None  # at keep: the event does not fire


def test_random_draws_from_the_growth_stream_among_the_eligible():
    a, b, c = _network(), _network(), _network()
    pa = _prune(a, seed=7, by="random", count=2, below=0.4).pairs
    pb = _prune(b, seed=7, by="random", count=2, below=0.4).pairs
    assert np.array_equal(pa, pb)  # the same stream state, the same choice
    eligible = {(0, 2), (1, 0), (1, 2), (2, 1)}  # |w| < 0.4
    assert {tuple(p) for p in pa.tolist()} <= eligible
    picks = set()
    for seed in range(20):
        picks |= {tuple(p) for p in _prune(_network(), seed=seed, by="random", count=1, below=0.4).pairs.tolist()}
    assert picks == eligible  # every eligible synapse can go; no other ever does
    assert len(_present(c)) == 6


def test_the_spec_needs_a_count_a_fraction_or_a_threshold(tmp_path):
    data = yaml.safe_load((ROOT / "tests" / "data" / "tiny.yaml").read_text())
    data["growth"]["events"].append({"op": "prune_connections", "every": 20, "by": "age"})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"growth.events\[1\]: .*say how many synapses go"):
        load_spec(path)


def test_a_pruning_run_from_its_shipped_spec(tmp_path):
    out = tmp_path / "prune.h5"
    sets = ["train.batches=30", "log.every=10", "log.eval_batch_size=8", "train.batch_size=8",
            "growth.events[0].every=10", "growth.events[0].start=10", "growth.events[0].count=2000"]
    assert main(["run", str(ROOT / "specs" / "prune_conn_magnitude.yaml"), "--out", str(out), "-q"]
                + [x for s in sets for x in ("--set", s)]) == 0
    run = open_run(out)
    events = run.events()
    pruned = events[events["op"] == "prune_connections"]
    assert list(pruned["step"]) == [10, 20]
    capacity = 83 * 82
    assert list(pruned["connections"]) == [capacity - 2000, capacity - 4000]
    final = run.final()
    # Pruned synapses stay exact zeros through training: the mask holds them.
    assert int(final.mask.sum()) == capacity - 4000
    assert np.all(final.w_rec[final.mask == 0] == 0)
