"""Every shipped sweep opens with its command and validates: every point, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from growsim.spec import load_spec
from growsim.sweep import SweepError, expand

ROOT = Path(__file__).parents[2]
SWEEPS = sorted((ROOT / "sweeps").glob("*.yaml"))


# Sweeps whose runs start from other runs' networks (init_from): refused, naming each source,
# until the runs they start from exist.
NEEDS_RUNS = {"hamidi_fig2c": 7}


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_sweep_opens_with_its_command_and_every_point_validates(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith(f"# growsim sweep sweeps/{path.name}")
    if path.stem in NEEDS_RUNS:
        import yaml

        sources = [ROOT / "specs" / entry["run"] for group in yaml.safe_load(path.read_text())["zip"]
                   for entry in group.get("init_from", [])]
        assert len(sources) == NEEDS_RUNS[path.stem]
        missing = [s for s in sources if not s.exists()]
        if not missing:
            assert expand(path)
            return
        with pytest.raises(SweepError) as err:
            expand(path)
        lines = [line for line in str(err.value).splitlines()[1:] if line.strip()]
        assert len(lines) == len(missing)  # one error per missing source, naming it
        for source, line in zip(missing, lines, strict=True):
            assert f"init_from.run: cannot start from {source.resolve()}" in line and "no such file" in line
        return
    assert expand(path)


def test_hamidi_fig2c_tests_three_modular_and_four_non_modular_networks_on_n_plus_k(tmp_path, monkeypatch):
    """Its points, with stand-in source files in a copy of the repository's layout."""
    import shutil

    from growsim.cli import main

    root = tmp_path / "repo"
    for folder in ("specs", "sweeps"):
        shutil.copytree(ROOT / folder, root / folder)
    sources = root / "runs" / "hamidi_fig2c_sources"
    sources.mkdir(parents=True)
    chain = ROOT / "tests" / "data" / "tiny_chain.yaml"
    easy = ["--set", "task.criterion.newest=0", "--set", "task.criterion.mean=0", "--set", "task.n_max=12",
            "--set", "train.batches=60"]
    made = {}
    for name, size in (("modular_growth_parity", 15), ("nonmodular_parity", 91)):
        out = sources / f"src_{size}.h5"
        assert main(["run", str(chain), "--out", str(out), "-q", "--set", f"network.module_size={size}", *easy]) == 0
        made[size] = out
    for i in range(3):
        shutil.copy(made[15], sources / f"spec=modular_growth_parity__module_size=15__batches=12000__seed={i}.h5")
    for i in range(4):
        shutil.copy(made[91], sources / f"spec=nonmodular_parity__module_size=91__batches=18000__seed={i}.h5")
    points = expand(root / "sweeps" / "hamidi_fig2c.yaml")
    assert len(points) == 35
    heads = {(p.varied["network.module_size"], p.varied["init_from"]["heads"]) for p in points}
    assert heads == {(15, "solved"), (91, "new")}
    assert {p.varied["task.n_start"] for p in points} == {11, 12, 13, 14, 15}
    assert all(p.varied["task.n_start"] == p.varied["task.n_max"] for p in points)
    assert all(p.varied["init_from"]["step"] == {"n_solved": 10} for p in points)


def test_wu_gu_fig3_is_six_conditions_by_ten_seeds():
    points = expand(ROOT / "sweeps" / "wu_gu_fig3.yaml")
    assert len(points) == 60 and len({p.name for p in points}) == 60
    specs = {p.spec.name for p in points}
    assert specs == {f"{mode}_{rule}.yaml" for mode in ("add_conn", "fix_conn") for rule in ("distance", "random", "mixture")}
    assert points[0].name == "spec=add_conn_distance__seed=0" and points[-1].name == "spec=fix_conn_mixture__seed=9"
    assert all(p.overrides == (f"seed={p.varied['seed']}",) for p in points)


def test_wu_gu_fig2_is_four_sizes_by_six_numbers_of_tasks_by_five_seeds():
    full = expand(ROOT / "sweeps" / "wu_gu_fig2.yaml")
    compressed = expand(ROOT / "sweeps" / "wu_gu_fig2_compressed.yaml")
    assert len(full) == len(compressed) == 120 and len({p.name for p in full}) == 120
    assert full[0].name == "n=64__draw=1__seed=0" and full[-1].name == "n=16__draw=20__seed=4"
    assert {p.varied["network.geometry.n"] for p in full} == {64, 32, 25, 16}
    assert {p.varied["task.tasks.draw"] for p in full} == {1, 3, 5, 10, 15, 20}
    # the reduced protocol is the same points with three overrides more
    reduced = ("train.batches=6000", "log.every=500", "log.eval_batch_size=128")
    for a, b in zip(full, compressed, strict=True):
        assert a.name == b.name and a.spec == b.spec and b.overrides == (*reduced, *a.overrides)


def test_hamidi_fig6_sweeps_are_the_papers_conditions():
    six_a = expand(ROOT / "sweeps" / "hamidi_fig6a.yaml")
    assert len(six_a) == 30 and len({p.name for p in six_a}) == 30
    assert {(p.spec.name, p.varied["network.module_size"]) for p in six_a} == {
        (f"{name}.yaml", m) for name in ("modular_growth_parity", "modular_parity_frozen_recurrent",
                                         "modular_parity_frozen_feedforward") for m in (5, 10)}
    frozen = [p for p in six_a if "frozen" in p.spec.name]
    for p in frozen:  # the paper's freezing: the new module learns one link only
        events = load_spec(p.spec, list(p.overrides)).spec.growth.events
        (duplicate,) = [e for e in events if e.op == "duplicate_module"]
        assert duplicate.params["freeze_also"] == ["input", "bias", "tau"]
    six_b = expand(ROOT / "sweeps" / "hamidi_fig6b.yaml")
    assert len(six_b) == 24 and {p.varied["seed"] for p in six_b} == set(range(6))
    assert {p.spec.name for p in six_b} == {f"modular_parity_dup_rec{r}_ff{f}.yaml" for r in "TF" for f in "TF"}
