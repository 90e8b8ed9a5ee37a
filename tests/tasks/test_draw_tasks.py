"""draw_tasks: K distinct tasks of a pool, without replacement, in Yang's order."""

from __future__ import annotations

import numpy as np
import pytest

from growsim.tasks import TASK_NAMES, draw_tasks


def test_k_distinct_tasks_of_the_pool_in_yang_order():
    pool = ["dmcnogo", "fdgo", "dm1", "reactanti", "multidm", "delaygo"]
    for seed in range(20):
        names = draw_tasks(np.random.default_rng(seed), 4, pool)
        assert len(set(names)) == 4 and set(names) <= set(pool)
        assert list(names) == sorted(names, key=TASK_NAMES.index)


def test_the_same_generator_state_draws_the_same_tasks_and_the_order_of_the_pool_does_not_matter():
    a = draw_tasks(np.random.default_rng(7), 5)
    assert a == draw_tasks(np.random.default_rng(7), 5, list(reversed(TASK_NAMES)))
    assert len({draw_tasks(np.random.default_rng(s), 5) for s in range(10)}) > 1


def test_drawing_the_whole_pool_gives_the_pool_and_bad_draws_are_refused():
    assert draw_tasks(np.random.default_rng(0), 20) == TASK_NAMES
    assert draw_tasks(np.random.default_rng(0), 2, ["rtgo", "go"]) == ("fdgo", "reactgo")  # neurogym names
    with pytest.raises(ValueError, match="1 to 2"):
        draw_tasks(np.random.default_rng(0), 3, ["fdgo", "dm1"])
    with pytest.raises(ValueError, match="duplicate"):
        draw_tasks(np.random.default_rng(0), 1, ["fdgo", "go"])
