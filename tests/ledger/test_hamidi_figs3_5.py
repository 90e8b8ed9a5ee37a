"""The Fig. 3, 4 and 5 builders (Hamidi et al.): records that carry each run's stored
analyses, from real tiny chain runs analysed as `growsim analyze` does; their tables
checked against values computed again from the run files."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import statistics
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

from growsim.analyses import robustness, write_analysis
from growsim.cli import main
from growsim.ledger import LedgerError, add, build, load
from growsim.ledger.figures.hamidi_analyses import common_eps, kept_area, mean_conservation, solver_module
from growsim.reader import open_run

ROOT = Path(__file__).parents[2]
CHAIN = ROOT / "tests" / "data" / "tiny_chain.yaml"
NON_MODULAR = ["--set", "growth.events=[{op: add_readout, when: level_solved}]"]
THRESHOLD = 0.55  # the tiny networks reach 0.5 to 0.7: a level above it counts as solved
EPS = [0.0, 0.25, 0.5]
# Seeds 1 and 2 grow 4 modules of 4 in 60 batches at a criterion of 0.55 (1 s each).
RUNS = {(arch, seed): extra for arch, extra in (("modular", []), ("non-modular", NON_MODULAR)) for seed in (1, 2)}


def _ledger_yaml(figure: str) -> str:
    return (f"figure: {figure}\noptions: {{pairs: [[4, 4]]}}\nprotocols:\n"
            "  tiny:\n    description: tiny chain runs\n    require: {train.batches: 60}\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[tuple[str, int], Path]:
    """The four runs, each with the analyses the builders need (about 20 s in all)."""
    folder = tmp_path_factory.mktemp("runs")
    out = {}
    for (arch, seed), extra in RUNS.items():
        path = folder / f"{arch}_{seed}.h5"
        assert main(["run", str(CHAIN), "--out", str(path), "-q", "--set", f"seed={seed}", "--set", "train.batches=60",
                     "--set", "task.criterion.newest=0.55", "--set", "task.criterion.mean=0.55", *extra]) == 0
        # robustness at a threshold the tiny networks pass (the command line keeps the paper's 0.9)
        write_analysis(path, "robustness", robustness(open_run(path), eps=EPS, draws=2, trials=64, threshold=THRESHOLD))
        assert main(["analyze", "timescales_at_solves", str(path), "--steps", "400", "--max-lag", "10",
                     "--burn-in", "20"]) == 0
        if arch == "modular":
            assert main(["analyze", "weight_conservation", str(path)]) == 0
        if (arch, seed) == ("modular", 1):
            _stored_earlier_with_a_neuron_at_the_bound(path)
        out[(arch, seed)] = path
    return out


def _stored_earlier_with_a_neuron_at_the_bound(path: Path) -> None:
    """timescales_at_solves as stored before the module means left out the neurons at the
    fit's upper bound (no tau_unresolved_fraction), with one neuron of the module solving the
    last level at that bound, 1e4, as a neuron whose autocorrelation barely decays over the
    lags gets (the tiny runs have none), and the stored module mean left as it was: the
    ledger must take both of its numbers from the per-neuron taus."""
    n_start = open_run(path).spec["task"]["n_start"]
    with h5py.File(path, "r+") as f:
        g = f["analysis/timescales_at_solves"]
        del g["tau_unresolved_fraction"]
        tau = g["tau_effective"][...]
        tau[-1, int(g["n_solved"][-1]) - n_start, 0] = 1e4  # modular: module k solves level n_start + k
        g["tau_effective"][...] = tau


@pytest.fixture(scope="module")
def ledgers(runs, tmp_path_factory) -> dict[str, Path]:
    out = {}
    for fig in ("fig3", "fig4", "fig5"):
        folder = tmp_path_factory.mktemp(fig)
        (folder / "ledger.yaml").write_text(_ledger_yaml(f"hamidi_{fig}"))
        chosen = [p for (arch, _), p in runs.items() if fig != "fig5" or arch == "modular"]
        assert len(add(folder, chosen, "tiny").added) == len(chosen)
        build(folder)
        out[fig] = folder
    return out


def _stat(folder: Path):
    rows = list(csv.DictReader(open(folder / "summary.csv")))

    def stat(statistic: str, **where) -> float:
        (row,) = [r for r in rows if r["statistic"] == statistic and all(r[k] == _cell(v) for k, v in where.items())]
        return float(row["value"])

    return stat


def _cell(value) -> str:
    """A value as summary.csv writes it (floats to 6 significant digits)."""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _analysis(path: Path, name: str) -> dict[str, np.ndarray]:
    return open_run(path).analysis(name).data


def _by_arch(runs):
    return {arch: [p for (a, _), p in sorted(runs.items()) if a == arch] for arch in ("modular", "non-modular")}


# --- pure functions, by hand ---------------------------------------------------------------


def test_kept_area_is_the_mean_fraction_of_levels_kept_over_eps():
    assert kept_area([0, 0.5, 1], [4, 2, 0], 4) == pytest.approx(0.5)  # (0.75 + 0.25) / 2 over a range of 1
    # fractions 1, 1, 0.5 on steps of 0.1 and 0.2: (0.1 + 0.2 x 0.75) / 0.3
    assert kept_area([0, 0.1, 0.3], [2, 2, 1], 2) == pytest.approx(0.25 / 0.3)
    assert kept_area([0, 0.1], [3, 3], 3) == 1.0
    assert math.isnan(kept_area([0, 0.1], [0, 0], 0))  # nothing solved unperturbed
    assert math.isnan(kept_area([0.2], [1], 1))


def test_the_module_solving_a_level_is_the_one_its_head_reads():
    assert solver_module([2, 3, 4], [0, 1, 2], 3) == 1  # modular: a module per level
    assert solver_module([2, 3, 4], [0, 0, 0], 4) == 0  # non-modular: its one module
    with pytest.raises(ValueError, match="no readout head reads level 5"):
        solver_module([2, 3, 4], [0, 1, 2], 5)


def test_mean_conservation_compares_wff_and_wrec_over_the_same_module_pairs():
    record = {"analyses": {"weight_conservation": {"module": [1, 2, 3], "recurrent": [0.1, 0.2, 0.4],
                                                   "feedforward": [None, 0.6, 1.0]}}}
    ff, rec = mean_conservation(record)
    assert (ff, rec) == (pytest.approx(0.8), pytest.approx(0.3))  # m = 2 and 3; m = 1 has no W_ff


def test_common_eps_are_those_every_run_has():
    records = [{"analyses": {"robustness": {"eps": e}}} for e in ([0, 0.1, 0.2], [0.0, 0.2, 0.4])]
    assert common_eps(records) == [0.0, 0.2]


# --- records and what ledger add refuses ---------------------------------------------------


def test_records_carry_the_stored_analyses_in_kilobytes(ledgers, runs):
    for fig, folder in ledgers.items():
        ledger = load(folder)
        for record, path in zip(ledger.records, ledger.files):
            assert path.stat().st_size < 20_000
            assert record["analyses"]
    (record,) = [r for r in load(ledgers["fig3"]).records if r["run"]["file"] == runs[("modular", 1)].name]
    stored = _analysis(runs[("modular", 1)], "robustness")
    rob = record["analyses"]["robustness"]
    assert rob["eps"] == EPS and rob["threshold"] == THRESHOLD and rob["draws"] == 2
    i = list(stored["what"]).index("tau")
    assert rob["targets"]["tau"]["n_solved_above"] == stored["n_solved_above"][i].tolist()
    assert rob["n_solved_unperturbed"] == int((stored["accuracy_unperturbed"] > THRESHOLD).sum())
    assert set(rob["targets"]) == {"connections", "tau"}  # only what Fig. 3 draws


def test_a_run_without_the_analysis_is_refused_naming_the_command(runs, tmp_path, capsys):
    bare = tmp_path / "bare.h5"
    assert main(["run", str(CHAIN), "--out", str(bare), "-q", "--set", "seed=1", "--set", "train.batches=60",
                 "--set", "task.criterion.newest=0.55", "--set", "task.criterion.mean=0.55"]) == 0
    for fig, command in (("fig3", "growsim analyze robustness"), ("fig4", "growsim analyze timescales_at_solves"),
                         ("fig5", "growsim analyze robustness")):
        folder = tmp_path / fig
        folder.mkdir()
        (folder / "ledger.yaml").write_text(_ledger_yaml(f"hamidi_{fig}"))
        with pytest.raises(LedgerError, match=f"{command} {bare}"):
            add(folder, [runs[("modular", 2)], bare], "tiny")
        assert not (folder / "records").exists()  # nothing written unless every run can be recorded
        assert main(["ledger", "add", str(folder), str(bare), str(runs[("modular", 2)]), "--protocol", "tiny",
                     "--skip-unanalysed"]) == 0
        assert f"recorded 1 run in {folder} under tiny, skipped 1 not analysed ({command} RUN)" in capsys.readouterr().out
    with pytest.raises(LedgerError, match="Fig. 5 compares .* this run is non-modular"):
        add(tmp_path / "fig5", [runs[("non-modular", 1)]], "tiny")
    # A record of another ledger without the analyses does not count here.
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "ledger.yaml").write_text(_ledger_yaml("hamidi_fig6"))
    (record,) = add(plain, [runs[("modular", 1)]], "tiny").added
    with pytest.raises(LedgerError, match="needs the analyses robustness of each run, which this record does not carry"):
        add(tmp_path / "fig3", [record], "tiny")
    # ... and one that carries them does.
    (fig3,) = add(tmp_path / "fig3", [runs[("modular", 1)]], "tiny").added
    again = tmp_path / "again"
    shutil.copytree(tmp_path / "fig3", again, ignore=shutil.ignore_patterns("records"))
    assert len(add(again, [fig3], "tiny").added) == 1
    assert json.loads(fig3.read_text())["analyses"] == load(again).records[0]["analyses"]


# --- the tables, against the run files -------------------------------------------------------


def test_fig3_kept_fraction_and_its_tests_match_the_run_files(ledgers, runs):
    stat = _stat(ledgers["fig3"])
    kept: dict[tuple[str, str], list[float]] = {}
    for arch, paths in _by_arch(runs).items():
        for target in ("connections", "tau"):
            values, finals = [], []
            for path in paths:
                a = _analysis(path, "robustness")
                i = list(a["what"]).index(target)
                solved = a["n_solved_above"][i].mean(axis=1)
                base = (a["accuracy_unperturbed"] > THRESHOLD).sum()
                values.append(np.trapezoid(solved / base, a["eps"]) / (a["eps"][-1] - a["eps"][0]) if base else math.nan)
                finals.append(solved[-1])
            kept[(arch, target)] = values
            where = dict(target=target, group=arch, size=4)
            assert stat("mean", **where, eps=0.5, metric="n_solved") == pytest.approx(statistics.mean(finals), abs=1e-5)
            finite = [v for v in values if math.isfinite(v)]
            assert stat("n", **where, eps="", metric="kept") == len(finite)
            if finite:
                assert stat("mean", **where, eps="", metric="kept") == pytest.approx(statistics.mean(finite), abs=1e-5)
    for target in ("connections", "tau"):
        mod = [v for v in kept[("modular", target)] if math.isfinite(v)]
        non = [v for v in kept[("non-modular", target)] if math.isfinite(v)]
        where = dict(target=target, group="modular-non-modular", size="all/all", eps="", metric="kept")
        if mod and non:
            assert stat("diff", **where) == pytest.approx(statistics.mean(mod) - statistics.mean(non), abs=1e-5)
        if len(mod) >= 2 and len(non) >= 2 and statistics.pstdev(mod) + statistics.pstdev(non) > 0:
            assert stat("welch_p", **where) == pytest.approx(stats.ttest_ind(mod, non, equal_var=False).pvalue, abs=1e-5)
    assert (ledgers["fig3"] / "figures" / "tiny_fig3.png").stat().st_size > 10_000


def test_fig4_timescales_of_the_solving_module_match_the_run_files(ledgers, runs):
    """The effective tau is the mean over the solving module's neurons whose fitted tau is
    not at the fit's upper bound (1e4), and the fraction at it is the third quantity; both
    by hand from each run file's per-neuron taus."""
    stat = _stat(ledgers["fig4"])
    points: dict[str, dict[tuple[str, int], list[float]]] = {"tau_effective": {}, "tau_unresolved": {}}
    for arch, paths in _by_arch(runs).items():
        for path in paths:
            run = open_run(path)
            t = _analysis(path, "timescales_at_solves")
            n_start = run.spec["task"]["n_start"]
            for i, (step, n) in enumerate(zip(t["step"], t["n_solved"])):
                if n < n_start:
                    continue
                heads = run.weights(int(step)).extra["head_module"]
                module = int(heads[n - n_start])  # head k reads level n_start + k
                assert module == (n - n_start if arch == "modular" else 0)
                tau = [float(v) for v in t["tau_effective"][i, module] if math.isfinite(v)]
                resolved = [v for v in tau if abs(v - 1e4) > 10.0]
                points["tau_effective"].setdefault((arch, int(n)), []).append(
                    statistics.mean(resolved) if resolved else math.nan)
                points["tau_unresolved"].setdefault((arch, int(n)), []).append(
                    (len(tau) - len(resolved)) / len(tau) if tau else math.nan)
    assert len({n for _, n in points["tau_effective"]}) >= 2
    assert any(v > 0 for values in points["tau_unresolved"].values() for v in values)  # the neuron set at the bound
    for metric, by_point in points.items():
        for (arch, n), values in by_point.items():
            finite = [v for v in values if math.isfinite(v)]
            where = dict(group=arch, size=4, n_solved=n, metric=metric)
            assert stat("n", **where) == len(finite)
            if finite:
                assert stat("mean", **where) == pytest.approx(statistics.mean(finite), abs=1e-5)
            mod = [v for v in by_point.get(("modular", n), []) if math.isfinite(v)]
            non = [v for v in by_point.get(("non-modular", n), []) if math.isfinite(v)]
            if mod and non:
                where = dict(group="modular-non-modular", size="4/4", n_solved=n, metric=metric)
                assert stat("diff", **where) == pytest.approx(statistics.mean(mod) - statistics.mean(non), abs=1e-5)
        assert any(r["metric"] == f"{metric}~n_solved" for r in csv.DictReader(open(ledgers["fig4"] / "summary.csv")))
    summary = (ledgers["fig4"] / "summary.md").read_text()
    assert "fraction beyond the fitted lags: Spearman ρ (p)" in summary and "over the module's resolved neurons" in summary
    assert (ledgers["fig4"] / "figures" / "tiny_fig4.png").stat().st_size > 10_000


