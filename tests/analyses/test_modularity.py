"""Modularity recomputed from stored weights, written into /analysis and read back by the reader."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import growsim
from growsim.analyses import modularity_over_snapshots, result_summary, write_analysis
from growsim.reader import RunFileError, open_run


def test_growing_network_is_analysed_at_its_own_size(small_runs):
    run = open_run(small_runs["growing"])
    res = modularity_over_snapshots(run)
    labels = res.datasets["labels"][0]
    assert labels.shape == (3, 9)
    assert list(res.datasets["n_neurons"][0]) == [4, 6, 9]
    assert np.all(labels[0, 4:] == -1) and np.all(labels[1, 6:] == -1) and np.all(labels[2] >= 0)
    assert np.all(res.datasets["q"][0] > 0.3)  # two blocks: clearly modular
    assert result_summary(res).startswith("Q at 3 steps (0 to 20)")


def test_written_result_reads_back_and_replaces_only_its_group(small_runs, tmp_path):
    path = tmp_path / "tiny.h5"
    path.write_bytes(Path(small_runs["tiny"]).read_bytes())
    run = open_run(path)
    write_analysis(path, "modularity_spectral", modularity_over_snapshots(run))
    write_analysis(path, "other", modularity_over_snapshots(run, method="louvain", seed=1))
    assert run.analyses() == {"modularity_spectral": "modularity", "other": "modularity"}
    res = run.analysis("modularity_spectral")
    assert res.metric == "modularity" and res.attrs["method"] == "spectral"
    assert res.attrs["version_growsim"] == growsim.__version__
    table = res.table()
    assert list(table.columns) == ["step", "n_communities", "n_neurons", "q"] and len(table) == 5
    # The spectral method is deterministic: the recomputed Q is the logged one.
    np.testing.assert_allclose(table["q"], run.series()["modularity_q"], atol=1e-9)
    with h5py.File(path, "r") as f:
        assert all({"units", "description"} <= set(ds.attrs) for ds in f["analysis/other"].values())
    # Writing a name again replaces that group and leaves the other.
    before = run.analysis("other")["q"]
    write_analysis(path, "modularity_spectral", modularity_over_snapshots(run, resolution=2.0))
    assert run.analysis("modularity_spectral").attrs["resolution"] == 2.0
    np.testing.assert_array_equal(run.analysis("other")["q"], before)
    with pytest.raises(ValueError, match="use letters"):
        write_analysis(path, "a/b", modularity_over_snapshots(run))


def test_a_run_without_weights_is_refused(small_runs, tmp_path):
    path = tmp_path / "bare.h5"
    path.write_bytes(Path(small_runs["no_snapshots"]).read_bytes())
    with h5py.File(path, "a") as f:
        del f["final"]
    with pytest.raises(RunFileError, match="no weights to analyse"):
        modularity_over_snapshots(open_run(path))
