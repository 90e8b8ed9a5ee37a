"""A short training run learns: the loss falls on the easiest tasks."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.cli import main

SPEC = """
seed: 0
network:
  geometry: {kind: random_points, n: 40, dim: 3}
wiring: {rule: random}
growth:
  initial_connections: 600
task:
  tasks: [fdgo, reactgo]
  n_eachring: 8
train:
  batches: 400
  batch_size: 32
  optimizer: {kind: adam, lr: 0.005}
log:
  every: 400
  eval_batch_size: 64
  snapshots: false
  progress: false
"""


@pytest.mark.slow
def test_loss_falls_and_performance_rises(tmp_path: Path):
    spec = tmp_path / "easy.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "easy.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    with h5py.File(out, "r") as f:
        loss = f["train/loss"][()]
        perf = f["series/perf"][()]
    first, last = loss[:25].mean(), loss[-25:].mean()
    assert last < 0.5 * first, (first, last)
    assert np.all(perf[-1] > perf[0])
    assert perf[-1].mean() > 0.5, perf
