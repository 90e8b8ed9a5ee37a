"""The logger fan-out and the HDF5 writer on their own."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from growsim.log import Loggers, RunInfo
from growsim.log.hdf5 import HDF5Logger


class Recorder:
    def __init__(self, fail: bool = False):
        self.calls: list[str] = []
        self.fail = fail

    def close(self, status, reason, step, final):
        self.calls.append(status)
        if self.fail:
            raise OSError("disk full")


def test_every_logger_is_closed_even_if_one_fails():
    a, b = Recorder(fail=True), Recorder()
    with pytest.raises(OSError, match="disk full"):
        Loggers([a, b]).close("completed", None, 3, None)
    assert a.calls == b.calls == ["completed"]


def _info(n=3):
    return RunInfo(
        name="t", seed=1, batches=10, spec_text="seed: 1\n", resolved_yaml="seed: 1\n", resolved_json="{}",
        overrides=("seed=1",), task_names=("fdgo",), n_neurons=n, n_input=5, n_output=3,
        distances=np.zeros((n, n)), positions=None, labels=("a", "b", "c"), distance_units="mm",
    )


def test_hdf5_writer_appends_and_describes(tmp_path):
    path = tmp_path / "sub" / "run.h5"
    log = HDF5Logger(path)
    log.start(_info())
    log.log_train_losses(np.arange(3), np.array([0.5, 0.4, 0.3]))
    log.log_train_losses(np.arange(3, 5), np.array([0.2, 0.1]))
    log.log_metrics(0, {"loss": 1.0}, {"perf": np.array([0.25])})
    log.log_metrics(5, {"loss": 0.5}, {"perf": np.array([0.75])})
    log.log_event(5, "add_connections", {"count": 2, "connections": 2}, np.array([[0, 1], [2, 0]]))
    log.close("completed", None, 5, {"w_rec": np.eye(3, dtype=np.float32), "mask": np.eye(3, dtype=bool)})
    with h5py.File(path, "r") as f:
        assert list(f["train/loss"][()]) == pytest.approx([0.5, 0.4, 0.3, 0.2, 0.1])
        assert list(f["series/step"][()]) == [0, 5]
        assert f["series/perf"].shape == (2, 1) and f["series/perf"][1, 0] == 0.75
        assert f["series/loss"].attrs["units"] == "1" and f["series/loss"].attrs["description"]
        assert f["events/synapses"][()].tolist() == [[0, 0, 1], [0, 2, 0]]
        assert f["final/mask"].dtype == np.uint8
        assert f.attrs["status"] == "completed" and f.attrs["last_step"] == 5
        assert [x.decode() for x in f["geometry/labels"][()]] == ["a", "b", "c"]


def test_hdf5_writer_refuses_to_overwrite(tmp_path):
    path = tmp_path / "run.h5"
    path.write_bytes(b"")
    with pytest.raises(FileExistsError, match="--overwrite"):
        HDF5Logger(path).start(_info())
    log = HDF5Logger(path, overwrite=True)
    log.start(_info())
    log.close("completed", None, 0, None)
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "completed"
