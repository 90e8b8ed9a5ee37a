"""Task suites as a registry: a spec names any registered suite, a plugin file adds one, its
parameters are checked by its own model with YAML paths and lines, and `growsim plugins`,
`growsim schema` and the spec reference list the suites."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from growsim.cli import main
from growsim.reader import open_run
from growsim.registry import RegistryError
from growsim.spec import SpecError, load_spec
from growsim.tasks import TaskParams, available_tasks, task_suite
from growsim.tasks.registry import TASKS

ROOT = Path(__file__).parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def test_built_in_suites_are_registered_through_the_same_door():
    suites = available_tasks()
    assert {"yang20", "modcog", "parity", "neurogym"} <= set(suites)
    assert all(suites[n].origin == "built-in" for n in ("yang20", "modcog", "parity", "neurogym"))
    assert TASKS.group == "growsim.tasks"


def test_the_decorator_returns_the_function_and_a_name_twice_is_an_error():
    class P(TaskParams):
        k: int = 1

    def make(params, context):
        return None

    try:
        assert task_suite("tmp_suite_for_test", params=P)(make) is make
        with pytest.raises(RegistryError, match="registered twice"):
            task_suite("tmp_suite_for_test", params=P)(make)
        with pytest.raises(RegistryError, match="may not be called 'suite'"):
            class Q(BaseModel):
                suite: int = 0

            task_suite("tmp_suite_bad", params=Q)
    finally:
        TASKS.unregister("tmp_suite_for_test")


@pytest.mark.parametrize(
    ("task", "match"),
    [
        ("task: {suite: modcogg}", r"task\.suite: unknown task suite 'modcogg'; did you mean 'modcog'\? .*\(line 9\)"),
        ("task: {suite: modcog, omega: -1}", r"task\.omega: must be > 0 \(line 9\)"),
        ("task: {suite: modcog, n_each: 8}", r"task\.n_each: unknown key 'n_each'; did you mean 'n_eachring'\?"),
        ("task: {suite: modcog, tasks: [goseqr, dmsintx]}", r"task\.tasks\[1\]: unknown Mod-Cog task 'dmsintx'"),
        ("task: {suite: modcog, tasks: {draw: 83}}", r"task\.tasks\.draw: must be <= 82, the number of Mod-Cog tasks"),
        ("task: {suite: neurogym}", r"task\.envs: is required"),
        ("task: {suite: parity, n_start: 5, n_max: 3}", r"task\.n_max: .*must be >= n_start"),
    ],
)
def test_a_suites_parameters_are_checked_by_its_model_at_their_yaml_path(tmp_path, task, match):
    text = TINY.read_text()
    lines = [line for line in text.splitlines() if not line.startswith(("task:", "  n_eachring", "  tasks", "  dt_ms"))]
    spec = tmp_path / "s.yaml"
    spec.write_text("\n".join(lines[:8] + [task] + lines[8:]) + "\n")
    with pytest.raises(SpecError, match=match):
        load_spec(spec)


def test_a_modcog_spec_draws_its_tasks_per_seed_and_lists_them(tmp_path):
    out = tmp_path / "m.h5"
    args = ["run", str(TINY), "--out", str(out), "-q", "--set", "task={suite: modcog, tasks: {draw: 4}, n_eachring: 8}",
            "--set", "train.batches=4", "--set", "log.every=2"]
    assert main(args) == 0
    run = open_run(out)
    assert len(run.tasks) == 4 and run.task_selection.startswith("drawn 4 of the 82 Mod-Cog tasks")
    assert run.series()["perf_mean"].shape[0] == 3


def test_plugins_lists_the_task_suites_and_a_plugins_suite(capsys):
    assert main(["plugins", "--file", str(ROOT / "plugins" / "flipflop_task.py")]) == 0
    out = capsys.readouterr().out
    assert "Task suites" in out and "modcog" in out and "flipflop" in out and "n_bits" in out


def test_the_schema_has_one_variant_per_suite_and_yang20_may_leave_out_its_name(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    variants = {v["title"]: v for v in schema["$defs"]["TaskEntry"]["oneOf"]}
    assert {"task suite yang20", "task suite modcog", "task suite parity", "task suite neurogym"} <= set(variants)
    assert "suite" not in variants["task suite yang20"]["required"]
    assert variants["task suite neurogym"]["required"] == ["suite", "envs"]
