"""Figure builders of the results ledger: each draws one paper figure's panels and writes
its tables, from the ledger's records alone.

A builder is ``build(ledger, out) -> Output``: ``ledger`` is the loaded
:class:`growsim.ledger.Ledger`, ``out`` the folder to write into. It registers under the
name that a ledger.yaml gives as ``figure:``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Modules holding the built-in builders, imported when a builder is first looked up.
_BUILTIN_MODULES = ("growsim.ledger.figures.wu_gu", "growsim.ledger.figures.hamidi", "growsim.ledger.figures.liu")

_BUILDERS: dict[str, Callable[..., Any]] = {}
_loaded = False


@dataclass
class Output:
    """What a builder wrote: figures, the summary tables, and lines for the terminal."""

    files: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def figure(name: str):
    """Register a builder under ``name``; returns it unchanged. A name registered twice is an error."""

    def register(fn):
        if name in _BUILDERS and _BUILDERS[name] is not fn:
            raise ValueError(f"figure builder {name!r} is registered twice")
        _BUILDERS[name] = fn
        return fn

    return register


def builders() -> dict[str, Callable[..., Any]]:
    global _loaded
    if not _loaded:
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True
    return dict(_BUILDERS)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
