"""Tests of growsim.metrics.anatomy: isolated neurons, cluster spread and patch size on a
lattice, against shuffled labellings."""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
import pytest

from growsim.metrics.anatomy import (
    ANATOMY_STATISTICS,
    NullComparison,
    cluster_spread,
    isolated_fraction,
    isolated_neurons,
    mean_cluster_size,
    shuffle_baseline,
)


def _grid(*shape: int) -> np.ndarray:
    """(N, d) lattice indices of a full grid, row-major like growsim.geometry.grid."""
    return np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1)


# Naive references: a dictionary of positions, Python loops, a breadth-first search.


def _neighbours(pos: dict, p: tuple) -> list:
    out = []
    for off in itertools.product((-1, 0, 1), repeat=len(p)):
        q = tuple(a + o for a, o in zip(p, off, strict=True))
        if any(off) and q in pos:
            out.append(pos[q])
    return out


def _naive(coords: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    c = coords.reshape(len(coords), -1)
    pos = {tuple(int(v) for v in p): k for k, p in enumerate(c)}
    act = [k for k in range(len(c)) if labels[k] >= 0]
    same = {k: [m for m in _neighbours(pos, tuple(c[k])) if labels[m] == labels[k]] for k in act}
    isolated = sum(1 for k in act if not same[k]) / len(act)
    size = {}
    for k in act:
        if k in size:
            continue
        seen, todo = {k}, deque([k])
        while todo:
            for m in same[todo.popleft()]:
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        for m in seen:
            size[m] = len(seen)
    spreads = []
    for lab in sorted({int(labels[k]) for k in act}):
        x = c[labels == lab].astype(float)
        spreads.append(np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1)))
    return {
        "isolated_fraction": isolated,
        "mean_cluster_size": float(np.mean([size[k] for k in act])),
        "cluster_spread": float(np.mean(spreads)),
    }


def _stats(coords, labels) -> dict[str, float]:
    return {
        "isolated_fraction": isolated_fraction(coords, labels),
        "mean_cluster_size": mean_cluster_size(coords, labels),
        "cluster_spread": cluster_spread(coords, labels),
    }


# --------------------------------------------------------- hand-built patterns


