"""Every command's help gives a flag no type, a repeatable parameter a plain one and a
bounded number its bounds in words (`--quiet` alone, `SPEC <path>...`, `<int> (at least 1)`),
not typer's `<bool>`, `<int range> [x>=1]` or `{RUN}`, nor Python's `<list[Path]>`."""

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
    for placeholder in ("<bool>", "list[", "range>", "{", "x>=", "x<="):
        assert placeholder not in text, f"{placeholder!r} in:\n{text}"


def test_flags_and_repeatable_parameters_read_plainly(capsys):
    from growsim.cli import main

    assert main(["validate", "--help"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"SPEC\s+<path>\.\.\.", text) and re.search(r"--set\s+PATH=VALUE", text)
    assert main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"--quiet\s+-q\s+No progress bar", text)


def test_bounds_read_in_words_and_required_arguments_plainly(capsys):
    from growsim.cli import main

    assert main(["plot", "--help"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"Usage: .*plot \[OPTIONS\] RUN\s", text)
    assert re.search(r"--dpi\s+<int> \(30 to 1200\)", text) and re.search(r"--threshold\s+<number> \(at least 0\)", text)
    assert main(["sweep", "--help"]) == 0
    assert re.search(r"--workers\s+-j\s+<int> \(at least 1\)", capsys.readouterr().out)
    assert main(["validate", "--help"]) == 0
    assert re.search(r"Usage: .*validate \[OPTIONS\] SPEC\.\.\.\s", capsys.readouterr().out)
    assert main(["plot", "x.h5", "--dpi", "5"]) == 2  # the bound still holds
    assert "--dpi" in capsys.readouterr().err
