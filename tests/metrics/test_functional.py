"""The functional/anatomical report (growsim.metrics.functional) on hand-built grids."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from growsim.geometry import grid
from growsim.metrics import taskvar
from growsim.metrics.functional import (
    NULL_QUANTILES,
    REPORT_ARRAYS,
    REPORT_SCALARS,
    epoch_mask_after_fixation,
    functional_report,
    grid_coords,
    network_task_variance,
    report_from_task_variance,
)
from growsim.network import LeakyRNN
from growsim.tasks import YangSuite

SHAPE = (6, 6)
COORDS = grid_coords(SHAPE)
D = grid(SHAPE).distances
N = 36


def _tv(labels: np.ndarray, n_tasks: int) -> np.ndarray:
    """Task variance whose clusters are exactly ``labels``: profile e_c (+ a floor); 0 where -1."""
    tv = np.full((n_tasks, labels.size), 0.01)
    for n, c in enumerate(labels):
        if c < 0:
            tv[:, n] = 0.0
        else:
            tv[c, n] = 1.0
    return tv


def _report(labels, n_tasks, n_shuffles=500, **kw):
    w = np.zeros((N, N))
    return report_from_task_variance(_tv(labels, n_tasks), COORDS, w, D, rng=0, n_shuffles=n_shuffles, **kw)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_keys_and_shapes_are_always_the_same():
    halves = (COORDS[:, 1] >= 3).astype(int)
    for labels in (halves, np.full(N, -1)):
        s, a = _report(labels, 2, n_shuffles=50)
        assert tuple(s) == REPORT_SCALARS and tuple(a) == REPORT_ARRAYS
        assert all(isinstance(v, float) for v in s.values())
        assert a["task_variance"].shape == (N, 2)
        assert a["labels"].shape == (N,) and a["labels"].dtype == np.int64
        assert a["active"].shape == (N,) and a["active"].dtype == bool
        assert np.array_equal(a["null_quantile_levels"], NULL_QUANTILES)
        for name in ("isolated_fraction", "cluster_spread", "mean_cluster_size"):
            assert a[f"{name}_null_quantiles"].shape == (3,)
            assert a[f"{name}_null_percentiles"].shape == (101,)
            assert a[f"{name}_null"].shape == (50,)


def test_the_stored_percentiles_are_the_shuffles_quantile_function():
    """Liu et al.'s Fig. 2b draws the shuffles' histogram: the report keeps the null's value at
    every percent, which is what the shuffles themselves give."""
    from growsim.metrics.anatomy import shuffle_baseline

    labels = 2 * (COORDS[:, 0] >= 3) + (COORDS[:, 1] >= 3)
    s, a = _report(labels, 4, n_shuffles=400)
    # the clustering finds the quadrants (same partition), so the null is that of these labels
    null = shuffle_baseline(COORDS, a["labels"], rng=0, n_shuffles=400)
    for name in ("isolated_fraction", "cluster_spread", "mean_cluster_size"):
        values = np.sort(null[name].null)
        p = a[f"{name}_null_percentiles"]
        assert p[0] == values[0] and p[100] == values[-1] and p[50] == pytest.approx(np.median(values))
        assert np.all(np.diff(p) >= 0)
        np.testing.assert_allclose(p[[5, 50, 95]], a[f"{name}_null_quantiles"])
        for level in (10, 25, 75, 90):  # at least level% of the shuffles lie at or below it
            assert np.mean(values <= p[level]) >= level / 100
        # The whole null is kept, in the order drawn: the same generator gives the same values.
        np.testing.assert_array_equal(a[f"{name}_null"], null[name].null)
        below = np.mean(null[name].null < s[name]) + 0.5 * np.mean(null[name].null == s[name])
        assert s[f"{name}_percentile"] == pytest.approx(100 * below)


def test_the_report_carries_strength_against_distance():
    """Liu et al.'s Fig. 1f: mean |w| per distance, from the weights the report is given."""
    from growsim.metrics.functional import PROFILE_ARRAYS

    rng = np.random.default_rng(3)
    w = rng.normal(0.0, 0.05, (N, N)) * np.exp(-4 * D)
    labels = 2 * (COORDS[:, 0] >= 3) + (COORDS[:, 1] >= 3)
    _, a = report_from_task_variance(_tv(labels, 4), COORDS, w, D, rng=0, n_shuffles=0)
    d = a["w_distance"]
    assert set(PROFILE_ARRAYS) <= set(a)
    off = ~np.eye(N, dtype=bool)
    assert d.size == np.unique(np.round(D[off], 9)).size  # a lattice: one bin per distance
    for k, dist in enumerate(d):
        at = off & np.isclose(D, dist)
        assert a["w_distance_pairs"][k] == at.sum()
        assert a["w_distance_mean_abs"][k] == pytest.approx(np.abs(w[at]).mean())
        assert a["w_distance_active_fraction"][k] == pytest.approx(np.mean(np.abs(w[at]) > 1e-2))
    assert a["w_distance_mean_abs"][0] > 3 * a["w_distance_mean_abs"][-1]  # it decays, as drawn