def test_four_quadrants_are_perfectly_modular_and_far_below_the_shuffles():
    # 20 x 20 grid (Liu et al.'s size), each 10 x 10 quadrant one cluster.
    coords = _grid(20, 20)
    labels = 2 * (coords[:, 0] // 10) + coords[:, 1] // 10
    assert isolated_fraction(coords, labels) == 0.0
    assert mean_cluster_size(coords, labels) == 100.0  # every neuron in a 100-neuron patch
    # A 10 x 10 block: variance of each index (100 - 1) / 12 = 8.25, summed over 2 axes.
    assert cluster_spread(coords, labels) == pytest.approx(16.5, rel=1e-12)
    res = shuffle_baseline(coords, labels, rng=np.random.default_rng(0))
    assert set(res) == set(ANATOMY_STATISTICS)
    for name in ANATOMY_STATISTICS:
        assert isinstance(res[name], NullComparison)
        assert res[name].null.shape == (10_000,)
    iso, spread, size = res["isolated_fraction"], res["cluster_spread"], res["mean_cluster_size"]
    assert iso.observed < np.percentile(iso.null, 5) and iso.percentile == 0.0
    assert spread.observed < np.percentile(spread.null, 5) and spread.percentile == 0.0
    assert size.observed > np.percentile(size.null, 95) and size.percentile == 100.0
    # Random labels of 4 equal clusters: a neuron has 8 (or fewer at the border)
    # neighbours, each in its cluster with probability about 1/4, so few are isolated.
    assert 0.05 < iso.null.mean() < 0.2


def test_checkerboard_has_no_isolated_neuron_with_eight_neighbours():
    # Two clusters by parity of (row + column). Of a neuron's 8 neighbours, the 4
    # orthogonal ones are in the other cluster and the 4 diagonal ones in its own, so
    # no neuron is isolated (0.0). The diagonals also join each colour into a single
    # patch of N / 2 = 32 neurons.
    coords = _grid(8, 8)
    labels = (coords[:, 0] + coords[:, 1]) % 2
    assert isolated_fraction(coords, labels) == 0.0
    assert mean_cluster_size(coords, labels) == 32.0


def test_alternating_1d_pattern_isolates_every_neuron():
    # 1-D: 2 neighbours, both in the other cluster.
    coords = np.arange(12)
    labels = coords % 2
    assert isolated_fraction(coords, labels) == 1.0
    assert mean_cluster_size(coords, labels) == 1.0
    # Each cluster holds the indices 0, 2, ..., 10 (or 1, ..., 11): variance 35 / 3.
    assert cluster_spread(coords, labels) == pytest.approx(35 / 3, rel=1e-12)


def test_1d_blocks_and_inactive_neurons():
    coords = np.arange(7)
    assert isolated_fraction(coords, np.array([0, 0, 0, 1, 1, 1, 1])) == 0.0
    assert mean_cluster_size(coords, np.array([0, 0, 0, 1, 1, 1, 1])) == pytest.approx((9 + 16) / 7)
    # Inactive neurons (-1) belong to no cluster: they separate 0 from 0 and are not
    # counted. Active: positions 0, 2, 4, 5 -> the first two are isolated.
    labels = np.array([0, -1, 0, -1, 1, 1, -1])
    assert isolated_fraction(coords, labels) == 0.5
    assert mean_cluster_size(coords, labels) == pytest.approx((1 + 1 + 2 + 2) / 4)


def test_diagonal_neighbour_counts_in_2d_but_gap_does_not():
    coords = np.array([[0, 0], [1, 1], [3, 3], [5, 0]])
    labels = np.array([0, 0, 0, 1])
    # (0,0)-(1,1) are diagonal neighbours; (3,3) is two steps away; (5,0) is alone.
    assert isolated_fraction(coords, labels) == 0.5


@pytest.mark.parametrize(
    "shape, p_inactive, n_labels, seed",
    [((15,), 0.2, 3, 0), ((6, 7), 0.0, 2, 1), ((9, 9), 0.3, 5, 2), ((4, 4, 3), 0.25, 3, 3)],
)
def test_statistics_agree_with_naive_references(shape, p_inactive, n_labels, seed):
    rng = np.random.default_rng(seed)
    coords = _grid(*shape)
    if len(shape) == 2:
        # Not a full rectangle, shifted to negative indices: lattice positions only matter.
        keep = rng.random(len(coords)) < 0.85
        coords = coords[keep] - 3
    for _ in range(5):
        labels = rng.integers(0, n_labels, len(coords))
        labels[rng.random(len(coords)) < p_inactive] = -1
        labels[0] = 0  # at least one active neuron
        got, ref = _stats(coords, labels), _naive(coords, labels)
        for name in ANATOMY_STATISTICS:
            assert got[name] == pytest.approx(ref[name], rel=1e-12, abs=1e-12), name


# ------------------------------------------------------------- shuffle baseline


def test_null_values_are_the_statistics_of_the_documented_permutations():
    rng = np.random.default_rng(7)
    coords = _grid(7, 6)
    labels = rng.integers(0, 3, len(coords))
    labels[rng.random(len(coords)) < 0.3] = -1
    res = shuffle_baseline(coords, labels, rng=np.random.default_rng(11), n_shuffles=40, chunk_size=15)
    # Documented: keys rng.random((chunk, N_active)), argsorted per row, chunk after chunk.
    gen = np.random.default_rng(11)
    active = np.flatnonzero(labels >= 0)
    for s, m in enumerate([15, 15, 10]):
        perms = np.argsort(gen.random((m, active.size)), axis=1)
        for r, perm in enumerate(perms):
            shuffled = labels.copy()
            shuffled[active] = labels[active][perm]
            ref = _naive(coords, shuffled)
            for name in ANATOMY_STATISTICS:
                assert res[name].null[15 * s + r] == pytest.approx(ref[name], rel=1e-12, abs=1e-12)
    for name in ANATOMY_STATISTICS:
        assert res[name].observed == pytest.approx(_naive(coords, labels)[name], rel=1e-12)


def test_shuffle_mean_matches_random_labellings_on_average():
    # The null depends only on the active positions and the multiset of labels. The
    # observed statistics of independent random labellings must average to its mean.
    rng = np.random.default_rng(8)
    coords = _grid(12, 12)
    labels = rng.integers(0, 4, len(coords))
    labels[rng.random(len(coords)) < 0.25] = -1
    active = np.flatnonzero(labels >= 0)
    res = shuffle_baseline(coords, labels, rng=rng, n_shuffles=4000)
    samples = {name: [] for name in ANATOMY_STATISTICS}
    for _ in range(300):
        other = labels.copy()
        other[active] = rng.permutation(labels[active])
        for name, v in _stats(coords, other).items():
            samples[name].append(v)
    for name in ANATOMY_STATISTICS:
        x = np.asarray(samples[name])
        sem = np.hypot(x.std() / np.sqrt(x.size), res[name].null.std() / np.sqrt(res[name].null.size))
        assert abs(x.mean() - res[name].null.mean()) < 4 * sem, name
        # ... and a random labelling sits in the middle of the null, not in a tail.
        assert 5 < np.mean(res[name].null < x.mean()) * 100 < 95


def test_shuffle_baseline_reproducible_and_independent_of_chunk_size():
    coords = _grid(9, 9)
    labels = np.random.default_rng(9).integers(-1, 3, len(coords))
    a = shuffle_baseline(coords, labels, rng=5, n_shuffles=300, chunk_size=300)
    b = shuffle_baseline(coords, labels, rng=np.random.default_rng(5), n_shuffles=300, chunk_size=7)
    for name in ANATOMY_STATISTICS:
        np.testing.assert_array_equal(a[name].null, b[name].null)
        assert a[name].percentile == b[name].percentile
    only = shuffle_baseline(coords, labels, rng=5, n_shuffles=300, statistics=("isolated_fraction",))
    assert set(only) == {"isolated_fraction"}
    np.testing.assert_array_equal(only["isolated_fraction"].null, a["isolated_fraction"].null)


def test_percentile_counts_ties_half():
    # One cluster: every shuffle is the same labelling, so the null equals the observed.
    coords = _grid(4, 4)
    labels = np.zeros(16, dtype=int)
    res = shuffle_baseline(coords, labels, rng=0, n_shuffles=50)
    for name in ANATOMY_STATISTICS:
        assert np.all(res[name].null == res[name].observed)
        assert res[name].percentile == 50.0


# ------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "coords, labels, match",
    [
        (np.arange(4), np.full(4, -1), "no active neuron"),
        (np.array([0, 1, 1, 2]), np.zeros(4, int), "distinct"),
        (np.array([0.0, 0.5, 1.0]), np.zeros(3, int), "integer lattice"),
        (np.arange(3), np.array([0, -2, 1]), "-1 for inactive"),
        (np.arange(3), np.zeros(4, int), "shape"),
        (np.arange(3), np.array([0.0, 1.0, 0.0]), "integers"),
        (np.zeros((3, 2, 1), int), np.zeros(3, int), "shape"),
    ],
)
def test_input_errors(coords, labels, match):
    with pytest.raises(ValueError, match=match):
        isolated_fraction(coords, labels)


