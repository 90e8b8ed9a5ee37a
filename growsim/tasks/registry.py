"""The registry of task suites: built-ins, plugin files, modules and entry points.

A task suite is a function `make(params, context) -> suite` registered with
`@task_suite("name", params=ParamsModel)`; the decorator returns it unchanged. A spec names
it in `task.suite` with its parameters beside it, validated by the suite's model, like a
wiring rule's. It returns a `TrialSuite` (growsim.tasks.base), which the trial objective
trains with the masked squared error or the cross-entropy loss; the built-in parity suite
returns a `ParityCurriculum` instead, for the curriculum objective. Installed packages add
suites through the entry-point group `growsim.tasks`; a spec's plugin files and modules
may register them too. `growsim plugins` lists them.

A suite with a `catalogue` (a `Catalogue` of task names, like Yang's 20 or Mod-Cog's 82)
takes the parameters `tasks` (all, a list, or `{draw: K, from: [...]}`) and
`task_probs`: growsim chooses the run's tasks (drawing them from the run's own stream) and
passes them in `context.tasks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from growsim.registry import Entry, NoParams, Registry
from growsim.tasks.base import Catalogue

ENTRY_POINT_GROUP = "growsim.tasks"

TASKS = Registry("task suite", ENTRY_POINT_GROUP, "growsim.tasks.builtin", reserved=("suite",))


class TaskParams(BaseModel):
    """Base of a task suite's parameters: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class TaskContext:
    """What a suite's factory may use besides its parameters.

    seed: the run's seed. tasks: for a suite with a catalogue, the run's tasks (canonical
    names, in catalogue order when drawn); None otherwise. base_dir: the spec's folder,
    for files a suite reads.
    """

    seed: int = 0
    tasks: tuple[str, ...] | None = None
    base_dir: Path | None = None


def task_suite(
    name: str, *, params: type[BaseModel] = NoParams, catalogue: Catalogue | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `make(params, context) -> suite` as the task suite `name`, whose parameters
    `params` validates. `catalogue`: the suite's task names, if it takes `tasks:`."""
    return TASKS.register(name, params, {"catalogue": catalogue})


def available_tasks() -> dict[str, Entry]:
    """Every task suite: built-ins, installed entry points and plugins loaded so far."""
    return TASKS.available()


def get_task(name: str) -> Entry:
    return TASKS.get(name)


def catalogue_of(name: str) -> Catalogue | None:
    """The catalogue of suite `name` (None for a suite without one)."""
    return get_task(name).meta.get("catalogue")


def make_suite(name: str, params: dict[str, Any] | BaseModel, context: TaskContext | None = None) -> Any:
    """The suite `name` made from its parameters (validated here if given as a dict)."""
    entry = get_task(name)
    if not isinstance(params, BaseModel):
        params = entry.params.model_validate(params)
    return entry.func(params, context or TaskContext())
