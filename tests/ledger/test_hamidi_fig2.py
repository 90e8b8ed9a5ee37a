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
        # The exact p over every split of the pooled values (ties here: equal N_solved).
        exact = stats.permutation_test((mod, non), lambda x, y: stats.mannwhitneyu(x, y).statistic,
                                       permutation_type="independent", n_resamples=math.inf, alternative="two-sided")
        assert (stat(*group, "mwu_u"), stat(*group, "mwu_p")) == pytest.approx((u.statistic, exact.pvalue), abs=1e-5)
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


PER_NETWORK = ("| architecture | size | seed | parameters | N_solved | levels above 0.9 at the end | kept, connections "
               "| kept, tau | lowest perf_mean, epochs 1 to 60 | highest training loss, epoch mean |")


def _readme_table(header: str) -> list[list[str]]:
    """The rows of the table under ``header`` in results/hamidi/README.md, as cells."""
    lines = (ROOT / "results" / "hamidi" / "README.md").read_text().splitlines()
    assert header in lines, f"results/hamidi/README.md has no table {header!r}"
    rows = []
    for line in lines[lines.index(header) + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def value(rows: list[dict[str, str]], statistic: str = "mean", **where) -> float:
    """The one row of a summary.csv with this statistic and these columns' values."""
    (row,) = [r for r in rows if r["statistic"] == statistic and all(r[k] == str(v) for k, v in where.items())]
    return float(row["value"])


def _shipped_records(figure: str) -> list[dict]:
    import json

    return [json.load(open(p)) for p in sorted((ROOT / "results" / "hamidi" / figure / "records" / "full").glob("*.json"))]


def test_readme_per_network_table_is_every_counted_fig2_run():
    """results/hamidi/README.md's table of every network of Figs. 2 and 3, cell by cell from
    the records: a run counted and not in the table, or a number that is not the record's,
    fails."""
    from growsim.ledger.figures.hamidi_analyses import common_eps, kept_area, solved_over_eps

    fig3 = _shipped_records("fig3")
    assert sorted(r["key"] for r in fig3) == sorted(r["key"] for r in _shipped_records("fig2"))  # the same runs
    eps = common_eps(fig3)
    expected = []
    for r in fig3:
        robustness = r["analyses"]["robustness"]
        kept = [kept_area(eps, solved_over_eps(r, t, eps), robustness["n_solved_unperturbed"]) for t in ("connections", "tau")]
        perf = [v for v in r["series"]["perf_mean"][1:] if v is not None]
        loss = [v for v in r["series"]["train_loss"] if v is not None and math.isfinite(v)]
        expected.append([architecture(r), str(module_size(r)), str(r["run"]["seed"]), f"{int(r['final']['n_parameters']):,}",
                         str(int(r["final"]["n_solved"])), str(int(robustness["n_solved_unperturbed"])), f"{kept[0]:.3f}",
                         f"{kept[1]:.3f}", f"{min(perf):.3f}", f"{max(loss):.3g}"])
    assert len(perf) == 60 and len(eps) == 11
    order = lambda cells: (cells[0] != "modular", int(cells[1]), int(cells[2]))  # noqa: E731
    assert _readme_table(PER_NETWORK) == sorted(expected, key=order)


def test_readme_claims_on_figs_2_and_3_at_the_captions_counts_hold_in_the_ledgers():
    """results/hamidi/README.md, 'Figs. 2 and 3: three modular and four non-modular networks
    of each size': the numbers it quotes for Figs. 2 and 3 beyond the per-network table."""
    fig2 = _shipped("fig2")
    archs = [("modular", 5), ("modular", 10), ("modular", 15), ("modular", 20),
             ("non-modular", 20), ("non-modular", 54), ("non-modular", 91), ("non-modular", 128)]
    assert [value(fig2, "n", group=a, size=s, metric="n_solved") for a, s in archs] == [3] * 4 + [4] * 4  # the caption's
    per_seed = {}
    for r in _shipped_records("fig2"):
        per_seed.setdefault((architecture(r), module_size(r)), {})[r["run"]["seed"]] = int(r["final"]["n_solved"])
    assert all(per_seed[("modular", s)] == {0: 61, 1: 61, 2: 61} for s in (5, 10, 15, 20))
    assert [[per_seed[("non-modular", s)][seed] for seed in (0, 1, 2, 3)] for s in (20, 54, 91, 128)] == [
        [9, 9, 10, 9], [14, 14, 15, 15], [17, 17, 17, 17], [20, 17, 18, 20]]
    for pair, welch in (("5/20", 2.5e-07), ("10/54", 5.3e-07), ("15/91", None), ("20/128", 1.2e-05)):
        assert value(fig2, "mwu_u", group="modular-non-modular", size=pair, metric="n_solved") == 12
        assert value(fig2, "mwu_p", group="modular-non-modular", size=pair, metric="n_solved") == pytest.approx(2 / 35)
        p = value(fig2, "welch_p", group="modular-non-modular", size=pair, metric="n_solved")
        assert math.isnan(p) if welch is None else float(f"{p:.1e}") == welch
    finals = {}
    for r in _shipped_records("fig2"):
        finals.setdefault((architecture(r), module_size(r)), []).append(int(r["final"]["n_parameters"]))
    assert {k: (min(v), max(v)) for k, v in finals.items() if k in (("modular", 5), ("modular", 20))} == {
        ("modular", 5): (4595, 4595), ("modular", 20): (53720, 53720)}
    assert [(min(finals[("non-modular", s)]), max(finals[("non-modular", s)])) for s in (20, 54, 128)] == [
        (838, 880), (4618, 4728), (21154, 21928)]
    non_modular = [r for r in _shipped_records("fig2") if architecture(r) == "non-modular"]
    assert max(r["final"]["n_solved"] for r in non_modular) == 20

    # Training stability: from each record's epoch series.
    def worst(r):
        perf = [v for v in r["series"]["perf_mean"][1:] if v is not None]
        loss = [v for v in r["series"]["train_loss"] if v is not None and math.isfinite(v)]
        return min(perf), max(loss)

    modular = [worst(r) for r in _shipped_records("fig2") if architecture(r) == "modular"]
    assert all(p >= 0.9995 and loss < 0.14 for p, loss in modular)
    non = [worst(r) for r in non_modular]
    assert (round(min(p for p, _ in non), 3), round(max(p for p, _ in non), 3)) == (0.513, 0.866)
    assert round(min(loss for _, loss in non), 1) == 9.8 and f"{max(loss for _, loss in non):.1e}" == "1.1e+20"
    fig3 = {(architecture(r), module_size(r), r["run"]["seed"]): r for r in _shipped_records("fig3")}
    end = {k: (r["analyses"]["robustness"]["n_solved_unperturbed"], int(r["final"]["n_solved"])) for k, r in fig3.items()}
    assert [end[k] for k in (("non-modular", 91, 1), ("non-modular", 128, 1), ("non-modular", 128, 2),
                             ("non-modular", 20, 2), ("non-modular", 54, 0))] == [(2, 17), (10, 17), (8, 18), (5, 10), (9, 14)]
    assert round(fig3[("non-modular", 91, 1)]["final"]["perf_mean"], 3) == 0.707

    fig3_rows = _shipped("fig3")
    pairs = ((5, 20), (10, 54), (15, 91), (20, 128))
    for target, modular_kept, non_kept, over_all in (
            ("connections", (0.351, 0.499, 0.634, 0.790), (0.273, 0.359, 0.531, 0.558), (0.138, 0.067, 0.052)),
            ("tau", (0.435, 0.360, 0.396, 0.428), (0.394, 0.400, 0.410, 0.357), (0.015, 0.038, 0.71))):
        got_m = [value(fig3_rows, target=target, group="modular", size=m, metric="kept") for m, _ in pairs]
        got_n = [value(fig3_rows, target=target, group="non-modular", size=n, metric="kept") for _, n in pairs]
        assert got_m == pytest.approx(modular_kept, abs=5.1e-4) and got_n == pytest.approx(non_kept, abs=5.1e-4)
        where = dict(target=target, group="modular-non-modular", size="all/all", metric="kept")
        got = (value(fig3_rows, "diff", **where), value(fig3_rows, "diff_se", **where), value(fig3_rows, "welch_p", **where))
        assert got == pytest.approx(over_all, abs=5.1e-3)
    where = dict(target="connections", group="modular-non-modular", metric="kept")
    assert (value(fig3_rows, "mwu_u", size="all/all", **where), round(value(fig3_rows, "mwu_p", size="all/all", **where), 3)) == (136, 0.067)
    assert (value(fig3_rows, "mwu_u", size="20/128", **where), round(value(fig3_rows, "mwu_p", size="20/128", **where), 3)) == (12, 0.057)
    from growsim.ledger.figures.hamidi_analyses import common_eps, kept_area, solved_over_eps

    eps = common_eps(list(fig3.values()))
    def kept(target, arch, size, seed):
        r = fig3[(arch, size, seed)]
        return kept_area(eps, solved_over_eps(r, target, eps), r["analyses"]["robustness"]["n_solved_unperturbed"])

    def ahead(target):
        return {(m, seed): kept(target, "modular", m, seed) > kept(target, "non-modular", n, seed) for m, n in pairs for seed in (0, 1, 2)}

    connections = ahead("connections")
    assert sum(connections.values()) == 11 and not connections[(15, 1)]  # the exception: 15 against 91, seed 1
    assert round(kept("connections", "non-modular", 91, 1), 3) == 0.805
    assert sum(ahead("tau").values()) == 8
    assert [value(fig3_rows, target="tau", group="modular", size=m, metric="kept")
            < value(fig3_rows, target="tau", group="non-modular", size=n, metric="kept") for m, n in pairs] == [False, True, True, False]


def test_readme_claims_on_figs_4_and_5_hold_in_the_ledgers():
    """results/hamidi/README.md, the Fig. 4 and Fig. 5 paragraphs: the numbers they quote."""
    fig4 = _shipped("fig4")
    def tau(group, size, n, metric):
        return value(fig4, group=group, size=size, n_solved=n, metric=metric)

    assert all(value(fig4, "n", group=g, size=size, n_solved=2, metric="tau_trained") == 3
               for g, size in (("modular", 15), ("non-modular", 91)))  # three networks each
    assert round(tau("modular", 15, 2, "tau_trained"), 2) == 1.21
    trained = [tau("modular", 15, n, "tau_trained") for n in range(4, 62)]
    assert (round(min(trained), 2), round(max(trained), 2)) == (1.15, 1.17)
    per_network = {}
    for r in _shipped_records("fig4"):
        t = r["analyses"]["timescales_at_solves"]
        if architecture(r) == "modular":
            at = dict(zip(t["n_solved"], t["tau_trained"]))
            per_network[r["run"]["seed"]] = [round(at[n], 2) for n in range(4, 62)]
    assert [(min(per_network[seed]), max(per_network[seed])) for seed in (0, 1, 2)] == [(1.10, 1.12), (1.17, 1.21), (1.18, 1.20)]
    non = {n: tau("non-modular", 91, n, "tau_trained") for n in range(2, 18)}
    assert (round(non[2], 2), round(min(non.values()), 2), min(non, key=non.get), round(non[17], 2)) == (1.41, 1.16, 14, 1.26)
    for r in _shipped_records("fig4"):
        if architecture(r) == "non-modular":  # each rises again after N = 14
            t = dict(zip(r["analyses"]["timescales_at_solves"]["n_solved"], r["analyses"]["timescales_at_solves"]["tau_trained"]))
            assert t[17] > t[14] + 0.05
    trend = {(g, m): (value(fig4, "spearman_rho", group=g, size=s, n_solved="all", metric=f"{m}~n_solved"),
                      value(fig4, "spearman_p", group=g, size=s, n_solved="all", metric=f"{m}~n_solved"))
             for g, s in (("modular", 15), ("non-modular", 91)) for m in ("tau_trained", "tau_effective")}
    assert round(trend[("non-modular", "tau_trained")][0], 2) == -0.74
    assert (round(trend[("modular", "tau_effective")][0], 2), round(trend[("modular", "tau_effective")][1], 4)) == (-0.29, 0.0001)
    assert (round(trend[("non-modular", "tau_effective")][0], 2), round(trend[("non-modular", "tau_effective")][1], 2)) == (0.18, 0.23)
    slowest = {r["run"]["seed"]: round(max(v for v in r["analyses"]["timescales_at_solves"]["tau_effective"] if v is not None))
               for r in _shipped_records("fig4") if architecture(r) == "modular"}
    assert slowest == {0: 134, 1: 11, 2: 24}
    unresolved = {n: tau("modular", 15, n, "tau_unresolved") for n in range(2, 62)}
    assert round(max(unresolved.values()), 2) == 0.18
    beyond = {n for n, f in unresolved.items() if f > 0}
    assert set(range(15, 33)) <= beyond and max(beyond) < 61 and len(beyond - set(range(15, 33))) <= 7  # "a few before and after"

    fig5 = _shipped("fig5")
    def accuracy(target, eps):
        return value(fig5, size=15, eps=eps, target=target, metric="accuracy_mean")

    assert value(fig5, "n", size=15, eps=0.5, target="feedforward", metric="accuracy_mean") == 3
    assert (round(accuracy("feedforward", 0.5), 3), round(accuracy("recurrent", 0.5), 3)) == (0.746, 0.935)
    assert all(accuracy("feedforward", e) < accuracy("recurrent", e) for e in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5))
    rho = {t: value(fig5, "spearman_rho", size=15, eps=0.5, target=t, metric="accuracy~level") for t in ("feedforward", "recurrent")}
    assert (round(rho["feedforward"], 2), round(rho["recurrent"], 2)) == (-0.81, -0.71)
    from growsim.ledger.figures.hamidi_analyses import mean_conservation

    by_seed = {r["run"]["seed"]: mean_conservation(r) for r in _shipped_records("fig5")}
    assert [round(v, 3) for v in by_seed[0]] == [0.022, 0.018]
    assert [round(v, 4) for v in by_seed[1]] == [0.0077, 0.0082] and [round(v, 4) for v in by_seed[2]] == [0.0125, 0.0093]
    variance = {t: value(fig5, size=15, eps="", target=t, metric="variance_mean") for t in ("feedforward", "recurrent")}
    assert (round(variance["feedforward"], 3), round(variance["recurrent"], 3)) == (0.014, 0.012)
    paired = {k: value(fig5, k, size=15, eps="", target="feedforward-recurrent", metric="variance_mean") for k in ("t_p", "wilcoxon_p")}
    assert (round(paired["t_p"], 2), paired["wilcoxon_p"]) == (0.24, 0.5)
