"""Metrics of growing networks: pure functions of arrays, usable on any run file's contents.

- modularity: directed modularity Q and communities (Leicht & Newman).
- taskvar: task variance and functional clusters (Yang et al. 2019).
- anatomy: isolated neurons, cluster size and spread on a grid, against shuffles (Liu et al.).
- wiring_cost: wiring length, active connections, L1 and distance-weighted costs, schedules.
- robustness: Eq. 5 perturbations and robustness curves (Hamidi et al.).
- timescales: autocorrelation and effective timescales by one- or two-exponential fits.
- conservation: variance of the normalised weight change between consecutive modules (Hamidi et al.).

Each name is imported from its module when first used (PEP 562): a run that computes only
Q does not import the fitting code of timescales (scipy.optimize, scipy.fft), about 9 MB of
resident memory. The modules take numpy and scipy at import; networkx, scikit-learn and
torch only inside the functions that use them.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, its name there)
_NAMES = {
    **{n: ("anatomy", n) for n in ("ANATOMY_STATISTICS", "NullComparison", "cluster_spread", "isolated_fraction",
                                    "isolated_neurons", "mean_cluster_size", "shuffle_baseline")},
    **{n: ("conservation", n) for n in ("ConstantMatrixError", "normalized_weights", "weight_change_variance")},
    **{n: ("functional", n) for n in ("functional_report", "network_task_variance")},
    **{n: ("modularity", n) for n in ("METHODS", "ModularityResult", "communities", "modularity_matrix", "modularity_q")},
    **{n: ("robustness", n) for n in ("RobustnessResult", "perturb_tau", "perturb_weights", "robustness_curve")},
    **{n: ("taskvar", n) for n in ("CLUSTER_METHODS", "FunctionalClusters", "active_neurons", "expand_labels",
                                    "fractional_variance", "functional_clusters", "normalized_task_variance",
                                    "task_variance")},
    "TIMESCALE_METHODS": ("timescales", "METHODS"),
    **{n: ("timescales", n) for n in ("TAU_BOUNDS", "TimescaleResult", "autocorrelation", "effective_timescales",
                                       "fit_timescales", "resolved_summary")},
    **{n: ("wiring_cost", n) for n in ("SCHEDULE_MODES", "active_connections", "bimt_cost", "distance_weighted_l1",
                                        "l1_cost", "piecewise_schedule", "wiring_length")},
}


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _NAMES[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value  # the next lookup finds it directly
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES})


__all__ = [
    "ANATOMY_STATISTICS",
    "CLUSTER_METHODS",
    "METHODS",
    "SCHEDULE_MODES",
    "TAU_BOUNDS",
    "TIMESCALE_METHODS",
    "ConstantMatrixError",
    "FunctionalClusters",
    "ModularityResult",
    "NullComparison",
    "RobustnessResult",
    "TimescaleResult",
    "active_connections",
    "active_neurons",
    "autocorrelation",
    "bimt_cost",
    "cluster_spread",
    "communities",
    "distance_weighted_l1",
    "effective_timescales",
    "expand_labels",
    "fit_timescales",
    "fractional_variance",
    "functional_clusters",
    "isolated_fraction",
    "isolated_neurons",
    "l1_cost",
    "mean_cluster_size",
    "modularity_matrix",
    "modularity_q",
    "normalized_task_variance",
    "normalized_weights",
    "perturb_tau",
    "perturb_weights",
    "piecewise_schedule",
    "resolved_summary",
    "robustness_curve",
    "shuffle_baseline",
    "task_variance",
    "weight_change_variance",
    "wiring_length",
]
