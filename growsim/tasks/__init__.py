"""Tasks that growsim trains networks on, generated batch-at-a-time with numpy.

- ``yang``: the 20 cognitive tasks of Yang et al. (2019).
- ``parity``: the N-parity task of Hamidi et al., one label per level.
- ``curriculum``: the pure state machine that advances a curriculum when a level is solved.
"""

from growsim.tasks.curriculum import CODE_CRITERION, PAPER_CRITERION, Criterion, CurriculumState, advance, is_solved
from growsim.tasks.parity import (
    CODE_LENGTH,
    PAPER_LENGTH,
    ParityBatch,
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
    Piecewise,
    TrialBatch,
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
    "Criterion",
    "CurriculumState",
    "ParityBatch",
    "ParitySuite",
    "SequenceLength",
    "advance",
    "is_solved",
    "parity_accuracy",
    "parity_labels",
    "running_parity",
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
