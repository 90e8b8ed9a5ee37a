"""The logger protocol: the engine hands loggers plain numbers and numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

# Re-exported: the sweep driver and the run command import it from here.
from growsim._process import process_alive

__all__ = ["Logger", "Loggers", "RunInfo", "process_alive"]


@dataclass(frozen=True)
class RunInfo:
    """What a logger learns when a run starts."""

    name: str
    seed: int
    batches: int
    spec_text: str  # the spec file verbatim
    resolved_yaml: str  # every default filled in
    resolved_json: str
    overrides: tuple[str, ...]
    task_names: tuple[str, ...]
    n_neurons: int
    n_input: int
    n_output: int
    distances: np.ndarray | None  # (N, N); None for a network without geometry
    positions: np.ndarray | None  # (N, d)
    labels: tuple[str, ...] | None
    distance_units: str
    versions: Mapping[str, str] = field(default_factory=dict)
    network_kind: str = "leaky_rnn"  # or "chain"
    spec_path: str | None = None
    base_dir: str | None = None  # where the spec's relative paths point
    task_selection: str = ""  # how the tasks were chosen: all, listed, or drawn ... (empty: not Yang's tasks)
    task_pool: tuple[str, ...] = ()  # the tasks they were drawn from, when drawn


class Logger(Protocol):
    def start(self, info: RunInfo) -> None: ...

    def log_train_losses(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Per-batch training losses; steps (k,) int64 are the batches' indices (0-based)."""

    def log_metrics(self, step: int, scalars: Mapping[str, float], arrays: Mapping[str, np.ndarray]) -> None:
        """Metrics after `step` batches."""

    def log_event(self, step: int, op: str, details: Mapping[str, Any], synapses: np.ndarray | None) -> None:
        """A growth event; synapses (k, 2) int (post, pre) added, if any."""

    def log_snapshot(self, step: int, arrays: Mapping[str, np.ndarray]) -> None: ...

    def progress(self, step: int, values: Mapping[str, float]) -> None:
        """Cheap and frequent: the batch count and the latest figures."""

    def log_checkpoint(self, step: int, arrays: Mapping[str, np.ndarray], texts: Mapping[str, str]) -> None:
        """The whole state of the run at `step` (arrays, and JSON texts such as random-stream states)."""

    def commit(self, step: int) -> None:
        """Everything logged so far must now be durable (called after each log step)."""

    def close(self, status: str, reason: str | None, step: int, final: Mapping[str, np.ndarray] | None) -> None:
        """status: completed, failed or interrupted; reason says why for the last two."""


class Loggers:
    """Fans every call out to several loggers."""

    def __init__(self, loggers: Sequence[Logger]):
        self.loggers = list(loggers)

    def __getattr__(self, name: str):
        targets = [getattr(lg, name) for lg in self.loggers]

        def fan_out(*args, **kwargs):
            # Every logger gets the call even if one fails (a file must still be closed).
            error: BaseException | None = None
            for target in targets:
                try:
                    target(*args, **kwargs)
                except BaseException as exc:
                    error = error or exc
            if error is not None:
                raise error

        return fan_out
