"""Ensembles: the seeds of one spec trained together, each member's file what its seed writes alone."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from pathlib import Path

import h5py
import pytest
import torch

from growsim.build import build_engine, member_output, member_specs, prepare
from growsim.cli import main
from growsim.train.engine import RunInterrupted
from growsim.growth import ScheduledOp, Trigger
from growsim.train import ensemble as ensemble_module
from growsim.train.ensemble import CPU_GROUP_SIZE, Ensemble, cpu_group_size, group_sizes, why_not_stacked
from growsim.log.hdf5 import HDF5Logger, read_checkpoint
from growsim.spec import SpecError, load_spec

DATA = Path(__file__).parents[1] / "data"
# Stacked and solo recurrences may round differently; here they agree bit for bit, but a
# different BLAS need not, so floats are compared to a tolerance that rounding stays inside.
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _solo(tmp_path: Path, spec: Path, seed: int, overrides: list[str]) -> Path:
    out = tmp_path / f"solo{seed}.h5"
    assert main(["run", str(spec), "--out", str(out), "-q", "--set", f"seed={seed}", *_sets(overrides)]) == 0
    return out


def _sets(overrides: list[str]) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


@pytest.mark.parametrize(
    ("spec", "overrides"),
    [
        # growth of synapses on a schedule, Yang's squared error, clipping by value
        ("tiny.yaml", []),
        # neuron swaps, L1 and wiring cost with a schedule, cross-entropy, functional metrics;
        # clipping by each member's own gradient norm (a joint norm would change every member)
        ("tiny_bimt.yaml", ["train.grad_clip.mode=norm", "train.grad_clip.max=0.05"]),
    ],
)
def test_each_member_writes_what_its_seed_writes_alone(tmp_path, spec, overrides, capsys, h5_contents, assert_same_h5):
    base = tmp_path / "ens.h5"
    code = main(["run", str(DATA / spec), "--out", str(base), "-q", "--set", "seed=[0, 1, 2]", *_sets(overrides)])
    assert code == 0
    # the test session gives torch one thread: one worker; these small members stack
    assert "3 seeds (0, 1, 2) train together: stacked in groups of up to 3, one at a time, on cpu" in capsys.readouterr().err
    contents = {}
    for seed in (0, 1, 2):
        member = member_output(base, seed)
        assert member.name == f"ens_seed{seed}.h5"
        contents[seed] = h5_contents(member)
        assert_same_h5(contents[seed], h5_contents(_solo(tmp_path, DATA / spec, seed, overrides)), **TOL)
    with h5py.File(member_output(base, 1), "r") as f:
        assert f.attrs["seed"] == 1 and f.attrs["status"] == "completed"
        assert [o.decode() for o in f["spec/overrides"][()]][0] == "seed=1"
    # the members really are different runs
    assert not (contents[0]["final/w_rec"][0] == contents[1]["final/w_rec"][0]).all()


def test_a_count_of_seeds_and_the_sequential_switch(tmp_path, capsys, h5_contents, assert_same_h5):
    base = tmp_path / "seq.h5"
    sets = ["--set", "seed={count: 2, first: 4}", "--set", "train.stack=false", "--set", "train.batches=12"]
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(base), "-q", *sets]) == 0
    assert "2 seeds (4, 5) run one after another: train.stack is false" in capsys.readouterr().err
    solo = _solo(tmp_path, DATA / "tiny.yaml", 5, ["train.stack=false", "train.batches=12"])
    assert_same_h5(h5_contents(member_output(base, 5)), h5_contents(solo))


def test_a_chain_grown_on_conditions_falls_back_to_separate_runs(tmp_path, capsys, h5_contents, assert_same_h5):
    base = tmp_path / "chain.h5"
    assert main(["run", str(DATA / "tiny_chain.yaml"), "--out", str(base), "-q", "--set", "seed=[0, 1]"]) == 0
    err = capsys.readouterr().err
    assert "2 seeds (0, 1) run one after another: only leaky RNNs stack" in err
    assert_same_h5(h5_contents(member_output(base, 1)), h5_contents(_solo(tmp_path, DATA / "tiny_chain.yaml", 1, [])))


def test_why_not_stacked_names_conditional_growth():
    loaded = load_spec(DATA / "tiny.yaml", ["seed=[0, 1]"])
    engines = [build_engine(prepare(m), []) for m in member_specs(loaded)]
    assert why_not_stacked(engines) is None
    solved = ScheduledOp(1, "add_connections", engines[1].events[0].func, {"count": 1}, Trigger(when="level_solved"))
    engines[1].events = [*engines[1].events, solved]
    assert "condition" in why_not_stacked(engines)
    with pytest.raises(ValueError, match="cannot be stacked"):
        Ensemble(engines)


def _engines(tmp_path: Path, seeds: str, overrides: list[str], spec: str = "tiny.yaml") -> list:
    loaded = load_spec(DATA / spec, [f"seed={seeds}", *overrides])
    return [
        build_engine(prepare(m), [HDF5Logger(member_output(tmp_path / "ens.h5", m.spec.seed))])
        for m in member_specs(loaded)
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_diverging_member_fails_alone_and_the_others_finish(tmp_path, workers, h5_contents, assert_same_h5):
    engines = _engines(tmp_path, "[0, 1, 2]", [])
    retired = []
    with torch.no_grad():
        engines[1].network.w_out[0, 0] = float("nan")  # seed 1 is broken from the start
    ensemble = Ensemble(engines, on_retire=lambda e, why: retired.append((e.info.seed, why)), workers=workers)
    statuses = ensemble.run()
    assert [statuses[e] for e in engines] == ["completed", "failed", "completed"]
    assert retired and retired[0][0] == 1 and "non-finite weights in w_out" in retired[0][1]
    with h5py.File(member_output(tmp_path / "ens.h5", 1), "r") as f:
        assert f.attrs["status"] == "failed" and "w_out" in f.attrs["status_reason"]
    assert_same_h5(h5_contents(member_output(tmp_path / "ens.h5", 2)), h5_contents(_solo(tmp_path, DATA / "tiny.yaml", 2, [])), **TOL)


@pytest.mark.parametrize(("together", "workers"), [(False, 1), (True, 2)])
def test_a_stopped_ensemble_resumes_alone_or_together(tmp_path, together, workers, capsys, h5_contents, assert_same_h5):
    overrides = ["train.batches=30", "log.every=10"]
    engines = _engines(tmp_path, "[0, 1]", overrides)
    ensemble = Ensemble(engines, workers=workers)  # with 2, each member checkpoints on a worker
    step = ensemble.train_step

    def stepping(members, batches):
        if ensemble.step == 13:
            ensemble.request_stop("stopped by the test")
        return step(members, batches)

    ensemble.train_step = stepping
    with pytest.raises(RunInterrupted):
        ensemble.run()
    paths = [member_output(tmp_path / "ens.h5", seed) for seed in (0, 1)]
    for path in paths:
        ckpt = read_checkpoint(path)
        assert ckpt.status == "interrupted" and ckpt.step == 14
    if together:
        assert main(["run", "--resume", str(paths[0]), "--resume", str(paths[1]), "-q"]) == 0
        err = capsys.readouterr().err
        assert "resuming 2 runs at batch 14" in err and "train together: stacked" in err
    else:
        for path in paths:
            assert main(["run", "--resume", str(path), "-q"]) == 0
    for seed, path in zip((0, 1), paths):
        solo = _solo(tmp_path, DATA / "tiny.yaml", seed, overrides)
        assert_same_h5(h5_contents(path), h5_contents(solo), **TOL)


@pytest.mark.parametrize(("value", "message"), [("[]", "at least one seed"), ("[1, 1]", "distinct"), ("{count: 0}", "count")])
def test_bad_seed_lists_are_named(value, message):
    with pytest.raises(SpecError, match=message):
        load_spec(DATA / "tiny.yaml", [f"seed={value}"])


@pytest.mark.parametrize("stack", ["true", "false"])
def test_members_that_all_diverge_are_each_reported(tmp_path, capsys, stack):
    """Stacked or one after another, a failing member does not keep the others from running."""
    base = tmp_path / "div.h5"
    sets = ["seed=[0, 1]", f"train.stack={stack}", "growth.initial_connections=100", "growth.events=[]",
            "train.optimizer={kind: sgd, lr: 1.0e+12}", "train.grad_clip.mode=none", "train.batches=100"]
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(base), "-q", *_sets(sets)]) == 2
    err = capsys.readouterr().err
    assert "seed 0:" in err and "seed 1:" in err and "Traceback" not in err
    for seed in (0, 1):
        with h5py.File(member_output(base, seed), "r") as f:
            assert f.attrs["status"] == "failed" and "diverged" in f.attrs["status_reason"]


def test_validate_names_the_seeds_of_an_ensemble(capsys):
    assert main(["validate", str(DATA / "tiny.yaml"), "--set", "seed={count: 12, first: 3}"]) == 0
    assert "40 batches; 12 seeds (3..14), one run file each)" in capsys.readouterr().out
    assert main(["validate", str(DATA / "tiny.yaml"), "--set", "seed=[0, 4]"]) == 0
    assert "2 seeds (0, 4)" in capsys.readouterr().out


def test_resuming_runs_stopped_at_different_batches_is_refused(tmp_path, capsys):
    paths = []
    for seed, batches in ((0, 7), (1, 9)):
        (tmp_path / str(seed)).mkdir()
        engines = _engines(tmp_path / str(seed), f"[{seed}]", ["train.batches=30", "log.every=10"])
        engine = engines[0]
        step = engine.train_step

        def stepping(batch, engine=engine, step=step, at=batches):
            if engine.step == at:
                engine.request_stop("stopped by the test")
            return step(batch)

        engine.train_step = stepping
        with pytest.raises(RunInterrupted):
            engine.run()
        paths.append(member_output(tmp_path / str(seed) / "ens.h5", seed))
    assert main(["run", "--resume", str(paths[0]), "--resume", str(paths[1]), "-q"]) == 2
    assert "stopped at different batches" in capsys.readouterr().err



@pytest.mark.parametrize(
    ("spec", "overrides", "group_size", "groups"),
    [
        ("tiny.yaml", [], 1, [[2], [0], [1]]),  # each member alone: the solo recurrence
        ("tiny.yaml", [], 2, [[2, 0], [1]]),
        ("tiny_bimt.yaml", ["train.grad_clip.mode=norm", "train.grad_clip.max=0.05"], 2, [[2, 0], [1]]),
    ],
)
def test_groups_on_worker_threads_write_what_each_seed_writes_alone(
    tmp_path, spec, overrides, group_size, groups, monkeypatch, h5_contents, assert_same_h5
):
    # The test session runs torch on one thread, which makes one worker; ask for two, so
    # that groups of members train on different threads at once.
    engines = _engines(tmp_path, "[0, 1, 2]", overrides, spec)
    threads = set()
    train_group = ensemble_module._train_group

    def recording(*args):
        threads.add(threading.current_thread().name)
        return train_group(*args)

    monkeypatch.setattr(ensemble_module, "_train_group", recording)
    boundary_threads = set()
    for e in engines:  # evaluation, growth and logging at a boundary run side by side too
        def at_boundary(step, e=e, method=e.at_boundary):
            boundary_threads.add(threading.current_thread().name)
            return method(step)

        e.at_boundary = at_boundary
    ensemble = Ensemble(engines, workers=2, group_size=group_size)
    assert ensemble.groups([2, 0, 1]) == groups
    assert all(status == "completed" for status in ensemble.run().values())
    assert len(threads) == 2 and all(name.startswith("growsim-ensemble") for name in threads)
    assert boundary_threads == threads
    assert ensemble._pool is None  # the workers stop with the run
    assert torch.get_num_threads() == 1  # this thread's setting is its own
    for seed in (0, 1, 2):
        solo = _solo(tmp_path, DATA / spec, seed, overrides)
        assert_same_h5(h5_contents(member_output(tmp_path / "ens.h5", seed)), h5_contents(solo), **TOL)


@pytest.mark.parametrize(
    ("members", "workers", "most", "sizes"),
    [(30, 2, 8, [8, 8, 7, 7]), (3, 2, 8, [2, 1]), (1, 2, 8, [1]), (16, 2, 8, [8, 8]), (17, 2, 8, [5, 4, 4, 4]),
     (10, 1, 8, [5, 5]), (3, 2, 1, [1, 1, 1]), (5, 4, 8, [2, 1, 1, 1])],
)  # fmt: skip
def test_group_sizes(members, workers, most, sizes):
    assert group_sizes(members, workers, most) == sizes


@pytest.mark.parametrize(
    ("batch", "neurons", "size"), [(64, 84, 1), (32, 84, 2), (16, 84, 4), (8, 84, 8), (64, 256, 1), (8, 16, 8)]
)
def test_cpu_group_size_stacks_only_small_members(batch, neurons, size):
    assert cpu_group_size(batch, neurons) == size


def test_the_default_group_follows_the_members_size(tmp_path):
    engines = _engines(tmp_path, "[0, 1]", [])  # 16 neurons, batch 8: small, stacked
    assert Ensemble(engines).group_size == CPU_GROUP_SIZE
    assert Ensemble(engines, workers=2).layout() == "each member on its own, 2 at a time on 2 worker threads, on cpu"
    big = _engines(tmp_path, "[0, 1]", ["train.batch_size=2048"])
    assert Ensemble(big).group_size == 1
    assert Ensemble(big).layout() == "each member on its own (too large to gain from stacking), one at a time, on cpu"


def test_group_sizes_cover_every_member_within_the_limit():
    for members in range(1, 70):
        for workers in range(1, 5):
            for most in range(1, 10):
                sizes = group_sizes(members, workers, most)
                assert sum(sizes) == members and max(sizes) <= most and min(sizes) >= 1
                assert max(sizes) - min(sizes) <= 1
                if members >= workers:
                    assert len(sizes) % workers == 0 or len(sizes) == members
    with pytest.raises(ValueError):
        group_sizes(3, 0)


def test_a_failing_group_is_raised_only_after_every_other_group_is_done():
    finished = threading.Event()

    def slow():
        time.sleep(0.2)
        finished.set()

    def fail():
        raise RuntimeError("group failed")

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(fail), pool.submit(slow)]
        with pytest.raises(RuntimeError, match="group failed"):
            ensemble_module._wait_all(futures)
        assert finished.is_set()  # no worker still changes weights when the caller goes on


class _AbsoluteError:
    """An objective of a user's own: Yang's tasks scored by the masked mean absolute error."""

    def __init__(self, inner):
        self.inner = inner
        self.scored = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def loss_of(self, out, t):
        self.scored += 1
        return ((out - t["y"]).abs() * t["c_mask"]).mean()


def test_an_objective_of_ones_own_trains_stacked_as_it_trains_alone(tmp_path, h5_contents):
    """The stacked step and the single run's step are one step: only the forward pass differs."""
    engines = _engines(tmp_path / "ens", "[0, 1, 2]", ["train.batches=12"])
    for e in engines:
        e.objective = _AbsoluteError(e.objective)
    ensemble = Ensemble(engines, workers=1, group_size=3)
    assert ensemble.groups([0, 1, 2]) == [[0, 1, 2]]  # one stacked group
    assert all(status == "completed" for status in ensemble.run().values())
    assert [e.objective.scored for e in engines] == [12, 12, 12]
    (alone,) = _engines(tmp_path / "alone", "[1]", ["train.batches=12"])
    alone.objective = _AbsoluteError(alone.objective)
    assert alone.run() == "completed"
    stock = _solo(tmp_path, DATA / "tiny.yaml", 1, ["train.batches=12"])
    stacked = h5_contents(member_output(tmp_path / "ens" / "ens.h5", 1))["final/w_rec"][0]
    solo = h5_contents(member_output(tmp_path / "alone" / "ens.h5", 1))["final/w_rec"][0]
    torch.testing.assert_close(torch.from_numpy(stacked), torch.from_numpy(solo), **TOL)
    assert not (h5_contents(stock)["final/w_rec"][0] == solo).all()  # the objective's own loss trained it
