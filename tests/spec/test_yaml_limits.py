"""Hostile YAML: every case is refused with exit 2, one message, no traceback, in bounded time."""

from __future__ import annotations

import time

import pytest

from growsim.cli import main


def _bomb(levels: int) -> str:
    names = [chr(ord("a") + i) for i in range(levels + 1)]
    text = f"{names[0]}: &{names[0]} [x, x, x, x, x, x, x, x, x, x]\n"
    for prev, name in zip(names, names[1:]):
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    return text


CASES = {
    # text -> (words of the message, the path it names, its line); a problem of one value
    # names the nearest path known: the key itself, or the key as written when the key is
    # the problem.
    "a python tag on a key": ("? !!python/name:os.system\n: 1\n", "could not determine a constructor", "!!python/name:os.system", 1),
    "a set as a key": ("? !!set {a: null}\n: 1\n", "a mapping key must be a scalar", "!!set {a: null}", 1),
    "a tag on a nested key": ("train:\n  ? !!python/name:os.system\n  : 1\n", "could not determine a constructor", "train.!!python/name:os.system", 2),
    "an alias inside itself": ("x: &r {self: *r}\n", "an alias refers to a value that contains it", "x.self", 1),
    "5,000 brackets deep": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels deep", "(spec)", 1),
    # the key whose value would be the 65th level
    "200 mappings deep": ("".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n", "nested more than 64 levels deep", "(spec)", 65),
    "a billion laughs": (_bomb(8), "expands to more than 100,000 values", "(spec)", 1),
    "an integer of 5,000 digits": ("seed: " + "9" * 5000 + "\n", "a number with too many digits", "seed", 1),
    "a 20 MB spec": ("seed: 0\n" + "# padding\n" * 2_000_000, "at most 1,000,000", "(spec)", None),
    "a NUL in a plugin path": ('network: {geometry: {kind: grid, shape: [2, 2]}}\nplugins: ["a\\0b.py"]\n', "contains a NUL character", "plugins[0]", 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_quickly_with_one_message(case, tmp_path, capsys):
    text, words, path, line = CASES[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    t0 = time.perf_counter()
    assert main(["validate", str(spec)]) == 2
    assert time.perf_counter() - t0 < 30  # bounded: the bomb alone would never end
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (message,) = [m.strip() for m in err.splitlines() if words in m]  # one message for the problem
    assert message.startswith(f"{path}: "), message
    if line is not None:
        assert message.endswith(f"(line {line})"), message
