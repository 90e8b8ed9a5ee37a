"""A functional report taken again from what a run stored, with several clusterings.

Liu et al.'s anatomy test clusters the active neurons (KMeans or Ward on their normalised
task variance, k by the best silhouette) and asks whether the clusters sit closer on the
grid than shuffles of them. A run's own report (``log.functional``) clusters once, with one
KMeans seed. KMeans' starting points and near-ties of the silhouette between values of k
can give another partition, and another percentile, from the same network; this analysis
measures how much. It takes the task variance the report stored at a step
(``/series/fn_task_variance``) and the weights of the snapshot at that step, and makes the
report again for clustering seeds 0 to ``repeats`` - 1 (the shuffles from ``seed``), with
the run's method, number of clusters and thresholds, or another ``active_threshold``.
No network is run: the task variance is the one measured in training.
"""

from __future__ import annotations

import numpy as np

from growsim.analyses._data import AnalysisData, check_applicable
from growsim.metrics.anatomy import ANATOMY_STATISTICS
from growsim.reader import Run, RunFileError

__all__ = ["anatomy", "summary"]

_UNITS = {"isolated_fraction": "1", "cluster_spread": "lattice steps^2", "mean_cluster_size": "neurons"}


def anatomy(run: Run, *, step: int | None = None, repeats: int = 10, seed: int = 0,
            active_threshold: float | None = None) -> AnalysisData:
    """The functional report at ``step`` (default: the last one taken) for clustering seeds
    0 to ``repeats`` - 1: per seed, the active neurons, the number of clusters, and each
    anatomical statistic with its percentile among the shuffles (drawn from ``seed``, the same
    for every clustering). ``active_threshold``: summed task variance of an active neuron
    (default: the run's ``log.functional.active_threshold``)."""
    from growsim.metrics.functional import grid_coords, report_from_task_variance

    check_applicable(run, "anatomy")
    fn = (run.spec.get("log") or {}).get("functional")
    if not fn or not fn.get("every"):
        raise RunFileError(f"{run.path} has no functional report (log.functional); anatomy recomputes it from that report's task variance")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    steps, tv = run.series_array("fn_task_variance")
    taken = np.flatnonzero(~np.isnan(tv).all(axis=tuple(range(1, tv.ndim))))
    if not taken.size:
        raise RunFileError(f"{run.path}: no functional report was stored")
    if step is None:
        row = int(taken[-1])
    else:
        rows = [int(r) for r in taken if int(steps[r]) == step]
        if not rows:
            raise RunFileError(f"{run.path}: no functional report at step {step} (reports at steps "
                               f"{', '.join(str(int(steps[r])) for r in taken)})")
        row = rows[0]
    at = int(steps[row])
    if at not in run.snapshot_steps():
        raise RunFileError(f"{run.path}: no snapshot at step {at}, the step of the report (snapshots at "
                           f"{', '.join(map(str, run.snapshot_steps())) or 'none'}); log.snapshot_every must divide the report's steps")
    snap = run.weights(at)
    shape = ((run.spec.get("network") or {}).get("geometry") or {}).get("shape")
    if not shape:
        raise RunFileError(f"{run.path}: anatomy needs a grid geometry (network.geometry.kind: grid)")
    threshold = float(fn.get("active_threshold", 1e-3) if active_threshold is None else active_threshold)
    options = dict(method=fn.get("method", "kmeans"), k_range=tuple(fn.get("k_range", (2, 29))), n_init=20,
                   active_threshold=threshold, connection_threshold=float(fn.get("connection_threshold", 1e-2)),
                   n_shuffles=int(fn.get("n_shuffles", 10_000)))
    coords, distances = grid_coords(shape), run.geometry().distances
    task_variance = tv[row].T.astype(np.float64)  # stored (N, n_tasks); the report takes (n_tasks, N)
    rows: list[dict[str, float]] = []
    labels = []
    for cluster_seed in range(repeats):
        scalars, arrays = report_from_task_variance(task_variance, coords, snap.w_rec, distances, rng=seed,
                                                    cluster_seed=cluster_seed, **options)
        rows.append(scalars)
        labels.append(arrays["labels"])
    datasets: dict[str, tuple[np.ndarray, str, str]] = {
        "cluster_seed": (np.arange(repeats, dtype=np.int64), "1", "Seed of the clustering (KMeans' starting points)."),
        "n_active_neurons": (np.array([r["n_active_neurons"] for r in rows]), "neurons", "Active neurons (the same for every seed)."),
        "n_clusters": (np.array([r["n_clusters"] for r in rows]), "1", "Clusters chosen by the silhouette, per seed."),
        "silhouette": (np.array([r["silhouette"] for r in rows]), "1", "Silhouette at the chosen number of clusters, per seed."),
        "labels": (np.stack(labels).astype(np.int32), "1", "Cluster of each neuron per seed (seed, neuron); -1 if inactive."),
    }
    for stat in ANATOMY_STATISTICS:
        datasets[stat] = (np.array([r[stat] for r in rows]), _UNITS[stat], f"{stat} of each seed's clusters.")
        datasets[f"{stat}_percentile"] = (np.array([r[f"{stat}_percentile"] for r in rows]), "%",
                                          f"Its percentile among the shuffles, per seed (ties count half).")
    return AnalysisData(
        metric="anatomy",
        description=f"The functional report at step {at} made again for {repeats} clustering seeds "
                    "(Liu et al.'s anatomy against shuffles).",
        parameters={"step": at, "repeats": repeats, "seed": seed, **{k: v for k, v in options.items() if k != "k_range"},
                    "k_range": list(options["k_range"])},
        datasets=datasets,
        attrs={"report_step": at},
    )


def summary(result: AnalysisData) -> str:
    pct = result.datasets["isolated_fraction_percentile"][0]
    k = result.datasets["n_clusters"][0]
    finite = pct[np.isfinite(pct)]
    if not finite.size:
        return f"step {result.parameters['step']}: no clustering possible (too few active neurons)"
    return (f"step {result.parameters['step']}, {len(pct)} clusterings: {int(k.min())} to {int(k.max())} clusters; isolated "
            f"fraction at the {np.median(finite):.1f}th percentile of its shuffles (median; {finite.min():.1f} to "
            f"{finite.max():.1f}), below the 5th in {int((finite < 5).sum())} of {finite.size}")
