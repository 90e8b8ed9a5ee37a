"""The JSON Schema describes the shipped specs (checked by an independent validator)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from growsim.spec import json_schema
from growsim.spec.yaml_lines import load_with_lines

ROOT = Path(__file__).parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    from growsim.registry import load_plugin_file

    for plugin in sorted((ROOT / "plugins").glob("*.py")):  # the shipped specs use them
        load_plugin_file(plugin)
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_shipped_specs_match_the_schema(validator, path):
    data, _ = load_with_lines(path.read_text())
    errors = list(validator.iter_errors(data))
    assert not errors, [e.message for e in errors]


def test_schema_rejects_what_the_loader_rejects(validator):
    data, _ = load_with_lines((ROOT / "specs" / "add_conn_distance.yaml").read_text())
    data["train"]["batchs"] = 3
    assert list(validator.iter_errors(data))
    data, _ = load_with_lines((ROOT / "specs" / "add_conn_distance.yaml").read_text())
    data["wiring"]["p_random"] = 0.2  # not a parameter of the distance rule
    assert list(validator.iter_errors(data))


def test_wiring_without_rule_is_the_default_distance_rule(validator):
    data, _ = load_with_lines((ROOT / "specs" / "add_conn_distance.yaml").read_text())
    del data["wiring"]["rule"]
    assert not list(validator.iter_errors(data))
    data["wiring"]["p_random"] = 0.5  # a mixture parameter needs `rule: mixture`
    assert list(validator.iter_errors(data))
