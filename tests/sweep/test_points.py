"""Sweep files: expansion into points, their names, and every mistake reported before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from growsim.cli import main
from growsim.spec import load_spec
from growsim.sweep import SweepError, expand

DATA = Path(__file__).parent / "data"


def write(folder: Path, text: str, name: str = "sweep.yaml") -> Path:
    """A sweep file beside a copy of the tests' tiny spec."""
    (folder / "tiny.yaml").write_text((DATA / "tiny.yaml").read_text())
    path = folder / name
    path.write_text(text)
    return path


def problems(path: Path, overrides: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(SweepError) as info:
        expand(path, overrides)
    return [str(issue) for issue in info.value.issues]


# --- expansion ------------------------------------------------------------------------------


def test_grid_zip_and_seeds_make_every_combination_in_order():
    points = expand(DATA / "grid.yaml")
    assert [p.name for p in points] == [
        f"rule={rule}__initial_connections={n}__seed={seed}"
        for rule in ("distance", "random")
        for n in (0, 12)
        for seed in (0, 1)
    ]
    p = points[5]
    assert p.index == 5 and p.file_name == "rule=random__initial_connections=0__seed=1.h5"
    assert p.spec == (DATA / "tiny.yaml").resolve()
    assert p.varied == {
        "wiring.rule": "random",
        "growth.initial_connections": 0,
        "growth.events": [{"op": "add_connections", "every": 5, "count": 5, "until": 12}],
        "seed": 1,
    }
    # The overrides are --set arguments: the point is exactly `growsim run SPEC --set ...`.
    loaded = load_spec(p.spec, p.overrides)
    assert loaded.spec.seed == 1 and loaded.spec.wiring.rule == "random"
    assert loaded.spec.growth.events[0].every == 5
    assert json.loads(p.resolved_json) == loaded.resolved()
    assert points[2].varied["growth.events"] == [] and not load_spec(points[2].spec, points[2].overrides).spec.growth.events


def test_names_are_stable_and_overrides_read_back_as_written(tmp_path):
    path = write(tmp_path, """
spec: tiny.yaml
set: {train.batches: 6, log.every: 3}
grid:
  train.optimizer.lr: [0.001, 1.0e-4]
  task.tasks: [[fdgo], [fdgo, reactgo]]
  log.snapshots: [true, false]
seeds: [3, 7]
""")
    points = expand(path)
    assert len(points) == 16
    assert points[0].name == "lr=0.001__tasks=fdgo__snapshots=true__seed=3"
    assert points[-1].name == "lr=0.0001__tasks=fdgo,reactgo__snapshots=false__seed=7"
    assert points[0].overrides[:3] == ("train.batches=6", "log.every=3", "train.optimizer.lr=0.001")
    assert "task.tasks=[\"fdgo\", \"reactgo\"]" in points[-1].overrides
    assert [p.name for p in expand(path)] == [p.name for p in points]  # stable


def test_a_grid_over_spec_files_names_them_by_their_stem(tmp_path):
    write(tmp_path, "")
    other = tmp_path / "other.yaml"
    other.write_text((DATA / "tiny.yaml").read_text().replace("rule: distance", "rule: random"))
    path = write(tmp_path, "grid:\n  spec: [tiny.yaml, other.yaml]\nseeds: 1\n")
    points = expand(path)
    assert [p.name for p in points] == ["spec=tiny__seed=0", "spec=other__seed=0"]
    assert points[1].spec == other.resolve() and points[1].varied["spec"] == "other.yaml"


def test_keys_are_shortened_only_while_unique_and_clashing_names_get_a_digest(tmp_path):
    path = write(tmp_path, """
spec: tiny.yaml
grid:
  log.every: [5, 10]
  growth.events[0].every: [5]
""")
    assert [p.name for p in expand(path)] == ["log.every=5__events0.every=5", "log.every=10__events0.every=5"]
    # 'a/b.h5' and 'a_b.h5' read alike in a file name: both get a digest of the point.
    path = write(tmp_path, "spec: tiny.yaml\ngrid:\n  log.path: [a/b.h5, a_b.h5]\n")
    names = [p.name for p in expand(path)]
    assert names[0].startswith("path=a_b.h5__") and names[1].startswith("path=a_b.h5__") and names[0] != names[1]
    assert names == [p.name for p in expand(path)]


# --- mistakes, each named by its path, line and the points it concerns -----------------------


def test_an_unknown_spec_path_is_named_by_its_key_and_line(tmp_path):
    path = write(tmp_path, "spec: tiny.yaml\ngrid:\n  wirng.rule: [distance, random]\nseeds: 2\n")
    assert problems(path) == [
        "grid.wirng.rule: unknown key 'wirng'; did you mean 'wiring'? (line 3; every point, all 4)"
    ]


def test_a_bad_value_names_the_item_and_the_points_it_makes(tmp_path):
    path = write(tmp_path, "spec: tiny.yaml\ngrid:\n  train.batch_size: [8, 0]\n  wiring.rule: [distance, randm]\n")
    found = problems(path)
    assert found[0] == "grid.train.batch_size[1]: must be > 0 (line 3; 2 points: batch_size=0__rule=distance, batch_size=0__rule=randm)"
    assert found[1].startswith("grid.wiring.rule[1]: unknown wiring rule 'randm'; did you mean 'random'?")
    assert found[1].endswith("(line 4; 2 points: batch_size=8__rule=randm, batch_size=0__rule=randm)")


def test_a_problem_that_only_shows_in_one_point_names_that_point(tmp_path):
    # 12 initial synapses fit in 16 neurons; 300 do not (prepare checks the capacity).
    path = write(tmp_path, "spec: tiny.yaml\nset: {growth.events: []}\ngrid:\n  growth.initial_connections: [12, 300]\nseeds: [4]\n")
    assert problems(path) == [
        (
            "grid.growth.initial_connections[1]: must be <= 240, the synapses 16 neurons can have without autapses "
            "(line 4; point initial_connections=300__seed=4)"
        )
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spec: tiny.yaml\ngrid: {}\n", "grid: is empty: give {dotted.path: [values]}, or leave grid out (line 2)"),
        ("spec: tiny.yaml\ngrid:\n  seed: [1, 2]\n", "grid.seed: vary the seed with seeds: (a count, or a list of seeds) (line 3)"),
        ("spec: tiny.yaml\ngrid:\n  wiring.rule: []\n", "grid.wiring.rule: is an empty list: the sweep would have no points (line 3)"),
        ("spec: tiny.yaml\ngrid:\n  wiring.rule: random\n", "grid.wiring.rule: must be a list (got 'random') (line 3)"),
        ("spec: tiny.yaml\ngrid:\n  wiring.rule: [random, random]\n", "grid.wiring.rule[1]: repeats item 0: two points would be the same run (line 3)"),
        ("spec: tiny.yaml\nseeds: 0\n", "seeds: must be a count from 1 to 100000, or a list of seeds (line 2)"),
        ("spec: tiny.yaml\nseeds: [1, 1]\n", "seeds[1]: repeats seed 1 (line 2)"),
        ("spec: tiny.yaml\nseeds: [a]\n", "seeds[0]: must be an integer (got 'a') (line 2)"),
        ("spec: tiny.yaml\nseed: 3\n", "seed: unknown key 'seed'; did you mean 'seeds'? (line 2)"),
        ("spec: nope.yaml\nseeds: 2\n", "spec: spec file nope.yaml does not exist"),
        ("seeds: 2\n", "spec: is required: the base spec file (or vary it: grid: {spec: [a.yaml, b.yaml]})"),
        ("spec: tiny.yaml\n", "(sweep): varies nothing: give grid, zip or seeds (a single run needs no sweep: growsim run)"),
        ("spec: tiny.yaml\nzip:\n  - {train.batches: [5, 6], log.every: [5]}\n",
         "zip[0]: its lists must have one length (item i of each goes together); lengths: train.batches 2, log.every 1 (line 3)"),
        ("spec: tiny.yaml\nset: {growth: {initial_connections: 3}}\ngrid:\n  growth.initial_connections: [1, 2]\n",
         "grid.growth.initial_connections: overlaps set.growth: give each spec path in one place (line 4)"),
        ("spec: tiny.yaml\ngrid:\n  wiring..rule: [a]\n", "grid.wiring..rule: 'wiring..rule' is not a dotted spec path (like train.batches or growth.events[0].every) (line 3)"),
        ("spec: [tiny.yaml\n", "(sweep): invalid YAML"),
    ],
)
def test_mistakes_in_the_file_itself(tmp_path, text, expected):
    found = problems(write(tmp_path, text))
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, "spec: tiny.yaml\ngrid:\n  wiring.rule: []\n  log.every: [0]\nsede: 3\nseeds: [1, 1]\n")
    found = problems(path)
    assert len(found) == 3 and found[0].startswith("grid.wiring.rule:") and found[1].startswith("sede:")


