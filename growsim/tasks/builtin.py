"""The built-in task suites: yang20 (the default), modcog, parity, and neurogym (a bridge
to any neurogym environment, with the optional extra growsim[neurogym]).

Each suite's parameters are a model here; `task:` in a spec is the suite's name
(`suite:`) beside its parameters.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator

from growsim.tasks import modcog, yang
from growsim.tasks.curriculum import Criterion
from growsim.tasks.parity import ParityCurriculum
from growsim.tasks.registry import TaskContext, TaskParams, task_suite


class TaskDraw(TaskParams):
    """`tasks: {draw: K}`: K distinct tasks drawn for each seed, without replacement, from the
    run's own random stream `task_selection`; the same seed draws the same tasks, and no other
    stream moves. The drawn tasks are trained in the suite's order, and the run file lists them
    (/tasks/names; its attribute `selection` says they were drawn)."""

    draw: int = Field(ge=1, description="How many tasks each seed trains on (K).")
    from_: list[str] | None = Field(
        None,
        alias="from",
        description="The pool drawn from (the suite's task names); default all of the suite's tasks.",
    )


# Units per ring: the inputs are 2 rings and the outputs one, beside the neurons, in every
# tensor of a batch (docs/reliability.md).
MAX_RING = 1_000


def _tasks_form(value: Any) -> str | None:
    """Which form `task.tasks` takes: all, a list of names, or a draw."""
    if isinstance(value, (dict, TaskDraw)):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, str):
        return "all"
    return None


TasksForm = Annotated[
    Annotated[Literal["all"], Tag("all")] | Annotated[list[str], Tag("list")] | Annotated[TaskDraw, Tag("mapping")],
    Discriminator(
        _tasks_form,
        custom_error_type="tasks_form",
        custom_error_message="must be all, a list of task names, or a draw such as {draw: 3}",
    ),
]


class _CatalogueParams(TaskParams):
    """What a suite with a catalogue takes: its tasks, their probabilities, the rings and the time step."""

    tasks: TasksForm = Field("all", description="Which tasks are sampled: all, a list of names, or {draw: K, from: [names]}.")
    task_probs: list[Annotated[float, Field(ge=0)]] | None = Field(
        None, description="Relative probability of each task in `tasks` (default uniform)."
    )
    n_eachring: int = Field(32, ge=2, le=MAX_RING, description="Units per input ring and in the output ring.")
    dt_ms: float = Field(20.0, gt=0, description="Simulation time step.")


class YangParams(_CatalogueParams):
    """Yang et al.'s 20 cognitive tasks (the default suite), as Yang et al. 2019 define them."""

    tasks: TasksForm = Field(
        "all",
        description="Which tasks are sampled: all (the 20), a list of names (Yang's, or neurogym's names as aliases), "
        "or {draw: K, from: [names]}: K tasks drawn per seed (see Choosing the tasks).",
    )
    n_eachring: int = Field(32, ge=2, le=MAX_RING, description="Units per input ring and in the output ring (Yang 32; Liu 16).")


class ModCogParams(_CatalogueParams):
    """The 82 Mod-Cog tasks of Khona et al. (2022): Yang's 20, their seq (r, l) versions and
    the int (r, l) versions of the 11 delay tasks (docs/tasks.md)."""

    tasks: TasksForm = Field(
        "all",
        description="Which tasks are sampled: all (the 82), a list of Mod-Cog names (goseqr, dmsintl, ...), or "
        "{draw: K, from: [names]}.",
    )
    n_eachring: int = Field(16, ge=2, le=MAX_RING, description="Units per input ring and in the output ring (Mod-Cog 16).")
    omega: float = Field(
        math.pi / 800, gt=0, le=1,
        description="Angular velocity of the seq and int extensions, rad/ms (pi/800: one unit of a 16-unit ring per 100 ms).",
    )
    seq_response_ms: float = Field(1000.0, gt=0, le=10_000, description="How long a seq task's response lasts.")


