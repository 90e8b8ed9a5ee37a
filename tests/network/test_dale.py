"""Dale's law: excitatory and inhibitory populations whose recurrent synapses keep their
sign, through initialisation, training, growth, pruning and neuron swaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from growsim.build import populations, prepare
from growsim.cli import main
from growsim.growth.ops import add_connections
from growsim.growth.swap import permute_network
from growsim.network import LeakyRNN
from growsim.reader import open_run
from growsim.spec import SpecError, load_spec
from growsim.spec.models import DaleSpec

ROOT = Path(__file__).parents[2]
SIGN = torch.tensor([1.0, -1.0, 1.0])


def _net(w, mask=None):
    w = torch.tensor(w)
    return LeakyRNN(
        w_in=torch.ones(3, 1), w_rec=w, w_out=torch.ones(1, 3), mask=(w != 0) if mask is None else mask,
        alpha=0.5, sigma_rec=0.0, sigma_x=0.0, neuron_sign=SIGN,
    )


def test_initial_weights_take_their_presynaptic_sign_and_steps_are_projected():
    net = _net([[0.0, 0.5, -0.2], [0.3, 0.0, 0.4], [-0.7, -0.1, 0.0]])
    # Column j has neuron j's sign: E, I, E.
    expected = torch.tensor([[0.0, -0.5, 0.2], [0.3, 0.0, 0.4], [0.7, -0.1, 0.0]])
    torch.testing.assert_close(net.w_rec.detach(), expected)
    with torch.no_grad():
        net.w_rec.copy_(torch.tensor([[0.0, 0.25, -0.1], [0.3, 0.0, 0.4], [0.7, -0.1, 0.0]]))
    net.constrain()  # (0,1) is I's synapse gone positive, (0,2) E's gone negative: both become 0
    torch.testing.assert_close(net.w_rec.detach(), torch.tensor([[0.0, 0.0, 0.0], [0.3, 0.0, 0.4], [0.7, -0.1, 0.0]]))
    assert int(net.mask.sum()) == 6  # they stay synapses, at 0, free to grow back with their sign


def test_added_synapses_take_their_presynaptic_sign():
    net = _net([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.0, 0.0]])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    add_connections(net, opt, np.array([[0, 1], [1, 2]]), init="constant", value=-0.5)
    assert float(net.w_rec.detach()[0, 1]) == -0.5 and float(net.w_rec.detach()[1, 2]) == 0.5


def test_populations_are_counted_drawn_and_reproducible():
    s = populations(DaleSpec(excitatory=0.75), 8, seed=3)
    assert (s == 1).sum() == 6 and (s == -1).sum() == 2
    assert np.array_equal(s, populations(DaleSpec(excitatory=0.75), 8, seed=3))
    assert not all(np.array_equal(s, populations(DaleSpec(excitatory=0.75), 8, seed=k)) for k in range(4, 10))
    assert populations(DaleSpec(excitatory=0.5, assign="first"), 4, seed=0).tolist() == [1, 1, -1, -1]


def test_a_swap_moves_each_neurons_type_with_it():
    net = _net([[0.0, 0.5, 0.2], [0.3, 0.0, 0.4], [0.7, 0.1, 0.0]])
    permute_network(net, None, np.array([1, 0, 2]))  # neurons 0 and 1 trade places
    assert net.neuron_sign.tolist() == [-1.0, 1.0, 1.0]
    w = net.w_rec.detach()
    assert bool((w[:, net.neuron_sign > 0] >= 0).all()) and bool((w[:, net.neuron_sign < 0] <= 0).all())


def _spec(tmp_path, dale, **growth):
    data = yaml.safe_load((ROOT / "tests" / "data" / "tiny.yaml").read_text())
    data["network"]["dale"] = dale
    data["growth"].update(growth)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_run_keeps_every_synapse_signed_through_training_and_growth(tmp_path):
    out = tmp_path / "dale.h5"
    spec = _spec(tmp_path, {"excitatory": 0.75}, initial_connections=60,
                 events=[{"op": "add_connections", "every": 10, "count": 5, "until": 80}])
    assert main(["run", str(spec), "--out", str(out), "-q", "--set", "train.batches=60"]) == 0
    run = open_run(out)
    for step in run.snapshot_steps():
        snap = run.snapshot(step)
        sign = snap.extra["neuron_sign"]
        assert (sign == 1).sum() == 12 and (sign == -1).sum() == 4
        assert (snap.w_rec[:, sign > 0] >= 0).all() and (snap.w_rec[:, sign < 0] <= 0).all()
    final = run.final()
    assert int(final.mask.sum()) == 80  # 60 at the start, 5 at batches 10 to 40
    assert (final.w_rec[:, final.extra["neuron_sign"] < 0] < 0).any()  # inhibition is there, not zeroed out


def test_populations_need_a_neuron_each(tmp_path):
    with pytest.raises(SpecError, match=r"network.dale.excitatory: gives 16 excitatory of 16 neurons"):
        prepare(load_spec(_spec(tmp_path, {"excitatory": 0.99})))
