"""Write docs/spec.md from the spec models, so the reference cannot drift from the code.

Usage: python tools/make_spec_docs.py [--check]

With --check, exit 1 if docs/spec.md differs from what the models give (the test
suite runs this).
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from growsim.spec import models
from growsim.wiring import available_rules

DOC = Path(__file__).parents[1] / "docs" / "spec.md"

HEADER = """# Spec reference

A growsim spec is a YAML file with the sections below. Every key is checked: unknown
keys, wrong types and values out of range are errors that name their YAML path and
line (`growsim validate SPEC`). Defaults follow the papers (Yang et al. 2019; Wu & Gu).
`growsim schema` prints the same reference as a JSON Schema for editors.

*This page is generated from the spec models by `python tools/make_spec_docs.py`; do
not edit it by hand.*

Paths such as `growth.events[0].every` are how errors and `--set` name a field:

    growsim run specs/add_conn_distance.yaml --set growth.events[0].every=250 --set seed=3
"""


def type_name(ann: typing.Any) -> str:
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a!r}`".replace("'", "") for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        text = " or ".join(names)
        return text + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is dict:
        return "mapping"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"[{ann.__name__}](#{ann.__name__.lower()})"
    return getattr(ann, "__name__", str(ann))


def constraints(field: FieldInfo) -> str:
    out = []
    for meta in field.metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "min items"), ("max_length", "max items")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{sym} {value}")
        if getattr(meta, "pattern", None):
            out.append(f"matches `{meta.pattern}`")
    return ", ".join(out)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="json")
        return "`" + ", ".join(f"{k}: {v}" for k, v in dumped.items()) + "`" if len(str(dumped)) < 60 else "see below"
    if value is None:
        return "null"
    return f"`{value}`"


def model_section(model: type[BaseModel], path: str, seen: set) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    doc = (model.__doc__ or "").strip()
    lines = [f"### {model.__name__}", "", f"At `{path}`." if path else "", ""]
    if doc:
        lines += [doc, ""]
    lines += ["| key | type | default | constraints | meaning |", "|---|---|---|---|---|"]
    nested = []
    for name, field in model.model_fields.items():
        if model is models.WiringSpec and name == "params":
            continue
        lines.append(
            f"| `{name}` | {type_name(field.annotation)} | {default_text(field)} | {constraints(field)} | "
            f"{(field.description or '').replace('|', '/')} |"
        )
        for sub in _models_in(field.annotation):
            nested.append((sub, f"{path}.{name}" if path else name))
    lines.append("")
    for sub, sub_path in nested:
        lines += model_section(sub, sub_path, seen)
    return lines


def _models_in(ann) -> list[type[BaseModel]]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    out = []
    for arg in typing.get_args(ann):
        out += _models_in(arg)
    return out


def wiring_section() -> list[str]:
    lines = [
        "## Wiring rules",
        "",
        "`wiring.rule` chooses the rule; the rule's parameters sit beside it:",
        "",
        "```yaml",
        "wiring:",
        "  rule: distance",
        "  eta: -3.0",
        "```",
        "",
        "Built-in rules (a plugin's rules are listed by `growsim plugins --spec SPEC`):",
        "",
    ]
    for name, info in available_rules().items():
        if info.origin != "built-in":
            continue
        lines += [f"### `{name}`", "", info.summary, ""]
        fields = info.params.model_fields
        if not fields:
            lines += ["No parameters.", ""]
            continue
        lines += ["| key | type | default | constraints | meaning |", "|---|---|---|---|---|"]
        for pname, field in fields.items():
            lines.append(
                f"| `{pname}` | {type_name(field.annotation)} | {default_text(field)} | {constraints(field)} | "
                f"{field.description or ''} |"
            )
        lines.append("")
    return lines


def render() -> str:
    lines = [HEADER, "## Sections", ""]
    lines += model_section(models.Spec, "", set())
    lines += wiring_section()
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python tools/make_spec_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
