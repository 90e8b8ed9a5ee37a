"""The HDF5 writer makes its HDF5 calls on a thread of its own (growsim.log.hdf5._OwnThread):
its long-lived metadata blocks then stay out of the training thread's heap. What a caller
sees must not change: order, results, exceptions, and no thread left behind."""

from __future__ import annotations

import gc
import threading

import h5py
import numpy as np
import pytest

import growsim.log.hdf5 as hdf5
from growsim.log.base import RunInfo
from growsim.log.hdf5 import HDF5Logger, _OwnThread


def _info(n=3):
    return RunInfo(
        name="t", seed=1, batches=10, spec_text="seed: 1\n", resolved_yaml="seed: 1\n", resolved_json="{}",
        overrides=(), task_names=("fdgo",), n_neurons=n, n_input=5, n_output=3,
        distances=np.zeros((n, n)), positions=None, labels=("a", "b", "c"), distance_units="mm",
    )


def _writers():
    return [t for t in threading.enumerate() if t.name.startswith("growsim-writer")]


def test_calls_run_in_order_on_another_thread_and_return_their_results():
    own = _OwnThread("growsim-writer test")
    seen = []
    results = [own.call(lambda i=i: seen.append((i, threading.current_thread())) or i * i) for i in range(5)]
    assert results == [0, 1, 4, 9, 16]
    assert [i for i, _ in seen] == list(range(5))
    threads = {t for _, t in seen}
    assert len(threads) == 1 and threading.current_thread() not in threads
    # A call the writer makes itself runs at once (it would wait for itself otherwise).
    assert own.call(lambda: own.call(threading.current_thread)) is next(iter(threads))
    own.stop()


def test_an_exception_reaches_the_caller_and_the_thread_goes_on():
    own = _OwnThread("growsim-writer test")

    def fails():
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left") as info:
        own.call(fails)
    assert "fails" in [frame.name for frame in info.traceback]  # the writer's own frames are kept
    assert own.call(lambda: "still there") == "still there"
    own.stop()


def test_stop_ends_the_thread_and_a_later_call_starts_another():
    own = _OwnThread("growsim-writer test")
    first = own.call(threading.current_thread)
    own.stop()
    first.join(timeout=10)
    assert not first.is_alive()
    second = own.call(threading.current_thread)
    assert second is not first and second.is_alive()
    own.stop()
    second.join(timeout=10)


def test_a_forgotten_writer_lets_its_thread_end():
    own = _OwnThread("growsim-writer test")
    thread = own.call(threading.current_thread)
    del own
    gc.collect()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_logger_writes_on_its_thread_and_leaves_none_after_close(tmp_path, monkeypatch):
    before = set(_writers())
    where = []
    append = hdf5.HDF5Logger._append

    def spy(self, *args, **kwargs):
        where.append(threading.current_thread())
        return append(self, *args, **kwargs)

    monkeypatch.setattr(hdf5.HDF5Logger, "_append", spy)
    path = tmp_path / "run.h5"
    lg = HDF5Logger(path)
    lg.start(_info())
    lg.log_metrics(0, {"loss": 1.0}, {})
    lg.log_train_losses(np.arange(3), np.ones(3))
    lg.commit(0)
    lg.close("completed", None, 3, {"w_rec": np.eye(3)})
    assert where and all(t is where[0] for t in where) and where[0] is not threading.current_thread()
    assert where[0].name == "growsim-writer run.h5"
    where[0].join(timeout=10)
    assert set(_writers()) == before
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "completed"
        assert list(f["train/loss"][:]) == [1.0, 1.0, 1.0]
        assert f["final/w_rec"].shape == (3, 3)


def test_an_error_in_a_write_reaches_the_run_as_before(tmp_path):
    lg = HDF5Logger(tmp_path / "run.h5")
    lg.start(_info())
    lg.log_metrics(0, {"perf": 1.0}, {})
    with pytest.raises(ValueError, match="rows of shape"):
        lg.log_metrics(1, {}, {"perf": np.ones(2)})  # a scalar series given an array row
    lg.close("failed", "a test", 1, None)
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f.attrs["status"] == "failed"
