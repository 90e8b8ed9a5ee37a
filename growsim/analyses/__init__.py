"""Analyses of stored runs: metrics recomputed from a run's weights, and the /analysis group that keeps them.

Above the reader (``growsim.reader`` only reads): an analysis opens a run with
:func:`growsim.open_run`, recomputes from its stored weights with ``growsim.metrics``,
``growsim.tasks`` and, for chain runs, ``growsim.network`` (torch, imported when such an
analysis is called), and returns :class:`AnalysisData`; :func:`write_analysis` writes it
into ``/analysis/<name>``, which the reader reads back (``Run.analysis``). One file each:

- ``modularity_over_snapshots``: communities and directed Q at every stored step.
- ``task_variance``: Yang et al.'s task variance and clusters of neurons (leaky-RNN runs).
- ``anatomy``: a functional report (Liu et al.'s anatomy against shuffles) made again from
  its stored task variance for several clustering seeds, or another active threshold.
- ``robustness``: accuracy per level after perturbing W_rec, W_ff or tau (chain runs).
- ``timescales``: trained and effective timescale of every neuron (chain runs);
  ``timescales_at_solves``: the same at every step where N_solved rose (Fig. 4).
- ``weight_conservation``: variance of the normalised change of W_rec and of W_ff between
  consecutive modules (chain runs; Fig. 5c).
- ``registered_analysis``: any analysis of the registry a spec's ``log.analyses`` names
  (``wiring_length``, a plugin's), at every stored step.
- ``network_at``: the ``ChainRNN`` of a stored step; ``parity_test_set``: the run's own
  parity test sequences, on which a rebuilt network gives the logged accuracy.

    run = growsim.open_run("runs/modular_growth_parity.h5")
    write_analysis(run.path, "robustness", robustness(run, what="recurrent"))

Layout of /analysis: docs/analysis.md.
"""

from growsim.analyses._anatomy import anatomy
from growsim.analyses._conservation import weight_conservation
from growsim.analyses._data import ANALYSIS_METRICS, METRICS_BY_KIND, AnalysisData, check_applicable, check_name
from growsim.analyses._modularity import modularity_over_snapshots
from growsim.analyses._network import network_at, parameter_arrays, require_chain, structure_of
from growsim.analyses._parity import ParityTestSet, parity_test_set
from growsim.analyses._registered import registered_analysis
from growsim.analyses._robustness import DEFAULT_EPS, ROBUSTNESS_TARGETS, robustness
from growsim.analyses._summary import result_summary
from growsim.analyses._task_variance import ACTIVE_VARIANCE, task_variance
from growsim.analyses._timescales import chain_activity, solve_steps, timescales, timescales_at_solves
from growsim.analyses._write import write_analysis

__all__ = [
    "ACTIVE_VARIANCE",
    "ANALYSIS_METRICS",
    "DEFAULT_EPS",
    "METRICS_BY_KIND",
    "ROBUSTNESS_TARGETS",
    "AnalysisData",
    "ParityTestSet",
    "anatomy",
    "chain_activity",
    "check_applicable",
    "check_name",
    "modularity_over_snapshots",
    "network_at",
    "parameter_arrays",
    "parity_test_set",
    "registered_analysis",
    "require_chain",
    "result_summary",
    "robustness",
    "structure_of",
    "task_variance",
    "solve_steps",
    "timescales",
    "timescales_at_solves",
    "weight_conservation",
    "write_analysis",
]
