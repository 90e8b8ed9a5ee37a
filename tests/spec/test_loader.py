"""The spec loader: every problem reported at once, by YAML path and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from growsim.build import prepare
from growsim.spec import SpecError, load_spec, load_spec_text, parse_dotted
from growsim.spec.yaml_lines import load_with_lines

HERE = Path(__file__).parent
INVALID = HERE / "invalid"
TINY = HERE.parent / "data" / "tiny.yaml"

# Each invalid fixture with the path and line its error must name, and a piece of the message.
CASES = [
    ("negative_every.yaml", "growth.events[0].every", 6, "must be > 0"),
    ("unknown_key.yaml", "train.batch_sise", 5, "did you mean 'batch_size'"),
    ("unknown_geometry.yaml", "network.geometry", 2, "did you mean 'grid'"),
    ("bad_rule.yaml", "wiring.rule", 4, "did you mean 'distance'"),
    ("bad_rule_param.yaml", "wiring.p_random", 5, "must be <= 1"),
    ("unknown_rule_param.yaml", "wiring.beta", 5, "unknown key 'beta'"),
    ("too_many_connections.yaml", "growth.initial_connections", 4, "must be <= 72"),
    ("until_too_large.yaml", "growth.events[0].until", 8, "must be <= 72"),
    ("every_and_at.yaml", "growth.events[0]", 5, "exactly one of `every`"),
    ("unknown_task.yaml", "task.tasks[1]", 4, "dm3"),
    ("missing_network.yaml", "network", None, "is required"),
    ("missing_file.yaml", "network.geometry.path", 4, "does not exist"),
    ("wrong_type.yaml", "train.batches", 4, "must be an integer"),
    ("bad_yaml.yaml", "(spec)", 3, "invalid YAML"),
    ("not_a_mapping.yaml", "(spec)", 1, "must be a mapping"),
    ("bad_plugin.yaml", "plugins[0]", 4, "does not exist"),
]


def _load_and_prepare(path: Path, overrides=()):
    return prepare(load_spec(path, overrides))


@pytest.mark.parametrize(("name", "path", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_invalid_spec_names_its_path_and_line(name, path, line, message):
    with pytest.raises(SpecError) as info:
        _load_and_prepare(INVALID / name)
    issues = [str(i) for i in info.value.issues]
    expected = re.escape(f"{path}: ") + f".*{re.escape(message)}.*" + (rf"\(line {line}\)" if line else "")
    assert any(re.fullmatch(expected, s) for s in issues), issues


def test_every_invalid_fixture_is_covered():
    assert {c[0] for c in CASES} == {p.name for p in INVALID.glob("*.yaml")}


def test_all_errors_are_reported_at_once():
    text = """
seed: -1
network:
  geometry: {kind: grid, shape: [4, 4]}
  tau_ms: 0
