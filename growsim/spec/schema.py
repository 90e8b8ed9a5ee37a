"""JSON Schema of the spec, with the wiring section expanded per registered rule and each
growth event per registered operation."""

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
    _expand_events(schema)
    return schema


def _expand_events(schema: dict[str, Any]) -> None:
    """`GrowthEvent`: one variant per registered operation, its trigger keys and its own
    parameters side by side (as written in YAML)."""
    from growsim.growth import available_operations

    event = schema["$defs"]["GrowthEvent"]
    trigger = {k: v for k, v in event["properties"].items() if k not in ("op", "params")}
    variants = []
    for name, info in available_operations().items():
        params = info.params.model_json_schema()
        schema.setdefault("$defs", {}).update(params.pop("$defs", {}))
        props = {**trigger, "op": {"const": name, "description": info.summary}, **params.get("properties", {})}
        variants.append(
            {
                "type": "object",
                "title": f"growth operation {name}",
                "properties": props,
                "required": ["op", *params.get("required", [])],
                "additionalProperties": False,
            }
        )
    schema["$defs"]["GrowthEvent"] = {"description": event.get("description", ""), "oneOf": variants}
