"""A rich progress bar: batch, loss, mean task performance, connections, Q, time left."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from growsim.log.base import RunInfo


class ProgressLogger:
    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task = None
        self._fields = {"loss": "-", "perf": "-", "conn": "-", "q": "-"}
        self._chain = False

    def start(self, info: RunInfo) -> None:
        # The run's name goes on a line of its own, so the bar fits an 80-column terminal.
        self.console.print(f"[bold]{info.name}[/bold]: {info.n_neurons} neurons, {info.batches} batches", highlight=False)
        # A chain shows the curriculum (N solved, modules) where a single population shows synapses and Q.
        self._chain = info.network_kind == "chain"
        third, fourth = ("N {task.fields[conn]}", "mod {task.fields[q]}") if self._chain else (
            "syn {task.fields[conn]}", "Q {task.fields[q]}")
        self._progress = Progress(
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("perf {task.fields[perf]}"),
            TextColumn(third),
            TextColumn(fourth),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(info.name, total=info.batches, **self._fields)

    def _update(self, step: int | None = None) -> None:
        if self._progress is not None:
            kwargs: dict[str, Any] = dict(self._fields)
            if step is not None:
                kwargs["completed"] = step
            self._progress.update(self._task, **kwargs)

    def log_train_losses(self, steps: np.ndarray, losses: np.ndarray) -> None:
        pass

    def log_metrics(self, step: int, scalars: Mapping[str, float], arrays: Mapping[str, np.ndarray]) -> None:
        if "perf_mean" in scalars:
            self._fields["perf"] = f"{scalars['perf_mean']:.2f}"
        if "n_solved" in scalars:
            self._fields["conn"] = f"{int(scalars['n_solved'])}"
            self._fields["q"] = f"{int(scalars.get('n_modules', 0))}"
        if "connections" in scalars:
            self._fields["conn"] = f"{int(scalars['connections'])}"
        if "modularity_q" in scalars:
            self._fields["q"] = f"{scalars['modularity_q']:.3f}"
        self._update(step)

    def log_event(self, step: int, op: str, details: Mapping[str, Any], synapses: np.ndarray | None) -> None:
        if "connections" in details and not self._chain:
            self._fields["conn"] = str(details["connections"])

    def log_snapshot(self, step: int, arrays: Mapping[str, np.ndarray]) -> None:
        pass

    def log_checkpoint(self, step: int, arrays: Mapping[str, np.ndarray], texts: Mapping[str, str]) -> None:
        pass

    def commit(self, step: int) -> None:
        pass

    def progress(self, step: int, values: Mapping[str, float]) -> None:
        if "loss" in values:
            self._fields["loss"] = f"{values['loss']:.4f}"
        self._update(step)

    def close(self, status: str, reason: str | None, step: int, final: Mapping[str, np.ndarray] | None) -> None:
        if self._progress is None:
            return
        self._update(step)
        self._progress.stop()
        self._progress = None
