"""Progress of a run: batch, loss, mean task performance, connections, Q, time left.

On a terminal, a rich progress bar. When the output is a file or a pipe (nohup, a cluster
job), plain lines instead, one every `PLAIN_EVERY_S` seconds and one at the end, which a
log shows as they come.
"""

from __future__ import annotations

import time
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

PLAIN_EVERY_S = 30.0


def _duration(seconds: float) -> str:
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes = int(round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class ProgressLogger:
    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task = None
        self._fields = {"loss": "-", "perf": "-", "conn": "-", "q": "-"}
        self._chain = False
        self._plain = False
        self._batches = 0
        self._first: tuple[int, float] | None = None  # (step, time) of the first update: the rate's origin
        self._last_line = 0.0
        self._step = 0

    def start(self, info: RunInfo) -> None:
        # The run's name goes on a line of its own, so the bar fits an 80-column terminal.
        self.console.print(f"[bold]{info.name}[/bold]: {info.n_neurons} neurons, {info.batches} batches", highlight=False)
        # A chain shows the curriculum (N solved, modules) where a single population shows synapses and Q.
        self._chain = info.network_kind == "chain"
        self._batches = info.batches
        self._plain = not self.console.is_terminal
        self._last_line = time.monotonic()
        if self._plain:
            return
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
        if self._plain:
            if step is not None:
                self._plain_update(step)
            return
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

    def _plain_update(self, step: int, force: bool = False) -> None:
        now = time.monotonic()
        self._step = step
        if self._first is None:
            self._first = (step, now)
        if force or now - self._last_line >= PLAIN_EVERY_S:
            self._last_line = now
            self.console.print(self._plain_line(step, now), markup=False, highlight=False)

    def _plain_line(self, step: int, now: float) -> str:
        first_step, first_time = self._first or (step, now)
        done, elapsed = step - first_step, now - first_time
        parts = [f"batch {step}/{self._batches} ({step / max(self._batches, 1):.0%})"]
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            parts.append(f"{rate:.1f} batches/s")
        f = self._fields
        third, fourth = ("N", "modules") if self._chain else ("syn", "Q")
        parts += [f"loss {f['loss']}", f"perf {f['perf']}", f"{third} {f['conn']}", f"{fourth} {f['q']}"]
        if done > 0 and elapsed > 0 and step < self._batches:
            parts.append(f"{_duration((self._batches - step) / rate)} left")
        return "  ".join(parts)

    def close(self, status: str, reason: str | None, step: int, final: Mapping[str, np.ndarray] | None) -> None:
        if self._plain:
            self._plain_update(step, force=True)
            return
        if self._progress is None:
            return
        self._update(step)
        self._progress.stop()
        self._progress = None
