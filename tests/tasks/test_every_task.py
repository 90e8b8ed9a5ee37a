"""Every registered task of every suite of trials: shapes, masks, determinism per seed, and
the scoring of a perfect and of a wrong response at the last step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from growsim.registry import load_plugin_file
from growsim.tasks import TrialSuite, available_tasks, make_suite
from growsim.tasks.yang.ring import RingSuite

ROOT = Path(__file__).parents[2]
load_plugin_file(ROOT / "plugins" / "flipflop_task.py")

SMALL = {
    "yang20": {"n_eachring": 8},
    "modcog": {"n_eachring": 8},
    "flipflop": {"n_bits": 2, "steps": 30},
    "neurogym": {"envs": ["PerceptualDecisionMaking-v0", "ContextDecisionMaking-v0"], "kwargs": {"dt": 100}},
}


def _suites() -> dict[str, TrialSuite]:
    out = {}
    for name in available_tasks():
        if name == "parity":
            continue  # a curriculum, not a suite of trials: tests/tasks/test_parity.py
        if name == "neurogym":
            try:
                import neurogym  # noqa: F401
            except ImportError:
                continue
        out[name] = make_suite(name, SMALL.get(name, {}))
    return out


SUITES = _suites()
CASES = [(name, task) for name, suite in SUITES.items() for task in suite.tasks]


def test_every_registered_suite_of_trials_is_covered():
    names = set(available_tasks()) - {"parity"}
    assert {"yang20", "modcog", "flipflop"} <= set(SUITES) <= names
    assert len([c for c in CASES if c[0] == "yang20"]) == 20 and len([c for c in CASES if c[0] == "modcog"]) == 82


@pytest.mark.parametrize(("suite_name", "task"), CASES, ids=[f"{s}-{t}" for s, t in CASES])
def test_task_batches_have_their_shapes_and_masks(suite_name, task):
    suite = SUITES[suite_name]
    b = suite.sample(np.random.default_rng(0), 6, task=task)
    T = b.n_steps
    assert b.task == task and b.batch_size == 6 and T >= 2
    assert b.x.shape == (T, 6, suite.n_input) and b.x.dtype == np.float32
    assert b.y.shape == b.c_mask.shape == (T, 6, suite.n_output)
    assert b.target_class.shape == (T, 6) and b.target_class.dtype == np.int64
    assert b.target_class.min() >= 0 and b.target_class.max() < suite.n_output
    assert np.isfinite(b.x).all() and (b.c_mask >= 0).all()
    assert (b.c_mask[-1] > 0).all()  # the scored last step counts in the loss of every trial
    if isinstance(suite, RingSuite):
        assert (b.x[:, :, suite.rule_column(task)] == 1).all()
        assert b.x[:, :, 1 + 2 * suite.n_eachring :].sum(axis=-1).max() == 1  # one rule unit on


@pytest.mark.parametrize(("suite_name", "task"), CASES, ids=[f"{s}-{t}" for s, t in CASES])
def test_task_batches_are_determined_by_the_stream(suite_name, task):
    suite = SUITES[suite_name]
    one, two = (suite.sample(np.random.default_rng(7), 5, task=task) for _ in range(2))
    for key in one.pieces:
        assert np.array_equal(one.pieces[key].dense(), two.pieces[key].dense()), key
    draws = [suite.sample(np.random.default_rng(s), 5, task=task) for s in range(8, 12)]
    assert any(d.x.shape != one.x.shape or not np.array_equal(d.x, one.x) for d in draws)


def _wrong(suite: TrialSuite, y_last: np.ndarray, target: np.ndarray) -> np.ndarray:
    if isinstance(suite, RingSuite):  # fixate where it should respond, respond opposite where it should fixate
        wrong = np.roll(y_last, suite.n_eachring // 2, axis=-1)
        wrong[:, 0] = np.where(y_last[:, 0] > 0.5, 0.0, 0.9)
        return wrong
    return np.eye(suite.n_output)[(target + 1) % suite.n_output]


@pytest.mark.parametrize(("suite_name", "task"), CASES, ids=[f"{s}-{t}" for s, t in CASES])
def test_a_perfect_response_scores_one_and_a_wrong_one_zero(suite_name, task):
    suite = SUITES[suite_name]
    b = suite.sample(np.random.default_rng(3), 16, task=task)
    y_last = b.last("y")
    assert suite.score(y_last, b).tolist() == [1.0] * 16
    assert suite.score(_wrong(suite, y_last, b.last("target_class")), b).tolist() == [0.0] * 16
    half = slice(0, 8)
    assert suite.score(b.last("y", half), b, half).shape == (8,)
