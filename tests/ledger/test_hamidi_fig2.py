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


def _shipped(figure: str) -> list[dict[str, str]]:
    """The committed summary.csv of results/hamidi/<figure> (the shipped-ledger test checks that
    it is what the records give)."""
    import csv

    return [r for r in csv.DictReader(open(ROOT / "results" / "hamidi" / figure / "summary.csv")) if r["protocol"] == "full"]


def test_readme_claims_on_figs_2_to_5_seed_0_hold_in_the_ledgers():
    """results/hamidi/README.md, 'Figs. 2 to 5, seed 0 only': the numbers it quotes."""
    def value(rows, statistic="mean", **where):
        (row,) = [r for r in rows if r["statistic"] == statistic and all(r[k] == str(v) for k, v in where.items())]
        return float(row["value"])

    fig2 = _shipped("fig2")
    solved = {(a, s): value(fig2, group=a, size=s, metric="n_solved") for a, s in
              [("modular", 5), ("modular", 10), ("modular", 15), ("modular", 20),
               ("non-modular", 20), ("non-modular", 54), ("non-modular", 91), ("non-modular", 128)]}
    assert all(value(fig2, "n", group=a, size=s, metric="n_solved") == 1 for a, s in solved)  # one network each
    assert [solved[("modular", s)] for s in (5, 10, 15, 20)] == [61] * 4
    assert [solved[("non-modular", s)] for s in (20, 54, 91, 128)] == [9, 14, 17, 20]
    params = {(a, s): value(fig2, group=a, size=s, metric="n_parameters") for a, s in solved}
    assert (params[("modular", 5)], params[("non-modular", 20)]) == (4595, 838)
    assert (params[("modular", 20)], params[("non-modular", 128)]) == (53720, 21670)
    assert params[("non-modular", 54)] == 4618 and max(params[k] for k in params if k[0] == "non-modular") == 21670

    fig3 = _shipped("fig3")
    for target, modular, non_modular in (("connections", (0.316, 0.660, 0.596, 0.889), (0.279, 0.427, 0.456, 0.514)),
                                         ("tau", (0.334, 0.528, 0.387, 0.496), (0.419, 0.518, 0.335, 0.340))):
        got_m = [value(fig3, target=target, group="modular", size=s, metric="kept") for s in (5, 10, 15, 20)]
        got_n = [value(fig3, target=target, group="non-modular", size=s, metric="kept") for s in (20, 54, 91, 128)]
        assert got_m == pytest.approx(modular, abs=5.1e-4) and got_n == pytest.approx(non_modular, abs=5.1e-4)
        if target == "connections":  # modular above its partner at every pair
            assert all(m > n for m, n in zip(got_m, got_n))
        else:  # the non-modular network ahead only at the smallest pair
            assert [m < n for m, n in zip(got_m, got_n)] == [True, False, False, False]

    fig4 = _shipped("fig4")
    def tau(group, size, n, metric):
        return value(fig4, group=group, size=size, n_solved=n, metric=metric)

    assert tau("modular", 15, 2, "tau_trained") == pytest.approx(1.17, abs=5e-3)
    assert all(1.095 <= tau("modular", 15, n, "tau_trained") <= 1.125 for n in range(4, 62))
    non = {n: tau("non-modular", 91, n, "tau_trained") for n in range(2, 18)}
    assert (round(non[2], 2), round(min(non.values()), 2), round(non[17], 2)) == (1.43, 1.18, 1.28)
    assert min(non, key=non.get) == 14
    effective = [tau("modular", 15, n, "tau_effective") for n in range(2, 62)]
    assert round(max(effective)) == 134
    unresolved = {n: tau("modular", 15, n, "tau_unresolved") for n in range(2, 62)}
    assert round(max(unresolved.values()), 2) == 0.27
    assert {n for n, f in unresolved.items() if f > 0} <= set(range(10, 31)) | {55}

    fig5 = _shipped("fig5")
    def accuracy(target, eps):
        return value(fig5, size=15, eps=eps, target=target, metric="accuracy_mean")

    assert (round(accuracy("feedforward", 0.5), 3), round(accuracy("recurrent", 0.5), 3)) == (0.730, 0.935)
    assert all(accuracy("feedforward", e) < accuracy("recurrent", e) for e in (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5))
    rho = {t: value(fig5, "spearman_rho", size=15, eps=0.5, target=t, metric="accuracy~level") for t in ("feedforward", "recurrent")}
    assert (round(rho["feedforward"], 2), round(rho["recurrent"], 2)) == (-0.99, -0.90)
    variance = {t: value(fig5, size=15, eps="", target=t, metric="variance_mean") for t in ("feedforward", "recurrent")}
    assert (round(variance["feedforward"], 3), round(variance["recurrent"], 3)) == (0.022, 0.018)
