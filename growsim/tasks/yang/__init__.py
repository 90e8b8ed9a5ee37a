"""The 20 cognitive tasks of Yang et al. (2019), generated a whole batch at a time.

Reference: G. R. Yang, M. R. Joglekar, H. F. Song, W. T. Newsome and X.-J. Wang,
"Task representations in neural networks trained to perform many cognitive
tasks", Nature Neuroscience 22, 297-306 (2019), and its code (gyyang/multitask,
``task.py`` and ``network.py``). This is an independent re-implementation of
that code's training ("random") mode, vectorised over the batch with numpy.

One file per family of tasks, each naming its timing and parameters:

- ``go``: fdgo, reactgo, delaygo and their anti versions;
- ``decision``: dm1, dm2, contextdm1/2, multidm and their delayed versions;
- ``matching``: dmsgo, dmsnogo, dmcgo, dmcnogo;
- ``ring``: the input/output layout they share, the renderer, popvec and performance;
- ``suite``: the names, their rule columns, and `YangSuite`.

Only numpy is imported; the network adds input noise itself.
"""

from growsim.tasks.base import Piecewise, TrialBatch
from growsim.tasks.yang.ring import performance, popvec
from growsim.tasks.yang.suite import (
    CATALOGUE,
    N_RULE,
    TASK_ALIASES,
    TASK_NAMES,
    YANG2019_TASK_WEIGHTS,
    YangSuite,
    canonical_task_name,
    draw_tasks,
)

__all__ = [
    "CATALOGUE",
    "TASK_NAMES",
    "TASK_ALIASES",
    "N_RULE",
    "YANG2019_TASK_WEIGHTS",
    "Piecewise",
    "TrialBatch",
    "YangSuite",
    "canonical_task_name",
    "draw_tasks",
    "popvec",
    "performance",
]
