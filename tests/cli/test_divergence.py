"""A run whose loss or weights become NaN or infinite stops as failed, keeping its last good checkpoint."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from growsim.cli import main

ROOT = Path(__file__).parents[2]


def test_divergence_stops_the_run_and_names_the_tensors(tmp_path, capsys):
    out = tmp_path / "diverged.h5"
    # Plain SGD with an absurd learning rate and no clipping blows the weights up within a few batches.
    args = ["run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q",
            "--set", "growth.initial_connections=100", "--set", "growth.events=[]", "--set", "train.optimizer={kind: sgd, lr: 1.0e+12}",
            "--set", "train.grad_clip.mode=none", "--set", "train.batches=200", "--set", "log.every=100"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "run failed: diverged" in err and "Traceback" not in err
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "failed"
        reason = f.attrs["status_reason"]
        assert reason.split(" (the checkpoint")[0] in err  # the terminal and the file name the same batch
        assert "diverged" in reason and "the checkpoint before it is kept" in reason
        assert "non-finite weights in" in reason or "training loss became" in reason
        ckpt = f["checkpoint"]
        assert ckpt.attrs["step"] == 0  # the last good one: taken before training
        assert all(np.all(np.isfinite(ckpt["network"][k][()])) for k in ckpt["network"])
        losses = f["train/loss"][()]
        assert not np.all(np.isfinite(losses))  # the record shows where it went wrong


def test_rates_that_overflow_in_the_functional_report_end_as_a_divergence(tmp_path, capsys):
    """Weights finite but so large that the rates overflow: the functional report's task
    variance met them first (a ValueError and a traceback, exit 1). The run ends as diverged,
    naming the batch, as a NaN loss does."""
    out = tmp_path / "overflow.h5"
    args = ["run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q",
            "--set", "growth.initial_connections=100", "--set", "growth.events=[]",
            "--set", "network.w_rec={dist: orthogonal, gain: 1.0e+30}", "--set", "network.w_in={dist: normal, gain: 1.0e+30}",
            "--set", "log.functional={every: 10, n_shuffles: 10}", "--set", "train.batches=20"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "run failed: diverged: the rates became NaN or infinite at batch 0" in err and "Traceback" not in err
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "failed"
        reason = f.attrs["status_reason"]
        assert reason.startswith("diverged: the rates became NaN or infinite at batch 0, in the functional report")
        assert reason.endswith("(before the first checkpoint)")
    assert [p.name for p in tmp_path.iterdir()] == ["overflow.h5"]  # no hidden copy left
