"""Specs that validated field by field and then failed at run time (tracebacks, out-of-memory
aborts, NaN accepted) are refused by validate, with the YAML path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from growsim.cli import main

TINY = (Path(__file__).parents[1] / "data" / "tiny.yaml").read_text()

CASES = {
    # (what is replaced in tiny.yaml, by what) -> the path and the words of the message
    "step longer than tau": (("  n_eachring: 8\n", "  n_eachring: 8\n  dt_ms: 200\n"), "task.dt_ms", "must be at most 1"),
    "nesterov without momentum": (
        ("  batch_size: 8\n", "  batch_size: 8\n  optimizer: {kind: sgd, lr: 0.1, nesterov: true}\n"),
        "train.optimizer.nesterov", "needs momentum > 0",
    ),
    "huge learning rate": (("  batch_size: 8\n", "  batch_size: 8\n  optimizer: {lr: 1.0e+308}\n"), "train.optimizer.lr", "<= 1000000000000000"),
    "huge clip": (("  batch_size: 8\n", "  batch_size: 8\n  grad_clip: {max: 1.0e+308}\n"), "train.grad_clip.max", "<= 1000000000000000"),
    "huge threads": (("  batch_size: 8\n", "  batch_size: 8\n  threads: 1000000000\n"), "train.threads", "1024"),
    "huge seed": (("seed: 0\n", "seed: 100000000000000000000000\n"), "seed", ""),
    "huge batch": (("  batch_size: 8\n", "  batch_size: 1000000000000000000\n"), "train.batch_size", "65536"),
    "huge test batch": (("  eval_batch_size: 16\n", "  eval_batch_size: 9223372036854775808\n"), "log.eval_batch_size", "65536"),
    "NaN exponent": (("  eta: -3.0\n", "  eta: .nan\n"), "wiring.eta", "finite"),
    "infinite tau": (("  geometry: {kind: grid, shape: [4, 4]}\n", "  geometry: {kind: grid, shape: [4, 4]}\n  tau_ms: .inf\n"), "network.tau_ms", "finite"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_by_validate_with_path_and_line(case, tmp_path, capsys):
    (old, new), path, words = CASES[case]
    assert old in TINY
    spec = tmp_path / "spec.yaml"
    spec.write_text(TINY.replace(old, new, 1))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [ln for ln in err.splitlines() if ln.strip().startswith(path + ":")]
    assert words in line and "(line " in line, err


def test_the_papers_settings_stay_within_the_limits():
    from growsim.spec import load_spec

    for spec in sorted((Path(__file__).parents[2] / "specs").glob("*.yaml")):
        load_spec(spec)  # raises SpecError if a shipped spec broke a limit


def test_true_or_false_where_a_number_belongs_is_refused_at_its_path(tmp_path, capsys):
    """pydantic reads true as 1: `batches: yes` was a run of one batch. Every such field is
    refused at once, in the spec's own models and in a registered entry's parameters alike."""
    from growsim.spec import load_spec

    spec = tmp_path / "spec.yaml"
    text = TINY.replace("  batches: 40\n", "  batches: yes\n", 1).replace("seed: 0\n", "seed: false\n", 1)
    text = text.replace("  eta: -3.0\n", "  eta: true\n", 1)
    spec.write_text(text)
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    for path, got in (("train.batches", "'true'"), ("seed", "'false'"), ("wiring.eta", "'true'")):
        assert f"{path}: must be" in err and f"(got {got})" in err, path
    # Fields that take true/false keep it; a number stays a number.
    loaded = load_spec(Path(__file__).parents[1] / "data" / "tiny.yaml", ["log.snapshots=false", "train.batches=3"])
    assert loaded.spec.log.snapshots is False and loaded.spec.train.batches == 3
