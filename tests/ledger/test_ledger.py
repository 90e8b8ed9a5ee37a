"""The results ledger: records from real runs, counted once, redrawn from the records alone.

tests/data/ledger_wu_gu holds records of six real tiny runs (make.py remakes them).
"""

import csv
import json
import math
import shutil
import statistics
from pathlib import Path

import h5py
import pytest

from growsim.cli import main
from growsim.ledger import LedgerError, add, build, load, make_record, run_key
from growsim.ledger._record import MAX_SERIES_POINTS, subsample_rows

FIXTURE = Path(__file__).parents[1] / "data" / "ledger_wu_gu"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def ledger(tmp_path) -> Path:
    folder = tmp_path / "fig3"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("make.py"))
    return folder


def _final_q(folder: Path, growing: bool) -> list[float]:
    values = []
    for path in sorted((folder / "records").rglob("*.json")):
        r = json.loads(path.read_text())
        if bool(r["spec"]["growth"]["events"]) == growing:
            values.append(r["final"]["modularity_q"])
    return values


def test_fixture_ledger_loads(ledger):
    loaded = load(ledger)
    assert len(loaded.records) == 6
    assert {r["run"]["seed"] for r in loaded.records} == {0, 1, 2}
    for r in loaded.records:
        assert r["versions"]["growsim_source"]
        assert r["final"]["connections"] == 12
    assert len({run_key(r["spec"]) for r in loaded.records}) == 6  # six runs, six identities


def test_a_field_added_since_a_run_at_its_neutral_default_keeps_the_runs_identity(ledger):
    """A record from before train.lr_schedule and network.dale existed is the same run as
    one made now: its spec resolves again with those fields at their defaults."""
    record = load(ledger).records[0]
    spec = json.loads(json.dumps(record["spec"]))
    older = json.loads(json.dumps(spec))
    older["train"].pop("lr_schedule", None)
    older["network"].pop("dale", None)
    assert run_key(older) == run_key(spec)
    changed = json.loads(json.dumps(spec))
    changed["train"]["lr_schedule"] = {"kind": "cosine"}  # not neutral: another run
    assert run_key(changed) != run_key(spec)


def test_build_redraws_figures_and_statistics_from_the_records(ledger):
    out = build(ledger)
    names = {p.name for p in out.files}
    assert {"tiny_fig3a.png", "tiny_fig3b.png", "tiny_fig3c.png", "summary.md", "summary.csv"} <= names
    for p in out.files:
        assert p.stat().st_size > 500
    rows = list(csv.DictReader(open(ledger / "summary.csv")))

    def stat(group, metric, statistic):
        (row,) = [r for r in rows if r["protocol"] == "tiny" and r["rule"] == "distance" and r["group"] == group
                  and r["metric"] == metric and r["statistic"] == statistic]
        return float(row["value"])

    add_q, fix_q = _final_q(ledger, True), _final_q(ledger, False)
    assert len(add_q) == len(fix_q) == 3
    assert stat("add_conn", "modularity_q", "mean") == pytest.approx(statistics.mean(add_q), rel=1e-5)
    assert stat("fix_conn", "modularity_q", "sem") == pytest.approx(statistics.stdev(fix_q) / math.sqrt(3), rel=1e-5)
    va, vb = statistics.variance(add_q) / 3, statistics.variance(fix_q) / 3
    welch = (statistics.mean(add_q) - statistics.mean(fix_q)) / math.sqrt(va + vb)
    assert stat("add_conn-fix_conn", "modularity_q", "welch_t") == pytest.approx(welch, rel=1e-5)
    u = sum((a > b) + 0.5 * (a == b) for a in add_q for b in fix_q)
    assert stat("add_conn-fix_conn", "modularity_q", "mwu_u") == u
    text = (ledger / "summary.md").read_text()
    assert "## Protocol `tiny`" in text and "| distance | Q | 3 / 3 |" in text


def test_an_edited_record_does_not_load(ledger):
    path = sorted((ledger / "records" / "tiny").glob("*.json"))[0]
    record = json.loads(path.read_text())
    record["final"]["modularity_q"] += 0.1
    path.write_text(json.dumps(record))
    with pytest.raises(LedgerError, match="changed after growsim wrote it"):
        load(ledger)


def test_a_record_counted_twice_is_an_error(ledger):
    path = sorted((ledger / "records" / "tiny").glob("*.json"))[0]
    shutil.copy(path, path.with_name("copy.json"))
    with pytest.raises(LedgerError, match="counted twice"):
        load(ledger)