def test_perfectly_clustered_quadrants():
    labels = 2 * (COORDS[:, 0] >= 3) + (COORDS[:, 1] >= 3)  # four 3 x 3 blocks
    s, a = _report(labels, 4, n_shuffles=2000)
    assert s["n_active_neurons"] == 36 and s["n_clusters"] == 4.0
    assert s["silhouette"] == pytest.approx(1.0)  # four exact profiles
    assert _same_partition(a["labels"], labels)
    assert s["isolated_fraction"] == 0.0
    assert s["isolated_fraction_percentile"] < 1.0  # shuffles of 4 x 9 almost always isolate some
    assert s["isolated_fraction_null_mean"] > 0.05
    # Spread: 3 rows and 3 columns per cluster, variance 2/3 each.
    assert s["cluster_spread"] == pytest.approx(4 / 3)
    assert s["cluster_spread_percentile"] == 0.0
    # One 8-connected patch of 9 per cluster.
    assert s["mean_cluster_size"] == 9.0
    assert s["mean_cluster_size_percentile"] == 100.0
    q = a["isolated_fraction_null_quantiles"]
    assert np.all(np.diff(q) >= 0) and q[0] > 0.0
    assert q[0] <= s["isolated_fraction_null_mean"] <= q[2]


def test_perfectly_clustered_halves():
    labels = (COORDS[:, 1] >= 3).astype(int)  # left 3 columns, right 3 columns
    s, a = _report(labels, 2, n_shuffles=2000)
    assert s["n_clusters"] == 2.0 and _same_partition(a["labels"], labels)
    assert s["isolated_fraction"] == 0.0
    # With 2 clusters of 18 and 8 neighbours a shuffle often isolates nobody either: the
    # observed 0 is never above the null, and ties count half in the percentile.
    assert s["isolated_fraction_percentile"] <= 50.0
    assert a["isolated_fraction_null_quantiles"][0] == 0.0
    # Spread: rows 0..5 (variance 35/12) and 3 columns (variance 2/3), both clusters.
    assert s["cluster_spread"] == pytest.approx(35 / 12 + 2 / 3)
    assert s["cluster_spread_percentile"] < 1.0
    # 18 is the largest possible; a shuffle reaches it too, now and then (ties count half).
    assert s["mean_cluster_size"] == 18.0
    assert 50.0 < s["mean_cluster_size_percentile"] < 100.0
    assert a["mean_cluster_size_null_quantiles"][2] <= 18.0


def test_checkerboard_is_not_isolated_under_eight_neighbours():
    # Two clusters by (i + j) parity: the 4 side neighbours are all of the other cluster
    # (isolated in the 4-neighbour sense), but the 4 diagonal ones are of the same one,
    # so under Liu et al.'s 8-neighbour definition no neuron is isolated, and each
    # cluster is one diagonal-connected patch of 18.
    labels = COORDS.sum(axis=1) % 2
    s, _ = _report(labels, 2)
    assert s["n_clusters"] == 2.0
    assert s["isolated_fraction"] == 0.0
    assert s["mean_cluster_size"] == 18.0
    # Each colour has 3 cells in every row and every column: variance 35/12 per axis.
    assert s["cluster_spread"] == pytest.approx(35 / 6)


