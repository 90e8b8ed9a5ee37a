"""One line per analysis result, for the command line."""

from __future__ import annotations

from collections.abc import Callable

from growsim.analyses._anatomy import summary as anatomy_summary
from growsim.analyses._conservation import summary as conservation_summary
from growsim.analyses._data import AnalysisData
from growsim.analyses._modularity import summary as modularity_summary
from growsim.analyses._registered import summary as registered_summary
from growsim.analyses._robustness import summary as robustness_summary
from growsim.analyses._task_variance import summary as task_variance_summary
from growsim.analyses._timescales import summary as timescales_summary
from growsim.analyses._timescales import summary_at_solves

__all__ = ["result_summary"]

_SUMMARIES: dict[str, Callable[[AnalysisData], str]] = {
    "modularity": modularity_summary,
    "task_variance": task_variance_summary,
    "anatomy": anatomy_summary,
    "robustness": robustness_summary,
    "timescales": timescales_summary,
    "timescales_at_solves": summary_at_solves,
    "weight_conservation": conservation_summary,
}


def result_summary(result: AnalysisData) -> str:
    """One line saying what an analysis found (a registered analysis: its numbers at the last step)."""
    return _SUMMARIES.get(result.metric, registered_summary)(result)