def test_a_record_under_another_protocols_folder_is_an_error(ledger):
    path = sorted((ledger / "records" / "tiny").glob("*.json"))[0]
    (ledger / "records" / "other").mkdir()
    path.rename(ledger / "records" / "other" / path.name)
    with pytest.raises(LedgerError, match="belongs in records/tiny"):
        load(ledger)


def test_adding_runs(tmp_path, small_runs):
    folder = tmp_path / "fresh"
    folder.mkdir()
    shutil.copy(FIXTURE / "ledger.yaml", folder)
    report = add(folder, [small_runs["tiny"]], "tiny")
    assert len(report.added) == 1 and report.added[0].stat().st_size < 20_000
    # The very same file again: an error, or skipped when asked.
    with pytest.raises(LedgerError, match="already counted"):
        add(folder, [small_runs["tiny"]], "tiny")
    assert add(folder, [small_runs["tiny"]], "tiny", skip_counted=True).skipped == [(small_runs["tiny"], "already counted")]
    # The same spec and seed run again (another file) is the same run: always an error.
    again = tmp_path / "again.h5"
    shutil.copy(small_runs["tiny"], again)
    with h5py.File(again, "a") as f:
        f.attrs["created"] = "another day"
    with pytest.raises(LedgerError, match="from another file"):
        add(folder, [again], "tiny", skip_counted=True)
    # Unfinished runs.
    with pytest.raises(LedgerError, match="only completed runs count"):
        add(folder, [small_runs["killed"]], "tiny")
    assert add(folder, [small_runs["killed"]], "tiny", skip_unfinished=True).skipped[0][1] == "not completed"
    assert len(load(folder).records) == 1
    # A file that calls itself a completed growsim run but holds no spec.
    fake = tmp_path / "fake.h5"
    with h5py.File(fake, "w") as f:
        f.attrs["format"], f.attrs["status"] = "growsim-run", "completed"
    with pytest.raises(LedgerError, match="no readable resolved spec"):
        add(folder, [fake], "tiny")


def test_records_of_another_ledger_count_as_growsim_wrote_them(tmp_path, ledger, small_runs):
    """A run counted in one ledger is counted in another from its record (the run file may be
    long gone): same protocol name, digest intact, once only; its run file then is the same run."""
    folder = tmp_path / "other"
    folder.mkdir()
    shutil.copy(FIXTURE / "ledger.yaml", folder)
    records = sorted((ledger / "records" / "tiny").glob("*.json"))
    report = add(folder, records[:2], "tiny")
    assert [p.read_text() for p in report.added] == [p.read_text() for p in records[:2]]
    assert len(load(folder).records) == 2
    assert add(folder, records[:1], "tiny", skip_counted=True).skipped == [(records[0], "already counted")]
    with pytest.raises(LedgerError, match="already counted"):
        add(folder, records[:1], "tiny")
    # The same run from its run file, when the record came first: one run, an error.
    fresh = [r for r in records if json.loads(r.read_text())["key"] == make_record(small_runs["tiny"], "tiny")["key"]]
    add(folder, fresh, "tiny", skip_counted=True)
    with pytest.raises(LedgerError, match="from another file"):
        add(folder, [small_runs["tiny"]], "tiny", skip_counted=True)
    # Another protocol's record, an edited record, and a file that is no record.
    (folder / "ledger.yaml").write_text((folder / "ledger.yaml").read_text() + "  other:\n    description: x\n")
    with pytest.raises(LedgerError, match="counted under protocol 'tiny' there, not 'other'"):
        add(folder, records[2:3], "other")
    edited = tmp_path / "edited.json"
    record = json.loads(records[3].read_text())
    record["final"]["modularity_q"] += 0.1
    edited.write_text(json.dumps(record))
    with pytest.raises(LedgerError, match="changed after growsim wrote it"):
        add(folder, [edited], "tiny")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(LedgerError, match="not a growsim record"):
        add(folder, [junk], "tiny")
    assert len(load(folder).records) == len({p.name for p in [*records[:2], *fresh]})


def test_the_fixture_run_is_the_same_run_as_a_fresh_one(small_runs, ledger):
    """tests/data/tiny.yaml at seed 0 as add_conn is already in the fixture, from another file."""
    with pytest.raises(LedgerError, match="already counted"):
        add(ledger, [small_runs["tiny"]], "tiny")


