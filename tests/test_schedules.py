"""Learning-rate schedules: pure functions of the step, against hand-computed values, and
the rates a run trains at (logged, and resumed exactly)."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from growsim.cli import main
from growsim.train.schedules import lr_factor
from growsim.spec import SpecError, load_spec

TINY = Path(__file__).parent / "data" / "tiny.yaml"


def test_factors_by_hand():
    assert [lr_factor("step", s, 100, gamma=0.5, every=10) for s in (0, 9, 10, 19, 20, 35)] == [1, 1, 0.5, 0.5, 0.25, 0.125]
    assert [lr_factor("milestones", s, 100, gamma=0.1, at=(30, 60)) for s in (0, 29, 30, 59, 60, 99)] == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01, 0.01]
    )
    assert lr_factor("exponential", 3, 100, gamma=0.5) == 0.125
    assert lr_factor("cosine", 0, 100) == 1.0
    assert lr_factor("cosine", 50, 100, min_factor=0.2) == pytest.approx(0.6)  # 0.2 + 0.8 * 0.5
    assert lr_factor("cosine", 25, 100) == pytest.approx((1 + math.cos(math.pi / 4)) / 2)
    assert lr_factor("cosine", 100, 100, min_factor=0.2) == pytest.approx(0.2)
    assert lr_factor("constant", 7, 10) == 1.0


def test_warmup_multiplies_any_kind():
    assert [lr_factor("constant", s, 100, warmup=4) for s in range(6)] == [0.25, 0.5, 0.75, 1, 1, 1]
    assert lr_factor("step", 1, 100, gamma=0.5, every=1, warmup=4) == 0.5 * 0.5


def _spec(tmp_path, schedule, name="spec.yaml", **train):
    data = yaml.safe_load(TINY.read_text())
    data["train"]["lr_schedule"] = schedule
    data["train"].update(train)
    data["log"]["checkpoint_every"] = 10
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_run_logs_the_rate_each_next_batch_trains_at(tmp_path):
    spec = _spec(tmp_path, {"kind": "milestones", "at": [15, 30], "gamma": 0.5})
    out = tmp_path / "run.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    with h5py.File(out, "r") as f:
        steps = list(f["series/step"][()])
        lr = f["series/lr"][()]
    assert steps == [0, 10, 20, 30, 40]
    np.testing.assert_allclose(lr, [1e-3, 1e-3, 5e-4, 2.5e-4, 2.5e-4], rtol=1e-12)


@pytest.mark.parametrize("stop_at", [3, 17])  # inside the warm-up, and past it
def test_a_scheduled_run_stopped_anywhere_resumes_exactly(tmp_path, stop_at, stop_and_resume, h5_contents, assert_same_h5):
    spec = _spec(tmp_path, {"kind": "cosine", "min_factor": 0.1, "warmup": 5})
    ref, resumed, step = stop_and_resume(tmp_path, spec, ["train.batches=30"], stop_at)
    assert step == stop_at + 1
    assert_same_h5(h5_contents(ref), h5_contents(resumed))
    with h5py.File(ref, "r") as f:  # and the schedule was in force: the rates differ by step
        assert len(set(f["series/lr"][()].tolist())) == len(f["series/lr"])


def test_schedule_fields_are_checked(tmp_path):
    with pytest.raises(SpecError, match=r"train.lr_schedule: .*needs `every`"):
        load_spec(_spec(tmp_path, {"kind": "step"}))
    with pytest.raises(SpecError, match=r"train.lr_schedule: .*`at` goes with kind: milestones"):
        load_spec(_spec(tmp_path, {"kind": "cosine", "at": [3]}))
    with pytest.raises(SpecError, match=r"train.lr_schedule.gamma: must be <= 1"):
        load_spec(_spec(tmp_path, {"kind": "exponential", "gamma": 2}))
