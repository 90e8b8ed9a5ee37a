"""A suite's bound on its trials' length (what the spec's cost limits read) holds for every task."""

from __future__ import annotations

import numpy as np
import pytest

from growsim.tasks.modcog import ModCogSuite
from growsim.tasks.yang.suite import YangSuite


@pytest.mark.parametrize(
    "suite",
    [YangSuite(dt_ms=20.0, n_eachring=4), YangSuite(dt_ms=7.3, n_eachring=4), ModCogSuite(dt_ms=20.0, n_eachring=4),
     ModCogSuite(dt_ms=20.0, n_eachring=4, seq_response_ms=3000.0)],
    ids=["yang", "yang-dt-7.3", "modcog", "modcog-seq-3s"],
)
def test_no_trial_is_longer_than_the_bound(suite):
    rng = np.random.default_rng(0)
    bound = suite.longest_trial_steps()
    longest = max(suite.make_batch(rng, 32, task).n_steps for task in suite.tasks for _ in range(10))
    assert longest <= bound
    assert longest >= 0.9 * bound  # a bound, not a guess far above every trial