def test_protocol_requirements(tmp_path, small_runs):
    folder = tmp_path / "strict"
    folder.mkdir()
    (folder / "ledger.yaml").write_text(
        "figure: wu_gu_fig3\nprotocols:\n  long:\n    description: x\n    require: {train.batches: 500}\n"
        "    require_if_present: {'growth.events[0].every': 64, 'growth.events[3].every': 1}\n")
    with pytest.raises(LedgerError, match=r"train.batches is 40, the protocol requires 500; growth.events\[0\].every is 10"):
        add(folder, [small_runs["tiny"]], "long")
    with pytest.raises(LedgerError, match="not a protocol of"):
        add(folder, [small_runs["tiny"]], "short")
    assert not (folder / "records").exists()


def test_bad_ledger_files(tmp_path):
    with pytest.raises(LedgerError, match="no ledger.yaml"):
        load(tmp_path)
    (tmp_path / "ledger.yaml").write_text("figure: wu_gu_fig3\nprotocols: {}\nextra: 1\n")
    with pytest.raises(LedgerError, match="protocols"):
        load(tmp_path)
    (tmp_path / "ledger.yaml").write_text("figure: nope\nprotocols: {p: {description: x}}\n")
    with pytest.raises(LedgerError, match="not a figure builder"):
        build(tmp_path)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
    )
    (tmp_path / "ledger.yaml").write_text(bomb)
    with pytest.raises(LedgerError, match="expands to more than 100,000 values"):
        load(tmp_path)


def test_run_key_ignores_only_how_a_run_executed(small_runs):
    record = make_record(small_runs["tiny"], "tiny")
    spec = json.loads(json.dumps(record["spec"]))
    spec["train"]["threads"], spec["log"]["path"] = 7, "elsewhere.h5"
    assert run_key(spec) == record["key"]
    spec["seed"] = 1
    assert run_key(spec) != record["key"]


def test_series_are_subsampled_with_their_ends():
    assert list(subsample_rows(5)) == [0, 1, 2, 3, 4]
    rows = subsample_rows(10_000)
    assert len(rows) <= MAX_SERIES_POINTS and rows[0] == 0 and rows[-1] == 9_999


