"""Property-based: whatever a user writes, validation answers with SpecError and YAML paths, never a crash."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growsim.build import prepare
from growsim.spec import SpecError, format_path, load_spec_text
from growsim.spec.yaml_lines import load_with_lines

ROOT = Path(__file__).parents[2]
# Every shipped spec, and the tests' tiny one, is a starting point for mutations.
SHIPPED = sorted((ROOT / "specs").glob("*.yaml"))
BASES = [load_with_lines((ROOT / "tests" / "data" / "tiny.yaml").read_text())[0]] + [
    load_with_lines(p.read_text())[0] for p in SHIPPED
]
SLOWEST_S = 20.0  # a spec, however mutated, is answered within this (the run itself is not started)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["grid", "atlas", "random_points", "distance_file", "add_connections", "all", "relu", "mixture"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutate(data, draw):
    paths = [p for p in _paths(data) if p]
    path = draw(st.sampled_from(paths))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    action = draw(st.sampled_from(["replace", "delete", "add_key", "typo"]))
    if action == "replace":
        parent[last] = draw(values)
    elif action == "delete":
        del parent[last]
    elif action == "add_key" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
    elif action == "typo" and isinstance(parent, dict) and isinstance(last, str) and last:
        parent[last[:-1] + draw(st.sampled_from("xyz_"))] = parent.pop(last)


def _check(text: str, counter: dict) -> None:
    counter["n"] += 1
    t0 = time.perf_counter()
    try:
        prepare(load_spec_text(text, base_dir=ROOT / "specs"))
        counter["valid"] += 1
    except SpecError as exc:
        counter["invalid"] += 1
        assert exc.issues
        for issue in exc.issues:
            # Every problem names where it is: a YAML path, or the file as a whole with a line.
            assert issue.path or issue.line is not None, str(issue)
            assert isinstance(issue.message, str) and issue.message
            assert str(issue).startswith(format_path(issue.path) or "(spec)")
    finally:
        counter["slowest"] = max(counter.get("slowest", 0.0), time.perf_counter() - t0)
    assert time.perf_counter() - t0 < SLOWEST_S


def _mutated(draw):
    """A shipped spec with one to three mutations."""
    spec = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(spec, dict) or not spec:
            break
        _mutate(spec, draw)
    return spec


def test_mutated_specs_only_raise_spec_errors():
    counter = {"n": 0, "valid": 0, "invalid": 0}

    @settings(max_examples=800, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        spec = _mutated(data.draw)
        _check(yaml.safe_dump(spec, sort_keys=False), counter)

    check()
    print(f"mutated specs: {counter}")
    assert counter["n"] >= 800  # with the 700 below, 1,500 cases in every run of the suite
    assert counter["invalid"] >= 400 and counter["valid"] >= 20  # both outcomes are exercised


CLI_CASES = 400  # with the 1,100 above and below, 1,500 fuzz cases in every run of the suite


def test_mutated_specs_through_validate_exit_0_or_2_and_name_a_path(tmp_path, capsys):
    """What a user sees: `growsim validate` on a mutated spec exits 0 or 2, prints no
    traceback, and starts every problem with its YAML path (not only a line)."""
    from growsim.cli import main

    specs = tmp_path / "specs"  # beside the shipped specs' data and plugins, as they refer to them
    specs.mkdir()
    (specs / "data").symlink_to(ROOT / "specs" / "data")
    (tmp_path / "plugins").symlink_to(ROOT / "plugins")
    counter = {"n": 0, "valid": 0, "invalid": 0}

    @settings(max_examples=CLI_CASES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        spec = _mutated(data.draw)
        path = specs / "mutated.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        capsys.readouterr()
        counter["n"] += 1
        code = main(["validate", str(path)])
        out, err = capsys.readouterr()
        assert code in (0, 2), out + err
        assert "Traceback" not in out + err
        if code == 0:
            counter["valid"] += 1
            return
        counter["invalid"] += 1
        head, *problems = err.rstrip("\n").split("\n")
        assert head.startswith(f"{path}: ") and problems, err
        for line in problems:
            assert line.startswith("  ") and ": " in line, err
            assert not line.strip().startswith("(spec)"), err  # a path, not only a line

    check()
    print(f"mutated specs through validate: {counter}")
    assert counter["n"] >= CLI_CASES and counter["invalid"] >= CLI_CASES // 2 and counter["valid"] >= 10


def test_malformed_files_only_raise_spec_errors():
    counter = {"n": 0, "valid": 0, "invalid": 0}
    good = (ROOT / "specs" / "add_conn_distance.yaml").read_text()

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        cut=st.integers(0, len(good)),
        noise=st.text(max_size=20),
        junk=st.binary(max_size=40),
        how=st.sampled_from(["truncate", "insert", "binary", "tabs"]),
    )
    def check(cut, noise, junk, how):
        if how == "truncate":
            text = good[:cut]
        elif how == "insert":
            text = good[:cut] + noise + good[cut:]
        elif how == "binary":
            text = good[:cut] + junk.decode("latin-1") + good[cut:]
        else:
            text = good[:cut].replace("  ", "\t") + good[cut:]
        _check(text, counter)

    check()
    print(f"malformed files: {counter}")
    assert counter["n"] >= 300 and counter["invalid"] >= 100
