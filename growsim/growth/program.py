"""The growth program: which events fire at a step. Pure functions, no torch.

An event is any object with the attributes of a growth event in the spec (op, every,
start, stop, at, when; add_connections also count, until, reset_optimizer); the program
never sees the spec itself. An event fires on its schedule of batches, or, with `when`,
when the engine reports that condition (`conditional_events`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DueEvent:
    index: int  # position in the program's event list
    op: str
    count: int  # how many synapses to add now, after the `until` cap
    reset_optimizer: bool


def fires_at(event: Any, step: int) -> bool:
    """Whether `event`'s schedule includes batch `step` (ignoring caps)."""
    if getattr(event, "when", None) is not None:
        return False
    if event.at is not None:
        return step in event.at
    if event.every is None:
        return False
    start = event.start if event.start is not None else event.every
    if step < start or (event.stop is not None and step > event.stop):
        return False
    return (step - start) % event.every == 0


def due_events(events: Sequence[Any], step: int, connections: int) -> list[DueEvent]:
    """Events that fire at `step` for a network with `connections` synapses, in list order.

    Counts are capped so that the total never passes an event's `until`; an event whose
    cap is reached does not fire.
    """
    due = []
    for index, event in enumerate(events):
        if not fires_at(event, step):
            continue
        if event.op != "add_connections":
            due.append(DueEvent(index, event.op, 0, False))
            continue
        count = event.count
        if event.until is not None:
            count = min(count, event.until - connections)
        if count <= 0:
            continue
        due.append(DueEvent(index, event.op, count, event.reset_optimizer))
        connections += count
    return due


def conditional_events(events: Sequence[Any], condition: str) -> list[DueEvent]:
    """Events that fire when `condition` holds (for example `level_solved`), in list order.

    add_connections events keep their `count` (the engine caps it by `until` as it applies them).
    """
    return [
        DueEvent(i, e.op, getattr(e, "count", 0), getattr(e, "reset_optimizer", False))
        for i, e in enumerate(events)
        if getattr(e, "when", None) == condition
    ]


def schedule(events: Sequence[Any], batches: int, initial: int, capacity: int) -> list[tuple[int, int]]:
    """(step, connections after the step's events) for every step where growth happens.

    `capacity` is the number of synapses the network can hold at most. Useful for
    planning and for tests: it is what a run will do, computed without running it.
    """
    out = []
    connections = initial
    for step in range(1, batches):
        added = 0
        for ev in due_events(events, step, connections):
            n = min(ev.count, capacity - connections - added)
            added += max(n, 0)
        if added:
            connections += added
            out.append((step, connections))
    return out
