"""The Fig. 2c builder (Hamidi et al.): warm-started runs on N + K, modular against
non-modular, from records of real tiny runs."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest

from growsim.cli import main
from growsim.ledger import add, build, load
from growsim.ledger.figures.hamidi import architecture

ROOT = Path(__file__).parents[2]
CHAIN = ROOT / "tests" / "data" / "tiny_chain.yaml"
EASY = ["--set", "task.criterion.newest=0", "--set", "task.criterion.mean=0", "--set", "task.n_max=4"]
LEDGER = """figure: hamidi_fig2c
options: {n_trained: 4}
protocols:
  tiny:
    description: tiny warm-started runs
    require: {train.batches: 10}
"""


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    sources = {}
    for arch, extra in (("modular", []), ("non-modular", ["--set", "growth.events=[{op: add_readout, when: level_solved}]"])):
        out = runs / f"src_{arch}.h5"
        assert main(["run", str(CHAIN), "--out", str(out), "-q", *EASY, *extra]) == 0
        sources[arch] = (out, extra)
    warm = []
    for arch, (src, extra) in sources.items():
        heads = "solved" if arch == "modular" else "new"
        for k in (1, 2):
            for seed in (0, 1, 2):
                out = runs / f"warm_{arch}_{k}_{seed}.h5"
                args = ["run", str(CHAIN), "--out", str(out), "-q", *extra, "--set", f"task.n_start={4 + k}",
                        "--set", f"task.n_max={4 + k}", "--set", "train.batches=10", "--set", f"seed={seed}",
                        "--set", f"init_from={{run: {src}, step: {{n_solved: 4}}, heads: {heads}}}"]
                assert main(args) == 0
                warm.append(out)
    folder = tmp_path_factory.mktemp("fig2c")
    (folder / "ledger.yaml").write_text(LEDGER)
    add(folder, warm, "tiny")
    build(folder)
    return folder


def test_each_k_and_architecture_holds_its_runs_accuracy_mean_and_sd(ledger):
    records = load(ledger).records
    rows = list(csv.DictReader(open(ledger / "summary.csv")))
    for arch in ("modular", "non-modular"):
        for k in (1, 2):
            finals = [r["final"]["perf_mean"] for r in records
                      if architecture(r) == arch and r["spec"]["task"]["n_start"] == 4 + k]
            assert len(finals) == 3

            def stat(name):
                (row,) = [r for r in rows if (r["k"], r["group"], r["statistic"]) == (str(k), arch, name)]
                return float(row["value"])

            assert stat("n") == 3 and stat("mean") == pytest.approx(statistics.mean(finals), abs=1e-5)
            assert stat("sd") == pytest.approx(statistics.stdev(finals), abs=1e-5)
    assert {architecture(r) for r in records} == {"modular", "non-modular"}
    assert (ledger / "figures" / "tiny_fig2c.png").stat().st_size > 10_000
    assert "| 1 | " in (ledger / "summary.md").read_text()


def test_readme_claims_on_fig2c_hold_in_the_ledger(tmp_path):
    """README.md and results/hamidi/README.md: all 35 runs; modular ahead at K = 1 and 2 only."""
    import shutil

    copy = tmp_path / "fig2c"
    shutil.copytree(ROOT / "results" / "hamidi" / "fig2c", copy)
    build(copy)
    rows = [r for r in csv.DictReader(open(copy / "summary.csv")) if r["protocol"] == "full"]

    def stat(k, group, statistic):
        (row,) = [r for r in rows if (r["k"], r["group"], r["statistic"]) == (str(k), group, statistic)]
        return float(row["value"])

    modular = (1.00, 1.00, 0.97, 0.77, 0.73)
    non_modular = (0.87, 0.83, 0.90, 0.85, 0.77)
    for k in range(1, 6):
        assert (stat(k, "modular", "n"), stat(k, "non-modular", "n")) == (3, 4)
        assert stat(k, "modular", "mean") == pytest.approx(modular[k - 1], abs=0.005)
        assert stat(k, "non-modular", "mean") == pytest.approx(non_modular[k - 1], abs=0.005)
    for k, welch, mwu in ((1, 0.14, 0.057), (2, 0.013, 0.057)):  # U 12 of 12: 2 / C(7, 3)
        assert stat(k, "modular-non-modular", "mwu_u") == 12  # every modular network above every non-modular one
        assert stat(k, "modular-non-modular", "welch_p") == pytest.approx(welch, abs=0.005 if welch > 0.1 else 0.0005)
        assert stat(k, "modular-non-modular", "mwu_p") == pytest.approx(mwu, abs=0.0005)
    for k, welch in ((3, 0.4), (4, 0.23), (5, 0.64)):
        assert stat(k, "modular-non-modular", "welch_p") == pytest.approx(welch, abs=0.005)
    assert stat(4, "modular-non-modular", "diff") < 0 and stat(5, "modular-non-modular", "diff") < 0


def test_a_record_names_its_warm_start_source_by_file_name_and_hash(ledger):
    """The run file keeps the source's full path; the record, shared with others, its name and sha256."""
    import hashlib

    import h5py

    for record in load(ledger).records:
        versions = record["versions"]
        source = Path(record["spec"]["init_from"]["run"])
        assert versions["init_from"] == source.name and "/" not in versions["init_from"]
        assert versions["init_from_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    run = next(Path(load(ledger).records[0]["spec"]["init_from"]["run"]).parent.glob("warm_*.h5"))
    with h5py.File(run, "r") as f:
        assert Path(f.attrs["version_init_from"]).is_absolute()
