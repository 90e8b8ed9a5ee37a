"""Tasks that growsim trains networks on, generated batch-at-a-time with numpy.

- ``base``: what every suite of trials shares (TrialBatch, TrialSuite, Catalogue).
- ``registry``: the task suites a spec can name (``task.suite``), plugins included.
- ``yang``: the 20 cognitive tasks of Yang et al. (2019), one file per family.
- ``modcog``: the 82 Mod-Cog tasks of Khona et al. (2022).
- ``neurogym_bridge``: any neurogym environment as a suite (growsim[neurogym]).
- ``parity``: the N-parity task of Hamidi et al., one label per level.
- ``curriculum``: the pure state machine that advances a curriculum when a level is solved.

The tasks themselves need numpy only; the registry (pydantic) loads when its names are used.
"""

from growsim.tasks.base import Catalogue, Piecewise, TrialBatch, TrialSuite
from growsim.tasks.curriculum import CODE_CRITERION, PAPER_CRITERION, Criterion, CurriculumState, advance, is_solved
from growsim.tasks.modcog import TASK_NAMES_MODCOG, ModCogSuite
from growsim.tasks.parity import (
    CODE_LENGTH,
    PAPER_LENGTH,
    ParityBatch,
    ParityCurriculum,
    ParitySuite,
    SequenceLength,
    parity_accuracy,
    parity_labels,
    running_parity,
)
from growsim.tasks.yang import (
    N_RULE,
    TASK_ALIASES,
    TASK_NAMES,
    YANG2019_TASK_WEIGHTS,
    YangSuite,
    canonical_task_name,
    draw_tasks,
    performance,
    popvec,
)

__all__ = [
    "CODE_CRITERION",
    "CODE_LENGTH",
    "PAPER_CRITERION",
    "PAPER_LENGTH",
    "Catalogue",
    "Criterion",
    "CurriculumState",
    "ModCogSuite",
    "ParityBatch",
    "ParityCurriculum",
    "ParitySuite",
    "SequenceLength",
    "TASK_NAMES_MODCOG",
    "TaskContext",
    "TaskParams",
    "TrialSuite",
    "advance",
    "available_tasks",
    "get_task",
    "is_solved",
    "make_suite",
    "parity_accuracy",
    "parity_labels",
    "running_parity",
    "task_suite",
    "N_RULE",
    "TASK_ALIASES",
    "TASK_NAMES",
    "YANG2019_TASK_WEIGHTS",
    "Piecewise",
    "TrialBatch",
    "YangSuite",
    "canonical_task_name",
    "draw_tasks",
    "performance",
    "popvec",
]

_REGISTRY_NAMES = ("TaskContext", "TaskParams", "available_tasks", "get_task", "make_suite", "task_suite")


def __getattr__(name: str):
    if name in _REGISTRY_NAMES:
        from growsim.tasks import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'growsim.tasks' has no attribute {name!r}")
