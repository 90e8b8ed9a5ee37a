"""The JSON Schema `growsim schema` prints describes the shipped specs and agrees with the
loader (checked by an independent validator).

The schemas with plugins are made by the command in a fresh interpreter, so that no plugin
another test loaded into this process can make them pass."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from growsim.cli import main
from growsim.spec import SpecError, load_spec_text
from growsim.spec.yaml_lines import load_with_lines

ROOT = Path(__file__).parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
TINY = ROOT / "tests" / "data" / "tiny.yaml"
GNM = ROOT / "specs" / "add_conn_gnm.yaml"


def _fresh_schemas(tmp: Path, *calls: list[str]) -> list[dict]:
    """The schema each `growsim schema` call prints, the calls made one after another in one
    new interpreter (as `growsim.cli.main` takes them)."""
    outs = [tmp / f"schema{i}.json" for i in range(len(calls))]
    argv = [["schema", *call, "--out", str(out)] for call, out in zip(calls, outs)]
    code = f"import sys\nfrom growsim.cli import main\nfor argv in {argv!r}:\n    assert main(argv) == 0, argv\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return [json.loads(out.read_text()) for out in outs]


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """The schema with the plugins every shipped spec names, loaded by `--spec`."""
    (schema,) = _fresh_schemas(tmp_path_factory.mktemp("schema"), [a for p in SPECS for a in ("--spec", str(p))])
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.fixture(scope="module")
def validator(schema):
    return jsonschema.Draft202012Validator(schema)


def _data(path: Path) -> dict:
    return load_with_lines(path.read_text())[0]


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_shipped_specs_match_the_schema(validator, path):
    errors = list(validator.iter_errors(_data(path)))
    assert not errors, [e.message for e in errors]


def test_spec_option_adds_the_plugins_of_that_spec_and_no_others(tmp_path):
    plain, with_gnm = _fresh_schemas(tmp_path, [], ["--spec", str(GNM.relative_to(ROOT))])
    rules = {v["properties"]["rule"]["const"] for v in with_gnm["$defs"]["WiringSpec"]["oneOf"]}
    suites = {v["properties"]["suite"]["const"] for v in with_gnm["$defs"]["TaskEntry"]["oneOf"]}
    assert "gnm_matching" in rules and "flipflop" not in suites
    assert not list(jsonschema.Draft202012Validator(with_gnm).iter_errors(_data(GNM)))
    assert list(jsonschema.Draft202012Validator(plain).iter_errors(_data(GNM)))
    assert list(jsonschema.Draft202012Validator(with_gnm).iter_errors(_data(ROOT / "specs" / "flipflop_task_plugin.yaml")))


def test_plugin_option_adds_a_plugin_file(tmp_path):
    (schema,) = _fresh_schemas(tmp_path, ["--plugin", "plugins/flipflop_task.py"])
    suites = {v["properties"]["suite"]["const"] for v in schema["$defs"]["TaskEntry"]["oneOf"]}
    assert "flipflop" in suites
    data = _data(ROOT / "specs" / "flipflop_task_plugin.yaml")
    assert not list(jsonschema.Draft202012Validator(schema).iter_errors(data))


def _defaults(node, where="#"):
    """Every (location, subschema, default) in the schema."""
    if isinstance(node, dict):
        if "default" in node:
            yield where, {k: v for k, v in node.items() if k != "default"}, node["default"]
        for key, value in node.items():
            yield from _defaults(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _defaults(value, f"{where}/{i}")


def test_every_default_is_valid_under_its_own_schema(schema):
    defaults = list(_defaults(schema))
    assert ("#/properties/wiring", {"rule": "distance"}) in [(w, d) for w, _, d in defaults]
    for where, sub, default in defaults:
        errors = list(jsonschema.Draft202012Validator({**sub, "$defs": schema["$defs"]}).iter_errors(default))
        assert not errors, (where, default, [e.message for e in errors])


def test_schema_rejects_what_the_loader_rejects(validator):
    data = _data(ROOT / "specs" / "add_conn_distance.yaml")
    data["train"]["batchs"] = 3
    assert list(validator.iter_errors(data))
    data = _data(ROOT / "specs" / "add_conn_distance.yaml")
    data["wiring"]["p_random"] = 0.2  # not a parameter of the distance rule
    assert list(validator.iter_errors(data))


def test_wiring_without_rule_is_the_default_distance_rule(validator):
    data = _data(ROOT / "specs" / "add_conn_distance.yaml")
    del data["wiring"]["rule"]
    assert not list(validator.iter_errors(data))
    data["wiring"]["p_random"] = 0.5  # a mixture parameter needs `rule: mixture`
    assert list(validator.iter_errors(data))


def _set(data: dict, section: str, value) -> dict:
    data = copy.deepcopy(data)
    if section == "events":
        data["growth"]["events"] = [value]
    elif section == "regularisers":
        data["regularisers"] = [value]
    else:
        data[section] = value
    return data


# Each entry that names an extension, written flat and with its parameters gathered under
# the key the spec model keeps them in; the path the loader's error names.
FORMS = [
    ("wiring", {"rule": "distance", "eta": -2.0}, {"rule": "distance", "params": {"eta": -2.0}}, "wiring.params"),
    ("wiring", {"eta": -2.0}, {"params": {"eta": -2.0}}, "wiring.params"),
    (
        "events",
        {"op": "add_connections", "every": 10, "count": 5, "until": 12},
        {"op": "add_connections", "every": 10, "params": {"count": 5, "until": 12}},
        "growth.events[0].params",
    ),
    ("regularisers", {"kind": "l1", "strength": 1.0e-5}, {"kind": "l1", "strength": 1.0e-5, "args": {}}, "regularisers[0].args"),
    (
        "task",
        {"suite": "yang20", "tasks": ["fdgo", "reactgo"], "n_eachring": 8},
        {"suite": "yang20", "params": {"tasks": ["fdgo", "reactgo"], "n_eachring": 8}},
        "task.params",
    ),
]


@pytest.mark.parametrize(("section", "flat", "gathered", "path"), FORMS, ids=["wiring", "wiring_default_rule", "event", "regulariser", "task"])
def test_parameters_have_one_form_in_the_loader_and_the_schema(validator, section, flat, gathered, path):
    tiny = _data(TINY)
    good = _set(tiny, section, flat)
    assert not list(validator.iter_errors(good))
    load_spec_text(yaml.safe_dump(good, sort_keys=False), base_dir=TINY.parent)

    bad = _set(tiny, section, gathered)
    assert list(validator.iter_errors(bad))
    text = yaml.safe_dump(bad, sort_keys=False)
    key = path.rsplit(".", 1)[1]
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.strip().lstrip("- ").startswith(f"{key}:"))
    with pytest.raises(SpecError) as info:
        load_spec_text(text, base_dir=TINY.parent)
    issues = [str(i) for i in info.value.issues]
    expected = re.escape(f"{path}: write the parameters beside ") + r".*" + re.escape(f"(line {line})")
    assert len(issues) == 1 and re.fullmatch(expected, issues[0]), issues


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--plugin", "no_such_plugin.py"], "--plugin no_such_plugin.py: plugin file"),
        (["--plugin", "no_such_module_for_growsim"], "--plugin no_such_module_for_growsim: plugin module"),
        (["--spec", "tests/spec/invalid/bad_plugin.yaml"], "plugins[0]: plugin file"),
        (["--spec", "no_such_spec.yaml"], "spec file no_such_spec.yaml does not exist"),
        (["--spec", "tests/spec/invalid/bad_yaml.yaml"], "invalid YAML"),
    ],
)
def test_a_bad_plugin_or_spec_is_one_message_and_exit_2(capsys, monkeypatch, argv, message):
    monkeypatch.chdir(ROOT)
    assert main(["schema", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err + captured.out
    assert not captured.out


def test_a_plugin_that_fails_on_import_is_one_message(tmp_path, capsys):
    plugin = tmp_path / "broken_plugin.py"
    plugin.write_text("raise RuntimeError('broken on purpose')\n")
    assert main(["schema", "--plugin", str(plugin)]) == 2
    err = capsys.readouterr().err
    assert "broken on purpose" in err and "Traceback" not in err


def test_spec_option_reads_only_the_plugins_of_a_spec_still_being_written(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["schema", "--spec", "tests/spec/invalid/unknown_key.yaml"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "growsim spec"