def test_float_lattice_positions_that_are_whole_numbers_are_accepted():
    coords = _grid(3, 3).astype(float)
    labels = np.array([0, 0, 1, 0, 0, 1, 2, 2, 1])
    assert isolated_fraction(coords, labels) == isolated_fraction(coords.astype(int), labels)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"statistics": ("modularity",)}, "unknown statistics"),
        ({"statistics": ()}, "unknown statistics"),
        ({"n_shuffles": 0}, "n_shuffles"),
        ({"chunk_size": 2.5}, "chunk_size"),
    ],
)
def test_shuffle_baseline_errors(kwargs, match):
    kwargs = {"rng": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        shuffle_baseline(np.arange(5), np.array([0, 0, 1, 1, 0]), **kwargs)


def test_shuffle_baseline_needs_a_generator_or_seed():
    with pytest.raises(TypeError, match="Generator"):
        shuffle_baseline(np.arange(5), np.array([0, 0, 1, 1, 0]), rng=None)


def test_isolated_neurons_by_hand():
    """A 3 x 3 grid: a lone cluster-1 neuron in the corner among cluster 0, one inactive."""
    coords = np.array([(i, j) for i in range(3) for j in range(3)])
    labels = np.array([1, 0, 0,
                       0, 0, 0,
                       0, 0, -1])
    iso = isolated_neurons(coords, labels)
    assert iso.tolist() == [True] + [False] * 8
    assert isolated_fraction(coords, labels) == 1 / 8
