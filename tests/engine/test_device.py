"""Batches made on the device, and the CUDA path end to end (the CUDA tests need a GPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from growsim.build import build_engine, member_output, prepare
from growsim.cli import main
from growsim.train.engine import RunInterrupted
from growsim.log.hdf5 import HDF5Logger
from growsim.train.objectives import TrialObjective, on_device
from growsim.spec import load_spec
from growsim.tasks import TASK_NAMES, YangSuite

DATA = Path(__file__).parents[1] / "data"
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _objective(loss: str, device: str) -> TrialObjective:
    suite = YangSuite(tasks=list(TASK_NAMES), n_eachring=8)
    return TrialObjective(suite, loss=loss, eval_batch_size=4, eval_noise=False, eval_seed=0, device=torch.device(device))


@pytest.mark.parametrize(("loss", "target", "array"), [("mse", "y", "y"), ("ce", "target", "target_class")])
def test_tensors_are_the_batch_arrays(loss, target, array):
    objective = _objective(loss, "cpu")
    rng = np.random.default_rng(0)
    for _ in range(40):  # every task turns up
        batch = objective.sample(rng, 6)
        t = objective.tensors(batch)
        assert sorted(t) == sorted(["x", "c_mask", target])
        for key, name in (("x", "x"), ("c_mask", "c_mask"), (target, array)):
            expected = getattr(batch, name)
            assert t[key].dtype == torch.from_numpy(expected).dtype and t[key].is_contiguous()
            np.testing.assert_array_equal(t[key].numpy(), expected)


@cuda
def test_tensors_made_on_the_gpu_equal_those_made_here():
    rng = np.random.default_rng(1)
    here, there = _objective("mse", "cpu"), _objective("mse", "cuda")
    for _ in range(20):
        batch = here.sample(rng, 8)
        for key, value in there.tensors(batch).items():
            assert value.device.type == "cuda"
            assert torch.equal(value.cpu(), here.tensors(batch)[key])
        piece = batch.pieces["x"]
        assert torch.equal(on_device(piece, torch.device("cuda")).cpu(), torch.from_numpy(piece.dense()))


@cuda
def test_a_run_on_the_gpu_stops_and_resumes_to_the_whole_run(tmp_path, h5_contents, assert_same_h5):
    import h5py

    sets = ["train.device=cuda", "train.batches=30", "log.every=10"]
    whole = tmp_path / "whole.h5"
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(whole), "-q", *[a for o in sets for a in ("--set", o)]]) == 0
    with h5py.File(whole, "r") as f:
        assert f.attrs["status"] == "completed"
        assert np.isfinite(f["final/w_rec"][()]).all() and int(f["final/mask"][()].sum()) == 10
    part = tmp_path / "part.h5"
    engine = build_engine(prepare(load_spec(DATA / "tiny.yaml", sets)), [HDF5Logger(part)])
    step = engine.train_step

    def stepping(batch):
        if engine.step == 13:
            engine.request_stop("stopped by the test")
        return step(batch)

    engine.train_step = stepping
    with pytest.raises(RunInterrupted):
        engine.run()
    assert main(["run", "--resume", str(part), "-q"]) == 0
    assert_same_h5(h5_contents(part), h5_contents(whole), rtol=1e-4, atol=1e-5)


@cuda
def test_a_stacked_ensemble_on_the_gpu_matches_its_solo_runs(tmp_path, h5_contents, assert_same_h5):
    base = tmp_path / "ens.h5"
    sets = ["--set", "train.device=cuda"]
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(base), "-q", "--set", "seed=[0, 1]", *sets]) == 0
    for seed in (0, 1):
        solo = tmp_path / f"solo{seed}.h5"
        assert main(["run", str(DATA / "tiny.yaml"), "--out", str(solo), "-q", "--set", f"seed={seed}", *sets]) == 0
        # GPU kernels for one network and for a stack of them round differently
        assert_same_h5(h5_contents(member_output(base, seed)), h5_contents(solo), rtol=1e-4, atol=1e-5)


def test_synapses_are_counted_only_when_growth_or_the_log_needs_it(monkeypatch):
    # Counting the synapses reads the mask back from the device: on a GPU, a wait.
    from growsim.network import LeakyRNN

    engine = build_engine(prepare(load_spec(DATA / "tiny.yaml", ["log.every=10"])), [])
    counted_at = []
    count = LeakyRNN.n_connections.fget

    def counting(net):
        counted_at.append(engine.step)
        return count(net)

    monkeypatch.setattr(LeakyRNN, "n_connections", property(counting))
    engine.run()
    assert counted_at and {step % 10 for step in counted_at} == {0}  # growth and log steps only


@cuda
def test_a_cuda_device_that_is_not_there_is_named():
    from growsim.spec import SpecError

    missing = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(SpecError, match=f"there is no {missing}"):
        build_engine(prepare(load_spec(DATA / "tiny.yaml", [f"train.device={missing}"])), [])


@cuda
def test_the_reader_gives_the_accuracy_a_gpu_chain_logged(tmp_path):
    # The evaluation's r(0) come from a CPU stream on any device, so the reader's test set
    # (on a CPU) is the one the run evaluated; only the devices' rounding may differ.
    from growsim.analyses import network_at, parity_test_set
    from growsim.reader import open_run

    out = tmp_path / "chain.h5"
    assert main(["run", str(DATA / "tiny_chain.yaml"), "--out", str(out), "-q", "--set", "train.device=cuda"]) == 0
    run = open_run(out)
    row = run.series().iloc[-1]
    net, _ = network_at(run, run.last_step)
    levels = [n for n in run.parity_levels(run.last_step) if n <= row["n_current"]]
    test = parity_test_set(run, levels)
    if len(levels) < net.n_heads:  # grown after its last evaluation
        net.heads = torch.nn.ModuleList(list(net.heads)[: len(levels)])
        net.head_module = net.head_module[: len(levels)]
    acc = test.accuracy(net)
    logged = np.array([row[f"perf/parity_{n}"] for n in levels])
    np.testing.assert_allclose(acc, logged, atol=2 / test.n_trials)
