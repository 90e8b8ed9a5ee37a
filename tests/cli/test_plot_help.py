"""Every plot kind is named in `growsim plot --help` and described in docs/analysis.md."""

from __future__ import annotations

from pathlib import Path

from growsim.cli.plot import KIND_HELP
from growsim.plots import KINDS

DOC = (Path(__file__).parents[2] / "docs" / "analysis.md").read_text()


def test_every_kind_is_in_the_help_and_the_docs():
    for kind in KINDS:
        assert f"{kind} (" in KIND_HELP, kind
        assert f"**`{kind}`**" in DOC, kind
