"""growsim analyze RUN anatomy: a functional report made again from the task variance a run
stored, for several clustering seeds, against what the run logged and against the anatomy
functions called on each seed's clusters."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.analyses import anatomy
from growsim.cli import main
from growsim.metrics.anatomy import shuffle_baseline
from growsim.metrics.functional import grid_coords
from growsim.reader import RunFileError, open_run

ROOT = Path(__file__).parents[2]
TINY = ["network.geometry.shape=[6, 6]", "growth.initial_connections=1260", "train.batches=20", "train.batch_size=16",
        "log.every=10", "log.eval_batch_size=16", "log.functional.every=10", "log.functional.n_shuffles=300",
        "log.functional.k_range=[2, 5]", "log.snapshot_every=10", "growth.events[0].every=5"]


@pytest.fixture(scope="module")
def bimt_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("anatomy") / "bimt.h5"
    args = ["run", str(ROOT / "specs" / "bimt_grid2d.yaml"), "--out", str(out), "-q"]
    for o in TINY:
        args += ["--set", o]
    assert main(args) == 0
    return out


def test_each_clustering_is_tested_against_the_same_shuffles(bimt_run):
    run = open_run(bimt_run)
    result = anatomy(run, repeats=3, seed=7)
    d = {k: v[0] for k, v in result.datasets.items()}
    assert result.parameters["step"] == 20 and list(d["cluster_seed"]) == [0, 1, 2]
    # The active neurons are those the run's report counted at that step.
    logged = run.series().set_index("step")["fn_n_active_neurons"]
    assert np.all(d["n_active_neurons"] == logged.loc[20])
    for i in range(3):
        labels = d["labels"][i]
        assert int(labels.max()) + 1 == d["n_clusters"][i]
        ref = shuffle_baseline(grid_coords((6, 6)), labels.astype(np.int64), rng=7, n_shuffles=300)
        for stat in ("isolated_fraction", "cluster_spread"):
            assert d[stat][i] == pytest.approx(ref[stat].observed)
            assert d[f"{stat}_percentile"][i] == pytest.approx(ref[stat].percentile)


def test_another_active_threshold_counts_the_stored_task_variance(bimt_run):
    run = open_run(bimt_run)
    steps, tv = run.series_array("fn_task_variance")
    summed = tv[list(steps).index(20)].astype(np.float64).sum(axis=1)
    threshold = float(np.quantile(summed, 0.5))
    result = anatomy(run, repeats=1, active_threshold=threshold)
    assert result.datasets["n_active_neurons"][0][0] == int((summed > threshold).sum())


def test_the_command_writes_the_analysis_and_says_what_it_found(bimt_run, tmp_path, capsys):
    copy = tmp_path / "run.h5"
    copy.write_bytes(bimt_run.read_bytes())
    assert main(["analyze", str(copy), "anatomy", "--repeats", "2", "--step", "10"]) == 0
    assert "2 clusterings" in capsys.readouterr().out
    with h5py.File(copy, "r") as f:
        assert f["analysis/anatomy/isolated_fraction_percentile"].shape == (2,)
        assert f["analysis/anatomy"].attrs["report_step"] == 10
    assert main(["analyze", str(copy), "anatomy", "--step", "15"]) == 2
    assert "no functional report at step 15 (reports at steps 0, 10, 20)" in capsys.readouterr().err


def test_a_run_without_a_functional_report_is_refused(small_runs):
    with pytest.raises(RunFileError, match="no functional report"):
        anatomy(open_run(small_runs["tiny"]))
