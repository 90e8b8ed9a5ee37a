"""The growth program: which events fire at a step. Pure functions, no torch.

Build turns each event of the spec into a `ScheduledOp`: its trigger (when it fires),
the operation (a function from the growth registry) and the operation's validated
parameters; the program never sees the spec itself. An event fires on its schedule of
batches, or, with `when`, when the engine reports that condition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Trigger:
    """When an event fires: every `every` batches from `start` to `stop`, at the batches
    `at`, or when the condition `when` holds."""

    every: int | None = None
    start: int | None = None
    stop: int | None = None
    at: tuple[int, ...] | None = None
    when: str | None = None


@dataclass(frozen=True)
class ScheduledOp:
    """One event of the program: its position, operation and flat arguments."""

    index: int  # position in the spec's event list (the run file's /events `event`)
    op: str  # the operation's name
    func: Callable[..., Any]  # the operation: func(context, **params)
    params: Mapping[str, Any] = field(default_factory=dict)
    trigger: Trigger = Trigger()


def fires_at(trigger: Trigger, step: int) -> bool:
    """Whether the schedule of `trigger` includes batch `step` (never for a condition)."""
    if trigger.when is not None:
        return False
    if trigger.at is not None:
        return step in trigger.at
    if trigger.every is None:
        return False
    start = trigger.start if trigger.start is not None else trigger.every
    if step < start or (trigger.stop is not None and step > trigger.stop):
        return False
    return (step - start) % trigger.every == 0


def scheduled_at(events: Sequence[ScheduledOp], step: int) -> list[ScheduledOp]:
    """The events whose schedule includes `step`, in list order (the order they apply in)."""
    return [e for e in events if fires_at(e.trigger, step)]


def on_condition(events: Sequence[ScheduledOp], condition: str) -> list[ScheduledOp]:
    """The events that fire when `condition` holds (for example `level_solved`), in list order."""
    return [e for e in events if e.trigger.when == condition]


def planned_connections(
    events: Sequence[ScheduledOp], batches: int, initial: int, capacity: int
) -> list[tuple[int, int]]:
    """(step, synapses after the step's events) for every step where add_connections adds
    some, computed without running: each event adds `count`, capped by its `until` and by
    `capacity`, the synapses the network can hold. For planning and for tests."""
    adding = [e for e in events if e.op == "add_connections"]
    out = []
    connections = initial
    for step in range(1, batches):
        before = connections
        for event in scheduled_at(adding, step):
            count = event.params["count"]
            until = event.params.get("until")
            if until is not None:
                count = min(count, until - connections)
            connections += max(min(count, capacity - connections), 0)
        if connections != before:
            out.append((step, connections))
    return out
