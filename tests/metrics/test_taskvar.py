"""Tests of growsim.metrics.taskvar: task variance, active units, functional clusters."""

from __future__ import annotations

import numpy as np
import pytest

from growsim.metrics.taskvar import (
    FunctionalClusters,
    active_neurons,
    expand_labels,
    fractional_variance,
    functional_clusters,
    normalized_task_variance,
    task_variance,
)


def _unit_noise(rng: np.random.Generator, b: int, n: int) -> np.ndarray:
    """(B, N) draws with, per column, mean exactly 0 and population variance exactly 1."""
    z = rng.normal(size=(b, n))
    z -= z.mean(axis=0)
    return z / z.std(axis=0)


def _synthetic_rates(sigma: np.ndarray, t_fix: int, t_after: int, b: int, seed: int) -> np.ndarray:
    """(T, B, N) rates: a shared time course plus sigma[t] * unit noise after fixation,
    and a large trial-to-trial spread during fixation that the mask must exclude."""
    rng = np.random.default_rng(seed)
    n = sigma.shape[-1]
    t = t_fix + t_after
    course = rng.uniform(0, 2, size=(t, 1, n))  # same in every trial: no variance
    rates = np.repeat(course, b, axis=1)
    rates[:t_fix] += 10.0 * rng.normal(size=(t_fix, b, n))
    for s in range(t_after):
        rates[t_fix + s] += sigma[s] * _unit_noise(rng, b, n)
    return rates


# ------------------------------------------------------------------ task_variance


def test_task_variance_recovers_known_variances():
    # Task k, unit n: standard deviation sigma_kn(t) after fixation, chosen per step.
    rng = np.random.default_rng(0)
    n, t_fix, t_after = 5, 4, 6
    sigmas = [rng.uniform(0.1, 2.0, size=(t_after, n)) for _ in range(3)]
    rates, masks = [], []
    for k, sig in enumerate(sigmas):
        rates.append(_synthetic_rates(sig, t_fix, t_after, b=16 + 4 * k, seed=k))
        masks.append(np.arange(t_fix + t_after) >= t_fix)
    tv = task_variance(rates, masks)
    expected = np.stack([np.mean(sig**2, axis=0) for sig in sigmas])
    assert tv.shape == (3, n)
    np.testing.assert_allclose(tv, expected, rtol=1e-12)


def test_task_variance_is_yangs_formula_with_a_time_mask():
    rng = np.random.default_rng(1)
    rates = {"fdgo": rng.random((12, 7, 4)), "dm1": rng.random((9, 5, 4))}
    masks = {"fdgo": np.arange(12) >= 3, "dm1": np.arange(9) >= 5}
    tv = task_variance(rates, masks)
    for k, name in enumerate(rates):
        h = rates[name][masks[name]]
        np.testing.assert_allclose(tv[k], h.var(axis=1).mean(axis=0), rtol=1e-12)


def test_task_variance_per_trial_mask_matches_a_loop():
    # Trials whose fixation ends at different steps: a (T, B) mask.
    rng = np.random.default_rng(2)
    t, b, n = 10, 6, 3
    rates = rng.random((t, b, n))
    fix_end = np.array([1, 3, 3, 5, 8, 9])
    mask = np.arange(t)[:, None] >= fix_end[None, :]
    tv = task_variance([rates], [mask])[0]
    per_step = []
    for s in range(t):
        trials = np.flatnonzero(mask[s])
        if trials.size >= 2:  # steps 0 (no trial), 1 and 2 (one trial) do not count
            per_step.append(rates[s, trials].var(axis=0))
    assert len(per_step) == 7
    np.testing.assert_allclose(tv, np.mean(per_step, axis=0), rtol=1e-12)


