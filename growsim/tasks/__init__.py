"""Cognitive tasks that growsim trains networks on.

``yang``: the 20 tasks of Yang et al. (2019), generated batch-at-a-time with numpy.
"""

from growsim.tasks.yang import (
    N_RULE,
    TASK_ALIASES,
    TASK_NAMES,
    YANG2019_TASK_WEIGHTS,
    TrialBatch,
    YangSuite,
    canonical_task_name,
    performance,
    popvec,
)

__all__ = [
    "N_RULE",
    "TASK_ALIASES",
    "TASK_NAMES",
    "YANG2019_TASK_WEIGHTS",
    "TrialBatch",
    "YangSuite",
    "canonical_task_name",
    "performance",
    "popvec",
]
