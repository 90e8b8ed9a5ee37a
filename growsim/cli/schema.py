"""growsim schema: the JSON Schema of the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  growsim schema > growsim.schema.json

  growsim schema --spec specs/add_conn_gnm.yaml --out growsim.schema.json

  growsim schema --plugin plugins/gnm_matching.py --plugin my_package.rules

Editors complete and check a spec against the file: see Editor support in docs/spec.md.
"""


def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of standard output.")] = None,
    spec: Annotated[
        list[Path],
        typer.Option("--spec", metavar="SPEC", help="Also load the plugins this spec names, as `growsim validate` does (repeatable)."),
    ] = [],
    plugin: Annotated[
        list[str],
        typer.Option("--plugin", metavar="PATH_OR_MODULE", help="Also load this plugin: a .py file or a module name (repeatable)."),
    ] = [],
) -> None:
    """Print the JSON Schema of the spec, for editors: the built-in and installed wiring
    rules, growth operations, loss terms, analyses and task suites, and those of the plugins
    you name."""
    from growsim.registry import RegistryError
    from growsim.spec import json_schema
    from growsim.spec.loader import load_plugin, load_spec_plugins

    try:
        for name in plugin:
            load_plugin(name, Path.cwd())
    except RegistryError as exc:  # a plugin that cannot be loaded, or names taken twice
        raise UserError(f"--plugin {name}: {exc}") from None
    for path in spec:
        load_spec_plugins(path)  # a SpecError names the spec, `plugins[i]` and its line
    text = json.dumps(json_schema(), indent=2)
    if out is None:
        print(text)
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"wrote {out}", markup=False)
