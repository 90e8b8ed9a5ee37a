"""`task.tasks: {draw: K}`: K tasks drawn per seed from the task_selection stream, checked
strictly, recorded in the run file, and moving no other random stream."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.build import member_output, select_tasks
from growsim.cli import main
from growsim.spec import SpecError, load_spec, load_spec_text
from growsim.tasks import TASK_NAMES

DATA = Path(__file__).parents[1] / "data"
TINY = DATA / "tiny.yaml"
# Short tasks keep the tiny runs fast: 2 drawn of these 5.
POOL = ["fdgo", "reactgo", "fdanti", "reactanti", "delaygo"]
DRAW = "task.tasks={draw: 2, from: [fdgo, reactgo, fdanti, reactanti, delaygo]}"
SHORT = ["train.batches=4", "log.every=2", "growth.events[0].every=2"]


def _spec(task: str) -> str:
    return f"network:\n  geometry: {{kind: grid, shape: [4]}}\ntask:\n{task}\n"


@pytest.mark.parametrize(
    ("task", "match"),
    [
        ("  tasks: {draw: 0}", r"task\.tasks\.draw: must be >= 1 \(line 4\)"),
        ("  tasks: {draw: 21}", r"task\.tasks\.draw: must be <= 20, the number of Yang tasks"),
        ("  tasks: {draw: 3, from: [fdgo, dm1]}", r"task\.tasks\.draw: must be <= 2, the number of tasks in task\.tasks\.from"),
        ("  tasks: {draw: 1, from: [fdgo, dm3]}", r"task\.tasks\.from\[1\]: unknown Yang task 'dm3'"),
        ("  tasks: {draw: 1, from: [fdgo, go]}", r"task\.tasks\.from\[1\]: 'go' repeats task 0"),
        ("  tasks: {draw: 1, from: []}", r"task\.tasks\.from: needs at least one task"),
        ("  tasks: {draw: 1, from: [fdgo, 3]}", r"task\.tasks\.from\[1\]: must be a string"),
        ("  tasks: {drawn: 2}", r"task\.tasks\.drawn: unknown key 'drawn'; did you mean 'draw'\?"),
        ("  tasks: {draw: 2, form: [fdgo, dm1]}", r"task\.tasks\.form: unknown key 'form'; did you mean 'from'\?"),
        ("  tasks: {from: [fdgo, dm1]}", r"task\.tasks\.draw: is required"),
        ("  tasks: 3", r"task\.tasks: must be all, a list of task names, or a draw such as \{draw: 3\}"),
        ("  tasks: {draw: 2}\n  task_probs: [1, 2]", r"task\.task_probs: cannot go with a drawn selection"),
    ],
)
def test_a_bad_draw_is_named_by_its_yaml_path(task, match):
    with pytest.raises(SpecError, match=match):
        load_spec_text(_spec(task))


def test_a_bad_draw_from_set_names_the_override():
    with pytest.raises(SpecError, match=r"task\.tasks\.draw: must be <= 20.*--set task\.tasks\.draw=25"):
        load_spec(DATA / "tiny.yaml", ["task.tasks={draw: 3}", "task.tasks.draw=25"])


def _selection(seed: int, task: str = "{draw: 3}"):
    return select_tasks(load_spec_text(_spec(f"  tasks: {task}") + f"seed: {seed}\n").spec)


def test_the_draw_is_per_seed_deterministic_and_k_distinct_tasks_of_the_pool():
    draws = {}
    for seed in range(8):
        sel = _selection(seed)
        assert sel == _selection(seed)  # the same seed draws the same tasks
        assert len(sel.names) == len(set(sel.names)) == 3 and set(sel.names) <= set(TASK_NAMES)
        assert list(sel.names) == sorted(sel.names, key=TASK_NAMES.index)  # Yang's order
        assert sel.how == "drawn" and sel.pool == TASK_NAMES
        assert sel.description == f"drawn 3 of the 20 Yang tasks from random stream task_selection, seed {seed}"
        draws[seed] = sel.names
    assert len(set(draws.values())) > 1  # seeds draw differently


def test_a_pool_is_drawn_from_in_yang_order_whatever_order_it_is_written_in():
    forward = _selection(5, "{draw: 2, from: [fdgo, reactgo, fdanti, reactanti, delaygo]}")
    backward = _selection(5, "{draw: 2, from: [delaygo, rtanti, fdanti, rtgo, go]}")  # neurogym names too
    assert forward.names == backward.names and set(forward.names) <= set(POOL)
    assert forward.pool == ("fdgo", "reactgo", "delaygo", "fdanti", "reactanti")
    assert forward.description.startswith("drawn 2 of 5 tasks (task.tasks.from) from random stream task_selection")
    assert _selection(3, "{draw: 20}").names == TASK_NAMES  # all of the pool: exactly `all`
    assert _selection(3, "all").names == TASK_NAMES and _selection(3, "all").how == "all"


def test_the_run_file_records_the_draw(tmp_path):
    out = tmp_path / "drawn.h5"
    sets = [a for o in [DRAW, "seed=4", *SHORT] for a in ("--set", o)]
    assert main(["run", str(TINY), "--out", str(out), "-q", *sets]) == 0
    expected = select_tasks(load_spec(TINY, [DRAW, "seed=4"]).spec)
    with h5py.File(out, "r") as f:
        assert list(f["tasks/names"].asstr()[()]) == list(expected.names)
        assert f["tasks"].attrs["selection"] == (
            "drawn 2 of 5 tasks (task.tasks.from) from random stream task_selection, seed 4"
        )
        assert list(f["tasks"].attrs["pool"]) == ["fdgo", "reactgo", "delaygo", "fdanti", "reactanti"]
        assert f["series/perf"].shape == (3, 2)
    from growsim import open_run

    assert open_run(out).task_selection.startswith("drawn 2 of 5")


def test_a_draw_moves_no_other_stream(tmp_path, h5_contents):
    """A run with drawn tasks is, dataset for dataset, the run with those tasks listed."""
    names = select_tasks(load_spec(TINY, [DRAW]).spec).names
    runs = {}
    for label, tasks in (("drawn", DRAW), ("listed", f"task.tasks=[{', '.join(names)}]")):
        out = tmp_path / f"{label}.h5"
        sets = [a for o in [tasks, *SHORT] for a in ("--set", o)]
        assert main(["run", str(TINY), "--out", str(out), "-q", *sets]) == 0
        runs[label] = h5_contents(out)
    drawn, listed = runs["drawn"], runs["listed"]
    assert sorted(drawn) == sorted(listed)
    for key in drawn:
        if key in ("/", "tasks") or key.startswith("spec/"):
            continue  # the spec's text, and the attribute that says how the tasks were chosen
        (a, _), (b, _) = drawn[key], listed[key]
        if a is None:
            assert b is None, key
            continue
        a, b = np.asarray(a), np.asarray(b)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), key
    assert drawn["tasks/names"][0].tolist() == listed["tasks/names"][0].tolist()
    assert drawn["tasks"][1]["selection"].startswith("drawn") and listed["tasks"][1]["selection"] == "listed"


def test_each_member_of_an_ensemble_draws_with_its_own_seed(tmp_path):
    base = tmp_path / "ens.h5"
    sets = [a for o in [DRAW, "seed=[0, 1, 2, 3]", *SHORT] for a in ("--set", o)]
    assert main(["run", str(TINY), "--out", str(base), "-q", *sets]) == 0
    drawn = {}
    for seed in range(4):
        alone = select_tasks(load_spec(TINY, [DRAW, f"seed={seed}"]).spec)
        with h5py.File(member_output(base, seed), "r") as f:
            drawn[seed] = tuple(f["tasks/names"].asstr()[()])
            assert f["tasks"].attrs["selection"].endswith(f"seed {seed}")
        assert drawn[seed] == alone.names
    assert len(set(drawn.values())) > 1


def test_a_drawn_run_resumes_with_the_same_tasks(tmp_path, stop_and_resume, h5_contents, assert_same_h5):
    ref, resumed, step = stop_and_resume(tmp_path, TINY, [DRAW, "seed=2", *SHORT], stop_at=2)
    assert 0 < step < 4  # stopped mid-run
    assert_same_h5(h5_contents(ref), h5_contents(resumed))
