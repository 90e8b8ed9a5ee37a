"""growsim schema: the JSON Schema of the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import console

EXAMPLES = """Examples:

  growsim schema > growsim.schema.json

  growsim schema --out .vscode/growsim.schema.json

Point your editor's YAML support at the file (for example the first line
`# yaml-language-server: $schema=growsim.schema.json`) to complete and check specs.
"""


def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of standard output.")] = None,
) -> None:
    """Print the JSON Schema of the spec (with every installed wiring rule), for editors."""
    from growsim.spec import json_schema

    text = json.dumps(json_schema(), indent=2)
    if out is None:
        print(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {out}", markup=False)
