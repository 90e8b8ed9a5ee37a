"""growsim.run and growsim.resume: a spec to a file, its result, stops, signals and errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import growsim
from growsim.build import member_output
from growsim.runner import EnsembleResult, RunError, RunResult, Stop
from growsim.spec import SpecError, load_spec

ROOT = Path(__file__).parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
SHORT = ["train.batches=30", "log.every=10"]  # growth at 10 and 20, a checkpoint at every log step


class _AtCommit:
    """A logger that does something once, when the run file first commits step `step`
    (after its checkpoint; a stopped run commits its last step again)."""

    def __init__(self, step: int, action):
        self.step, self.action = step, action
        self.started: list[int] = []

    def start(self, info) -> None:
        self.started.append(info.seed)

    def commit(self, step: int) -> None:
        if step == self.step:
            self.step = None
            self.action()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


def _final(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        arrays = {f"final/{k}": f["final"][k][()] for k in f["final"]}
        arrays["train/loss"] = f["train/loss"][()]
        return arrays


def test_a_run_returns_what_its_file_says(tmp_path):
    out = tmp_path / "tiny.h5"
    seen: list[RunResult] = []
    result = growsim.run(TINY, out, overrides=["seed=3"], on_result=seen.append)
    assert seen == [result]
    assert (result.path, result.status, result.reason, result.seed) == (out, "completed", "", 3)
    assert result.step == result.last_step == 40 and result.error is None
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed" and f.attrs["seed"] == 3
        series = f["series"]
        assert result.connections == int(series["connections"][-1]) == 12
        assert result.q == float(series["modularity_q"][-1])
        assert result.perf == float(series["perf_mean"][-1])
        assert result.duration_s == float(f.attrs["duration_s"])
    assert result.n_solved is None and result.modules is None
    expected = f"completed: {out}  (perf {result.perf:.3f}, 12 synapses, Q {result.q:.3f}, {result.duration_s:.0f} s)"
    assert result.summary_line() == expected


def test_a_loaded_spec_runs_with_more_overrides_on_top(tmp_path):
    loaded = load_spec(TINY, ["seed=4"])
    result = growsim.run(loaded, tmp_path / "a.h5", overrides=["train.batches=10"], threads=1)
    assert (result.seed, result.step) == (4, 10)
    with h5py.File(result.path, "r") as f:
        assert [o.decode() for o in f["spec/overrides"][()]] == ["seed=4", "train.batches=10", "train.threads=1"]


def test_an_existing_file_is_kept_unless_overwrite(tmp_path):
    out = tmp_path / "a.h5"
    out.write_bytes(b"not a run")
    with pytest.raises(RunError, match="exists; pass --overwrite") as caught:
        growsim.run(TINY, out, overrides=["train.batches=5"])
    assert caught.value.path == out and out.read_bytes() == b"not a run"
    assert growsim.run(TINY, out, overrides=["train.batches=5"], overwrite=True).status == "completed"
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed"


def test_a_bad_spec_raises_before_anything_is_written(tmp_path):
    out = tmp_path / "bad.h5"
    with pytest.raises(SpecError, match=r"growth\.events\[0\]\.every: must be > 0"):
        growsim.run(TINY, out, overrides=["growth.events[0].every=0"])
    with pytest.raises(SpecError, match=r"train\.batch_sise: unknown key 'batch_sise'; did you mean 'batch_size'\?"):
        growsim.run(TINY, out, overrides=["train.batch_sise=4"])
    assert not out.exists()


def test_a_signal_stops_after_a_checkpoint_and_the_resumed_run_ends_as_an_uninterrupted_one(tmp_path):
    whole = growsim.run(TINY, tmp_path / "whole.h5", overrides=SHORT)
    before = signal.getsignal(signal.SIGINT)
    stop = Stop()
    ctrl_c = _AtCommit(20, lambda: os.kill(os.getpid(), signal.SIGINT))
    part = growsim.run(TINY, tmp_path / "part.h5", overrides=SHORT, extra_loggers=[ctrl_c], stop=stop)
    assert signal.getsignal(signal.SIGINT) is before  # the run's handler is gone with it
    assert (part.status, part.step, part.last_step) == ("interrupted", 20, 20)
    assert part.reason == "stopped by the user (Ctrl-C) at batch 20" and stop.signals == [signal.SIGINT]
    with h5py.File(part.path, "r") as f:
        assert f.attrs["status"] == "interrupted" and f["checkpoint"].attrs["step"] == 20

    resumed = growsim.resume(part.path)
    assert (resumed.status, resumed.step, resumed.seed) == ("completed", 30, 0)
    ours, theirs = _final(resumed.path), _final(whole.path)
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
    assert (resumed.q, resumed.perf, resumed.connections) == (whole.q, whole.perf, whole.connections)


def test_a_second_signal_stops_at_once(tmp_path):
    def twice():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)

    result = growsim.run(TINY, tmp_path / "a.h5", overrides=SHORT, extra_loggers=[_AtCommit(10, twice)])
    assert result.status == "interrupted" and result.reason == "terminated (SIGTERM), twice at batch 10"
    with pytest.raises(RunError, match="is a completed run"):
        growsim.resume(growsim.resume(result.path).path)


def test_a_stop_requested_by_a_logger_or_beforehand(tmp_path):
    stop = Stop()
    asks = _AtCommit(10, lambda: stop.request("enough"))
    result = growsim.run(TINY, tmp_path / "a.h5", overrides=SHORT, extra_loggers=[asks], stop=stop)
    assert (result.status, result.reason, result.step) == ("interrupted", "enough at batch 10", 10)
    early = Stop()
    early.request("stopped by the test")
    result = growsim.run(TINY, tmp_path / "b.h5", overrides=SHORT, stop=early)
    assert (result.status, result.step, result.last_step) == ("interrupted", 0, 0)


def test_a_diverging_run_ends_failed_with_its_reason(tmp_path):
    sets = ["growth.initial_connections=100", "growth.events=[]", "train.optimizer={kind: sgd, lr: 1.0e+12}",
            "train.grad_clip.mode=none", "train.batches=60"]
    result = growsim.run(TINY, tmp_path / "div.h5", overrides=sets)
    assert result.status == "failed" and "diverged" in result.reason
    assert result.error.startswith("run failed: diverged") and str(result.path) in result.error
    with h5py.File(result.path, "r") as f:
        assert f.attrs["status_reason"] == result.reason


def test_an_ensemble_returns_one_result_per_seed(tmp_path):
    base = tmp_path / "ens.h5"
    seen: list[RunResult] = []
    loggers: dict[int, _AtCommit] = {}

    def per_seed(seed: int) -> list:
        loggers[seed] = _AtCommit(-1, lambda: None)
        return [loggers[seed]]

    result = growsim.run(TINY, base, overrides=["seed=[2, 5]", *SHORT], extra_loggers=per_seed, on_result=seen.append)
    assert isinstance(result, EnsembleResult) and result.stacked and result.status == "completed"
    assert [m.seed for m in result] == [2, 5] and list(result) == seen
    assert [m.path for m in result] == [member_output(base, 2), member_output(base, 5)]
    assert all(m.status == "completed" and m.step == 30 for m in result)
    assert {seed: logger.started for seed, logger in loggers.items()} == {2: [2], 5: [5]}
    solo = growsim.run(TINY, tmp_path / "solo5.h5", overrides=["seed=5", *SHORT])
    assert (result[1].connections, result[1].q) == (solo.connections, solo.q)
    with pytest.raises(ValueError, match="function of the seed"):
        growsim.run(TINY, tmp_path / "x.h5", overrides=["seed=[0, 1]"], extra_loggers=[_AtCommit(-1, lambda: None)])


def test_a_stopped_ensemble_resumes_together(tmp_path):
    base = tmp_path / "ens.h5"
    stop = Stop()
    stop.request("stopped by the test")
    stopped = growsim.run(TINY, base, overrides=["seed=[0, 1]", *SHORT], stop=stop)
    assert stopped.status == "interrupted" and [m.status for m in stopped] == ["interrupted", "interrupted"]
    resumed = growsim.resume([m.path for m in stopped])
    assert resumed.status == "completed" and [m.seed for m in resumed] == [0, 1]
    with pytest.raises(RunError, match="names the same file twice"):
        growsim.resume([resumed[0].path, resumed[0].path])


def test_resume_refuses_what_cannot_continue(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        growsim.resume(tmp_path / "absent.h5")
    stop = Stop()
    stop.request("stopped by the test")
    stopped = growsim.run(TINY, tmp_path / "a.h5", overrides=SHORT, stop=stop)
    with pytest.raises(RunError, match="--set seed: a resumed run continues the spec it recorded"):
        growsim.resume(stopped.path, settings=["seed=4"])
    with h5py.File(stopped.path, "r") as f:
        assert f.attrs["status"] == "interrupted"  # untouched by the refusal


def test_import_growsim_stays_light_until_a_run_is_asked_for():
    code = (
        "import sys, growsim\n"
        "growsim.run, growsim.resume, growsim.RunError\n"
        "heavy = [m for m in ('torch', 'h5py', 'rich', 'pydantic') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_readme_example_runs(tmp_path, monkeypatch):
    """README.md's 'Running from Python' example, run on the tiny spec for 20 batches."""
    import re

    text = (ROOT / "README.md").read_text()
    code = re.search(r"\*\*Running from Python\.\*\*.*?```python\n(.*?)```", text, re.S).group(1)
    assert code.count('"train.batches=2000"') == 1
    code = code.replace('"train.batches=2000"', '"train.batches=20"')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "add_conn_distance.yaml").write_text(TINY.read_text())
    printed: list[str] = []
    namespace = {"print": lambda *args: printed.append(" ".join(map(str, args)))}
    exec(compile(code, "README.md", "exec"), namespace)
    assert any(line.startswith("completed: runs/short.h5") for line in printed), printed
    assert namespace["result"].status == "completed"