def test_fig5_feedforward_against_recurrent_matches_the_run_files(ledgers, runs):
    stat = _stat(ledgers["fig5"])
    paths = _by_arch(runs)["modular"]
    for k, e in enumerate(EPS):
        means = {}
        for target in ("feedforward", "recurrent"):
            per_net = []
            for path in paths:
                a = _analysis(path, "robustness")
                per_net.append(a["accuracy"][list(a["what"]).index(target), k].mean(axis=0).mean())
            means[target] = per_net
            assert stat("mean", size=4, eps=e, target=target, metric="accuracy_mean") == pytest.approx(
                statistics.mean(per_net), abs=1e-5)
        diff = [f - r for f, r in zip(means["feedforward"], means["recurrent"])]
        where = dict(size=4, eps=e, target="feedforward-recurrent", metric="accuracy_mean")
        assert stat("diff", **where) == pytest.approx(statistics.mean(diff), abs=1e-5)
        if statistics.pstdev(diff) > 0:
            assert stat("t_p", **where) == pytest.approx(
                stats.ttest_rel(means["feedforward"], means["recurrent"]).pvalue, abs=1e-5)
    ff, rec = [], []
    for path in paths:
        wc = _analysis(path, "weight_conservation")
        both = np.isfinite(wc["feedforward"])
        assert both.sum() >= 2  # 4 modules: pairs (1, 2) and (2, 3) of W_ff
        ff.append(wc["feedforward"][both].mean())
        rec.append(wc["recurrent"][both].mean())
    for target, values in (("feedforward", ff), ("recurrent", rec)):
        assert stat("mean", size=4, eps="", target=target, metric="variance_mean") == pytest.approx(
            statistics.mean(values), abs=1e-5)
    where = dict(size=4, eps="", target="feedforward-recurrent", metric="variance_mean")
    assert stat("t_p", **where) == pytest.approx(stats.ttest_rel(ff, rec).pvalue, abs=1e-5)
    assert (ledgers["fig5"] / "figures" / "tiny_fig5_m4.png").stat().st_size > 10_000