class CriterionSpec(TaskParams):
    """When the curriculum's newest level counts as solved (strictly above both thresholds)."""

    newest: float = Field(0.98, ge=0, le=1, description="Accuracy the newest level's head must pass.")
    mean: float = Field(0.98, ge=0, le=1, description="Mean accuracy the other heads must pass.")
    mean_over: Literal["previous", "all"] = Field(
        "previous", description="previous: the mean over earlier levels (the paper); all: over every head (their code)."
    )


class ParityParams(TaskParams):
    """Hamidi et al.'s N-parity curriculum: one bit per step, a 2-class head per level N, each
    reading the parity of the last N bits at the last step. Levels advance when solved."""

    n_start: int = Field(2, ge=1, description="The first level N.")
    n_max: int = Field(100, ge=1, le=1000, description="The last level; the curriculum stops there.")
    length: Literal["paper", "code"] = Field(
        "paper", description="Sequence lengths, drawn per batch: paper N+2 .. 4N; code N+2 .. 2.5N+1 (N the newest level)."
    )
    p_one: float | None = Field(None, ge=0, le=1, description="Probability of a 1; default drawn from U(0, 1).")
    p_one_scope: Literal["batch", "sequence"] = Field("batch", description="Draw p(1) once per batch or per sequence.")
    criterion: CriterionSpec = Field(CriterionSpec(), description="When a level is solved (checked at every evaluation).")

    @field_validator("n_max")
    @classmethod
    def _levels(cls, value: int, info: ValidationInfo) -> int:
        n_start = info.data.get("n_start")
        if n_start is not None and value < n_start:
            raise ValueError(f"must be >= n_start ({n_start})")
        return value


class NeurogymParams(TaskParams):
    """Any neurogym environment, or several, as a task suite (the optional extra
    growsim[neurogym]): trained on neurogym's own trials, time step and labels, scored at
    the last step of each trial (docs/tasks.md)."""

    envs: list[str] = Field(
        min_length=1, description="neurogym environment ids (as neurogym.make takes them), one task each."
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for every environment (dt, timing, ...)."
    )
    task_probs: list[Annotated[float, Field(ge=0)]] | None = Field(
        None, description="Relative probability of each environment (default uniform)."
    )
    max_steps: int = Field(2000, ge=1, le=100_000, description="Longest trial accepted, in steps.")


@task_suite("yang20", params=YangParams, catalogue=yang.CATALOGUE)
def yang20(params: YangParams, context: TaskContext) -> yang.YangSuite:
    """Yang et al.'s 20 cognitive tasks (the default)."""
    tasks = context.tasks if context.tasks is not None else yang.TASK_NAMES
    return yang.YangSuite(tasks, n_eachring=params.n_eachring, dt_ms=params.dt_ms, task_probs=params.task_probs)


@task_suite("modcog", params=ModCogParams, catalogue=modcog.CATALOGUE)
def modcog_suite(params: ModCogParams, context: TaskContext) -> modcog.ModCogSuite:
    """The 82 Mod-Cog tasks of Khona et al. (2022)."""
    tasks = context.tasks if context.tasks is not None else modcog.TASK_NAMES_MODCOG
    return modcog.ModCogSuite(
        tasks, n_eachring=params.n_eachring, dt_ms=params.dt_ms, task_probs=params.task_probs,
        omega=params.omega, seq_response_ms=params.seq_response_ms,
    )


@task_suite("parity", params=ParityParams)
def parity(params: ParityParams, context: TaskContext) -> ParityCurriculum:
    """Hamidi et al.'s N-parity curriculum (for a chain of modules)."""
    c = params.criterion
    return ParityCurriculum(
        n_start=params.n_start, n_max=params.n_max, length=params.length, p_one=params.p_one,
        p_one_scope=params.p_one_scope, criterion=Criterion(c.newest, c.mean, c.mean_over),
    )


@task_suite("neurogym", params=NeurogymParams)
def neurogym(params: NeurogymParams, context: TaskContext):
    """Any neurogym environments, through the bridge (needs growsim[neurogym])."""
    from growsim.tasks.neurogym_bridge import NeurogymSuite

    return NeurogymSuite(params.envs, kwargs=params.kwargs, task_probs=params.task_probs, max_steps=params.max_steps)