def test_task_variance_none_mask_counts_every_step_and_accepts_tensors():
    torch = pytest.importorskip("torch")
    rates = np.random.default_rng(3).random((5, 4, 2))
    tv = task_variance([torch.from_numpy(rates)], [None])
    np.testing.assert_allclose(tv[0], rates.var(axis=1).mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    "rates, masks, match",
    [
        ([np.zeros((4, 3, 2))], [np.ones(4, bool), np.ones(4, bool)], "epochs_mask for 2"),
        ([np.zeros((4, 3))], [None], r"\(T, B, N\)"),
        ([np.zeros((4, 3, 2)), np.zeros((4, 3, 5))], [None, None], "units"),
        ([np.zeros((4, 3, 2))], [np.ones(4)], "boolean"),
        ([np.zeros((4, 3, 2))], [np.ones(5, bool)], "shape"),
        ([np.zeros((4, 1, 2))], [None], "at least 2"),
        ([np.full((4, 3, 2), np.nan)], [None], "NaN"),
        ([], [], "at least one"),
    ],
)
def test_task_variance_errors(rates, masks, match):
    with pytest.raises(ValueError, match=match):
        task_variance(rates, masks)


# ------------------------------------------------- active, normalised, fractional


def test_active_neurons_threshold_on_the_sum_over_tasks():
    tv = np.array([[5e-4, 1e-3, 0.0, 0.2], [5e-4, 1e-9, 0.0, 0.0]])
    # Sums: 1e-3 (not above), 1e-3 + 1e-9 (above), 0, 0.2.
    np.testing.assert_array_equal(active_neurons(tv), [False, True, False, True])
    np.testing.assert_array_equal(active_neurons(tv, threshold=0.1), [False, False, False, True])


def test_normalized_task_variance_divides_each_unit_by_its_max():
    tv = np.array([[1.0, 0.0, 2.0], [4.0, 0.0, 1.0]])
    np.testing.assert_allclose(normalized_task_variance(tv), [[0.25, 0.0, 1.0], [1.0, 0.0, 0.5]])
    with pytest.raises(ValueError, match="non-negative"):
        normalized_task_variance(-tv)


def test_fractional_variance():
    tv = np.array([[3.0, 0.0, 1.0, 1e-4], [1.0, 2.0, 1.0, 1e-4], [9.0, 9.0, 9.0, 9.0]])
    ftv = fractional_variance(tv, 0, 1)
    # (3-1)/4, selective to task b, equal, and below threshold (2e-4 <= 1e-3): NaN.
    np.testing.assert_allclose(ftv[:3], [0.5, -1.0, 0.0])
    assert np.isnan(ftv[3])
    np.testing.assert_allclose(fractional_variance(tv, 1, 0)[:3], -ftv[:3])
    with pytest.raises(ValueError, match="task_b"):
        fractional_variance(tv, 0, 3)


# ---------------------------------------------------------------- clusters


def _planted_tv(sizes, n_tasks: int, noise: float, seed: int):
    """(n_tasks, N) normalised task variance: each cluster has a prototype profile over
    tasks (preferring a different task), units are the prototype plus small noise."""
    rng = np.random.default_rng(seed)
    protos = rng.uniform(0.0, 0.3, size=(len(sizes), n_tasks))
    prefs = rng.permutation(n_tasks)[: len(sizes)]
    protos[np.arange(len(sizes)), prefs] = 1.0
    truth = np.repeat(np.arange(len(sizes)), sizes)
    x = protos[truth] + noise * rng.normal(size=(truth.size, n_tasks))
    order = rng.permutation(truth.size)  # units not sorted by cluster
    return normalized_task_variance(np.clip(x[order], 0, None).T), truth[order], prefs


def _same_partition(x: np.ndarray, y: np.ndarray) -> bool:
    pairs = set(zip(x.tolist(), y.tolist(), strict=True))
    return len(pairs) == len(set(x.tolist())) == len(set(y.tolist()))


@pytest.mark.parametrize("method", ["kmeans", "ward"])
def test_functional_clusters_recover_planted_clusters(method):
    tv_norm, truth, prefs = _planted_tv([12, 8, 15, 10], n_tasks=12, noise=0.03, seed=4)
    res = functional_clusters(tv_norm, method=method, k_range=(2, 9), n_init=5, seed=0)
    assert isinstance(res, FunctionalClusters)
    assert res.k == 4
    assert _same_partition(res.labels, truth)
    np.testing.assert_array_equal(res.ks, np.arange(2, 10))
    assert res.silhouette.shape == (8,)
    assert np.nanargmax(res.silhouette) == 2  # k = 4
    # Clusters are numbered by their preferred task, as Yang et al. sort them.
    label_pref = [prefs[truth[res.labels == c][0]] for c in range(4)]
    assert label_pref == sorted(label_pref)


