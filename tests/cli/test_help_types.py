"""Every command's help gives a flag no type and a repeatable parameter a plain one
(`--quiet` alone, `SPEC <path>...`), not typer's `<bool>` or Python's `<list[Path]>`."""

from __future__ import annotations

import re

import pytest
import typer.main

from growsim.cli import app


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))


COMMANDS = [("--help",)] + [(*c, "--help") for c in _commands(typer.main.get_command(app))]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a[:-1]) or "growsim" for a in COMMANDS])
def test_help_has_no_python_types(args, capsys):
    from growsim.cli import main

    assert main(list(args)) == 0
    text = capsys.readouterr().out
    assert "Usage:" in text
    assert "<bool>" not in text and not re.search(r"list\[", text), text


def test_flags_and_repeatable_parameters_read_plainly(capsys):
    from growsim.cli import main

    assert main(["validate", "--help"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"SPEC\s+<path>\.\.\.", text) and re.search(r"--set\s+PATH=VALUE", text)
    assert main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"--quiet\s+-q\s+No progress bar", text)
