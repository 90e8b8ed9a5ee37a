"""Tests of growsim.tasks.parity: the N-parity task of Hamidi et al."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from growsim.tasks.parity import (
    CODE_LENGTH,
    PAPER_LENGTH,
    ParityBatch,
    ParitySuite,
    SequenceLength,
    parity_accuracy,
    parity_labels,
    running_parity,
)


def brute_parity(seq, n) -> int:
    """Parity of the last n bits of a 1-D 0/1 sequence, the slow obvious way."""
    return sum(int(v) for v in list(seq)[-n:]) % 2


# ------------------------------------------------------------------ labels by hand


def test_hand_built_sequence_labels():
    # bits 1 0 1 1: last 1 -> 1, last 2 (1,1) -> 0, last 3 (0,1,1) -> 0, all 4 -> 1
    suite = ParitySuite([1, 2, 3, 4])
    batch = suite.build(np.array([1, 0, 1, 1]))
    assert batch.labels.tolist() == [[1], [0], [0], [1]]
    assert batch.x.shape == (4, 1, 1) and batch.x.dtype == np.float32
    assert batch.x[:, 0, 0].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert np.isnan(batch.p_one).all()


def test_hand_built_batch_several_levels():
    # Columns are sequences (time first). Expected parities worked out by hand.
    bits = np.array(
        [
            [0, 1, 1],
            [1, 1, 0],
            [1, 0, 0],
            [0, 1, 1],
            [1, 1, 0],
        ]
    )
    # seq 0 = 0 1 1 0 1 : last2 (0,1)=1  last3 (1,0,1)=0  last5 -> three ones = 1
    # seq 1 = 1 1 0 1 1 : last2 (1,1)=0  last3 (0,1,1)=0  last5 -> four ones  = 0
    # seq 2 = 1 0 0 1 0 : last2 (1,0)=1  last3 (0,1,0)=1  last5 -> two ones   = 0
    batch = ParitySuite([2, 3, 5]).build(bits)
    assert batch.labels.tolist() == [[1, 0, 1], [0, 0, 1], [1, 0, 0]]
    assert batch.labels.dtype == np.int64
    assert batch.levels == (2, 3, 5) and batch.n_levels == 3
    assert batch.n_steps == 5 and batch.batch_size == 3


def test_labels_follow_the_order_of_levels():
    bits = np.array([1, 0, 1, 1])
    assert parity_labels(bits, [4, 2, 3]).ravel().tolist() == [1, 0, 0]


def test_sampled_labels_match_brute_force():
    levels = [2, 3, 7, 11, 16]
    suite = ParitySuite(levels)
    rng = np.random.default_rng(3)
    for _ in range(5):
        batch = suite.sample(rng, 32)
        bits = batch.x[:, :, 0]
        assert set(np.unique(bits)) <= {0.0, 1.0}
        for i, n in enumerate(levels):
            expected = [brute_parity(bits[:, j], n) for j in range(bits.shape[1])]
            assert batch.labels[i].tolist() == expected


def test_labels_with_all_ones_and_all_zeros():
    ones = ParitySuite([2, 3, 4, 5], p_one=1.0).sample(np.random.default_rng(0), 8)
    assert np.all(ones.x == 1.0)
    assert ones.labels[:, 0].tolist() == [0, 1, 0, 1]  # N ones -> parity N mod 2
    zeros = ParitySuite([2, 3], p_one=0.0).sample(np.random.default_rng(0), 8)
    assert np.all(zeros.x == 0.0) and np.all(zeros.labels == 0)


def test_running_parity_matches_brute_force():
    rng = np.random.default_rng(1)
    bits = (rng.random((40, 3)) < 0.5).astype(np.int64)
    for n in (1, 2, 5, 13):
        rp = running_parity(bits, n)
        assert rp.shape == bits.shape
        assert np.all(rp[: n - 1] == -1)
        for t in range(n - 1, 40):
            for j in range(3):
                assert rp[t, j] == brute_parity(bits[: t + 1, j], n)
    # The end of a running parity is the label of the whole sequence.
    assert np.array_equal(running_parity(bits, 5)[-1], parity_labels(bits, [5])[0])
    assert np.all(running_parity(bits[:3], 5) == -1)


# ------------------------------------------------------------------ lengths


def test_paper_length_range_is_n_plus_2_to_4n_of_the_largest_level():
    suite = ParitySuite([2, 3])  # N = 3: lengths 5..12
    assert (suite.min_steps, suite.max_steps) == (5, 12)
    rng = np.random.default_rng(0)
    seen = {suite.sample(rng, 1).n_steps for _ in range(400)}
    assert seen == set(range(5, 13))


def test_code_length_range_matches_randint_with_a_float_high():
    # The code: np.random.randint(N + 2, N + 2 + 1.5 N), high exclusive and truncated.
    for n in (2, 3, 4, 5, 30):
        lo, hi = CODE_LENGTH.bounds(n)
        assert lo == n + 2
        assert hi == int(n + 2 + 1.5 * n) - 1
    assert PAPER_LENGTH.bounds(30) == (32, 120)
    suite = ParitySuite([3], length="code")
    assert (suite.min_steps, suite.max_steps) == (5, 8)


def test_fixed_and_custom_lengths():
    suite = ParitySuite([2, 4], length=(10, 10))
    assert suite.sample(np.random.default_rng(0), 4).n_steps == 10
    custom = ParitySuite([10], length=SequenceLength(1.0, 0.0, 2.0, 0.0))
    assert (custom.min_steps, custom.max_steps) == (10, 20)
    assert SequenceLength.fixed(3, 7).bounds(100) == (3, 7)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"levels": [4], "length": (3, 10)}, "shorter than the largest level"),
        ({"levels": [4], "length": (8, 6)}, "empty length range"),
        ({"levels": [4], "length": "long"}, "unknown length"),
        ({"levels": [2, 2]}, "duplicate"),
        ({"levels": [0, 2]}, ">= 1"),
        ({"levels": []}, "at least one level"),
        ({"levels": [2.5]}, "integer"),
        ({"levels": [2], "p_one": 1.5}, "p_one"),
        ({"levels": [2], "p_one_scope": "trial"}, "p_one_scope"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    levels = kwargs.pop("levels")
    with pytest.raises(ValueError, match=match):
        ParitySuite(levels, **kwargs)


def test_build_checks_bits():
    suite = ParitySuite([3])
    with pytest.raises(ValueError, match="0 or 1"):
        suite.build(np.array([0, 2, 1, 1]))
    with pytest.raises(ValueError, match="no last 3 bits"):
        suite.build(np.array([0, 1]))


# ------------------------------------------------------------------ p(1) and randomness


def test_p_one_is_drawn_once_per_batch_by_default():
    suite = ParitySuite([2, 5])
    rng = np.random.default_rng(11)
    ps, fractions = [], []
    for _ in range(60):
        batch = suite.sample(rng, 256)
        assert np.all(batch.p_one == batch.p_one[0])
        ps.append(batch.p_one[0])
        fractions.append(batch.x.mean())
    ps = np.array(ps)
    assert 0.0 <= ps.min() and ps.max() <= 1.0 and ps.std() > 0.2  # U(0, 1) has sd 0.29
    # The bits follow the batch's p: 256 * T >= 1792 bits give sd <= 0.012.
    assert np.max(np.abs(np.array(fractions) - ps)) < 0.06


def test_p_one_per_sequence_and_fixed():
    batch = ParitySuite([2], p_one_scope="sequence").sample(np.random.default_rng(0), 64)
    assert np.unique(batch.p_one).size == 64
    fixed = ParitySuite([2], p_one=0.25).sample(np.random.default_rng(0), 64)
    assert np.all(fixed.p_one == 0.25)


def test_same_seed_same_batch_other_seed_other_batch():
    suite = ParitySuite(range(2, 12))
    a = suite.sample(np.random.default_rng(5), 16)
    b = suite.sample(np.random.default_rng(5), 16)
    c = suite.sample(np.random.default_rng(6), 16)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.labels, b.labels)
    assert a.x.shape != c.x.shape or not np.array_equal(a.x, c.x)


def test_batch_is_a_frozen_dataclass():
    batch = ParitySuite([2]).sample(np.random.default_rng(0), 2)
    assert isinstance(batch, ParityBatch)
    with pytest.raises(AttributeError):
        batch.x = None  # type: ignore[misc]


# ------------------------------------------------------------------ accuracy


def test_accuracy_per_head_from_logits():
    labels = np.array([[0, 1, 1, 0], [1, 1, 0, 0]])
    # head 0 predicts 0, 1, 0, 0 (3 of 4 right); head 1 predicts 1, 0, 0, 0 (3 of 4 right)
    logits = np.array(
        [
            [[2.0, 1.0], [0.0, 3.0], [1.0, 0.5], [5.0, -5.0]],
            [[0.0, 1.0], [1.0, 0.0], [0.3, 0.3], [1.0, 0.0]],
        ]
    )
    acc = parity_accuracy(logits, labels)
    assert acc.dtype == np.float64 and acc.shape == (2,)
    # head 1's tie [0.3, 0.3] went to class 0, which is right for that sequence
    assert acc.tolist() == [0.75, 0.75]
    suite = ParitySuite([2, 3])
    assert suite.accuracy([logits[0], logits[1]], labels).tolist() == [0.75, 0.75]


def test_accuracy_of_a_perfect_and_of_a_constant_readout():
    batch = ParitySuite([2, 3, 4]).sample(np.random.default_rng(2), 128)
    perfect = np.eye(2)[batch.labels]  # one-hot scores, (n_levels, B, 2)
    assert ParitySuite([2, 3, 4]).accuracy(perfect, batch.labels).tolist() == [1.0, 1.0, 1.0]
    always_even = np.zeros_like(perfect)
    always_even[..., 0] = 1.0
    assert np.allclose(parity_accuracy(always_even, batch.labels), 1.0 - batch.labels.mean(axis=1))


def test_accuracy_checks_shapes():
    with pytest.raises(ValueError, match=r"\(n_levels, B, 2\)"):
        parity_accuracy(np.zeros((2, 4, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="labels must have shape"):
        parity_accuracy(np.zeros((2, 4, 2)), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="expected 3 heads"):
        ParitySuite([2, 3, 4]).accuracy(np.zeros((2, 4, 2)), np.zeros((2, 4)))


def test_importing_the_task_needs_numpy_only():
    code = (
        "import sys; import growsim.tasks.parity; "
        "bad = [m for m in ('torch', 'scipy', 'pydantic', 'yaml', 'h5py') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
