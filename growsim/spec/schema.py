"""JSON Schema of the spec, with the wiring section expanded per registered rule."""

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
    return schema
