"""init_from: a chain run that starts from another run's stored network (Hamidi et al.'s
Fig. 2c), its provenance recorded, and every mistake a spec error at init_from."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.cli import main
from growsim.reader import open_run

ROOT = Path(__file__).parents[2]
CHAIN = ROOT / "tests" / "data" / "tiny_chain.yaml"
TINY = ROOT / "tests" / "data" / "tiny.yaml"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A tiny modular run that solves a level at every evaluation (every 5 batches)."""
    out = tmp_path_factory.mktemp("src") / "src.h5"
    assert main(["run", str(CHAIN), "--out", str(out), "-q", "--set", "task.criterion.newest=0",
                 "--set", "task.criterion.mean=0"]) == 0
    return out


def _warm(tmp_path: Path, source: Path, step: str, heads: str, extra: tuple[str, ...] = ()) -> Path:
    out = tmp_path / f"warm_{heads}.h5"
    args = ["run", str(CHAIN), "--out", str(out), "-q", "--set", "task.n_start=9", "--set", "task.n_max=9",
            "--set", f"init_from={{run: {source}, step: {step}, heads: {heads}}}", "--set", "train.batches=10",
            "--set", "seed=5", *extra]
    assert main(args) == 0
    return out


def test_solved_keeps_the_modules_and_the_head_of_the_largest_level_solved(tmp_path, source):
    src = open_run(source)
    series = src.series()
    step = int(series.loc[series["n_solved"] >= 4, "step"].iloc[0])  # N_solved 4 at step 10
    assert step == 10 and series.loc[series["step"] == 10, "n_solved"].item() == 4
    stored = src.weights(step)
    head = 4 - 2  # level 4's head (levels start at 2)
    module = int(stored.extra["head_module"][head])
    warm = open_run(_warm(tmp_path, source, "{n_solved: 4}", "solved", ("--set", "train.batches=5")))
    start = warm.weights(0)
    assert start.n_modules == module + 1 < stored.n_modules  # the module grown for level 5 is dropped
    assert np.array_equal(start.w_rec, stored.w_rec[: module + 1])
    assert np.array_equal(start.extra["w_ff"], stored.extra["w_ff"][: module + 1])
    assert np.array_equal(start.extra["tau"], stored.extra["tau"][: module + 1])
    assert np.array_equal(start.extra["head_w"], stored.extra["head_w"][head : head + 1])
    assert start.extra["head_module"].tolist() == [module]
    assert np.array_equal(start.extra["trainable"], stored.extra["trainable"][: module + 1])  # frozen as stored
    assert list(warm.tasks) == ["parity_9"]


def test_new_puts_a_fresh_head_on_the_same_module(tmp_path, source):
    stored = open_run(source).weights(10)
    start = open_run(_warm(tmp_path, source, "10", "new", ("--set", "train.batches=5"))).weights(0)
    assert np.array_equal(start.w_rec, stored.w_rec[: start.n_modules])
    assert not any(np.allclose(start.extra["head_w"][0], h) for h in stored.extra["head_w"])


def test_the_source_file_and_step_are_recorded_and_the_run_trains(tmp_path, source):
    out = _warm(tmp_path, source, "final", "solved")
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed"
        assert f.attrs["version_init_from"] == str(source.resolve())
        assert f.attrs["version_init_from_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        assert f.attrs["version_init_from_step"] == str(open_run(source).weights(None).step)
        assert f["series/perf"].shape == (3, 1)


@pytest.mark.parametrize(
    ("spec", "init", "match"),
    [
        (CHAIN, "{run: nowhere.h5}", r"init_from\.run: cannot start from .*nowhere\.h5"),
        (CHAIN, "{run: SRC, step: {n_solved: 99}}", r"init_from\.run: .*never solved 99 levels"),
        (CHAIN, "{run: SRC, step: 3}", r"init_from\.run: .*step 3"),
        (TINY, "{run: SRC}", r"init_from\.run: \S+src\.h5 is a chain run; a leaky_rnn network starts from a leaky_rnn run"),
    ],
)
def test_a_warm_start_that_cannot_be_made_is_a_spec_error(tmp_path, source, capsys, spec, init, match):
    import re

    code = main(["validate", str(spec), "--set", f"init_from={init.replace('SRC', str(source))}"])
    err = capsys.readouterr().err
    assert code == 2 and re.search(match, err) and "Traceback" not in err


def test_another_module_size_is_refused(tmp_path, source, capsys):
    code = main(["validate", str(CHAIN), "--set", f"init_from={{run: {source}}}", "--set", "network.module_size=6"])
    assert code == 2 and "has modules of 4 neurons; network.module_size is 6" in capsys.readouterr().err


def test_a_warm_started_run_stopped_and_resumed_writes_what_an_uninterrupted_one_does(
        tmp_path, source, h5_contents, assert_same_h5, stop_and_resume):
    overrides = ["task.n_start=9", "task.n_max=9", f"init_from={{run: {source}, step: 10}}", "train.batches=20",
                 "seed=5"]
    ref, resumed, step = stop_and_resume(tmp_path, CHAIN, overrides, 7)
    assert step == 8
    assert_same_h5(h5_contents(ref), h5_contents(resumed))


def test_inspect_says_where_a_warm_start_began(tmp_path, source, capsys):
    out = _warm(tmp_path, source, "10", "new", ("--set", "train.batches=5"))
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    assert f"started from {source.resolve()} at step 10 (sha256 {digest}..., heads: new)" in text
    assert "modules as stored" in text
