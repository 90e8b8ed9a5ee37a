"""The engine running Hamidi et al.'s and Liu et al.'s networks: what the run file records."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import growsim
from growsim.build import build_engine, prepare
from growsim.log.hdf5 import HDF5Logger
from growsim.spec import load_spec

DATA = Path(__file__).parents[1] / "data"
CHAIN = DATA / "tiny_chain.yaml"
BIMT = DATA / "tiny_bimt.yaml"
EASY = ["task.criterion.newest=0", "task.criterion.mean=0"]  # every evaluation solves its level


def _run(spec: Path, out: Path, overrides=()) -> Path:
    assert growsim.run(spec, out, overrides=overrides).status == "completed"
    return out


def _snap(f: h5py.File, step: int) -> h5py.Group:
    return f[f"snapshots/{step:09d}"]


def test_a_solved_level_duplicates_into_the_new_module_and_freezes_the_rest(tmp_path):
    out = _run(CHAIN, tmp_path / "chain.h5", EASY)
    with h5py.File(out) as f:
        # Solved at every evaluation (0, 5, ..., 25): one module and one head each time.
        assert list(f["series/n_modules"][()]) == [1, 2, 3, 4, 5, 6, 7]
        assert list(f["series/n_solved"][()]) == [2, 3, 4, 5, 6, 7, 8]
        s0, s5, final = _snap(f, 0), _snap(f, 5), f["final"]
        # Right after the event at step 0, module 1 is an exact copy of module 0 (no noise)...
        np.testing.assert_array_equal(s0["w_rec"][1], s0["w_rec"][0])
        np.testing.assert_array_equal(s0["tau"][1], s0["tau"][0])
        np.testing.assert_array_equal(s0["w_in"][1], s0["w_in"][0])
        # ... and at step 5 module 2 copies module 1 (as trained), W_ff included.
        np.testing.assert_array_equal(s5["w_rec"][2], s5["w_rec"][1])
        np.testing.assert_array_equal(s5["w_ff"][2], s5["w_ff"][1])
        assert not np.array_equal(s5["w_rec"][1], s0["w_rec"][1])  # module 1 learned in between
        # Frozen modules are bit-identical to the end, under Adam with weight decay.
        for m, since in ((0, s0), (1, s5)):
            for name in ("w_rec", "w_in", "bias", "tau"):
                np.testing.assert_array_equal(final[name][m], since[name][m], err_msg=f"{name}[{m}] moved")
        # Heads of frozen modules too: head 0 reads module 0.
        np.testing.assert_array_equal(final["head_w"][0], s0["head_w"][0])
        details = [json.loads(d) for d in f["events/details"][()]]
        dup = [d for d in details if "copied" in d]
        assert [d["module"] for d in dup] == [1, 2, 3, 4, 5, 6]
        assert [h["head"] for h in details if "head" in h] == [1, 2, 3, 4, 5, 6]


def test_the_curriculum_waits_until_the_criterion_holds(tmp_path):
    # A newest-level accuracy must be strictly above 1.0: never, so nothing grows.
    out = _run(CHAIN, tmp_path / "never.h5", ["task.criterion.newest=1.0"])
    with h5py.File(out) as f:
        assert set(f["series/n_solved"][()]) == {1}
        assert set(f["series/n_modules"][()]) == {1}
        assert "events/op" not in f
        perf = f["series/perf"][()]
        assert np.all(np.isnan(perf[:, 1:])) and np.all(np.isfinite(perf[:, 0]))


@pytest.mark.parametrize("freeze", ["recurrent_after_first", "feedforward_after_first_link", "none"])
def test_freeze_policies(tmp_path, freeze):
    out = _run(CHAIN, tmp_path / "p.h5", [*EASY, f"growth.events[0].freeze={freeze}", "train.batches=12"])
    with h5py.File(out) as f:
        trainable = f["final/trainable"][()]  # (K, parts): recurrent, feedforward, input, bias, tau
        k = trainable.shape[0]
        newest = trainable[k - 1]
        if freeze == "none":
            assert trainable[:, [0, 2, 3, 4]].all()
            return
        assert not trainable[: k - 1].any()
        assert newest[2:].all()
        assert newest[0] == (freeze != "recurrent_after_first")
        assert newest[1] == (freeze != "feedforward_after_first_link")
        if freeze == "recurrent_after_first":  # every module keeps module 0's recurrent weights
            w = f["final/w_rec"][()]
            s0 = _snap(f, 0)["w_rec"][0]
            for m in range(k):
                np.testing.assert_array_equal(w[m], s0)


@pytest.mark.parametrize(("freeze", "learns"), [("recurrent_after_first", "feedforward"),
                                              ("feedforward_after_first_link", "recurrent")])
def test_the_papers_freezing_leaves_one_link_learning(tmp_path, freeze, learns):
    """Hamidi et al.'s Fig. 6a: the new module trains only the link that is not frozen."""
    sets = [*EASY, f"growth.events[0].freeze={freeze}", "growth.events[0].freeze_also=[input, bias, tau]"]
    out = _run(CHAIN, tmp_path / "p.h5", sets)
    with h5py.File(out) as f:
        trainable = f["final/trainable"][()]  # (K, parts): recurrent, feedforward, input, bias, tau
        assert trainable.shape[0] == 7 and not trainable[:6].any()
        assert list(trainable[6]) == [learns == "recurrent", learns == "feedforward", False, False, False]
        # By hand, M = 4 neurons a module, one input: module 0 has W_rec 16, W_in 4, bias 4,
        # tau 4 (28); modules 1-6 also W_ff 16 (44 each); 7 heads of 2 x 4 + 2. What learns
        # at the end: the newest module's one link (16) and its head (10).
        assert f["series/n_parameters"][-1] == 28 + 6 * 44 + 7 * 10
        assert f["series/n_trainable"][-1] == 16 + 10
        details = [json.loads(d) for d in f["events/details"][()]]
        assert details[-2]["freeze_also"] == ["input", "bias", "tau"]  # the last duplication