def test_four_cluster_tiling_isolates_every_neuron():
    # Label (i % 2, j % 2): every one of the 8 neighbours differs in i or j parity.
    labels = 2 * (COORDS[:, 0] % 2) + COORDS[:, 1] % 2
    s, _ = _report(labels, 4, n_shuffles=1000)
    assert s["n_clusters"] == 4.0
    assert s["isolated_fraction"] == 1.0
    assert s["isolated_fraction_percentile"] > 99.0
    assert s["mean_cluster_size"] == 1.0


def test_inactive_neurons_are_excluded():
    labels = np.where(COORDS[:, 1] >= 3, 1, -1)
    # In the left half only 6 neurons, two cells apart, are active: none has an active
    # neighbour, so all 6 are isolated although the (inactive) cells around them would
    # carry their label if inactive neurons counted.
    left = [(0, 0), (2, 0), (4, 0), (0, 2), (2, 2), (4, 2)]
    for i, j in left:
        labels[i * 6 + j] = 0
    s, a = _report(labels, 2)
    assert s["n_active_neurons"] == 24
    assert np.array_equal(a["active"], labels >= 0)
    assert np.all(a["labels"][labels < 0] == -1)
    assert _same_partition(a["labels"][labels >= 0], labels[labels >= 0])
    assert s["isolated_fraction"] == pytest.approx(6 / 24)
    assert s["mean_cluster_size"] == pytest.approx((6 * 1 + 18 * 18) / 24)
    # task_variance is reported for every neuron, inactive ones as zeros.
    assert np.all(a["task_variance"][labels < 0] == 0.0)


@pytest.mark.parametrize("n_active", [0, 1, 2])
def test_too_few_active_neurons_give_nan(n_active):
    labels = np.full(N, -1)
    labels[:n_active] = np.arange(n_active)
    s, a = _report(labels, 2)
    assert s["n_active_neurons"] == n_active
    assert s["n_clusters"] == (0.0 if n_active == 0 else 1.0)
    for key in REPORT_SCALARS:
        if key.startswith(("isolated", "cluster_spread", "mean_cluster", "silhouette")):
            assert math.isnan(s[key]), key
    assert np.all(np.isnan(a["isolated_fraction_null_quantiles"]))
    assert np.array_equal(a["labels"] >= 0, labels >= 0)


def test_identical_profiles_are_one_cluster_and_nan():
    labels = np.zeros(N, dtype=int)  # every neuron the same profile
    s, a = _report(labels, 3)
    assert s["n_active_neurons"] == N and s["n_clusters"] == 1.0
    assert math.isnan(s["silhouette"]) and math.isnan(s["isolated_fraction"])
    assert np.all(a["labels"] == 0)


def test_connections_and_wiring_length_by_hand():
    w = np.zeros((N, N))
    w[0, 1] = 0.5  # neighbours along a row: length 1/6 on the default grid
    w[1, 7] = -0.02  # neighbours along a column: 1/6
    w[2, 35] = 0.005  # below threshold
    w[3, 35] = -1.0  # (0, 3) to (5, 5): sqrt(25 + 4) / 6
    labels = (COORDS[:, 1] >= 3).astype(int)
    s, _ = report_from_task_variance(_tv(labels, 2), COORDS, torch.tensor(w), torch.tensor(D), rng=0, n_shuffles=0)
    assert s["n_active_connections"] == 3.0
    assert s["wiring_length"] == pytest.approx(2 / 6 + math.sqrt(29) / 6)
    # No shuffles: observed values only.
    assert s["isolated_fraction"] == 0.0 and math.isnan(s["isolated_fraction_percentile"])


