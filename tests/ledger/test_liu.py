"""Liu et al.'s builders (anatomy over seeds, Pareto fronts), from records of real tiny
runs of the shipped specs on a 5 x 5 grid."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

from growsim.cli import main
from growsim.ledger import add, build, load
from growsim.ledger.figures.liu import condition, pareto_front, strength

ROOT = Path(__file__).parents[2]
TINY = [
    "network.geometry.shape=[5, 5]", "growth.initial_connections=600", "train.batches=20", "train.batch_size=16",
    "log.every=10", "log.eval_batch_size=16", "log.functional.every=10", "log.functional.n_shuffles=200",
    "log.functional.k_range=[2, 4]", "log.snapshot_every=10",
]
SPECS = {"BIMT": "bimt_grid2d.yaml", "L1": "l1_grid2d.yaml", "none": "noreg_grid2d.yaml"}
LEDGER = """figure: {figure}
protocols:
  tiny:
    description: tiny runs on a 5 x 5 grid
    require: {{train.batches: 20}}
"""


def _run(out: Path, spec: str, seed: int, extra=()) -> Path:
    args = ["run", str(ROOT / "specs" / spec), "--out", str(out), "-q", "--set", f"seed={seed}"]
    for o in [*TINY, *(["growth.events[0].every=5"] if spec.startswith("bimt") else []), *extra]:
        args += ["--set", o]
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, list[Path]]:
    folder = tmp_path_factory.mktemp("runs")
    out = {c: [_run(folder / f"{c}_{s}.h5", spec, s) for s in (0, 1)] for c, spec in SPECS.items()}
    # Two more points of the Pareto sweep: lambda = 1e-4 for each method.
    out["lambda"] = [
        _run(folder / "bimt_1e-4.h5", SPECS["BIMT"], 0,
             ["regularisers=[{kind: l1, strength: 1.0e-4}, {kind: wiring, A: 1.0, strength: 1.0e-4}]"]),
        _run(folder / "l1_1e-4.h5", SPECS["L1"], 0, ["regularisers=[{kind: l1, strength: 1.0e-4}]"]),
    ]
    return out


@pytest.fixture(scope="module")
def anatomy(tmp_path_factory, runs) -> Path:
    folder = tmp_path_factory.mktemp("anatomy")
    (folder / "ledger.yaml").write_text(LEDGER.format(figure="liu_anatomy"))
    add(folder, [p for c in SPECS for p in runs[c]], "tiny")
    build(folder)
    return folder


def _rows(folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(open(folder / "summary.csv")))


def _stat(rows, **where) -> float:
    (row,) = [r for r in rows if all(r[k] == v for k, v in where.items())]
    return float(row["value"])


def test_conditions_and_lambda_come_from_the_spec(anatomy):
    records = load(anatomy).records
    assert sorted(condition(r) for r in records) == ["BIMT", "BIMT", "L1", "L1", "none", "none"]
    assert {strength(r) for r in records if condition(r) != "none"} == {1e-5}
    assert {strength(r) for r in records if condition(r) == "none"} == {0.0}
    # A wiring term at A = 0 is L1 (no distance in the cost); a strength of 0 is no term.
    assert condition({"spec": {"regularisers": [{"kind": "wiring", "A": 0.0, "strength": 1e-5}, {"kind": "l1", "strength": 1e-5}]}}) == "L1"
    assert condition({"spec": {"regularisers": [{"kind": "l1", "strength": 0.0}]}}) == "none"


def test_records_carry_the_final_report_arrays(runs, anatomy):
    """What the figures are drawn from: the last functional report, as the run file stores it."""
    (record,) = [r for r in load(anatomy).records if condition(r) == "BIMT" and r["run"]["seed"] == 0]
    arrays = record["final"]["arrays"]
    with h5py.File(runs["BIMT"][0], "r") as f:
        for name in ("fn_labels", "fn_w_distance_mean_abs", "fn_isolated_fraction_null_percentiles", "fn_isolated_fraction_null"):
            stored = f[f"series/{name}"][-1]
            got = np.array([np.nan if v is None else v for v in arrays[name]], dtype=np.float64)
            np.testing.assert_array_equal(got.astype(stored.dtype), stored)
        # 200 shuffles fit a record here; the shipped specs' 10,000 do not (the limit is 1,024 values).
        assert f["series/fn_isolated_fraction_null"].shape[1] == 200


def test_fisher_and_the_count_below_5_percent_from_each_runs_percentile(anatomy):
    records = load(anatomy).records
    rows = _rows(anatomy)
    for cond in ("BIMT", "L1", "none"):
        for stat in ("isolated_fraction", "cluster_spread"):
            pct = [r["final"][f"fn_{stat}_percentile"] for r in records if condition(r) == cond]
            pct = [p for p in pct if p is not None]
            where = dict(protocol="tiny", condition=cond, metric=f"fn_{stat}")
            assert _stat(rows, statistic="n", **where) == len(pct)
            assert _stat(rows, statistic="n_below", **where) == sum(p < 5 for p in pct)
            if pct:
                ps = [(200 * p / 100 + 1) / 201 for p in pct]
                expected = stats.combine_pvalues(ps, method="fisher").pvalue  # an independent implementation
                assert _stat(rows, statistic="fisher_p", **where) == pytest.approx(expected, rel=1e-5)


def test_summary_compares_each_condition_with_bimt(anatomy):
    records = load(anatomy).records
    rows = _rows(anatomy)
    bimt = [r["final"]["fn_wiring_length"] for r in records if condition(r) == "BIMT"]
    l1 = [r["final"]["fn_wiring_length"] for r in records if condition(r) == "L1"]
    assert _stat(rows, protocol="tiny", condition="BIMT - L1", metric="fn_wiring_length", statistic="diff") == pytest.approx(
        np.mean(bimt) - np.mean(l1), rel=1e-5)
    assert _stat(rows, protocol="tiny", condition="none", metric="perf_mean", statistic="n") == 2
    text = (anatomy / "summary.md").read_text()
    assert "### Fig. 2b" in text and "### Fig. 1f" in text
    for name in ("tiny_fig2b.png", "tiny_fig1f.png", "tiny_fig1c.png"):
        assert (anatomy / "figures" / name).stat().st_size > 10_000


def test_pareto_front_by_hand():
    pts = [(1.0, 5.0), (2.0, 3.0), (3.0, 3.0), (4.0, 1.0), (2.5, 4.0), (float("nan"), 0.0)]
    assert pareto_front(pts) == [0, 1, 3]  # (3, 3) is beaten by (2, 3); (2.5, 4) by (2, 3)
    assert pareto_front([(1.0, 1.0), (1.0, 1.0)]) == [0, 1]  # equal points do not dominate each other


def test_pareto_builder_groups_by_method_and_lambda(tmp_path, runs):
    folder = tmp_path / "pareto"
    folder.mkdir()
    (folder / "ledger.yaml").write_text(LEDGER.format(figure="liu_pareto"))
    add(folder, [p for c in SPECS for p in runs[c]] + runs["lambda"], "tiny")
    build(folder)
    records = load(folder).records
    rows = _rows(folder)
    for method, lam, n in (("BIMT", 1e-5, 2), ("BIMT", 1e-4, 1), ("L1", 1e-5, 2), ("L1", 1e-4, 1), ("none", 0.0, 2)):
        mine = [r for r in records if condition(r) == method and math.isclose(strength(r), lam)]
        assert len(mine) == n
        where = dict(protocol="tiny", method=method, strength=f"{lam:.6g}")
        assert _stat(rows, metric="error", statistic="n", **where) == n
        assert _stat(rows, metric="error", statistic="mean", **where) == pytest.approx(
            np.mean([1 - r["final"]["perf_mean"] for r in mine]), rel=1e-5)
        assert _stat(rows, metric="fn_n_active_neurons", statistic="mean", **where) == pytest.approx(
            np.mean([r["final"]["fn_n_active_neurons"] for r in mine]), rel=1e-5)
    # Dominance, counted again from the point means: an L1 point is beaten when some BIMT point
    # (then also one on BIMT's front) has no more error and no more of the measure, and less of one.
    def mean(method, lam, metric):
        return _stat(rows, protocol="tiny", method=method, strength=f"{lam:.6g}", metric=metric, statistic="mean")

    for metric in ("fn_n_active_neurons", "fn_wiring_length"):
        pts = {m: [(mean(m, lam, metric), mean(m, lam, "error")) for lam in (1e-5, 1e-4)] for m in ("BIMT", "L1")}
        beaten = sum(any(f[0] <= k[0] and f[1] <= k[1] and f != k for f in pts["BIMT"]) for k in pts["L1"])
        where = dict(protocol="tiny", method="BIMT over L1", strength="", metric=metric)
        assert _stat(rows, statistic="dominated", **where) == beaten
        assert _stat(rows, statistic="points", **where) == 2
    text = (folder / "summary.md").read_text()
    assert "| none | 0 | 2 |" in text and "on the front of" in text
    assert (folder / "figures" / "tiny_fig1gh.png").stat().st_size > 10_000


def test_second_peak_by_hand():
    from growsim.ledger.figures.liu import second_peak

    d = np.arange(1, 8) / 10
    where, ratio = second_peak(d, np.array([1.0, 0.5, 0.2, 0.3, 0.4, 0.25, 0.2]))
    assert where == 0.5 and ratio == pytest.approx(2.0)  # past the minimum 0.2 at 0.3, the top is 0.4 at 0.5
    assert math.isnan(second_peak(d, np.array([1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]))[0])  # only falls


def test_split_by_separates_runs_that_differ_in_a_field(tmp_path, runs):
    folder = tmp_path / "split"
    folder.mkdir()
    (folder / "ledger.yaml").write_text(LEDGER.format(figure="liu_anatomy") + 'options: {split_by: ["regularisers[0].strength"]}\n')
    add(folder, runs["BIMT"] + runs["lambda"][:1], "tiny")
    build(folder)
    rows = _rows(folder)
    assert _stat(rows, protocol="tiny", condition="BIMT, regularisers[0].strength=1e-05", metric="perf_mean", statistic="n") == 2
    assert _stat(rows, protocol="tiny", condition="BIMT, regularisers[0].strength=0.0001", metric="perf_mean", statistic="n") == 1
    # Each group is compared with the first.
    assert _stat(rows, protocol="tiny", condition="BIMT, regularisers[0].strength=0.0001 - BIMT, regularisers[0].strength=1e-05",
                 metric="perf_mean", statistic="n_a") == 1


def test_a_bump_within_ten_percent_is_no_second_peak():
    from growsim.ledger.figures.liu import second_peak

    d = np.arange(1, 6) / 10
    assert math.isnan(second_peak(d, np.array([1.0, 0.5, 0.40, 0.43, 0.41]))[0])
    assert second_peak(d, np.array([1.0, 0.5, 0.40, 0.45, 0.41]))[0] == 0.4


def test_bins_of_few_pairs_make_no_second_peak():
    from growsim.ledger.figures.liu import second_peak

    d = np.arange(1, 6) / 10
    y = np.array([1.0, 0.5, 0.4, 0.3, 0.9])  # the last bin's rise rests on 2 pairs
    assert second_peak(d, y)[0] == 0.5
    assert math.isnan(second_peak(d, y, np.array([400, 300, 200, 100, 2]))[0])


def _shipped(tmp_path, folder: str) -> list[dict[str, str]]:
    import shutil

    copy = tmp_path / folder
    shutil.copytree(ROOT / "results" / "liu" / folder, copy)
    build(copy)
    return [r for r in _rows(copy) if r["protocol"] == "shipped"]


def test_readme_claims_on_the_1d_grid_hold_in_the_ledger(tmp_path):
    """README.md and results/liu/README.md: Appendix A, 3 seeds per condition."""
    rows = _shipped(tmp_path, "grid1d")
    for cond in ("BIMT", "L1", "none"):
        assert _stat(rows, condition=cond, metric="perf_mean", statistic="n") == 3
    iso = dict(metric="fn_isolated_fraction")
    assert _stat(rows, condition="BIMT", statistic="n_below", **iso) == 1
    assert _stat(rows, condition="BIMT", statistic="fisher_p", **iso) == pytest.approx(0.0027, abs=5e-5)
    for cond in ("L1", "none"):
        assert _stat(rows, condition=cond, statistic="n_below", **iso) == 0
        assert _stat(rows, condition=cond, statistic="fisher_p", **iso) > 0.5
    # Local wiring: BIMT's nearest neighbours are joined by the strongest weights; L1's and none's are not.
    w = dict(metric="fn_w_distance_mean_abs")
    assert _stat(rows, condition="BIMT", statistic="nearest", **w) == pytest.approx(0.138, abs=5e-4)
    assert _stat(rows, condition="L1", statistic="nearest", **w) == pytest.approx(0.083, abs=5e-4)
    assert _stat(rows, condition="none", statistic="nearest", **w) == pytest.approx(0.087, abs=5e-4)
    # Not sparse: about 99 of 100 neurons active in every condition; equal performance.
    for cond in ("BIMT", "L1", "none"):
        assert _stat(rows, condition=cond, metric="fn_n_active_neurons", statistic="mean") > 97
    assert _stat(rows, condition="BIMT - L1", metric="perf_mean", statistic="welch_p") > 0.5
    assert _stat(rows, condition="BIMT - L1", metric="fn_wiring_length", statistic="welch_p") == pytest.approx(0.0049, abs=5e-5)


def test_readme_claims_on_fig2b_hold_in_the_ledger(tmp_path):
    """README.md and results/liu/README.md: Fig. 2b over 5 seeds per condition, not reliably
    out of distribution; Fig. 1d-e's sparsity and locality; no second peak in Fig. 1f."""
    rows = _shipped(tmp_path, "grid2d")
    iso = dict(metric="fn_isolated_fraction")
    claims = {"BIMT": (1, 10.82, 0.046), "L1": (0, None, 0.84), "none": (1, None, 0.054)}
    for cond, (below, median, fisher) in claims.items():
        assert _stat(rows, condition=cond, statistic="n", **iso) == 5
        assert _stat(rows, condition=cond, statistic="n_below", **iso) == below
        assert _stat(rows, condition=cond, statistic="fisher_p", **iso) == pytest.approx(
            fisher, abs=5e-3 if fisher > 0.1 else 5e-4)
        if median is not None:
            assert _stat(rows, condition=cond, statistic="median_percentile", **iso) == pytest.approx(median)
    # BIMT is the sparsest and the most local; performance is the same in every condition.
    for metric in ("fn_n_active_connections", "fn_wiring_length"):
        for other in ("L1", "none"):
            assert _stat(rows, condition=f"BIMT - {other}", metric=metric, statistic="diff") < 0
            assert _stat(rows, condition=f"BIMT - {other}", metric=metric, statistic="welch_p") < 0.001
    for other in ("L1", "none"):
        assert _stat(rows, condition=f"BIMT - {other}", metric="perf_mean", statistic="welch_p") > 0.5
    means = {"fn_wiring_length": (47_600, 62_400, 95_700), "fn_n_active_connections": (79_000, 93_800, 143_500),
             "perf_mean": (0.83, 0.82, 0.83)}
    for metric, values in means.items():
        for cond, value in zip(("BIMT", "L1", "none"), values):
            got = _stat(rows, condition=cond, metric=metric, statistic="mean")
            assert got == pytest.approx(value, rel=0.004 if value > 1 else 0, abs=0 if value > 1 else 0.005)
    w = dict(metric="fn_w_distance_mean_abs")
    for cond in ("BIMT", "L1", "none"):
        assert math.isnan(_stat(rows, condition=cond, statistic="second_peak_distance", **w))
    assert _stat(rows, condition="BIMT", statistic="nearest", **w) > _stat(rows, condition="BIMT", statistic="median", **w)