def test_freeze_also_needs_a_policy_that_freezes_a_link(tmp_path):
    with pytest.raises(growsim.SpecError, match=r"growth.events\[0\].*freeze_also freezes parts with the link"):
        growsim.load_spec(CHAIN, ["growth.events[0].freeze_also=[tau]"])


def test_bimt_run_logs_costs_swaps_and_anatomy(tmp_path):
    out = _run(BIMT, tmp_path / "bimt.h5")
    with h5py.File(out) as f:
        s = f["series"]
        assert list(s["reg_l1_strength"][()]) == [1e-3, 1e-3, 1e-2, 1e-2]  # x10 from half-way
        assert np.isnan(s["reg_l1"][0]) and np.all(np.isfinite(s["reg_l1"][1:]))
        ops = [o.decode() for o in f["events/op"][()]]
        assert ops[0] == "add_connections" and set(ops[1:]) == {"swap_neurons"}
        assert ops.count("swap_neurons") == 7  # batches 4, 8, ..., 28
        for name in ("fn_isolated_fraction", "fn_isolated_fraction_percentile", "fn_n_active_neurons",
                     "fn_wiring_length", "fn_cluster_spread"):
            assert s[name].shape == (4,)
        assert s["fn_task_variance"].shape == (4, 16, 2)
        percentiles = s["fn_isolated_fraction_null_percentiles"][()]  # the shuffles' quantile function
        assert percentiles.shape == (4, 101) and np.all(np.diff(percentiles[np.isfinite(percentiles[:, 0])], axis=1) >= 0)


def test_functional_metrics_less_often_than_the_log_keep_one_row_per_log_step(tmp_path):
    out = _run(BIMT, tmp_path / "f.h5", ["log.functional.every=20", "log.every=5"])
    with h5py.File(out) as f:
        s = f["series"]
        assert list(s["step"][()]) == [0, 5, 10, 15, 20, 25, 30]
        iso = s["fn_isolated_fraction"][()]
        taken = [0, 4, 6]  # steps 0, 20 and the last
        assert np.all(np.isfinite(iso[taken])) and np.all(np.isnan(np.delete(iso, taken)))
        labels = s["fn_labels"][()]
        assert labels.shape == (7, 16) and np.all(labels[1] == -1) and np.all(labels[0] >= -1)


