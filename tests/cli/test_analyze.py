"""growsim analyze: results go to /analysis/<name>, the training record stays as it was."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.cli import main
from growsim.reader import open_run


@pytest.fixture
def copy_of(small_runs, tmp_path):
    def copy(name: str) -> Path:
        out = tmp_path / f"{name}.h5"
        shutil.copyfile(small_runs[name], out)
        return out

    return copy


def record(path: Path) -> dict[str, str]:
    """A digest of every dataset and attribute outside /analysis."""
    out: dict[str, str] = {}
    with h5py.File(path, "r") as f:
        out["/"] = repr(sorted((k, repr(v)) for k, v in f.attrs.items()))

        def visit(name, obj):
            if name.split("/")[0] == "analysis":
                return
            attrs = repr(sorted((k, repr(v)) for k, v in obj.attrs.items()))
            data = hashlib.sha256(obj[()].tobytes() if obj.dtype.kind != "O" else repr(obj[()]).encode()).hexdigest() \
                if isinstance(obj, h5py.Dataset) else ""
            out[name] = attrs + data

        f.visititems(visit)
    return out


def test_modularity_matches_training_and_leaves_the_record(copy_of, capsys):
    path = copy_of("tiny")
    before = record(path)
    assert main(["analyze", str(path), "modularity"]) == 0
    assert "wrote /analysis/modularity_spectral" in capsys.readouterr().out
    assert record(path) == before
    run = open_run(path)
    res = run.analysis("modularity_spectral")
    np.testing.assert_array_equal(res["step"], [0, 10, 20, 30, 40])
    np.testing.assert_allclose(res["q"], run.series()["modularity_q"], atol=1e-9)
    np.testing.assert_array_equal(res["labels"], run.communities()[1])
    assert res.attrs["method"] == "spectral" and res.attrs["version_growsim"] and res.attrs["created"]
    assert '"method": "spectral"' in res.attrs["parameters"]
    with h5py.File(path, "r") as f:
        for ds in f["analysis/modularity_spectral"].values():
            assert "units" in ds.attrs and ds.attrs["description"]


def test_rerunning_replaces_only_that_group(copy_of):
    path = copy_of("tiny")
    assert main(["analyze", str(path), "modularity", "--method", "louvain", "--seed", "3"]) == 0
    assert main(["analyze", str(path), "modularity"]) == 0
    louvain = open_run(path).analysis("modularity_louvain")
    assert main(["analyze", str(path), "modularity", "--resolution", "2"]) == 0
    run = open_run(path)
    assert run.analyses() == {"modularity_louvain": "modularity", "modularity_spectral": "modularity"}
    assert run.analysis("modularity_spectral").attrs["resolution"] == 2.0
    again = run.analysis("modularity_louvain")
    assert again.attrs == louvain.attrs and np.array_equal(again["q"], louvain["q"])
    assert louvain.attrs["seed"] == 3


def test_refuses_a_running_file_unless_forced(copy_of, capsys):
    path = copy_of("killed")
    before = record(path)
    assert main(["analyze", str(path), "modularity"]) == 2
    err = capsys.readouterr().err
    assert "status running, last step 30" in err and "--force" in err
    assert record(path) == before and "analysis" not in h5py.File(path, "r")
    assert main(["analyze", str(path), "modularity", "--force"]) == 0
    assert list(open_run(path).analysis("modularity_spectral")["step"]) == [0, 10, 20, 30]


def test_refuses_a_run_whose_writer_is_alive(copy_of, capsys):
    import os

    path = copy_of("killed")
    with h5py.File(path, "a") as f:
        f.attrs["writer_pid"] = os.getpid()  # this process: alive
    assert main(["analyze", str(path), "modularity", "--force"]) == 2
    assert "is being written by process" in capsys.readouterr().err


def test_no_snapshots_and_growing_networks(copy_of):
    path = copy_of("no_snapshots")
    assert main(["analyze", str(path), "modularity"]) == 0
    assert list(open_run(path).analysis("modularity_spectral")["step"]) == [40]  # from /final
    path = copy_of("growing")
    assert main(["analyze", str(path), "modularity", "--name", "q"]) == 0
    res = open_run(path).analysis("q")
    assert res["labels"].shape == (3, 9) and list(res["n_neurons"]) == [4, 6, 9]


def test_task_variance(copy_of, capsys):
    path = copy_of("tiny")
    assert main(["analyze", str(path), "task_variance", "--trials", "8", "--step", "20"]) == 0
    assert "wrote /analysis/task_variance" in capsys.readouterr().out
    res = open_run(path).analysis("task_variance")
    assert list(res["step"]) == [20] and list(res["tasks"]) == ["fdgo", "reactgo"]
    assert res["variance"].shape == (2, 16) and res["labels"].shape == (16,)
    active = res["labels"] >= 0
    assert np.all(np.nanmax(res["normalized"][:, active], axis=0) == 1.0)
    assert res.attrs["n_clusters"] == res["labels"].max() + 1


@pytest.mark.parametrize(("args", "message"), [
    (["bogus"], "unknown metric 'bogus'; choose one of: modularity, task_variance, robustness, timescales"),
    (["modularity", "--method", "walktrap"], "unknown --method 'walktrap'"),
    (["modularity", "--name", "a/b"], "--name: analysis name 'a/b'"),
    (["modularity", "--resolution", "0"], "--resolution must be positive"),
    (["task_variance", "--step", "15"], "no snapshot at step 15"),
])
def test_bad_arguments(args, message, copy_of, capsys):
    path = copy_of("tiny")
    assert main(["analyze", str(path), *args]) == 2
    assert message in capsys.readouterr().err


# --- chain runs (Hamidi et al.) ---------------------------------------------------------


@pytest.fixture
def chain_copy(make_runs, tmp_path_factory, tmp_path):
    runs = make_runs.chain_runs(tmp_path_factory.getbasetemp() / "chain-runs")
    out = tmp_path / "chain.h5"
    shutil.copyfile(runs["chain"], out)
    return out


def test_robustness_command_leaves_the_record(chain_copy, capsys):
    before = record(chain_copy)
    args = ["--what", "recurrent", "--eps", "0,0.2", "--draws", "2", "--trials", "32", "--seed", "3"]
    assert main(["analyze", "robustness", str(chain_copy), *args]) == 0
    out = capsys.readouterr().out
    assert "wrote /analysis/robustness" in out and "recurrent:" in out
    assert record(chain_copy) == before
    run = open_run(chain_copy)
    res = run.analysis("robustness")
    levels = run.parity_levels()
    assert list(res["what"]) == ["recurrent"] and list(res["eps"]) == [0.0, 0.2] and list(res["levels"]) == levels
    assert res["accuracy"].shape == (1, 2, 2, len(levels)) and res["n_solved_above"].shape == (1, 2, 2)
    np.testing.assert_array_equal(res["accuracy"][0, 0], [res["accuracy_unperturbed"]] * 2)
    assert res.attrs["metric"] == "robustness" and res.attrs["seed"] == 3 and res.attrs["scope"] == "module"
    # RUN METRIC works as well; --eps as start:stop:step.
    assert main(["analyze", str(chain_copy), "robustness", "--what", "tau", "--eps", "0:0.2:0.1", "--draws", "1",
                 "--trials", "32", "--name", "rob_tau"]) == 0
    np.testing.assert_allclose(open_run(chain_copy).analysis("rob_tau")["eps"], [0.0, 0.1, 0.2])
    assert record(chain_copy) == before


def test_timescales_command(chain_copy, capsys):
    before = record(chain_copy)
    assert main(["analyze", "timescales", str(chain_copy), "--steps", "3000", "--max-lag", "10", "--burn-in", "100"]) == 0
    assert "wrote /analysis/timescales" in capsys.readouterr().out
    assert record(chain_copy) == before
    res = open_run(chain_copy).analysis("timescales")
    assert res["tau_effective"].shape == res["tau_trained"].shape == (2, 6) and res["ac"].shape == (11, 2, 6)
    assert np.all(res["tau_trained"] >= 1) and res.attrs["steps"] == 3000 and len(res["reason"]) == 12


def test_timescales_at_solves_command(chain_copy, capsys):
    args = ["analyze", "timescales_at_solves", str(chain_copy), "--steps", "400", "--max-lag", "10", "--burn-in", "20"]
    assert main([*args, "--step", "0"]) == 2
    assert "takes no --step" in capsys.readouterr().err
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "wrote /analysis/timescales_at_solves" in out and "solve steps (N_solved" in out
    run = open_run(chain_copy)
    res = run.analysis("timescales_at_solves")
    n = len(res["step"])
    assert res["tau_trained"].shape[:1] == (n,) and list(res["n_solved"]) == sorted(res["n_solved"])
    # docs/analysis.md: a solve step's snapshot is taken after its growth, so it holds the
    # module grown there for the next level (the series logged there does not yet)
    events = run.events()
    grown = events[events["op"] == "duplicate_module"]
    assert n and len(grown)
    for step, k in zip(res["step"], res["n_modules"]):
        assert k == run.snapshot(int(step)).n_modules == 1 + int((grown["step"] <= step).sum())
    assert any(int(s) in set(grown["step"]) for s in res["step"])


@pytest.mark.parametrize(("which", "args", "message"), [
    ("chain", ["task_variance"], "task_variance needs a leaky-RNN run on the yang20 cognitive tasks; "),
    ("tiny", ["robustness"], "robustness needs a chain run (network.kind: chain"),
    ("tiny", ["timescales"], "timescales needs a chain run"),
    ("chain", ["robustness", "--eps", "0,-1"], "--eps '0,-1': every eps must be a finite number >= 0"),
    ("chain", ["robustness", "--what", "weights"], "unknown --what 'weights'"),
    ("chain", ["timescales", "--steps", "20", "--max-lag", "30"], "--max-lag (30) must be smaller than --steps (20)"),
])
def test_analyses_that_do_not_fit_the_run(which, args, message, chain_copy, copy_of, capsys):
    path = chain_copy if which == "chain" else copy_of(which)
    before = record(path)
    assert main(["analyze", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert record(path) == before and "analysis" not in h5py.File(path, "r")


def test_modularity_of_a_chain_run(chain_copy):
    assert main(["analyze", str(chain_copy), "modularity"]) == 0
    res = open_run(chain_copy).analysis("modularity_spectral")
    assert res["labels"].shape[1] == 12 and res["n_neurons"][-1] == 12
