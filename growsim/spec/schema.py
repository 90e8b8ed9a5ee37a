"""JSON Schema of the spec, with the wiring section expanded per registered rule, each
growth event per registered operation, and the task per registered suite."""

from __future__ import annotations

from typing import Any

from growsim.spec.models import Spec


def json_schema() -> dict[str, Any]:
    """The spec's JSON Schema (draft 2020-12), for editors that complete and check YAML."""
    from growsim.spec.models import WiringSpec
    from growsim.wiring import available_rules

    default_rule = WiringSpec.model_fields["rule"].default
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "growsim spec"
    variants = []
    for name, info in available_rules().items():
        params = info.params.model_json_schema()
        props = {"rule": {"const": name, "description": info.summary}, **params.get("properties", {})}
        variant: dict[str, Any] = {
            "type": "object",
            "title": f"wiring rule {name}",
            "properties": props,
            "required": [] if name == default_rule else ["rule"],
            "additionalProperties": False,
        }
        if "$defs" in params:
            schema.setdefault("$defs", {}).update(params["$defs"])
        variants.append(variant)
    wiring_doc = schema["$defs"]["WiringSpec"].get("description", "")
    schema["$defs"]["WiringSpec"] = {"description": wiring_doc, "oneOf": variants}
    # pydantic writes the default as the model holds it (parameters under `params`); a
    # spec writes it flat, and only that form is valid here.
    schema["properties"]["wiring"]["default"] = Spec.model_fields["wiring"].default.flat()
    _expand_events(schema)
    return schema


def _expand_events(schema: dict[str, Any]) -> None:
    """`GrowthEvent` and `RegulariserSpec`: one variant per registered operation or loss
    term, the keys every entry shares and its own parameters side by side (as in YAML)."""
    from growsim.growth import available_operations
    from growsim.metrics.analyses import available_analyses
    from growsim.tasks.registry import available_tasks
    from growsim.train.regularisers import available_terms

    _expand(schema, "GrowthEvent", "op", "params", available_operations(), "growth operation")
    _expand(schema, "RegulariserSpec", "kind", "args", available_terms(), "loss term")
    _expand(schema, "AnalysisSpec", "kind", "args", available_analyses(), "analysis")
    _expand(schema, "TaskEntry", "suite", "params", available_tasks(), "task suite", default="yang20")


def _expand(
    schema: dict[str, Any], model: str, key: str, gathered: str, entries: dict, what: str, default: str | None = None
) -> None:
    """One variant of `model` per entry; the entry named `default` may leave out `key`."""
    base = schema["$defs"][model]
    shared = {k: v for k, v in base["properties"].items() if k not in (key, gathered)}
    required = [k for k in base.get("required", []) if k not in (key, gathered)]
    variants = []
    for name, info in entries.items():
        params = info.params.model_json_schema()
        schema.setdefault("$defs", {}).update(params.pop("$defs", {}))
        props = {**shared, key: {"const": name, "description": info.summary}, **params.get("properties", {})}
        variants.append(
            {
                "type": "object",
                "title": f"{what} {name}",
                "properties": props,
                "required": [*([] if name == default else [key]), *required, *params.get("required", [])],
                "additionalProperties": False,
            }
        )
    schema["$defs"][model] = {"description": base.get("description", ""), "oneOf": variants}