def test_functional_clusters_default_k_range_and_determinism():
    tv_norm, truth, _ = _planted_tv([6, 6, 6], n_tasks=6, noise=0.02, seed=5)
    a = functional_clusters(tv_norm, n_init=3, seed=1)
    b = functional_clusters(tv_norm, n_init=3, seed=1)
    # 18 units, all distinct: k from 2 up to 17 (the silhouette needs k <= n - 1).
    np.testing.assert_array_equal(a.ks, np.arange(2, 18))
    assert a.k == 3 and _same_partition(a.labels, truth)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.silhouette, b.silhouette)


def test_functional_clusters_with_few_distinct_units_caps_k():
    # 10 units but only 3 distinct profiles: k cannot exceed 3.
    protos = np.array([[1.0, 0.0, 0.1], [0.0, 1.0, 0.1], [0.2, 0.2, 1.0]])
    x = protos[np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])]
    res = functional_clusters(x.T, k_range=(2, 29), n_init=2)
    np.testing.assert_array_equal(res.ks, [2, 3])
    assert res.k == 3
    np.testing.assert_array_equal(res.labels, [0, 0, 0, 1, 1, 1, 1, 2, 2, 2])


@pytest.mark.parametrize(
    "x, kwargs, match",
    [
        (np.ones((4, 10)), {}, "same normalised task variance"),
        (np.eye(3)[:, :2], {}, "at least 3 units"),
        (np.random.default_rng(0).random((4, 10)), {"method": "spectral"}, "unknown clustering method"),
        (np.random.default_rng(0).random((4, 10)), {"k_range": (1, 5)}, "k_range"),
        (np.random.default_rng(0).random((4, 10)), {"k_range": (12, 15)}, "no k in"),
        (np.random.default_rng(0).random((4, 10)), {"n_init": 0}, "n_init"),
        (np.random.default_rng(0).random(10), {}, "shape"),
    ],
)
def test_functional_clusters_errors(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        functional_clusters(x, **kwargs)


def test_pipeline_from_rates_to_labels_of_all_units():
    # 3 tasks; units 0-3 vary in task 0 only, 4-7 in task 2 only, 8-9 never: inactive.
    rng = np.random.default_rng(6)
    n, t, b = 10, 8, 12
    rates, masks = [], []
    for k in range(3):
        sig = np.zeros((t, n))
        sig[:, 0:4] = 0.5 if k == 0 else 0.01
        sig[:, 4:8] = 0.5 if k == 2 else 0.01
        sig[:, 4:8] *= rng.uniform(0.9, 1.1, 4)  # distinct units
        sig[:, 0:4] *= rng.uniform(0.9, 1.1, 4)
        rates.append(_synthetic_rates(sig, 2, t, b, seed=10 + k)[2:])
        masks.append(np.ones(t, bool))
    tv = task_variance(rates, masks)
    active = active_neurons(tv)
    np.testing.assert_array_equal(active, [True] * 8 + [False] * 2)
    res = functional_clusters(normalized_task_variance(tv[:, active]), k_range=(2, 4), n_init=3)
    labels = expand_labels(res.labels, active)
    np.testing.assert_array_equal(labels, [0, 0, 0, 0, 1, 1, 1, 1, -1, -1])


def test_expand_labels_errors():
    with pytest.raises(ValueError, match="shape"):
        expand_labels(np.array([0, 1]), np.array([True, False, False]))
    with pytest.raises(ValueError, match="boolean"):
        expand_labels(np.array([0]), np.array([1, 0]))
    with pytest.raises(ValueError, match="non-negative"):
        expand_labels(np.array([-1]), np.array([True]))
