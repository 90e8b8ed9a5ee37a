"""Every shipped spec validates, and runs a few batches end to end."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from growsim.cli import main

ROOT = Path(__file__).parents[1]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def test_specs_exist():
    names = {p.stem for p in SPECS}
    for mode in ("add_conn", "fix_conn"):
        for rule in ("distance", "random", "mixture"):
            assert f"{mode}_{rule}" in names


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_opens_with_its_command(path):
    first = path.read_text().splitlines()[0]
    assert first == f"# growsim run specs/{path.name}"


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_validates_and_runs(path, tmp_path):
    assert main(["validate", str(path)]) == 0
    out = tmp_path / f"{path.stem}.h5"
    overrides = ["train.batches=6", "log.every=3", "log.eval_batch_size=8", "train.batch_size=8"]
    parity = "parity" in path.stem
    if path.stem.startswith(("add_conn", "prune_conn")):
        overrides.append("growth.events[0].every=2")
    if "functional:" in path.read_text():
        overrides += ["log.functional.every=3", "log.functional.n_shuffles=50"]
    if parity:  # every evaluation solves its level, so the curriculum's growth events fire
        overrides += ["task.criterion.newest=0", "task.criterion.mean=0"]
    args = ["run", str(path), "--out", str(out), "-q"]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 0
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed"
        if parity:
            levels = f["tasks/names"].shape[0]
            assert f["series/perf"].shape == (3, levels)
            # Solved at steps 0, 3 and 6 (the last: nothing grows after the end).
            assert list(f["series/n_solved"][()]) == [2, 3, 4]
            assert list(f["series/n_current"][()]) == [2, 3, 4]
            ops = [op.decode() for op in f["events/op"][()]]
            assert ops.count("add_readout") == 2
            modular = "nonmodular" not in path.stem
            assert ops.count("duplicate_module") == (2 if modular else 0)
            assert list(f["series/n_modules"][()]) == ([1, 2, 3] if modular else [1, 1, 1])
            return
        drawn = path.stem == "wu_gu_fig2"  # Wu & Gu's Fig. 2: 3 of the 20 tasks drawn per seed
        n_tasks = 82 if "modcog" in path.stem else 1 if "flipflop" in path.stem else 3 if drawn else 20
        assert f["series/perf"].shape == (3, n_tasks) and f["tasks/names"].shape == (n_tasks,)
        if drawn:
            assert f["tasks"].attrs["selection"].startswith("drawn 3 of the 20 Yang tasks")
        connections = f["series/connections"][()]
        if path.stem == "connectome_file":  # the file's 830 synapses, and no growth
            assert list(connections) == [830] * 3
            assert f["events/details"].shape == (1,)
        elif path.stem.startswith("prune_conn"):  # fully connected, 150 pruned at batches 2 and 4
            n = f["geometry/distances"].shape[0]
            assert list(connections) == [n * (n - 1), n * (n - 1) - 150, n * (n - 1) - 300]
        elif path.stem == "flipflop_task_plugin":  # a plugin's task; growth every 100 batches, none in 6
            assert list(connections) == [400, 400, 400]
            assert f["tasks/names"][()].astype(str).tolist() == ["flipflop"]
        elif path.stem.startswith("fix_conn"):
            assert list(connections) == [800, 800, 800]
        elif "grid" in path.stem or drawn:  # Liu et al.'s networks and Wu & Gu's Fig. 2 start fully connected
            n = f["geometry/distances"].shape[0]
            assert list(connections) == [n * (n - 1)] * 3
            if "grid" in path.stem:
                assert "fn_isolated_fraction" in f["series"]
        else:
            assert list(connections) == [0, 10, 20]


def test_the_example_connectivity_file_is_what_its_tool_writes():
    """specs/data/desikan_knn8.csv is made from growsim's own atlas, reproducibly."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("make_knn", ROOT / "tools" / "make_knn_connectome.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    from growsim.geometry import atlas

    expected = tool.knn_adjacency(atlas("desikan_killiany").distances, 8)
    shipped = np.loadtxt(ROOT / "specs" / "data" / "desikan_knn8.csv", delimiter=",")
    np.testing.assert_array_equal(shipped, expected)
    assert (expected == expected.T).all() and not np.diagonal(expected).any()
    assert (expected.sum(axis=1) >= 8).all()  # every region keeps its 8 nearest

