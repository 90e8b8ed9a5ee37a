"""Figure builders of the results ledger: each draws one paper figure's panels and writes
its tables, from the ledger's records alone.

A builder is ``build(ledger, out) -> Output``: ``ledger`` is the loaded
:class:`growsim.ledger.Ledger`, ``out`` the folder to write into. It registers under the
name that a ledger.yaml gives as ``figure:``. A builder that draws from runs' stored
analyses (``growsim analyze``) registers with ``analyses=``: what `growsim ledger add`
copies from each run file's /analysis into its record (:class:`RecordAnalyses`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Modules holding the built-in builders, imported when a builder is first looked up.
_BUILTIN_MODULES = ("growsim.ledger.figures.wu_gu", "growsim.ledger.figures.hamidi",
                    "growsim.ledger.figures.hamidi_analyses", "growsim.ledger.figures.liu")

_BUILDERS: dict[str, Callable[..., Any]] = {}
_ANALYSES: dict[str, RecordAnalyses] = {}
_loaded = False


@dataclass
class Output:
    """What a builder wrote: figures, the summary tables, and lines for the terminal."""

    files: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecordAnalyses:
    """What a builder needs from each run's /analysis group, kept in its record's ``analyses``.

    ``extract(run_path, options)`` reads the run file (never computing anything: what is
    not stored is refused with :class:`growsim.ledger.MissingAnalysis`, naming the command
    that stores it) and returns the record's ``analyses`` section, keyed by ``names``;
    ``options`` are ledger.yaml's. A record counted in another ledger must already hold
    every one of ``names``."""

    names: tuple[str, ...]
    extract: Callable[[Path, dict[str, Any]], dict[str, Any]]


def figure(name: str, *, analyses: RecordAnalyses | None = None):
    """Register a builder under ``name`` (with what its records need of each run's
    analyses); returns it unchanged. A name registered twice is an error."""

    def register(fn):
        if name in _BUILDERS and _BUILDERS[name] is not fn:
            raise ValueError(f"figure builder {name!r} is registered twice")
        _BUILDERS[name] = fn
        if analyses is not None:
            _ANALYSES[name] = analyses
        return fn

    return register


def record_analyses(name: str) -> RecordAnalyses | None:
    """What the builder ``name`` needs of each run's stored analyses; None for a builder
    that draws from the logged series alone (or an unknown name)."""
    builders()
    return _ANALYSES.get(name)


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