def test_cli(ledger, tmp_path, capsys):
    assert main(["ledger", "status", str(ledger)]) == 0
    assert "6 records, all valid" in capsys.readouterr().out
    assert main(["ledger", "build", str(ledger)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["ledger", "build", str(tmp_path / "nothing")]) == 2
    assert "no ledger.yaml" in capsys.readouterr().err
    # A folder of ledgers stands for each of them.
    paper = tmp_path / "paper"
    paper.mkdir()
    for name in ("a", "b"):
        shutil.copytree(ledger, paper / name)
        (paper / name / "summary.md").unlink(missing_ok=True)
    assert main(["ledger", "build", str(paper)]) == 0
    assert (paper / "a" / "summary.md").exists() and (paper / "b" / "summary.md").exists()


@pytest.mark.parametrize("folder", sorted(p.parent for p in (ROOT / "results").rglob("ledger.yaml")), ids=lambda p: p.parent.name + "/" + p.name)
def test_shipped_ledgers_are_valid_and_their_tables_are_redrawn_from_their_records(folder, tmp_path):
    """Every committed record loads (written by growsim, unchanged, counted once), and the
    committed summary.md is exactly what `growsim ledger build` makes of the records."""
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    build(copy)
    assert (copy / "summary.md").read_text() == (folder / "summary.md").read_text()


def test_fig2_builder_groups_by_size_and_number_of_tasks(tmp_path):
    folder = tmp_path / "fig2"
    shutil.copytree(FIXTURE.parent / "ledger_wu_gu_fig2", folder, ignore=shutil.ignore_patterns("make.py"))
    out = build(folder)
    assert {"tiny_fig2.png", "summary.md", "summary.csv"} <= {p.name for p in out.files}
    records = [json.loads(p.read_text()) for p in sorted((folder / "records").rglob("*.json"))]
    q = {}
    for r in records:
        q.setdefault((r["run"]["n_neurons"], len(r["tasks"])), []).append(r["final"]["modularity_q"])
    assert sorted(q) == [(9, 1), (9, 2), (16, 1), (16, 2)] and all(len(v) == 2 for v in q.values())
    rows = list(csv.DictReader(open(folder / "summary.csv")))
    (mean,) = [float(r["value"]) for r in rows if r["n_neurons"] == "9" and r["n_tasks"] == "2"
               and r["metric"] == "modularity_q" and r["statistic"] == "mean"]
    assert mean == pytest.approx(statistics.mean(q[(9, 2)]), rel=1e-5)
    # Spearman's rho of Q against the number of tasks over the 4 runs of 16 neurons, by hand
    # (average ranks for ties).
    from scipy.stats import rankdata

    xs = [1, 1, 2, 2]
    ys = q[(16, 1)] + q[(16, 2)]
    rx, ry = rankdata(xs), rankdata(ys)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    rho = sum((a - mx) * (b - my) for a, b in zip(rx, ry)) / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    (got,) = [float(r["value"]) for r in rows if r["n_neurons"] == "16" and r["statistic"] == "spearman_rho"]
    assert got == pytest.approx(rho, rel=1e-5)


def test_readme_claims_on_fig3_hold_in_the_ledger(tmp_path):
    """README.md and results/wu_gu/README.md state Fig. 3's reduced-protocol outcome; the
    committed records must give it."""
    copy = tmp_path / "fig3"
    shutil.copytree(ROOT / "results" / "wu_gu" / "fig3", copy)
    build(copy)
    rows = [r for r in csv.DictReader(open(copy / "summary.csv")) if r["protocol"] == "compressed80"]

    def stat(rule, group, metric, statistic):
        (row,) = [r for r in rows if (r["rule"], r["group"], r["metric"], r["statistic"]) == (rule, group, metric, statistic)]
        return float(row["value"])

    expected_diff = {"distance": 0.048, "random": 0.060, "mixture": 0.065}
    for rule, diff in expected_diff.items():
        for group in ("add_conn", "fix_conn"):
            assert stat(rule, group, "modularity_q", "n") == 10
        assert stat(rule, "add_conn-fix_conn", "modularity_q", "diff") == pytest.approx(diff, abs=5e-4)
        assert stat(rule, "add_conn-fix_conn", "modularity_q", "welch_p") < 1e-5
        for group in ("add_conn", "fix_conn"):  # Fig. 3C: no correlation has p < 0.16
            for test in ("pearson_p", "spearman_p"):
                assert stat(rule, group, "perf_mean~modularity_q", test) >= 0.16
    assert stat("distance", "add_conn-fix_conn", "perf_mean", "diff") == pytest.approx(0.027, abs=5e-4)
    assert stat("distance", "add_conn-fix_conn", "perf_mean", "welch_p") == pytest.approx(0.0025, abs=5e-5)


def test_readme_claims_on_fig3_full_protocol_hold_in_the_ledger(tmp_path):
    """results/wu_gu/README.md and README.md: the first full-protocol runs (distance wiring)."""
    copy = tmp_path / "fig3"
    shutil.copytree(ROOT / "results" / "wu_gu" / "fig3", copy)
    build(copy)
    rows = [r for r in csv.DictReader(open(copy / "summary.csv")) if r["protocol"] == "full"]

    def stat(group, metric, statistic):
        (row,) = [r for r in rows if (r["rule"], r["group"], r["metric"], r["statistic"]) == ("distance", group, metric, statistic)]
        return float(row["value"])

    assert (stat("add_conn", "modularity_q", "n"), stat("fix_conn", "modularity_q", "n")) == (5, 5)
    assert stat("add_conn", "modularity_q", "mean") == pytest.approx(0.487, abs=5e-4)
    assert stat("add_conn", "modularity_q", "sem") == pytest.approx(0.009, abs=5e-4)
    assert stat("fix_conn", "modularity_q", "mean") == pytest.approx(0.385, abs=5e-4)
    assert stat("fix_conn", "modularity_q", "sem") == pytest.approx(0.007, abs=5e-4)
    assert stat("add_conn-fix_conn", "modularity_q", "diff") == pytest.approx(0.101, abs=5e-4)
    assert stat("add_conn-fix_conn", "modularity_q", "welch_t") == pytest.approx(8.7, abs=0.05)
    assert stat("add_conn-fix_conn", "modularity_q", "welch_p") == pytest.approx(3e-5, abs=5e-6)
    assert stat("add_conn-fix_conn", "modularity_q", "mwu_u") == 25  # every add_conn run above every fix_conn run
    assert stat("add_conn-fix_conn", "modularity_q", "mwu_p") == pytest.approx(0.008, abs=5e-4)
    assert stat("add_conn", "perf_mean", "mean") == pytest.approx(0.864, abs=5e-4)
    assert stat("fix_conn", "perf_mean", "mean") == pytest.approx(0.871, abs=5e-4)
    assert stat("add_conn-fix_conn", "perf_mean", "welch_p") == pytest.approx(0.29, abs=5e-3)
    for group, r, p in (("add_conn", 0.63, 0.25), ("fix_conn", 0.55, 0.34)):  # no correlation across runs
        assert stat(group, "perf_mean~modularity_q", "pearson_r") == pytest.approx(r, abs=5e-3)
        assert stat(group, "perf_mean~modularity_q", "pearson_p") == pytest.approx(p, abs=5e-3)

    # random and mixture wiring, begun: the means over the seeds counted so far, and add_conn's
    # Q above fix_conn's in each seed
    def rule_stat(rule, group, metric, statistic):
        (row,) = [r for r in rows if (r["rule"], r["group"], r["metric"], r["statistic"]) == (rule, group, metric, statistic)]
        return float(row["value"])

    for rule, n, add, fix in (("random", 6, 0.367, 0.270), ("mixture", 6, 0.408, 0.304)):
        assert (rule_stat(rule, "add_conn", "modularity_q", "n"), rule_stat(rule, "fix_conn", "modularity_q", "n")) == (n, n)
        assert rule_stat(rule, "add_conn", "modularity_q", "mean") == pytest.approx(add, abs=5e-4)
        assert rule_stat(rule, "fix_conn", "modularity_q", "mean") == pytest.approx(fix, abs=5e-4)
        assert rule_stat(rule, "add_conn-fix_conn", "modularity_q", "mwu_u") == n * n  # every add_conn run above every fix_conn run
        assert rule_stat(rule, "add_conn-fix_conn", "modularity_q", "welch_p") == pytest.approx(2e-6, abs=5e-7)
    # performance: the same under mixture wiring; under random wiring add_conn below fix_conn on average (in 4 of 6 seeds)
    assert rule_stat("mixture", "add_conn-fix_conn", "perf_mean", "welch_p") == pytest.approx(0.27, abs=5e-3)
    assert rule_stat("mixture", "add_conn-fix_conn", "perf_mean", "mwu_u") == 11
    assert rule_stat("mixture", "fix_conn", "modularity_q", "sem") == pytest.approx(0.007, abs=5e-4)
    assert rule_stat("random", "add_conn", "perf_mean", "mean") == pytest.approx(0.863, abs=5e-4)
    assert rule_stat("random", "fix_conn", "perf_mean", "mean") == pytest.approx(0.877, abs=5e-4)
    assert rule_stat("random", "add_conn-fix_conn", "perf_mean", "welch_p") == pytest.approx(0.058, abs=5e-4)
    assert rule_stat("random", "add_conn-fix_conn", "perf_mean", "mwu_u") == 5
    perf = {}
    for path in (copy / "records" / "full").glob("*random*.json"):
        r = json.loads(path.read_text())
        perf[(r["run"]["seed"], r["spec"]["growth"]["initial_connections"] == 0)] = r["final"]["perf_mean"]
    below = [seed for seed, grows in perf if grows and perf[(seed, True)] < perf[(seed, False)]]
    assert len(perf) == 12 and sorted(below) == [0, 1, 2, 3]  # seeds 4 and 5: add_conn above
    assert (round(perf[(4, True)], 3), round(perf[(4, False)], 3)) == (0.877, 0.873)
    assert (round(perf[(5, True)], 3), round(perf[(5, False)], 3)) == (0.874, 0.861)
    mixture = {}
    for path in (copy / "records" / "full").glob("*mixture*.json"):
        r = json.loads(path.read_text())
        mixture[(r["run"]["seed"], r["spec"]["growth"]["initial_connections"] == 0)] = (r["final"]["perf_mean"], r["final"]["modularity_q"])
    # mixture seed 5: add_conn below fix_conn, and the highest fix_conn Q of the rule
    assert (round(mixture[(5, True)][0], 3), round(mixture[(5, False)][0], 3)) == (0.870, 0.883)
    assert round(mixture[(5, False)][1], 3) == 0.335 == round(max(q for (_, grows), (_, q) in mixture.items() if not grows), 3)
    # ... and along training, the mean over the seeds counted (results/wu_gu/README.md)
    along: dict[tuple[str, str], list[list[float]]] = {}
    for path in (copy / "records" / "full").glob("*.json"):
        r = json.loads(path.read_text())
        rule, steps = r["spec"]["wiring"]["rule"], r["series"]["step"]
        condition = "add_conn" if r["spec"]["growth"]["initial_connections"] == 0 else "fix_conn"
        at = [r["series"]["perf_mean"][steps.index(step)] for step in (10000, 20000, 30000, 40000)]
        along.setdefault((rule, condition), []).append([*at, r["final"]["perf_mean"]])
    expected = {
        ("random", "add_conn"): [0.524, 0.686, 0.798, 0.846, 0.863],
        ("random", "fix_conn"): [0.710, 0.804, 0.849, 0.865, 0.877],
        ("mixture", "add_conn"): [0.547, 0.708, 0.802, 0.845, 0.866],
        ("mixture", "fix_conn"): [0.707, 0.804, 0.835, 0.861, 0.874],
    }
    for key, means in expected.items():
        assert [statistics.mean(column) for column in zip(*along[key])] == pytest.approx(means, abs=5e-4), key
    q = {}
    for path in (copy / "records" / "full").glob("*.json"):
        r = json.loads(path.read_text())
        spec = r["spec"]
        condition = "add_conn" if spec["growth"]["initial_connections"] == 0 else "fix_conn"
        q[(spec["wiring"]["rule"], r["run"]["seed"], condition)] = r["final"]["modularity_q"]
    pairs = [(rule, seed) for rule, seed, c in q if c == "add_conn" and rule in ("random", "mixture")]
    assert len(pairs) == 12 and all(q[(*p, "add_conn")] > q[(*p, "fix_conn")] for p in pairs)


def test_readme_claims_on_fig2_hold_in_the_ledger(tmp_path):
    """results/wu_gu/README.md and README.md state Fig. 2's reduced-protocol outcome so far:
    performance rises with size at every K >= 3; Q rises with K at N = 64, 32 and 25 and
    shows no trend at 16."""
    copy = tmp_path / "fig2"
    shutil.copytree(ROOT / "results" / "wu_gu" / "fig2", copy)
    build(copy)
    rows = [r for r in csv.DictReader(open(copy / "summary.csv")) if r["protocol"] == "compressed"]

    def stat(n, k, metric, statistic):
        (row,) = [r for r in rows if (r["n_neurons"], r["n_tasks"], r["metric"], r["statistic"]) == (str(n), str(k), metric, statistic)]
        return float(row["value"])

    sizes = (16, 25, 32, 64)
    for k in (1, 3, 5, 10, 15, 20):
        counts = [stat(n, k, "perf_mean", "n") for n in sizes]
        assert counts == [5, 5, 5, 5]  # all 120 runs
    for k in (3, 5, 10, 15, 20):
        means = [stat(n, k, "perf_mean", "mean") for n in sizes]
        assert means == sorted(means) and len(set(means)) == 4, (k, means)
    for n, want in zip(sizes, (0.406, 0.495, 0.573, 0.743)):
        assert stat(n, 20, "perf_mean", "mean") == pytest.approx(want, abs=0.0006)
    for n, rho, p in ((64, 0.763, 9.31e-7), (32, 0.581, 0.000768), (25, 0.533, 0.00241), (16, 0.100, 0.598)):
        assert stat(n, "all", "modularity_q~n_tasks", "spearman_rho") == pytest.approx(rho, abs=5e-4)
        assert stat(n, "all", "modularity_q~n_tasks", "spearman_p") == pytest.approx(p, rel=0.005)


def test_a_run_without_a_warm_start_keeps_the_key_it_had_before_init_from_existed(ledger):
    """init_from (null) is a field newer than the shipped records: their keys still match."""
    record = load(ledger).records[0]
    spec = json.loads(json.dumps(record["spec"]))
    spec.pop("init_from", None)
    with_field = {**spec, "init_from": None}
    assert run_key(with_field) == run_key(spec)
    from growsim.ledger._record import check_record

    shipped = sorted((ROOT / "results" / "wu_gu").glob("*/records/*/*.json"))
    records = {path: json.loads(path.read_text()) for path in shipped}
    # most were written before init_from existed; later ones carry init_from: null
    assert sum("init_from" not in r["spec"] for r in records.values()) > 100
    for path, r in records.items():  # either way their keys still match their specs
        assert r["spec"].get("init_from") is None and check_record(r, str(path)) is r
    warm = {**spec, "init_from": {"run": "a.h5", "step": "final", "heads": "solved"}}
    assert run_key(warm) != run_key(spec)
