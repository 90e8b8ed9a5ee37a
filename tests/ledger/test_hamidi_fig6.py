"""The Fig. 6 builder (Hamidi et al.): conditions read from the specs, N_solved over epochs
and its table, from records of real tiny chain runs."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pytest

from growsim.cli import main
from growsim.ledger import add, build, load
from growsim.ledger.figures.hamidi import REFERENCE, condition, fig6_panels, mean_training_loss

ROOT = Path(__file__).parents[2]
CHAIN = ROOT / "tests" / "data" / "tiny_chain.yaml"
LEDGER = """figure: hamidi_fig6
options: {batches_per_epoch: 5}
protocols:
  tiny:
    description: tiny chain runs
    require: {train.batches: 30}
"""
CONDITIONS = {
    "fully": [],
    "frozen_rec": ["growth.events[0].freeze=recurrent_after_first", "growth.events[0].freeze_also=[input, bias, tau]"],
    "fresh_ff": ["growth.events[0].copy_feedforward=false"],
}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    paths = []
    for name, overrides in CONDITIONS.items():
        for seed in (0, 1, 2):
            out = runs / f"{name}_{seed}.h5"
            args = ["run", str(CHAIN), "--out", str(out), "-q", "--set", f"seed={seed}",
                    "--set", "task.criterion.newest=0.6", "--set", "task.criterion.mean=0.6"]
            for o in overrides:
                args += ["--set", o]
            assert main(args) == 0
            paths.append(out)
    folder = tmp_path_factory.mktemp("fig6")
    (folder / "ledger.yaml").write_text(LEDGER)
    add(folder, paths, "tiny")
    build(folder)
    return folder


def test_conditions_come_from_the_duplicate_module_event(ledger):
    found = sorted({condition(r) for r in load(ledger).records})
    assert found == sorted([REFERENCE, "recurrent frozen, rec T ff T", "fully trained, rec T ff F"])
    assert condition({"spec": {"growth": {"events": [{"op": "add_readout"}]}}}) == "no duplication"


def test_each_module_size_gets_a_freezing_and_a_duplication_panel_beside_the_reference():
    frozen, dup = "recurrent frozen, rec T ff T", "fully trained, rec F ff T"
    groups = {(5, REFERENCE), (5, frozen), (5, dup), (5, "fully trained, rec T ff F"), (10, REFERENCE), (10, frozen),
              (20, REFERENCE), (30, dup)}
    assert fig6_panels(groups) == [
        ("6a, weight freezing: modules of 5", 5, [REFERENCE, frozen]),
        ("6a, weight freezing: modules of 10", 10, [REFERENCE, frozen]),
        ("6a, weight freezing: modules of 20", 20, [REFERENCE]),  # the reference alone: still drawn
        ("6b, weight duplication: modules of 5", 5, [REFERENCE, dup, "fully trained, rec T ff F"]),
        ("6b, weight duplication: modules of 30", 30, [dup]),  # no reference at this size
    ]


def test_the_mean_training_loss_is_the_mean_of_the_epochs_means_without_the_empty_start():
    assert mean_training_loss({"series": {"train_loss": [None, 1.0, 3.0, float("nan"), 5.0]}}) == 3.0
    assert math.isnan(mean_training_loss({"series": {"train_loss": [None]}}))


def test_the_table_holds_each_conditions_final_n_solved_and_its_tests(ledger):
    records = load(ledger).records
    rows = list(csv.DictReader(open(ledger / "summary.csv")))

    def stat(cond, statistic):
        (row,) = [r for r in rows if (r["condition"], r["metric"], r["statistic"]) == (cond, "n_solved", statistic)]
        return float(row["value"])

    for cond in {condition(r) for r in records}:
        finals = [r["final"]["n_solved"] for r in records if condition(r) == cond]
        assert stat(cond, "n") == 3
        assert stat(cond, "mean") == pytest.approx(statistics.mean(finals), abs=1e-5)
        if len(set(finals)) > 1:
            assert stat(cond, "sem") == pytest.approx(statistics.stdev(finals) / 3**0.5, abs=1e-5)
    ref = [r["final"]["n_solved"] for r in records if condition(r) == REFERENCE]
    frozen = [r["final"]["n_solved"] for r in records if condition(r) == "recurrent frozen, rec T ff T"]
    assert stat(f"recurrent frozen, rec T ff T - {REFERENCE}", "diff") == pytest.approx(
        statistics.mean(frozen) - statistics.mean(ref), abs=1e-5)
    for cond in {condition(r) for r in records}:  # the training-loss table, by hand from each record's series
        by_hand = [statistics.mean(v for v in r["series"]["train_loss"] if v is not None) for r in records
                   if condition(r) == cond]
        (row,) = [r for r in rows if (r["condition"], r["metric"], r["statistic"]) == (cond, "train_loss_mean", "mean")]
        assert float(row["value"]) == pytest.approx(statistics.mean(by_hand), rel=1e-5)
    text = (ledger / "summary.md").read_text()
    assert "| 4 | fully trained, rec T ff T | 3 | 0, 1, 2 |" in text
    assert "### Training loss, mean over the epochs" in text
    assert (ledger / "figures" / "tiny_fig6.png").stat().st_size > 10_000


def _shipped_stat(size: int, cond: str, metric: str, statistic: str) -> float:
    """One value of the shipped results/hamidi/fig6/summary.csv, protocol `full`."""
    (row,) = [r for r in csv.DictReader(open(ROOT / "results" / "hamidi" / "fig6" / "summary.csv"))
              if (r["protocol"], r["module_size"], r["condition"], r["metric"], r["statistic"])
              == ("full", str(size), cond, metric, statistic)]
    return float(row["value"])


def test_readme_claims_on_fig6a_seeds_0_to_2_hold_in_the_ledger():
    """results/hamidi/README.md, 'Fig. 6a, seeds 0 to 2 of the frozen conditions': N_solved
    over epochs of each counted run, from the shipped records."""
    import json

    from growsim.ledger.figures.hamidi import module_size

    records = [json.load(open(p)) for p in sorted((ROOT / "results" / "hamidi" / "fig6" / "records" / "full").glob("*.json"))]
    runs = {}
    for r in records:
        solved = [int(v) for v in r["series"]["n_solved"]]
        assert len(solved) == 61  # 60 epochs and the start
        runs.setdefault((condition(r), module_size(r)), {})[r["run"]["seed"]] = solved

    def last_rise(solved):
        return max(i for i in range(1, len(solved)) if solved[i] > solved[i - 1])

    def in_pace(solved):  # the N_solved up to which it solved one level per epoch
        return max(n for i, n in enumerate(solved) if n == i + 1)

    for size, counted in ((5, [0, 1, 2]), (10, [0, 1, 2])):
        fully = runs[("fully trained, rec T ff T", size)]
        assert sorted(fully) == counted and all(s[-1] == 61 for s in fully.values())
    frozen_ff = {size: runs[("feed-forward frozen, rec T ff T", size)] for size in (5, 10)}
    frozen_rec = {size: runs[("recurrent frozen, rec T ff T", size)] for size in (5, 10)}
    seeds = (0, 1, 2)
    assert all(sorted(c) == list(seeds) for c in (*frozen_ff.values(), *frozen_rec.values()))
    assert [[frozen_ff[s][seed][-1] for seed in seeds] for s in (5, 10)] == [[4, 3, 4], [5, 7, 4]]
    assert max(last_rise(frozen_ff[s][seed]) for s in (5, 10) for seed in seeds) == 20
    assert [frozen_rec[5][seed][-1] for seed in seeds] == [21, 13, 8]
    assert max(last_rise(frozen_rec[5][seed]) for seed in seeds) == 27
    assert [frozen_rec[10][seed][-1] for seed in seeds] == [60, 6, 40]
    assert in_pace(frozen_rec[10][0]) == 49 and last_rise(frozen_rec[10][1]) == 5
    assert frozen_rec[10][2][3:25] == [4] * 22 and frozen_rec[10][2][24:] == list(range(4, 41))  # stalled, then a level an epoch
    below = [frozen_ff[s][seed][-1] < frozen_rec[s][seed][-1] for s in (5, 10) for seed in seeds]
    assert below == [True, True, True, True, False, True]
    def stat(size, cond, statistic):
        return _shipped_stat(size, cond, "n_solved", statistic)

    means = [round(stat(s, f"{c} frozen, rec T ff T", "mean"), 1) for c in ("feed-forward", "recurrent") for s in (5, 10)]
    assert means == [3.7, 5.3, 14.0, 35.3]
    assert [round(stat(s, "recurrent frozen, rec T ff T", "sem"), 1) for s in (5, 10)] == [3.8, 15.8]
    welch = [stat(s, f"{c} frozen, rec T ff T - {REFERENCE}", "welch_p") for c, s in
             (("feed-forward", 5), ("feed-forward", 10), ("recurrent", 10))]
    assert [float(f"{p:.2g}") for p in welch] == [3.4e-05, 2.5e-04, 0.24]


def test_readme_claims_on_fig6b_hold_in_the_ledger():
    """results/hamidi/README.md, 'Fig. 6b, seeds 0 to 2 of the duplication conditions':
    N_solved and the training loss of each counted duplication run, against the reference's
    networks."""
    import json

    from growsim.ledger.figures.hamidi import module_size

    records = [json.load(open(p)) for p in sorted((ROOT / "results" / "hamidi" / "fig6" / "records" / "full").glob("*.json"))]
    runs = {(condition(r), r["run"]["seed"]): r for r in records if module_size(r) == 5 and condition(r).startswith("fully")}
    duplication = ("fully trained, rec F ff T", "fully trained, rec F ff F", "fully trained, rec T ff F")
    seeds = (0, 1, 2)
    assert sorted((c, seed) for c, seed in runs if c in duplication) == sorted((c, seed) for c in duplication for seed in seeds)
    behind = ("fully trained, rec F ff T", 1)
    assert all([int(v) for v in r["series"]["n_solved"]] == list(range(1, 62))
               for key, r in runs.items() if key != behind)  # one level an epoch
    assert [int(v) for v in runs[behind]["series"]["n_solved"]] == [1, 2, 3, 3, 3] + list(range(4, 60))
    loss = {c: [round(mean_training_loss(runs[(c, seed)]), 4) for seed in seeds] for c in duplication}
    assert loss == {"fully trained, rec F ff T": [0.0300, 0.0302, 0.0193], "fully trained, rec F ff F": [0.0397, 0.1039, 0.0567],
                    "fully trained, rec T ff F": [0.0706, 0.0752, 0.0419]}
    reference = [runs[(REFERENCE, seed)]["series"]["train_loss"] for seed in seeds]
    reference_means = [mean_training_loss(runs[(REFERENCE, seed)]) for seed in seeds]
    assert [round(m, 4) for m in reference_means] == [0.0345, 0.0291, 0.0148]
    assert round(statistics.mean(reference_means), 4) == 0.0261
    means = {c: statistics.mean(mean_training_loss(runs[(c, seed)]) for seed in seeds) for c in duplication}
    assert {c: round(m, 4) for c, m in means.items()} == {
        "fully trained, rec F ff T": 0.0265, "fully trained, rec F ff F": 0.0668, "fully trained, rec T ff F": 0.0626}
    for c, ratios in (("fully trained, rec T ff F", [2.7, 2.9, 1.6]), ("fully trained, rec F ff F", [1.5, 4.0, 2.2])):
        assert [round(mean_training_loss(runs[(c, seed)]) / statistics.mean(reference_means), 1) for seed in seeds] == ratios
        assert min(mean_training_loss(runs[(c, seed)]) for seed in seeds) > max(reference_means)  # U 9 of 9
    def versus(c, statistic):
        return _shipped_stat(5, f"{c} - {REFERENCE}", "train_loss_mean", statistic)

    for c, welch in (("fully trained, rec F ff T", 0.96), ("fully trained, rec T ff F", 0.052), ("fully trained, rec F ff F", 0.16)):
        assert float(f"{versus(c, 'welch_p'):.2g}") == welch
    for c in ("fully trained, rec T ff F", "fully trained, rec F ff F"):
        assert (versus(c, "mwu_u"), versus(c, "mwu_p")) == (9, pytest.approx(0.1))

    def above_all_references(c, seed):
        series = runs[(c, seed)]["series"]["train_loss"]
        return [i for i in range(1, 61) if series[i] > max(ref[i] for ref in reference)]

    assert [len(above_all_references("fully trained, rec T ff F", seed)) for seed in seeds] == [58, 58, 55]
    assert [len(above_all_references("fully trained, rec F ff F", seed)) for seed in seeds] == [50, 58, 57]
    assert [len(above_all_references("fully trained, rec F ff T", seed)) for seed in seeds] == [6, 7, 2]
    assert all(runs[("fully trained, rec T ff F", seed)]["series"]["train_loss"][:3] == reference[seed][:3] for seed in seeds)
