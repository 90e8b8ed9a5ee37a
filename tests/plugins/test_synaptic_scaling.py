"""The worked growth-operation plugin (plugins/synaptic_scaling.py): a hand-computed case,
and its spec running with the operation loaded from the file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from growsim.cli import main
from growsim.growth import GrowthContext, get_operation
from growsim.reader import open_run
from growsim.registry import load_plugin_file

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def scaling():
    load_plugin_file(ROOT / "plugins" / "synaptic_scaling.py")
    return get_operation("synaptic_scaling")


def test_incoming_weights_move_toward_the_target_by_hand(scaling):
    w = torch.tensor([[0.0, 0.2, -0.2], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])
    net = SimpleNamespace(w_rec=w)
    ctx = GrowthContext(step=5, network=net, optimizer=None, rng=np.random.default_rng(0))
    outcome = scaling.func(ctx, **scaling.params(target=1.0, rate=0.5).model_dump())
    # Row 0: |w| totals 0.4, wanted 0.4 + 0.5 (1 - 0.4) = 0.7, factor 1.75.
    # Row 1: no input, left alone. Row 2: totals 2, wanted 1.5, factor 0.75.
    expected = torch.tensor([[0.0, 0.35, -0.35], [0.0, 0.0, 0.0], [0.75, 0.0, 0.75]])
    assert torch.allclose(w, expected, atol=1e-7)
    assert outcome.details == pytest.approx({"neurons": 2, "factor_min": 0.75, "factor_max": 1.75})
    assert outcome.pairs is None


def test_rate_one_reaches_the_target_and_keeps_absent_synapses_zero(scaling):
    rng = np.random.default_rng(1)
    w = torch.tensor(rng.normal(size=(6, 6)) * (rng.random((6, 6)) < 0.5), dtype=torch.float32)
    absent = w == 0
    ctx = GrowthContext(step=0, network=SimpleNamespace(w_rec=w), optimizer=None, rng=rng)
    scaling.func(ctx, target=2.0, rate=1.0)
    totals = w.abs().sum(dim=1)
    has_input = totals > 0
    assert torch.allclose(totals[has_input], torch.full_like(totals[has_input], 2.0), atol=1e-6)
    assert bool((w[absent] == 0).all())


def test_its_spec_runs_with_the_operation_from_the_plugin_file(tmp_path):
    out = tmp_path / "scaling.h5"
    overrides = [
        "train.batches=20", "log.every=10", "log.eval_batch_size=8", "train.batch_size=8",
        "growth.events[0].every=5", "growth.events[1].every=10",
    ]
    args = ["run", str(ROOT / "specs" / "add_conn_scaling.yaml"), "--out", str(out), "-q"]
    assert main(args + [x for o in overrides for x in ("--set", o)]) == 0
    run = open_run(out)
    events = run.events()
    scaled = events[events["op"] == "synaptic_scaling"]
    assert list(scaled["step"]) == [10]
    # At step 10, after two growth events of 10 synapses: some neurons have input, and those
    # with a small total are scaled up toward 0.5.
    assert 0 < int(scaled["neurons"].iloc[0]) <= 20
    assert float(scaled["factor_max"].iloc[0]) > 1
    assert "synaptic_scaling: file " in run.attrs["version_growth_operations"]
