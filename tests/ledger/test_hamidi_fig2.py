"""The Fig. 2a/2b builder (Hamidi et al.): modular against non-modular networks by size,
N_solved and learnable parameters, from records of real tiny chain runs."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pytest

from growsim.cli import main
from growsim.ledger import add, build, load
from growsim.ledger.figures.hamidi import architecture, module_size, on_front
from growsim.reader import open_run

ROOT = Path(__file__).parents[2]
CHAIN = ROOT / "tests" / "data" / "tiny_chain.yaml"
# Modules of 4 and 6 against networks of 6 and 8: size 6 is in both architectures.
LEDGER = """figure: hamidi_fig2
options: {batches_per_epoch: 5, pairs: [[4, 6], [6, 8]]}
protocols:
  tiny:
    description: tiny chain runs
    require: {train.batches: 30}
"""
NON_MODULAR = ["--set", "growth.events=[{op: add_readout, when: level_solved}]"]
RUNS = {("modular", 4): [], ("modular", 6): [], ("non-modular", 6): NON_MODULAR, ("non-modular", 8): NON_MODULAR}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    runs = tmp_path_factory.mktemp("runs")
    paths = {}
    for (arch, size), extra in RUNS.items():
        for seed in (0, 1):
            out = runs / f"{arch}_{size}_{seed}.h5"
            args = ["run", str(CHAIN), "--out", str(out), "-q", "--set", f"seed={seed}", "--set", f"network.module_size={size}",
                    "--set", "task.criterion.newest=0.6", "--set", "task.criterion.mean=0.6", *extra]
            assert main(args) == 0
            paths[out.name] = out
    folder = tmp_path_factory.mktemp("fig2")
    (folder / "ledger.yaml").write_text(LEDGER)
    add(folder, list(paths.values()), "tiny")
    build(folder)
    return folder, paths


def _rows(folder: Path):
    rows = list(csv.DictReader(open(folder / "summary.csv")))

    def stat(group, size, metric, statistic):
        (row,) = [r for r in rows if (r["group"], r["size"], r["metric"], r["statistic"]) == (group, str(size), metric, statistic)]
        return float(row["value"])

    return stat


def test_each_architecture_and_size_holds_its_runs_n_solved_and_parameters(ledger):
    folder, paths = ledger
    records = load(folder).records
    stat = _rows(folder)
    # Modules of 6 and a network of 6 stay apart.
    assert sorted({(architecture(r), module_size(r)) for r in records}) == sorted(RUNS)
    for arch, size in RUNS:
        runs = [r for r in records if (architecture(r), module_size(r)) == (arch, size)]
        finals = [r["final"]["n_solved"] for r in runs]
        assert len(finals) == 2 and stat(arch, size, "n_solved", "n") == 2
        assert stat(arch, size, "n_solved", "mean") == pytest.approx(statistics.mean(finals), abs=1e-5)
        assert stat(arch, size, "n_solved", "sd") == pytest.approx(statistics.stdev(finals), abs=1e-5)
        assert stat(arch, size, "n_solved", "sem") == pytest.approx(statistics.stdev(finals) / math.sqrt(2), abs=1e-5)
        assert stat(arch, size, "epochs", "mean") == 6  # 30 batches of 5 an epoch
        # Parameters by hand: per module W_rec (M x M), W_in (one input), bias and tau; W_ff
        # (M x M) from the second module on; per head a Linear(M -> 2). The last row counts
        # the modules and heads grown before the last step.
        counted = []
        for r in runs:
            k = int(r["final"]["n_modules"])
            events = open_run(paths[r["run"]["file"]]).events()
            heads = 1 + int(((events["op"] == "add_readout") & (events["step"] < r["final"]["step"])).sum())
            if arch == "modular":
                assert heads == k
            else:
                assert k == 1
            counted.append(k * (size * size + 3 * size) + (k - 1) * size * size + heads * (2 * size + 2))
            assert r["final"]["n_parameters"] == counted[-1]
        assert stat(arch, size, "n_parameters", "mean") == pytest.approx(statistics.mean(counted))
    text = (folder / "summary.md").read_text()
    assert "| modular | 6 | 2 | 0, 1 | 6 |" in text and "| non-modular | 6 | 2 | 0, 1 | 6 |" in text
    for name in ("tiny_fig2a.png", "tiny_fig2b.png"):
        assert (folder / "figures" / name).stat().st_size > 10_000


def test_each_pair_of_sizes_is_tested_against_scipy(ledger):
    from scipy import stats

    folder, _ = ledger
    records = load(folder).records
    stat = _rows(folder)
    tested = []
    for a, b in ((4, 6), (6, 8)):
        mod = [r["final"]["n_solved"] for r in records if (architecture(r), module_size(r)) == ("modular", a)]
        non = [r["final"]["n_solved"] for r in records if (architecture(r), module_size(r)) == ("non-modular", b)]
        group = ("modular-non-modular", f"{a}/{b}", "n_solved")
        assert stat(*group, "diff") == pytest.approx(statistics.mean(mod) - statistics.mean(non), abs=1e-5)
        if statistics.pstdev(mod) + statistics.pstdev(non) == 0:  # no spread: no t, as scipy would say (NaN)
            assert math.isnan(stat(*group, "welch_p"))
        else:
            tested.append((a, b))
            assert stat(*group, "welch_p") == pytest.approx(stats.ttest_ind(mod, non, equal_var=False).pvalue, abs=1e-5)
        u = stats.mannwhitneyu(mod, non, alternative="two-sided")
        assert (stat(*group, "mwu_u"), stat(*group, "mwu_p")) == pytest.approx((u.statistic, u.pvalue), abs=1e-5)
    assert tested  # these seeds give at least one pair with a spread


def test_the_front_keeps_the_most_levels_for_the_fewest_parameters(ledger):
    assert on_front([(10, 1), (20, 3), (30, 2), (40, 5), (40, 4)]) == [True, True, False, True, False]
    assert on_front([(10, 2), (10, 2)]) == [True, True]  # ties beat neither
    assert on_front([(10, float("nan")), (20, 1)]) == [False, True]
    folder, _ = ledger
    stat = _rows(folder)
    for arch, sizes in (("modular", (4, 6)), ("non-modular", (6, 8))):
        points = [(stat(arch, s, "n_parameters", "mean"), stat(arch, s, "n_solved", "mean")) for s in sizes]
        assert [stat(arch, s, "n_solved~n_parameters", "on_front") for s in sizes] == on_front(points)
        assert stat(arch, sizes[0], "n_solved~n_parameters", "on_front") == 1  # the fewest parameters: nothing beats it


def test_architecture_is_the_one_compare_splits_by(ledger):
    from growsim.cli.compare import architecture as compare_architecture
    from growsim.reader import architecture as kind

    folder, paths = ledger
    for r in load(folder).records:
        assert architecture(r) == compare_architecture(str(paths[r["run"]["file"]]))
    assert kind("chain", {"growth": {"events": [{"op": "add_readout"}, {"op": "duplicate_module"}]}}) == "modular"
    assert kind("chain", {"growth": {"events": [{"op": "add_readout"}]}}) == "non-modular"
    assert kind("leaky_rnn", {}) == "leaky rnn"