def test_readme_claims_on_the_factors_hold_in_the_ledger(tmp_path):
    """results/liu/README.md: twice the training puts 2 of 3 seeds below the 5th percentile
    (Fisher p 0.0033); lambda x 10 after a quarter is sparser, not more modular; slower swaps
    are less modular."""
    rows = _shipped(tmp_path, "factors")
    base = "BIMT, train.batches=10000, regularisers[0].schedule=[], growth.events[0].every={}"
    shipped, slow = base.format(100), base.format(500)
    longer = "BIMT, train.batches=20000, regularisers[0].schedule=[], growth.events[0].every=100"
    ramp = "BIMT, train.batches=10000, regularisers[0].schedule=[[0.25,10.0]], growth.events[0].every=100"
    iso = dict(metric="fn_isolated_fraction")
    assert _stat(rows, condition=longer, statistic="n_below", **iso) == 2
    assert _stat(rows, condition=longer, statistic="fisher_p", **iso) == pytest.approx(0.0033, abs=5e-5)
    assert _stat(rows, condition=ramp, statistic="n_below", **iso) == 0
    assert _stat(rows, condition=ramp, statistic="fisher_p", **iso) > _stat(rows, condition=shipped, statistic="fisher_p", **iso)
    active = dict(metric="fn_n_active_neurons", statistic="mean")
    assert _stat(rows, condition=ramp, **active) < _stat(rows, condition=shipped, **active) - 100
    assert _stat(rows, condition=slow, statistic="fisher_p", **iso) > _stat(rows, condition=shipped, statistic="fisher_p", **iso)


