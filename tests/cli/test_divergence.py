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