def test_a_set_argument_is_named_as_given(tmp_path):
    found = problems(DATA / "grid.yaml", ("train.batches=0",))
    assert found == ["--set train.batches=0: must be > 0 (every point, all 8)"]
    found = problems(DATA / "grid.yaml", ("seed=3",))
    assert found == ["--set seed=3: vary the seed with seeds: (a count, or a list of seeds)"]


def test_a_mistake_in_the_base_spec_names_the_spec_file_and_its_line(tmp_path):
    (tmp_path / "broken.yaml").write_text((DATA / "tiny.yaml").read_text().replace("\n  batch_size: 8", "\n  batch_sise: 8"))
    path = write(tmp_path, "spec: broken.yaml\nseeds: 2\n")
    assert problems(path) == [
        "broken.yaml: train.batch_sise: unknown key 'batch_sise'; did you mean 'batch_size'? (line 21; every point, all 2)"
    ]


def test_a_base_spec_with_several_seeds_is_refused_and_the_sweeps_seeds_are_the_way(tmp_path):
    text = (DATA / "tiny.yaml").read_text().replace("seed: 0", "seed: [0, 1]")
    assert "seed: [0, 1]" in text
    (tmp_path / "pair.yaml").write_text(text)
    path = write(tmp_path, "spec: pair.yaml\ngrid: {train.batches: [20, 30]}\n")
    found = problems(path)
    assert len(found) == 1 and found[0].startswith("pair.yaml: seed: gives 2 seeds (an ensemble), but a sweep's point is one run")
    assert "(line 4; every point, all 2)" in found[0]  # the line of seed: in the spec
    ok = write(tmp_path, "spec: pair.yaml\ngrid: {train.batches: [20, 30]}\nseeds: [0, 1]\n", name="ok.yaml")
    assert len(expand(ok, ())) == 4  # the sweep's seeds replace the spec's list