def test_readme_claims_on_modcog_hold_in_the_ledger(tmp_path):
    """README.md and results/liu/README.md: Appendix B, 3 seeds per condition on 82 tasks."""
    rows = _shipped(tmp_path, "modcog")
    iso = dict(metric="fn_isolated_fraction")
    claims = {"BIMT": (2, 0.0085), "L1": (0, 0.65), "none": (0, 0.4)}
    for cond, (below, fisher) in claims.items():
        assert _stat(rows, condition=cond, statistic="n", **iso) == 3
        assert _stat(rows, condition=cond, statistic="n_below", **iso) == below
        assert _stat(rows, condition=cond, statistic="fisher_p", **iso) == pytest.approx(fisher, abs=5e-3 if fisher > 0.1 else 5e-5)
        assert _stat(rows, condition=cond, metric="perf_mean", statistic="mean") == pytest.approx(0.41, abs=0.025)
    assert _stat(rows, condition="BIMT", statistic="median_percentile", **iso) == pytest.approx(3.8, abs=0.05)


def test_readme_claims_on_the_pareto_fronts_hold_in_the_ledger(tmp_path):
    """README.md and results/liu/README.md: Fig. 1g-h, 11 points x 3 seeds; BIMT shorter-wired
    than L1 at every lambda, the same error up to 3e-5; its fronts beat 2 of L1's 5 points."""
    rows = _shipped(tmp_path, "pareto")
    lambdas = (1e-6, 3e-6, 1e-5, 3e-5, 1e-4)
    for method in ("BIMT", "L1"):
        for lam in lambdas:
            assert _stat(rows, method=method, strength=f"{lam:.6g}", metric="error", statistic="n") == 3
    assert _stat(rows, method="none", strength="0", metric="error", statistic="n") == 3
    for lam in lambdas:
        where = dict(method="BIMT-L1", strength=f"{lam:.6g}")
        assert _stat(rows, metric="fn_wiring_length", statistic="diff", **where) < 0
        assert 0.0002 < _stat(rows, metric="fn_wiring_length", statistic="welch_p", **where) < 0.01
        if lam <= 3e-5:
            assert _stat(rows, metric="error", statistic="welch_p", **where) >= 0.74
    top = dict(method="BIMT-L1", strength="0.0001")
    assert _stat(rows, metric="error", statistic="welch_p", **top) == pytest.approx(0.022, abs=5e-4)
    assert _stat(rows, metric="fn_n_active_neurons", statistic="welch_p", **top) == pytest.approx(0.0016, abs=5e-5)
    for method, neurons, error in (("BIMT", 149.3, 0.374), ("L1", 186.7, 0.310)):
        where = dict(method=method, strength="0.0001", statistic="mean")
        assert _stat(rows, metric="fn_n_active_neurons", **where) == pytest.approx(neurons, abs=0.05)
        assert _stat(rows, metric="error", **where) == pytest.approx(error, abs=5e-4)
    for metric in ("fn_n_active_neurons", "fn_wiring_length"):
        assert _stat(rows, method="BIMT over L1", metric=metric, statistic="dominated") == 2
        assert _stat(rows, method="L1 over BIMT", metric=metric, statistic="dominated") == 0
        assert _stat(rows, method="BIMT over none", metric=metric, statistic="dominated") == 1
    assert _stat(rows, method="L1 over none", metric="fn_n_active_neurons", statistic="dominated") == 0
    assert _stat(rows, method="L1 over none", metric="fn_wiring_length", statistic="dominated") == 1
    active = [_stat(rows, method=m, strength=f"{lam:.6g}", metric="fn_n_active_neurons", statistic="mean")
              for m in ("BIMT", "L1") for lam in lambdas]
    assert 149 <= min(active) and max(active) <= 387
