"""Tests of growsim.tasks.neurogym_bridge: neurogym environments as a trial suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

neurogym = pytest.importorskip("neurogym")

from growsim.tasks.neurogym_bridge import NeurogymSuite  # noqa: E402

PDM = "PerceptualDecisionMaking-v0"  # 3 observation columns, 3 actions, 22 steps at dt 100
CDM = "ContextDecisionMaking-v0"  # 5 observation columns, 3 actions, trials of varied length
DT = {"dt": 100}


@pytest.fixture(scope="module")
def suite() -> NeurogymSuite:
    return NeurogymSuite([PDM, CDM], kwargs=DT)


def batch_of(suite: NeurogymSuite, task: str, seed: int = 0, b: int = 12):
    return suite.make_batch(np.random.default_rng(seed), b, task)


def inside(batch) -> np.ndarray:
    """(T, B) bool, True on the steps of each trial, from the per-trial lengths."""
    t = np.arange(batch.n_steps)[:, None]
    return t >= batch.n_steps - batch.info["lengths"][None, :]


# ------------------------------------------------------------------ sizes and arrays


def test_sizes(suite):
    assert suite.tasks == (PDM, CDM)
    assert suite.dt_ms == 100.0
    assert suite.n_output == 3
    assert suite.n_input == 5 + 2  # widest observation + one rule unit per env
    assert suite.task_probs is None


def test_single_env_has_no_rule_units():
    one = NeurogymSuite([PDM], kwargs=DT)
    assert one.n_input == 3 and one.n_output == 3
    assert batch_of(one, PDM, b=2).x.shape[2] == 3


def test_shapes_and_dtypes(suite):
    batch = batch_of(suite, CDM, b=5)
    t = batch.n_steps
    assert t == batch.info["lengths"].max()
    assert batch.x.shape == (t, 5, 7) and batch.x.dtype == np.float32
    assert batch.y.shape == (t, 5, 3) and batch.y.dtype == np.float32
    assert batch.c_mask.shape == (t, 5, 3) and batch.c_mask.dtype == np.float32
    assert batch.target_class.shape == (t, 5) and batch.target_class.dtype == np.int64
    assert batch.info["lengths"].shape == (5,)
    assert batch.info["ground_truth"].shape == (5,)  # a number in neurogym's trial dict
    assert batch.task == CDM


def test_trials_are_padded_on_the_left(suite):
    batch = batch_of(suite, CDM, b=16)
    lengths = batch.info["lengths"]
    assert len(set(lengths.tolist())) > 1, "the test needs trials of different lengths"
    on = inside(batch)
    assert np.array_equal(batch.c_mask, np.repeat(on[:, :, None].astype(np.float32), 3, axis=2))
    assert on[-1].all()  # every trial's last step is inside it
    assert not batch.x[~on].any()
    assert not batch.target_class[~on].any()
    # each trial starts where its padding ends: neurogym's fixation cue (column 0) is on there
    first = batch.n_steps - lengths
    assert (batch.x[first, np.arange(16), 0] == 1).all()
    assert (batch.x[first[first > 0] - 1, np.flatnonzero(first > 0)] == 0).all()


def test_y_is_the_one_hot_of_target_class(suite):
    batch = batch_of(suite, CDM)
    assert np.array_equal(batch.y, np.eye(3, dtype=np.float32)[batch.target_class])
    assert set(np.unique(batch.target_class[-1])) <= {1, 2}  # a choice at the last step


def test_rule_one_hot_and_zero_padded_narrow_observation(suite):
    for index, task in enumerate(suite.tasks):
        batch = batch_of(suite, task)
        on = inside(batch)
        rule = batch.x[..., 5:]
        assert np.array_equal(rule[on], np.tile(np.eye(2, dtype=np.float32)[index], (on.sum(), 1)))
        assert not rule[~on].any()
    pdm = batch_of(suite, PDM)
    assert not pdm.x[..., 3:5].any()  # PDM's 3 columns, then zeros up to the widest env's 5
    assert pdm.x[..., :3].any()


# ------------------------------------------------------------------ determinism


def test_same_seed_same_batch_across_suites(suite):
    other = NeurogymSuite([PDM, CDM], kwargs=DT)
    np.random.seed(1)
    a = batch_of(suite, CDM, seed=7)
    np.random.seed(2)  # the global state does not matter
    b = batch_of(other, CDM, seed=7)
    for name in ("x", "y", "c_mask", "target_class"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.info["lengths"], b.info["lengths"])


def test_different_seeds_differ(suite):
    a, b = batch_of(suite, CDM, seed=1), batch_of(suite, CDM, seed=2)
    assert a.x.shape != b.x.shape or not np.array_equal(a.x, b.x)


def test_global_numpy_state_is_untouched(suite):
    np.random.seed(123)
    before = np.random.get_state()
    batch_of(suite, PDM)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


# ------------------------------------------------------------------ scoring


def test_score_right_and_wrong_answers(suite):
    batch = batch_of(suite, CDM)
    last = batch.last("target_class")
    right = np.eye(3)[last]
    wrong = np.eye(3)[(last + 1) % 3]
    assert suite.score(right, batch).tolist() == [1.0] * batch.batch_size
    assert suite.score(wrong, batch).tolist() == [0.0] * batch.batch_size


# ------------------------------------------------------------------ refusals


def test_unknown_id_is_refused_with_close_ids():
    with pytest.raises(ValueError, match=r"PerceptualDecisionMakin-v0.*did you mean 'PerceptualDecisionMaking-v0'"):
        NeurogymSuite(["PerceptualDecisionMakin-v0"], kwargs=DT)


def test_dt_mismatch_is_refused():
    # IntervalDiscrimination's default dt is 80 ms, PerceptualDecisionMaking's 100 ms
    with pytest.raises(ValueError, match=r"PerceptualDecisionMaking-v0: 100 ms.*IntervalDiscrimination-v0: 80 ms"):
        NeurogymSuite([PDM, "IntervalDiscrimination-v0"])


def test_duplicates_box_actions_and_long_trials_are_refused():
    with pytest.raises(ValueError, match="more than once"):
        NeurogymSuite([PDM, PDM], kwargs=DT)
    with pytest.raises(ValueError, match="discrete"):
        NeurogymSuite(["ReachingDelayResponse-v0"], kwargs=DT)
    short = NeurogymSuite([PDM], kwargs=DT, max_steps=10)
    with pytest.raises(ValueError, match="max_steps = 10"):
        batch_of(short, PDM, b=1)


def test_task_probs_are_normalised():
    probs = NeurogymSuite([PDM, CDM], kwargs=DT, task_probs=[1, 3]).task_probs
    assert np.allclose(probs, [0.25, 0.75])


# ------------------------------------------------------------------ end to end


def test_a_neurogym_env_trains_from_a_spec_and_logs_like_any_task(tmp_path):
    """The bridge from a spec: the run completes, logs the env as its task, and training
    lowers the loss on neurogym's trials."""
    from growsim.cli import main
    from growsim.reader import open_run

    tiny = Path(__file__).parents[1] / "data" / "tiny.yaml"
    out = tmp_path / "ng.h5"
    args = ["run", str(tiny), "--out", str(out), "-q",
            "--set", "task={suite: neurogym, envs: [PerceptualDecisionMaking-v0], kwargs: {dt: 100}}",
            "--set", "train.batches=120", "--set", "log.every=60", "--set", "growth.initial_connections=all",
            "--set", "growth.events=[]", "--set", "train.loss=cross_entropy", "--set", "train.batch_size=16"]
    assert main(args) == 0
    run = open_run(out)
    assert run.status == "completed" and list(run.tasks) == [PDM]
    losses = run.train()["loss"].to_numpy()
    assert losses.shape == (120,) and losses[-20:].mean() < 0.8 * losses[:20].mean()
    assert run.series()["perf_mean"].shape == (3,)


@pytest.mark.parametrize(
    ("task", "match"),
    [
        ("{suite: neurogym, envs: [NoSuch-v0]}", "neurogym does not know the environment 'NoSuch-v0'"),
        ("{suite: neurogym, envs: [PerceptualDecisionMaking-v0], kwargs: {bogus: 1}}", "unexpected keyword argument 'bogus'"),
        ("{suite: neurogym, envs: [PerceptualDecisionMaking-v0], kwargs: {dt: 200}}",
         r"the suite's time step \(200 ms\) is longer than network.tau_ms \(100 ms\)"),
    ],
)
def test_an_env_that_cannot_be_made_is_a_spec_error_at_task(task, match, capsys):
    from growsim.cli import main

    tiny = Path(__file__).parents[1] / "data" / "tiny.yaml"
    assert main(["validate", str(tiny), "--set", f"task={task}"]) == 2
    err = capsys.readouterr().err
    assert "  task: " in err and "Traceback" not in err
    import re

    assert re.search(match, err)
