"""What an analysis returns, which analyses apply to which runs, and the weights they read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from growsim.reader import Run, RunFileError, Snapshot

__all__ = ["ANALYSIS_METRICS", "METRICS_BY_KIND", "AnalysisData", "check_applicable", "check_name", "weights_by_step"]

#: Metrics ``growsim analyze`` computes.
ANALYSIS_METRICS = (
    "modularity", "task_variance", "robustness", "timescales", "timescales_at_solves", "weight_conservation", "anatomy",
)
#: The metrics that apply to each kind of network (root attribute network_kind).
METRICS_BY_KIND = {
    "leaky_rnn": ("modularity", "task_variance", "anatomy"),
    "chain": ("modularity", "robustness", "timescales", "timescales_at_solves", "weight_conservation"),
}
_NEEDS = {
    "task_variance": "a leaky-RNN run on the yang20 cognitive tasks",
    "anatomy": "a leaky-RNN run on a grid with a functional report (log.functional)",
    "robustness": "a chain run (network.kind: chain, Hamidi et al.'s parity curriculum)",
    "timescales": "a chain run (network.kind: chain, Hamidi et al.'s parity curriculum)",
    "timescales_at_solves": "a chain run (network.kind: chain, Hamidi et al.'s parity curriculum)",
    "weight_conservation": "a chain run (network.kind: chain, Hamidi et al.'s parity curriculum)",
}
_KIND_NAMES = {"leaky_rnn": "a leaky-RNN run", "chain": "a chain run on the parity curriculum"}

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class AnalysisData:
    """What an analysis writes: attributes and datasets ``name -> (array, units, description)``."""

    metric: str
    description: str
    parameters: dict[str, Any]
    datasets: dict[str, tuple[np.ndarray, str, str]]
    attrs: dict[str, Any]


def check_name(name: str) -> str:
    """``name`` if it can name an /analysis group (letters, digits, ``_``, ``.``, ``-``); else ValueError."""
    if not _NAME.match(name):
        raise ValueError(f"analysis name {name!r}: use letters, digits, '_', '.' or '-' only")
    return name


def check_applicable(run: Run, metric: str) -> None:
    """Raise :class:`RunFileError` with a one-line reason when ``metric`` does not apply to ``run``."""
    kind = run.network_kind
    allowed = METRICS_BY_KIND.get(kind, ANALYSIS_METRICS)
    if metric in allowed:
        return
    what = _KIND_NAMES.get(kind, f"a {kind} run")
    raise RunFileError(f"{metric} needs {_NEEDS.get(metric, 'another kind of run')}; {run.path} is {what} "
                       f"(analyses for it: {', '.join(allowed)})")


def weights_by_step(run: Run) -> list[Snapshot]:
    """Every snapshot, and /final when its step has none (a run killed between snapshots)."""
    steps = run.snapshot_steps()
    snaps = [run.snapshot(s) for s in steps]
    try:
        final = run.final()
    except RunFileError:
        final = None
    if final is not None and final.step not in steps:
        snaps.append(final)
    if not snaps:
        raise RunFileError(f"{run.path} holds no weights to analyse (no snapshots and no /final)")
    return snaps
