"""weight_conservation on a real chain run: the metric of the stored W_rec and W_ff, per pair of modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.analyses import weight_conservation
from growsim.cli import main
from growsim.metrics import weight_change_variance
from growsim.reader import RunFileError, open_run

CHAIN = Path(__file__).parents[1] / "data" / "tiny_chain.yaml"


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory) -> Path:
    """tests/data/tiny_chain.yaml with a criterion of 0: a level is solved at every evaluation
    (every 5 batches) and a module added, so the snapshots (taken after the step's growth)
    hold 2 modules at step 0, 6 at step 20 and 7 at the end, step 30 (8 s)."""
    out = tmp_path_factory.mktemp("conservation") / "chain.h5"
    args = ["run", str(CHAIN), "--out", str(out), "-q",
            "--set", "task.criterion.newest=0", "--set", "task.criterion.mean=0"]
    assert main(args) == 0
    return out


@pytest.fixture
def chain_copy(chain_run, tmp_path) -> Path:
    out = tmp_path / "chain.h5"
    shutil.copyfile(chain_run, out)
    return out


@pytest.fixture
def leaky(make_runs, tmp_path) -> Path:
    return make_runs.make_growing(tmp_path / "growing.h5")


def _stored(path: Path, group: str) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as f:
        return f[group]["w_rec"][()], f[group]["w_ff"][()]


@pytest.mark.parametrize(("step", "group"), [(None, "final"), (15, "snapshots/000000015")])
def test_values_are_the_metric_of_the_stored_weights(chain_run, step, group):
    w_rec, w_ff = _stored(chain_run, group)
    k = w_rec.shape[0]
    assert k >= 4 and w_rec.shape[1:] == (4, 4)
    # The chain has no autapses: the stored diagonal is 0, and is left out of the comparison.
    assert not np.diagonal(w_rec, axis1=1, axis2=2).any() and not w_ff[0].any()
    res = weight_conservation(open_run(chain_run), step=step)
    data = {key: value[0] for key, value in res.datasets.items()}
    np.testing.assert_array_equal(data["module"], np.arange(1, k))
    np.testing.assert_array_equal(data["recurrent"], weight_change_variance(list(w_rec), exclude_diagonal=True))
    # Module 0 has no W_ff: the first W_ff pair is modules (1, 2).
    assert np.isnan(data["feedforward"][0])
    np.testing.assert_array_equal(data["feedforward"][1:], weight_change_variance(list(w_ff[1:])))
    assert np.all((data["recurrent"] >= 0) & (data["recurrent"] <= 4))
    assert res.attrs == {"n_modules": k, "module_size": 4, "diagonal_excluded": True}
    assert data["step"][0] == (30 if step is None else step)


def test_the_command_writes_and_prints_it(chain_copy, capsys):
    assert main(["analyze", "weight_conservation", str(chain_copy), "--step", "20"]) == 0
    out = capsys.readouterr().out
    assert "wrote /analysis/weight_conservation" in out and "step 20: 6 modules of 4" in out
    assert "W_rec" in out and "(5 pairs)" in out and "W_ff" in out and "(4 pairs)" in out
    res = open_run(chain_copy).analysis("weight_conservation")
    expected = weight_conservation(open_run(chain_copy), step=20).datasets
    for key in ("step", "module", "recurrent", "feedforward"):
        np.testing.assert_array_equal(res[key], expected[key][0])
    assert res.attrs["metric"] == "weight_conservation" and res.attrs["step"] == 20 and res.attrs["diagonal_excluded"]
    assert main(["analyze", str(chain_copy), "weight_conservation", "--name", "wc_end"]) == 0  # RUN METRIC; the end
    assert open_run(chain_copy).analysis("wc_end")["recurrent"].shape == (6,)


def test_what_it_refuses(chain_copy, leaky, tmp_path, capsys):
    with pytest.raises(RunFileError, match="weight_conservation needs a chain run .* leaky-RNN run"):
        weight_conservation(open_run(leaky))
    with h5py.File(chain_copy, "a") as f:
        f["final/w_rec"][2] = 0.0  # a module with no recurrent weights left
    one_module = tmp_path / "one_module.h5"  # 5 batches at the usual criterion: nothing solved, no growth
    assert main(["run", str(CHAIN), "--out", str(one_module), "-q", "--set", "train.batches=5"]) == 0
    cases = [
        (leaky, [], "weight_conservation needs a chain run (network.kind: chain"),
        (one_module, [], "the network at step 5 has one module"),
        (chain_copy, [], "W_rec of module 2 at step 30 is constant"),
    ]
    for path, extra, message in cases:
        assert main(["analyze", str(path), "weight_conservation", *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_module_just_duplicated_is_fully_conserved(chain_run):
    """At step 0 module 1 is module 0 copied without noise (the spec's default), not yet trained."""
    data = {key: value[0] for key, value in weight_conservation(open_run(chain_run), step=0).datasets.items()}
    np.testing.assert_array_equal(data["recurrent"], [0.0])
    assert data["feedforward"].shape == (1,) and np.isnan(data["feedforward"][0])