train: {batches: 0, bogus: 1}
"""
    with pytest.raises(SpecError) as info:
        load_spec_text(text)
    paths = {str(i).split(":")[0] for i in info.value.issues}
    assert paths == {"seed", "network.tau_ms", "train.batches", "train.bogus"}


def test_valid_spec_fills_defaults_from_the_papers():
    spec = load_spec(TINY).spec
    assert spec.network.tau_ms == 100 and spec.task.settings.dt_ms == 20
    assert spec.network.sigma_rec == 0.05 and spec.network.sigma_x == 0.01
    assert spec.train.optimizer.kind == "adam" and spec.train.optimizer.lr == 1e-3
    assert spec.train.grad_clip.mode == "value" and spec.train.grad_clip.max == 1.0
    assert spec.wiring.params == {"eta": -3.0, "eps": 1e-5}


def test_spec_is_frozen():
    spec = load_spec(TINY).spec
    with pytest.raises(Exception):
        spec.seed = 3  # type: ignore[misc]


def test_overrides_are_validated_and_recorded():
    loaded = load_spec(TINY, ["train.batches=7", "seed=3", "growth.events[0].every=4", "wiring.eta=-1.5"])
    assert loaded.spec.train.batches == 7 and loaded.spec.seed == 3
    assert loaded.spec.growth.events[0].every == 4
    assert loaded.spec.wiring.params["eta"] == -1.5
    assert loaded.overrides == ("train.batches=7", "seed=3", "growth.events[0].every=4", "wiring.eta=-1.5")
    assert "batches: 7" in loaded.resolved_yaml()


def test_bad_override_names_the_override():
    with pytest.raises(SpecError) as info:
        load_spec(TINY, ["train.batches=0"])
    assert str(info.value.issues[0]) == "train.batches: must be > 0 (--set train.batches=0)"
    with pytest.raises(SpecError, match="path=value"):
        load_spec(TINY, ["train.batches"])
    with pytest.raises(SpecError, match="no item 3"):
        load_spec(TINY, ["growth.events[3].every=2"])


def test_parse_dotted():
    assert parse_dotted("growth.events[0].every") == ("growth", "events", 0, "every")
    assert parse_dotted("seed") == ("seed",)
    with pytest.raises(ValueError):
        parse_dotted("a..b")


def test_yaml_lines_and_floats():
    data, lines = load_with_lines("a: 1e-3\nb:\n  - x: 2\n    y: 3\n")
    assert data == {"a": 0.001, "b": [{"x": 2, "y": 3}]}
    assert lines[("b", 0, "y")] == 4 and lines[("a",)] == 1


def test_yaml_refuses_python_objects_and_duplicate_keys():
    with pytest.raises(SpecError, match="is not allowed"):
        load_spec_text("seed: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(SpecError, match="duplicate key 'seed'.*line 2"):
        load_spec_text("seed: 1\nseed: 2\n")


def test_resolved_yaml_round_trips():
    loaded = load_spec(TINY)
    again = load_spec_text(loaded.resolved_yaml(), base_dir=TINY.parent)
    assert again.spec == loaded.spec


def test_bad_distance_file_is_reported_at_its_path(tmp_path):
    import numpy as np

    np.save(tmp_path / "d.npy", np.ones((3, 4)))
    spec = tmp_path / "spec.yaml"
    spec.write_text("network:\n  geometry:\n    kind: distance_file\n    path: d.npy\n")
    with pytest.raises(SpecError) as info:
        _load_and_prepare(spec)
    (issue,) = info.value.issues
    assert str(issue).startswith("network.geometry.path: ")
    assert "square" in issue.message and issue.line == 4


def test_distance_file_sets_the_number_of_neurons(tmp_path):
    import numpy as np

    x = np.arange(5.0)
    np.save(tmp_path / "d.npy", np.abs(x[:, None] - x[None, :]))
    spec = tmp_path / "spec.yaml"
    spec.write_text("network:\n  geometry: {kind: distance_file, path: d.npy}\ngrowth: {initial_connections: 20}\n")
    prepared = _load_and_prepare(spec)
    assert prepared.n_neurons == 5 and prepared.capacity == 20
    with pytest.raises(SpecError, match=r"initial_connections: must be <= 20"):
        _load_and_prepare(spec, ["growth.initial_connections=21"])


def test_resolved_yaml_keeps_every_section_and_reads_back_to_the_same_spec():
    from pathlib import Path

    from growsim.spec import load_spec, load_spec_text

    loaded = load_spec(Path(__file__).parents[2] / "specs" / "bimt_grid2d.yaml")
    text = loaded.resolved_yaml()
    assert "regularisers:" in text
    again = load_spec_text(text, base_dir=loaded.base_dir)
    assert again.resolved() == loaded.resolved()


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"seed: 0\nseed: 1\n", "seed: duplicate key 'seed', first at line 1 (line 2)"),
        (b"seed: 0\nnetwork:\n  autapses: true\n  autapses: false\n", "network.autapses: duplicate key 'autapses', first at line 3 (line 4)"),
        (b"seed: 0\n? null\n: 3\n", "(spec): a key is empty (null): every key must be a name (line 2)"),
        (b"seed: 0\nnetwork: {}\n# caf\xe9\n", "(spec): spec file {path} is not UTF-8 text: byte 0xe9 cannot be decoded (line 3)"),
    ],
)
def test_malformed_files_are_reported_by_path_and_line(tmp_path, data, expected):
    path = tmp_path / "spec.yaml"
    path.write_bytes(data)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    # Beside the rest of the spec's problems (these specs have no network), in the same pass.
    assert str(info.value).startswith(f"{path}: ")
    assert expected.format(path=path) in [line.strip() for line in str(info.value).splitlines()[1:]]



# --- one pass: YAML, schema and cross-field problems together -----------------------------

TINY_TEXT = TINY.read_text()

ONE_PASS = {
    # (what is replaced in tiny.yaml, by what), ...) -> every path reported, nothing else
    "an unknown key beside a step longer than tau": (
        (("  batch_size: 8\n", "  batch_size: 8\n  batch_sise: 3\n"), ("  n_eachring: 8\n", "  n_eachring: 8\n  dt_ms: 200\n")),
        {"train.batch_sise", "task.dt_ms"},
    ),
    "a duplicate key beside a batch of none": (
        (("seed: 0\n", "seed: 0\nseed: 1\n"), ("  batch_size: 8\n", "  batch_size: 0\n")),
        {"seed", "train.batch_size"},
    ),
    "a duplicate key whose first value is wrong": (
        (("  batch_size: 8\n", "  batch_size: 0\n  batch_size: 8\n"),),
        {"train.batch_size"},  # the duplicate and the first value's problem, at one path
    ),
    "a tag, an unknown key and Nesterov without momentum": (
        (("  eta: -3.0\n", "  eta: !!python/object:os.system {}\n"), ("  every: 10\n  eval", "  every: 10\n  evry: 3\n  eval"),
         ("  batch_size: 8\n", "  batch_size: 8\n  optimizer: {kind: sgd, nesterov: true}\n")),
        {"wiring.eta", "log.evry", "train.optimizer.nesterov"},
    ),
    "5,000 digits, no batches and a step longer than tau": (
        (("seed: 0\n", "seed: " + "9" * 5000 + "\n"), ("  batches: 40\n", "  batches: 0\n"),
         ("  n_eachring: 8\n", "  n_eachring: 8\n  dt_ms: 200\n")),
        {"seed", "train.batches", "task.dt_ms"},
    ),
    "a rule parameter, task probabilities and a checkpoint period": (
        (("  eta: -3.0\n", "  eta: steep\n"), ("  n_eachring: 8\n", "  n_eachring: 8\n  task_probs: [1, 2, 3]\n"),
         ("  every: 10\n  eval", "  every: 10\n  checkpoint_every: 15\n  eval")),
        {"wiring.eta", "task.task_probs", "log.checkpoint_every"},
    ),
    # A check whose input failed is skipped: tau_ms did not validate, so alpha is not computed
    # from its default (which would blame a dt_ms that is right for the tau the user meant).
    "a time constant that failed, and the step it would be checked against": (
        (("  geometry: {kind: grid, shape: [4, 4]}\n", "  geometry: {kind: grid, shape: [4, 4]}\n  tau_ms: slow\n"),
         ("  n_eachring: 8\n", "  n_eachring: 8\n  dt_ms: 200\n")),
        {"network.tau_ms"},
    ),
}


@pytest.mark.parametrize("case", sorted(ONE_PASS))
def test_validate_reports_yaml_schema_and_cross_field_problems_in_one_pass(case, tmp_path, capsys):
    from growsim.cli import main

    edits, paths = ONE_PASS[case]
    text = TINY_TEXT
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    problems = err.splitlines()[1:]
    reported = {line.strip().split(": ", 1)[0] for line in problems}
    assert reported == paths, err
    assert all(re.search(r"\(line \d+\)$", line) for line in problems), err