def test_logged_costs_are_the_costs_of_the_weights(tmp_path):
    # Weights that do not move (lr ~ 0, no swaps): every batch's cost is that of the final weights.
    out = _run(BIMT, tmp_path / "still.h5", ["train.optimizer.lr=1e-30", "growth.events[0].every=1000"])
    with h5py.File(out) as f:
        s, fin = f["series"], f["final"]
        d = f["geometry/distances"][()]
        wiring = np.sum(d * np.abs(fin["w_rec"][()].astype(np.float64)))
        l1 = sum(np.abs(fin[k][()].astype(np.float64)).sum() for k in ("w_rec", "w_in", "w_out", "b_rec", "b_out"))
        np.testing.assert_allclose(s["reg_wiring"][1:], wiring, rtol=1e-5)
        np.testing.assert_allclose(s["reg_l1"][1:], l1, rtol=1e-5)


def test_swaps_never_raise_the_wiring_cost_they_act_on(tmp_path):
    """Growth at a step comes before that step's snapshot: compare the cost just before
    and just after each swap step, with the weights the swap saw."""
    from growsim.growth.swap import bimt_swap

    engine = build_engine(prepare(load_spec(BIMT, ["train.batches=9"])), [HDF5Logger(tmp_path / "s.h5")])
    engine.run()
    net, d = engine.network, engine.wiring.distances
    before = float(np.sum(d * np.abs(net.w_rec.detach().numpy())))
    x = engine.objective.tensors(engine.objective.suite.sample(np.random.default_rng(0), 4, task="fdgo"))["x"]
    out_before, _ = net(x, noise=False)
    swaps = bimt_swap(net, engine.optimizer, d, top_k=8)
    after = float(np.sum(d * np.abs(net.w_rec.detach().numpy())))
    out_after, _ = net(x, noise=False)
    assert after <= before + 1e-6
    np.testing.assert_allclose(out_after.detach().numpy(), out_before.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert swaps  # a random network always has a cheaper arrangement


@pytest.mark.parametrize(("spec", "overrides", "stop_at"), [(CHAIN, EASY, 7), (CHAIN, EASY, 10), (BIMT, [], 6), (BIMT, [], 14)])
def test_stop_then_resume_writes_what_an_uninterrupted_run_writes(tmp_path, spec, overrides, stop_at, h5_contents,
                                                                 assert_same_h5, stop_and_resume):
    """Grown modules, added heads, optimizer groups, curriculum, swaps and regulariser sums
    all come back from the checkpoint."""
    ref, resumed, _ = stop_and_resume(tmp_path, spec, overrides, stop_at)
    assert_same_h5(h5_contents(ref), h5_contents(resumed))


def test_the_functional_k_range_reaches_the_clustering(tmp_path):
    """log.functional.k_range bounds the silhouette's choice; equal bounds fix the number of clusters."""
    out = _run(BIMT, tmp_path / "k.h5", ["train.batches=10", "log.functional.k_range=[3, 3]"])
    with h5py.File(out) as f:
        n = f["series/fn_n_clusters"][()]
        labels = f["series/fn_labels"][()]
    taken = np.isfinite(n)
    assert taken.any() and np.all(n[taken] == 3)
    for row in labels[taken]:
        assert set(row[row >= 0]) == {0, 1, 2}


def test_solving_the_last_level_finishes_the_curriculum_and_grows_nothing(tmp_path):
    """n_max solved: no new level, so no new head or module (a head with no level to read
    stopped the run before)."""
    out = _run(CHAIN, tmp_path / "nmax.h5", [*EASY, "task.n_max=5", "train.batches=40"])
    with h5py.File(out) as f:
        assert list(f["series/n_solved"][()]) == [2, 3, 4, 5, 5, 5, 5, 5, 5]
        assert list(f["series/n_modules"][()]) == [1, 2, 3, 4, 4, 4, 4, 4, 4]
        assert f["final/head_w"].shape[0] == 4 and f["series/perf"].shape == (9, 4)
