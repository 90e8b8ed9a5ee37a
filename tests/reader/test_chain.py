"""Chain runs read back: the chain's weights, its dense equivalent and its heads' levels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from growsim.reader import RunFileError, open_run

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def runs(make_runs, tmp_path_factory):
    return make_runs.chain_runs(tmp_path_factory.getbasetemp() / "chain-runs")


@pytest.fixture
def leaky(make_runs, tmp_path):
    """A leaky-RNN run file written by hand (no network_kind attribute: an older file)."""
    return open_run(make_runs.make_growing(tmp_path / "growing.h5"))


def test_kind_snapshots_and_levels(runs, leaky):
    run = open_run(runs["chain"])
    assert run.network_kind == "chain" and leaky.network_kind == "leaky_rnn"
    series = run.series()
    steps = run.snapshot_steps()
    assert steps == list(series["step"])
    final = run.final()
    assert final.is_chain and final.n_modules == 2 and final.n_neurons == 12
    assert final.w_rec.shape == (2, 6, 6) and final.extra["w_ff"].shape == (2, 6, 6)
    dense = final.dense_w_rec()
    assert dense.shape == (12, 12)
    np.testing.assert_array_equal(dense[6:, :6], final.extra["w_ff"][1])
    np.testing.assert_array_equal(dense[:6, 6:], 0)
    assert np.all(np.diag(dense) == 0)
    # The heads' levels agree with the level trained at the next evaluation (or at this one, at the end).
    n_current = series["n_current"].to_numpy()
    for i, step in enumerate(steps):
        levels = run.parity_levels(step)
        top = n_current[i + 1] if i + 1 < len(steps) else n_current[i]
        assert levels == list(range(2, int(top) + 1))
    # The levels of weights already read, from the heads they hold (no read).
    assert run.head_levels(final) == run.parity_levels() == list(range(2, 2 + len(final.extra["head_module"])))
    assert run.head_levels(leaky.final()) == []
    with pytest.raises(RunFileError, match="needs a chain run"):
        leaky.parity_levels()


def test_reading_a_chain_run_does_not_import_training_code(runs):
    code = (
        "import sys, growsim\n"
        f"run = growsim.open_run({str(runs['chain'])!r})\n"
        "snap = run.weights(); snap.dense_w_rec(); run.parity_levels(); run.head_levels(snap); run.series()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('growsim.')"
        " and not m.startswith(('growsim.reader', 'growsim._process')))\n"
        "assert not loaded, f'reading loaded {loaded}'\n"
        "assert 'torch' not in sys.modules, 'the reader imported torch'\n"
    )
    result = subprocess.run(check=False, args=[sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
