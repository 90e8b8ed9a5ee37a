"""growsim inspect: one screen about a run, for complete, killed, snapshot-less and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from growsim.cli import main


# The run files of the analysis tests (tests are not packages: load the helper by path).
def _inspect(path, capsys) -> str:
    assert main(["inspect", str(path)]) == 0
    return capsys.readouterr().out


def test_inspect_a_completed_run(small_runs, capsys):
    out = _inspect(small_runs["tiny"], capsys)
    for text in (
        "completed at step 40 of 40",
        "16 neurons; geometry grid (metric=euclidean, shape=[4, 4]",
        "distance (eps=1e-05, eta=-3)",
        "0 synapses at the start; then add_connections every 10 (count=5, until=12)",
        "2 from yang20: fdgo, reactgo",
        "40 batches of 8; adam lr 0.001; mse loss",
        "Final metrics (step 40): mean performance",
        "fdgo", "reactgo",
        "3 events (3 add_connections), from step 10 to 30, 12 synapses added",
        "step       30: add_connections +2 -> 12 synapses",
        "synapses over training:",
        "0 at step 0 -> 12 at step 40",
        "/snapshots", "5 snapshots (steps 0, 10, 20, 30, 40)",
        "/analysis", "none (growsim analyze RUN modularity)",
    ):
        assert text in out, f"{text!r} not in:\n{out}"


def test_inspect_a_killed_run(small_runs, capsys):
    out = _inspect(small_runs["killed"], capsys)
    assert "running: last step logged 30 of 40" in out
    assert "killed: its writer" in out and "is gone" in out
    assert "not finished" in out
    assert "Final metrics (step 30)" in out


def test_inspect_without_snapshots_and_a_grown_network(small_runs, capsys):
    out = _inspect(small_runs["no_snapshots"], capsys)
    assert "no snapshots" in out and "0 snapshots (log.snapshots: false)" in out
    out = _inspect(small_runs["growing"], capsys)
    assert "3 snapshots (steps 0, 10, 20)" in out and "2 events" in out


def test_inspect_twenty_tasks_in_two_columns(tmp_path, capsys, make_runs):
    out_file = tmp_path / "acd.h5"
    spec = Path(__file__).parents[2] / "specs" / "fix_conn_random.yaml"
    sets = [arg for o in make_runs.SHORT for arg in ("--set", o)]
    assert main(["run", str(spec), "--out", str(out_file), "-q", *sets]) == 0
    capsys.readouterr()
    out = _inspect(out_file, capsys)
    assert "20 from yang20: fdgo, reactgo, delaygo, fdanti, ... dmcnogo" in out
    assert "step 0: 800 initial synapses" in out and "no growth events after the start" in out
    task_lines = [line for line in out.splitlines() if "fdgo" in line and "multidm" in line]
    assert len(task_lines) == 1  # fdgo and multidm side by side: 10 rows for 20 tasks


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.h5", "missing.h5: no such file"),
    (lambda d: (d / "text.h5").write_text("hello") and d / "text.h5", "text.h5 cannot be opened as an HDF5 file"),
    (lambda d: d, "is a folder, not a run file"),
])
def test_inspect_bad_files(make, message, tmp_path, capsys):
    assert main(["inspect", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_inspect_a_chain_run(make_runs, tmp_path_factory, capsys):
    runs = make_runs.chain_runs(tmp_path_factory.getbasetemp() / "chain-runs")
    out = _inspect(runs["chain"], capsys)
    for text in (
        "completed at step 120 of 120",
        "chain of modules, 6 neurons each, 1 module at the start",
        "duplicate_module when level_solved", "add_readout when level_solved",
        "N-parity curriculum, levels 2 to 100 (99 possible heads)",
        "Final metrics (step 120): N_solved 2, level in training 3, modules 2",
        "Accuracy of the 2 levels trained at step 120:", "N = 2", "N = 3",
        "2 events (1 duplicate_module, 1 add_readout)",
        "duplicate_module module 1 (2 modules; copied",
        "add_readout head 1 on module 1",
        "N_solved over training:", "modules over training:",
        "/geometry", "none (a chain of modules has no geometry)",
        "99 curriculum levels (parity_2 to parity_100)",
        "none (growsim analyze RUN robustness|timescales)",
    ):
        assert text in out, f"{text!r} not in:\n{out}"
    assert "parity_50" not in out  # levels never trained are not listed
    out = _inspect(runs["chain_nonmodular"], capsys)
    assert "modules 1" in out and "add_readout" in out and "N_solved" in out


def test_stored_size_of_text_datasets_counts_the_text(small_runs):
    import h5py

    from growsim.reader import open_run

    rows = {r["name"]: r for r in open_run(small_runs["tiny"]).contents()}
    with h5py.File(small_runs["tiny"], "r") as f:
        verbatim = f["spec/verbatim"][()]
    assert rows["spec/verbatim"]["stored_bytes"] >= len(verbatim)  # not the 16 bytes of its reference


def test_inspect_names_tau_per_neuron_dale_schedule_loss_terms_and_analyses(tmp_path, capsys):
    import yaml

    data = yaml.safe_load((Path(__file__).parents[1] / "data" / "tiny.yaml").read_text())
    data["network"]["tau"] = {"init": "uniform", "low": 50, "high": 200, "trainable": True, "min_ms": 20}
    data["network"]["dale"] = {"excitatory": 0.75, "assign": "first"}
    data["train"]["batches"] = 20
    data["train"]["lr_schedule"] = {"kind": "cosine", "min_factor": 0.1}
    data["regularisers"] = [{"kind": "l1", "strength": 1.0e-3}]
    data["log"]["analyses"] = [{"kind": "wiring_length", "every": 20}]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    out_file = tmp_path / "run.h5"
    assert main(["run", str(spec), "--out", str(out_file), "-q"]) == 0
    out = _inspect(out_file, capsys)
    for text in (
        "tau per neuron from U(50, 200) ms, trained within [20, inf] ms",
        "Dale's law: 0.75 excitatory (first, balanced)",
        "adam lr 0.001 on a cosine schedule (min_factor=0.1);",
        "mse loss + l1 0.001",
        "analyses: wiring_length every 20",
    ):
        assert text in " ".join(out.split()), f"{text!r} not in:\n{out}"
