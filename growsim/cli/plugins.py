"""growsim plugins: the wiring rules, growth operations, loss terms, analyses and task suites available, where each comes
from, and its parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  growsim plugins

  growsim plugins --spec specs/add_conn_gnm.yaml

  growsim plugins --file plugins/gnm_matching.py
"""


def plugins(
    spec: Annotated[Path | None, typer.Option(help="Also load the plugins this spec names.")] = None,
    file: Annotated[list[Path], typer.Option(help="Also load this plugin file (repeatable).")] = [],
) -> None:
    """List the wiring rules, growth operations, loss terms, analyses and task suites: built-ins, installed entry points, and plugins you name."""
    from growsim.growth import available_operations
    from growsim.registry import RegistryError, load_plugin_file
    from growsim.metrics.analyses import available_analyses
    from growsim.train.regularisers import available_terms
    from growsim.spec import load_spec
    from growsim.tasks.registry import available_tasks
    from growsim.wiring import available_rules

    try:
        for path in file:
            load_plugin_file(path)
        if spec is not None:
            load_spec(spec)
        sections = {
            "Wiring rules": available_rules(),
            "Growth operations": available_operations(),
            "Loss terms": available_terms(),
            "Analyses": available_analyses(),
            "Task suites": available_tasks(),
        }
    except RegistryError as exc:
        raise UserError(str(exc)) from None
    for title, entries in sections.items():
        console.print(f"[bold underline]{title}[/bold underline]", highlight=False)
        console.print()
        for name, info in entries.items():
            _show(name, info)


def _show(name: str, info) -> None:
    console.print(f"[bold]{name}[/bold]  [dim]({info.origin})[/dim]", highlight=False)
    if info.summary:
        console.print(f"  {info.summary}", markup=False, highlight=False)
    networks = info.meta.get("networks")
    if networks:
        console.print(f"  applies to: {', '.join(networks)}", markup=False, highlight=False)
    fields = info.params.model_fields
    width = max((len(f"{p} = {_default(f)}") for p, f in fields.items()), default=0)
    for pname, field in fields.items():
        left = f"{pname} = {_default(field)}"
        console.print(f"    {left:<{width}}  {field.description or ''}".rstrip(), markup=False, highlight=False)
    if not fields:
        console.print("    (no parameters)", markup=False)
    console.print()


def _default(field) -> str:
    return "(required)" if field.is_required() else repr(field.get_default())