def test_which_analysis_group_is_read_and_an_analysed_file_is_a_new_file(runs, tmp_path):
    """The group named after the metric, else the only one that holds the targets; several
    without that name are refused. Analysing a counted run changes its file."""
    path = tmp_path / "run.h5"
    shutil.copyfile(runs[("modular", 1)], path)
    folder = tmp_path / "fig3"
    folder.mkdir()
    (folder / "ledger.yaml").write_text(_ledger_yaml("hamidi_fig3"))
    with h5py.File(path, "a") as f:
        f["analysis"].move("robustness", "rob_a")
    small = robustness(open_run(path), what="tau", eps=[0.0, 0.5], draws=1, trials=16, threshold=THRESHOLD)
    write_analysis(path, "rob_tau", small)  # holds tau only: not a candidate for Fig. 3
    (record,) = add(folder, [path], "tiny").added
    assert json.loads(record.read_text())["analyses"]["robustness"]["group"] == "rob_a"
    record.unlink()
    with h5py.File(path, "a") as f:
        f.copy(f["analysis/rob_a"], "analysis/rob_b")
    with pytest.raises(LedgerError, match=r"2 /analysis groups of robustness hold .*\(rob_a, rob_b\)"):
        add(folder, [path], "tiny")
    with h5py.File(path, "a") as f:
        f.copy(f["analysis/rob_b"], "analysis/robustness")
    (record,) = add(folder, [path], "tiny").added
    assert json.loads(record.read_text())["analyses"]["robustness"]["group"] == "robustness"
    write_analysis(path, "rob_tau", small)  # analysed again after it was counted: another file
    with pytest.raises(LedgerError, match="from another file"):
        add(folder, [path], "tiny", skip_counted=True)


def test_the_docs_list_what_each_analysis_builder_needs():
    from growsim.ledger.figures import builders, record_analyses

    text = (ROOT / "docs" / "results.md").read_text()
    table = text[text.index("### Figures drawn from stored analyses"):]
    table = table[table.index("| `figure:` |"):]
    table = table[:table.index("\n\n")]
    documented = {}
    for row in table.splitlines()[2:]:
        cells = row.split(" | ")
        documented[cells[0].strip("| `")] = set(re.findall(r"^`([a-z_]+)`|; `([a-z_]+)`", cells[2]))
    needing = {name: record_analyses(name).names for name in builders() if record_analyses(name)}
    assert set(documented) == set(needing) == {"hamidi_fig3", "hamidi_fig4", "hamidi_fig5"}
    for name, names in needing.items():
        assert {n for pair in documented[name] for n in pair if n} == set(names), name
    builders_table = text[text.index("## Figure builders"):text.index("### Figures drawn from stored analyses")]
    assert set(re.findall(r"^\| `([a-z0-9_]+)` \|", builders_table, flags=re.M)) == set(builders())
