"""The threads a run takes when its spec names none."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from growsim import _cpus
from growsim.cli import main

TINY = Path(__file__).parent / "data" / "tiny.yaml"


@pytest.mark.parametrize(
    "cpus,load,threads",
    [(2, 0.0, 2), (2, 0.4, 2), (2, 1.0, 1), (2, 3.5, 1), (1, 0.0, 1), (16, 0.2, 4), (16, 13.6, 2), (8, 6.4, 2)],
)
def test_large_networks_and_ensembles_take_one_thread_per_free_core_between_one_and_four(cpus, load, threads):
    assert _cpus.auto_threads(None, cpus, load) == threads
    assert _cpus.auto_threads(_cpus.SMALL_NETWORK + 1, cpus, load) == threads


@pytest.mark.parametrize("neurons", [1, 84, _cpus.SMALL_NETWORK])
def test_small_networks_take_one_thread_however_idle(neurons):
    assert _cpus.auto_threads(neurons, 16, 0.0) == 1


@pytest.fixture
def three_idle_cpus(monkeypatch):
    monkeypatch.setattr(_cpus, "available_cpus", lambda: 3)
    monkeypatch.setattr(_cpus, "load_average", lambda: 0.0)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # the rest of the suite runs at the thread count it set


def test_run_of_a_small_network_takes_one_thread_and_says_why(three_idle_cpus, tmp_path, capsys):
    torch.set_num_threads(2)
    assert main(["run", str(TINY), "--out", str(tmp_path / "a.h5"), "--set", "log.progress=false"]) == 0
    assert torch.get_num_threads() == 1
    assert "torch threads: 1 (16 neurons: one thread up to 256" in capsys.readouterr().err


def test_ensemble_takes_the_free_cores_and_says_so(three_idle_cpus, tmp_path, capsys):
    out = tmp_path / "ens.h5"
    assert main(["run", str(TINY), "--out", str(out), "--set", "seed=[1, 2]", "--set", "log.progress=false"]) == 0
    assert torch.get_num_threads() == 3
    assert "torch threads: 3 (3 CPUs, load 0.0: one per free core, at most 4" in capsys.readouterr().err


def test_threads_named_in_the_spec_or_by_omp_are_kept(three_idle_cpus, tmp_path, capsys, monkeypatch):
    assert main(["run", str(TINY), "--out", str(tmp_path / "a.h5"), "--set", "train.threads=1"]) == 0
    assert torch.get_num_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(["run", str(TINY), "--out", str(tmp_path / "b.h5")]) == 0
    assert torch.get_num_threads() == 1
    assert "torch threads" not in capsys.readouterr().err
