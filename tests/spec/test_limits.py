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
    _refused(CASES[case], tmp_path, capsys)


def _refused(case, tmp_path, capsys) -> None:
    """The tiny spec with one text replaced: exit 2, no traceback, the path's line names the
    words and its YAML line."""
    (old, new), path, words = case
    assert old in TINY
    spec = tmp_path / "spec.yaml"
    spec.write_text(TINY.replace(old, new, 1))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [ln for ln in err.splitlines() if ln.strip().startswith(path + ":")]
    assert words in line and "(line " in line, err


def test_the_papers_settings_stay_within_the_limits():
    from growsim.build import prepare
    from growsim.spec import load_spec

    for spec in sorted((Path(__file__).parents[2] / "specs").glob("*.yaml")):
        prepare(load_spec(spec))  # raises SpecError if a shipped spec broke a limit (the cost ones included)


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
    # and in a growth operation's parameters (pydantic would read `until: true` as a cap of 1 synapse)
    spec.write_text(TINY.replace("      until: 12\n", "      until: true\n", 1))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "growth.events[0].until: must be an integer (got 'true') (line 15)" in err, err
    # Fields that take true/false keep it; a number stays a number.
    loaded = load_spec(Path(__file__).parents[1] / "data" / "tiny.yaml", ["log.snapshots=false", "train.batches=3"])
    assert loaded.spec.log.snapshots is False and loaded.spec.train.batches == 3


# --- integers: every one a 64-bit integer ------------------------------------------------

HUGE = 2**63  # one more than any run file, numpy array or torch tensor holds


def _int_fields(model, path: tuple, setup: tuple):
    """(path, setup) for every integer field reachable from `model` at `path`: `setup` is
    what selects the models on the way (their `kind`, `op` or `suite`)."""
    for name, field in model.model_fields.items():
        yield from _ints_in(field.annotation, (*path, field.alias or name), setup)


def _ints_in(annotation, path: tuple, setup: tuple):
    import types
    import typing

    from pydantic import BaseModel

    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if annotation is int:
        yield path, setup
    elif origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            yield from _ints_in(member, path, setup)
    elif origin is list or (origin is tuple and typing.get_args(annotation)[-1] is Ellipsis):
        yield from _ints_in(typing.get_args(annotation)[0], (*path, 0), setup)
    elif origin is tuple:
        for i, item in enumerate(typing.get_args(annotation)):
            yield from _ints_in(item, (*path, i), setup)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for tag in ("kind", "op", "suite"):
            field = annotation.model_fields.get(tag)
            if field is not None and typing.get_origin(field.annotation) is typing.Literal:
                setup = (*setup, ((*path, tag), typing.get_args(field.annotation)[0]))
        yield from _int_fields(annotation, path, setup)


def _registered_int_fields():
    """The integer parameters of every registered extension, written flat where a spec writes them."""
    from growsim.growth import available_operations
    from growsim.metrics.analyses import available_analyses
    from growsim.tasks import available_tasks
    from growsim.train.regularisers import available_terms
    from growsim.wiring import available_rules

    places = (
        (available_rules(), ("wiring",), "rule", {}),
        (available_operations(), ("growth", "events", 0), "op", {"every": 10}),
        (available_terms(), ("regularisers", 0), "kind", {"strength": 0.1}),
        (available_analyses(), ("log", "analyses", 0), "kind", {"every": 10}),
        (available_tasks(), ("task",), "suite", {}),
    )
    for entries, prefix, tag, shared in places:
        for name, info in entries.items():
            setup = (((*prefix, tag), name), *(((*prefix, k), v) for k, v in shared.items()))
            yield from _int_fields(info.params, prefix, setup)


def _put(data, path: tuple, value) -> None:
    for i, key in enumerate(path[:-1]):
        empty = [] if isinstance(path[i + 1], int) else {}
        if isinstance(data, list):
            while len(data) <= key:
                data.append(empty)
            if not isinstance(data[key], type(empty)):
                data[key] = empty
        elif not isinstance(data.get(key), type(empty)):
            data[key] = empty
        data = data[key]
    if isinstance(data, list):
        while len(data) <= path[-1]:
            data.append(None)
    data[path[-1]] = value


def test_every_integer_field_is_capped_at_what_a_run_holds():
    """2^63 in any integer field, the spec's own or a registered extension's, is refused at
    its path by validation: by the field's own bound, or else by the loader's one check of
    every integer (a batch count above 2^63 used to pass, and the run file could not hold it)."""
    import copy

    import yaml

    from growsim.spec import SpecError, format_path, load_spec_text
    from growsim.spec.models import Spec

    tiny = yaml.safe_load(TINY)
    fields = {*_int_fields(Spec, (), ()), *_registered_int_fields()}
    assert len(fields) >= 40, len(fields)  # the walk reaches every section
    missed = []
    for path, setup in sorted(fields, key=str):
        data = copy.deepcopy(tiny)
        for where, value in setup:
            _put(data, where, value)
        _put(data, path, HUGE)
        with pytest.raises(SpecError) as info:
            load_spec_text(yaml.safe_dump(data))
        messages = [i.message for i in info.value.issues if i.path == path]
        if not any("must be <=" in m or "must be <" in m for m in messages):
            missed.append(f"{format_path(path)}: {messages or info.value}")
    assert not missed, "\n".join(missed)


def test_a_batch_count_beyond_64_bits_is_refused_before_the_run_writes(tmp_path, capsys):
    out = tmp_path / "run.h5"
    args = ["run", str(Path(__file__).parents[1] / "data" / "tiny.yaml"), "--out", str(out), "-q",
            "--set", "train.batches=1000000000000000000000"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "train.batches: must be <= 9223372036854775807" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither the file nor its hidden copy


# --- cost: what a batch of trials may hold -----------------------------------------------

COST_CASES = {
    # (what is replaced in tiny.yaml, by what) -> the path and the words of the message
    "a time step of 10 ns": (("  n_eachring: 8\n", "  n_eachring: 8\n  dt_ms: 0.00001\n"), "task.dt_ms", "at most 100,000"),
    "a million units per ring": (("  n_eachring: 8\n", "  n_eachring: 1000000\n"), "task.n_eachring", "<= 1000"),
    "a trillion shuffles": (("  progress: false\n", "  progress: false\n  functional: {n_shuffles: 1000000000000}\n"),
                            "log.functional.n_shuffles", "<= 100000"),
    "a batch of 1 GiB per tensor": (("  batch_size: 8\n", "  batch_size: 65536\n"), "train.batch_size", "at most 268,435,456"),
    "functional trials of 1 GiB per tensor": (
        ("  progress: false\n", "  progress: false\n  functional: {every: 10, trials_per_task: 65536}\n"),
        "log.functional.trials_per_task", "at most 268,435,456",
    ),
}


@pytest.mark.parametrize("case", sorted(COST_CASES))
def test_unbounded_cost_is_refused_by_validate(case, tmp_path, capsys):
    """Specs that validated and then ran out of memory (a MemoryError, torch's out-of-memory
    abort) or never ended: refused by validate, with path and line."""
    _refused(COST_CASES[case], tmp_path, capsys)
