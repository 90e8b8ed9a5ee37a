"""Metrics of growing networks: pure functions of arrays, usable on any run file's contents.

- modularity: directed modularity Q and communities (Leicht & Newman).
- taskvar: task variance and functional clusters (Yang et al. 2019).
- anatomy: isolated neurons, cluster size and spread on a grid, against shuffles (Liu et al.).
- wiring_cost: wiring length, active connections, L1 and distance-weighted costs, schedules.
- robustness: Eq. 5 perturbations and robustness curves (Hamidi et al.).
- timescales: autocorrelation and effective timescales by one- or two-exponential fits.
- conservation: variance of the normalised weight change between consecutive modules (Hamidi et al.).

numpy and scipy at import; networkx, scikit-learn and torch only inside the functions
that use them.
"""

from .anatomy import (
    ANATOMY_STATISTICS,
    NullComparison,
    cluster_spread,
    isolated_fraction,
    isolated_neurons,
    mean_cluster_size,
    shuffle_baseline,
)
from .conservation import ConstantMatrixError, normalized_weights, weight_change_variance
from .functional import functional_report as functional_report, network_task_variance as network_task_variance
from .modularity import METHODS, ModularityResult, communities, modularity_matrix, modularity_q
from .robustness import RobustnessResult, perturb_tau, perturb_weights, robustness_curve
from .taskvar import (
    CLUSTER_METHODS,
    FunctionalClusters,
    active_neurons,
    expand_labels,
    fractional_variance,
    functional_clusters,
    normalized_task_variance,
    task_variance,
)
from .timescales import METHODS as TIMESCALE_METHODS
from .timescales import TimescaleResult, autocorrelation, effective_timescales, fit_timescales
from .wiring_cost import (
    SCHEDULE_MODES,
    active_connections,
    bimt_cost,
    distance_weighted_l1,
    l1_cost,
    piecewise_schedule,
    wiring_length,
)

__all__ = [
    "ANATOMY_STATISTICS",
    "CLUSTER_METHODS",
    "METHODS",
    "SCHEDULE_MODES",
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
    "robustness_curve",
    "shuffle_baseline",
    "task_variance",
    "weight_change_variance",
    "wiring_length",
]