def test_functional_report_from_rates_matches_and_is_deterministic():
    rng = np.random.default_rng(3)
    labels = (COORDS[:, 0] >= 3).astype(int)  # top / bottom halves
    rates, masks = {}, {}
    for k, task in enumerate(("a", "b")):
        z = rng.standard_normal((12, 8, 1))
        amp = np.where(labels == k, 1.0, 0.05)
        rates[task] = (z * amp).astype(np.float32)
        masks[task] = np.arange(12) >= 4  # (T,) also accepted
    s1, a1 = functional_report(rates, masks, COORDS, np.zeros((N, N)), D, rng=7, n_shuffles=300, method="ward")
    s2, a2 = functional_report(rates, masks, COORDS, np.zeros((N, N)), D, rng=7, n_shuffles=300, method="ward")
    assert s1 == s2 or all((v == s2[k]) or (math.isnan(v) and math.isnan(s2[k])) for k, v in s1.items())
    tv = taskvar.task_variance([rates["a"], rates["b"]], [masks["a"], masks["b"]])
    np.testing.assert_allclose(a1["task_variance"], tv.T)
    assert _same_partition(a1["labels"], labels)
    assert s1["isolated_fraction"] == 0.0 and s1["mean_cluster_size"] == 18.0
    for key in a1:
        np.testing.assert_array_equal(a1[key], a2[key])
    with pytest.raises(ValueError, match="epoch_masks"):
        functional_report(rates, {"a": masks["a"]}, COORDS, np.zeros((N, N)), D, rng=0)


def test_epoch_mask_and_test_batches():
    suite = YangSuite(("fdgo", "dm1", "dmsgo"), n_eachring=8)
    b1 = suite.test_batches(6, seed=2)
    b2 = suite.test_batches(6, seed=2)
    assert list(b1) == ["fdgo", "dm1", "dmsgo"]
    for task, batch in b1.items():
        assert np.array_equal(batch.x, b2[task].x) and batch.batch_size == 6
        m = epoch_mask_after_fixation(batch)
        end = batch.epochs["fix1"][1]
        assert m.shape == (batch.n_steps, 6) and m.dtype == bool
        assert not m[:end].any() and m[end:].all()
    # A task's batch does not depend on which other tasks the suite holds.
    alone = YangSuite(("dm1",), n_eachring=8).test_batches(6, seed=2)
    assert np.array_equal(alone["dm1"].x, b1["dm1"].x)
    assert not np.array_equal(suite.test_batches(6, seed=3)["dm1"].x, b1["dm1"].x)
    with pytest.raises(ValueError):
        suite.test_batches(0)


def test_small_leaky_rnn_on_yang_test_batches():
    suite = YangSuite(("fdgo", "fdanti", "dm1", "delaygo"), n_eachring=8)
    batches = suite.test_batches(16, seed=0)
    rng = np.random.default_rng(0)
    n = 16
    mask = np.ones((n, n), dtype=bool)
    np.fill_diagonal(mask, False)
    net = LeakyRNN(
        w_in=torch.tensor(rng.standard_normal((n, suite.n_input)), dtype=torch.float32),
        w_rec=torch.tensor(rng.standard_normal((n, n)) * 0.3, dtype=torch.float32),
        w_out=torch.tensor(rng.standard_normal((suite.n_output, n)), dtype=torch.float32),
        mask=torch.tensor(mask),
        alpha=0.2,
    )
    coords, d = grid_coords((4, 4)), grid((4, 4)).distances
    with torch.no_grad():
        rates = {t: net(torch.from_numpy(b.x), noise=False)[1].numpy() for t, b in batches.items()}
    masks = {t: epoch_mask_after_fixation(b) for t, b in batches.items()}
    s, a = functional_report(rates, masks, coords, net.w_rec, d, rng=1, n_shuffles=200, method="ward")
    assert s["n_active_neurons"] >= 3 and s["n_clusters"] >= 2
    assert all(math.isfinite(v) for v in s.values()), s
    assert all(np.all(np.isfinite(v)) for v in a.values())
    assert a["task_variance"].shape == (n, 4)
    assert s["n_active_connections"] == float((net.w_rec.detach().abs() > 1e-2).sum())
    # The streaming helper gives the same task variance without keeping the rates.
    tv = network_task_variance(net, batches)
    np.testing.assert_allclose(tv.T, a["task_variance"], rtol=1e-6)
    s2, _ = report_from_task_variance(tv, coords, net.w_rec, d, rng=1, n_shuffles=200, method="ward")
    assert s2["n_clusters"] == s["n_clusters"]
    # kmeans (Yang's method) runs too, on this small network.
    s3, _ = functional_report(rates, masks, coords, net.w_rec, d, rng=1, n_shuffles=50, k_range=(2, 6), n_init=3)
    assert s3["n_clusters"] >= 2 and math.isfinite(s3["isolated_fraction"])
