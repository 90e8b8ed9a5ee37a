"""Tests of growsim.tasks.curriculum: Hamidi et al.'s success criterion and levels."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from growsim.tasks.curriculum import (
    CODE_CRITERION,
    PAPER_CRITERION,
    Criterion,
    CurriculumState,
    advance,
    is_solved,
)


def test_initial_state_trains_the_first_level_only():
    s = CurriculumState()
    assert (s.n_start, s.n_solved, s.n_current) == (2, 1, 2)
    assert s.levels == (2,) and s.n_levels == 1
    assert not s.finished


def test_advance_adds_one_level_when_solved():
    s0 = CurriculumState()
    s1, solved = advance(s0, [0.99])
    assert solved and s1.n_solved == 2 and s1.levels == (2, 3)
    s2, solved = advance(s1, [0.995, 0.985])
    assert solved and s2.levels == (2, 3, 4) and s2.n_solved == 3
    # the input states are untouched: states are values
    assert s0.levels == (2,) and s1.levels == (2, 3)


def test_no_advance_when_the_newest_level_fails():
    s = CurriculumState(n_solved=3)  # training levels 2, 3, 4
    new, solved = advance(s, [1.0, 1.0, 0.97])
    assert not solved and new is s


def test_no_advance_when_earlier_levels_are_forgotten():
    s = CurriculumState(n_solved=4)  # levels 2..5
    new, solved = advance(s, [0.99, 0.95, 0.97, 0.999])  # earlier mean 0.97
    assert not solved and new is s


def test_newest_exactly_at_the_threshold_does_not_pass():
    # 49 of 50 right is exactly 0.98 in floating point, as the literal is.
    assert 49 / 50 == 0.98
    s = CurriculumState()
    assert advance(s, [49 / 50]) == (s, False)
    assert advance(s, [np.nextafter(0.98, 1.0)])[1]


def test_mean_exactly_at_the_threshold_does_not_pass():
    # A naive float mean of five 0.98 comes out above 0.98; the exact mean is 0.98.
    assert sum([0.98] * 5) / 5 > 0.98
    s = CurriculumState(n_solved=6)  # levels 2..7
    assert advance(s, [0.98] * 5 + [0.99]) == (s, False)
    assert advance(s, [0.98] * 4 + [0.9801, 0.99])[1]
    # np.mean of ten 0.98 is 0.9800000000000001; the code's criterion still fails.
    assert np.mean([0.98] * 10) > 0.98
    assert not is_solved([0.98] * 10, CODE_CRITERION)


def test_paper_and_code_criteria_differ_on_which_mean():
    # earlier mean 0.975 (paper fails); mean of all 0.985 (code passes)
    acc = [0.975, 0.995]
    assert not is_solved(acc, PAPER_CRITERION)
    assert is_solved(acc, CODE_CRITERION)
    s = CurriculumState(n_solved=2)
    assert advance(s, acc) == (s, False)
    assert advance(s, acc, criterion=CODE_CRITERION)[0].levels == (2, 3, 4)
    # earlier mean 0.99 but newest 0.975: both fail
    assert not is_solved([0.99, 0.975], PAPER_CRITERION)
    assert not is_solved([0.99, 0.975], CODE_CRITERION)


def test_single_level_has_no_earlier_levels():
    assert is_solved([0.99], PAPER_CRITERION)
    assert is_solved([0.99], CODE_CRITERION)
    assert not is_solved([0.98], PAPER_CRITERION)


def test_custom_thresholds():
    lax = Criterion(newest=0.9, mean=0.95)
    assert is_solved([0.96, 0.91], lax)
    assert not is_solved([0.95, 0.91], lax)  # mean of earlier = 0.95, not above
    assert not is_solved([0.99, 0.9], lax)
    assert PAPER_CRITERION == Criterion() and CODE_CRITERION.mean_over == "all"


def test_n_max_finishes_the_curriculum():
    s = CurriculumState(n_start=2, n_max=3)
    s, solved = advance(s, [0.99])
    assert solved and s.levels == (2, 3) and not s.finished
    s, solved = advance(s, [0.99, 0.99])
    assert solved and s.finished and s.n_solved == 3
    assert s.levels == (2, 3) and s.n_current == 3  # no head beyond n_max
    again, solved = advance(s, [1.0, 1.0])
    assert solved and again is s
    assert advance(s, [0.5, 0.5]) == (s, False)


def test_other_start_level():
    s = CurriculumState(n_start=5)
    assert s.levels == (5,) and s.n_solved == 4
    s, _ = advance(s, [1.0])
    assert s.levels == (5, 6) and s.n_solved == 5


@pytest.mark.parametrize(
    ("accuracies", "match"),
    [
        ([0.99, 0.99], "expected 1 accuracies"),
        ([], "expected 1 accuracies"),
        ([float("nan")], r"\[0, 1\]"),
        ([1.5], r"\[0, 1\]"),
        ([-0.1], r"\[0, 1\]"),
        ([[0.99]], "expected 1 accuracies"),
    ],
)
def test_bad_accuracies_are_errors(accuracies, match):
    with pytest.raises(ValueError, match=match):
        advance(CurriculumState(), accuracies)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: CurriculumState(n_start=0), "n_start must be >= 1"),
        (lambda: CurriculumState(n_start=2, n_solved=0), "n_solved must be >= n_start - 1"),
        (lambda: CurriculumState(n_start=3, n_max=2), "n_max"),
        (lambda: CurriculumState(n_solved=5, n_max=4), "n_solved"),
        (lambda: CurriculumState(n_start=2.0), "integer"),
        (lambda: Criterion(newest=98), r"\[0, 1\]"),
        (lambda: Criterion(mean_over="earlier"), "mean_over"),
    ],
)
def test_bad_states_and_criteria_are_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_state_is_frozen_and_saves_as_plain_ints():
    s = CurriculumState(n_solved=4, n_max=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_solved = 5  # type: ignore[misc]
    d = dataclasses.asdict(s)
    assert d == {"n_start": 2, "n_solved": 4, "n_max": 10}
    assert CurriculumState(**d) == s
    assert dataclasses.asdict(CurriculumState())["n_solved"] == 1


def test_importing_the_curriculum_needs_numpy_only():
    code = (
        "import sys; import growsim.tasks.curriculum; "
        "bad = [m for m in ('torch', 'scipy', 'pydantic', 'yaml', 'h5py') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
