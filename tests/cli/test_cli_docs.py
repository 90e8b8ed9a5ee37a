"""The docs keep up with the command line: every option of every command is described in
README.md or docs/*.md, and no example, there or in a command's help, passes `--set` a
path with brackets unquoted (zsh reads `events[0]` as a glob and refuses the command)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from growsim.cli import app

ROOT = Path(__file__).parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# `--set` and its argument, when that argument does not begin with a quote.
UNQUOTED_SET = re.compile(r"--set[\s=]+([^\s'\"`][^\s`]*)")


def _commands(command, path=("growsim",)):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _from_typer(param) -> bool:
    """typer's own shell-completion options, which typer documents."""
    return getattr(param.callback, "__module__", "") == "typer.completion"


def _long_names(param) -> list[str]:
    """The long names a reader needs: a flag's that turns it from its default (`--overwrite`,
    `--no-layers`), any other option's every long name."""
    if getattr(param, "is_flag", False) and param.secondary_opts:
        names = param.secondary_opts if param.default else param.opts
    else:
        names = param.opts
    return [n for n in names if n.startswith("--")]


def _options():
    for path, command in COMMANDS:
        for param in command.params:
            if param.param_type_name == "option" and not _from_typer(param):
                for name in _long_names(param):
                    yield " ".join(path), name


def test_every_option_of_every_command_is_in_the_docs():
    text = "\n".join(p.read_text() for p in DOC_FILES)
    options = list(_options())
    assert ("growsim plot", "--top-k") in options and ("growsim run", "--overwrite") in options
    missing = [f"{command} {name}" for command, name in options if not re.search(re.escape(name) + r"(?![\w-])", text)]
    assert not missing, f"options in no page of README.md or docs/*.md: {', '.join(missing)}"


def _unquoted_brackets(text: str) -> list[str]:
    return [m.group(0) for m in UNQUOTED_SET.finditer(text) if "[" in m.group(1)]


def test_the_check_finds_an_unquoted_bracket():
    assert _unquoted_brackets("growsim run x.yaml --set growth.events[0].every=250 --set seed=3") == [
        "--set growth.events[0].every=250"]
    assert _unquoted_brackets("`--set growth.events[0].every=250`") == ["--set growth.events[0].every=250"]
    assert not _unquoted_brackets("--set 'growth.events[0].every=250' --set \"seed=[0, 1]\" --set PATH=VALUE")


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_docs_quote_every_set_with_brackets(path):
    assert not _unquoted_brackets(path.read_text()), path.name


def test_help_quotes_every_set_with_brackets():
    found = []
    for path, command in COMMANDS:
        texts = [command.help, command.epilog, *(getattr(p, "help", None) for p in command.params)]
        found += [f"{' '.join(path)}: {hit}" for text in texts if text for hit in _unquoted_brackets(text)]
    assert not found, found