# --- the command line -----------------------------------------------------------------------


def test_sweep_errors_exit_2_without_a_traceback_and_run_nothing(tmp_path, capsys):
    path = write(tmp_path, "spec: tiny.yaml\ngrid:\n  wirng.rule: [distance, random]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1 problem in the sweep" in err and "grid.wirng.rule: unknown key 'wirng'" in err
    assert "Traceback" not in err and not out.exists()


def test_list_prints_points_files_and_statuses_and_runs_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(DATA / "grid.yaml"), "--out", str(out), "--list"]) == 0
    text = capsys.readouterr().out
    assert "8 points (wiring.rule 2 x (growth.initial_connections, growth.events) 2 x seed 2)" in text
    assert "      5  pending      rule=random__initial_connections=0__seed=1.h5" in text
    assert "--set wiring.rule=distance" in text and "to run: 8 of 8" in text
    assert not out.exists()


def test_the_command_lines_set_overrides_the_files_set_but_not_what_the_sweep_varies(tmp_path):
    path = write(tmp_path, "spec: tiny.yaml\nset: {train.batches: 30, log.every: 10}\ngrid:\n  wiring.rule: [distance, random]\n")
    points = expand(path, ("train.batches=6",))
    for p in points:
        assert "train.batches=6" in p.overrides and "train.batches=30" not in p.overrides
        assert "log.every=10" in p.overrides
    found = problems(path, ("wiring.rule=mixture",))
    assert found == ["grid.wiring.rule: overlaps --set wiring.rule=mixture: give each spec path in one place (line 4)"]
