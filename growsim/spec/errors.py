"""SpecError: every problem in a spec at once, each named by its YAML path and line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]


def format_path(parts: Sequence[str | int]) -> str:
    """('growth', 'events', 0, 'every') -> 'growth.events[0].every'. A key that is empty or
    holds characters that do not print is quoted, so that the path stays one visible line."""
    out = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            part = str(part)
            if not part or not part.isprintable():
                part = repr(part)
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True)
class SpecIssue:
    path: tuple[str | int, ...]
    message: str
    line: int | None = None
    source: str | None = None  # e.g. "--set train.batches=0" when an override caused it

    def __str__(self) -> str:
        where = format_path(self.path) or "(spec)"
        suffix = []
        if self.source:
            suffix.append(self.source)
        elif self.line is not None:
            suffix.append(f"line {self.line}")
        tail = f" ({', '.join(suffix)})" if suffix else ""
        return f"{where}: {self.message}{tail}"


class SpecError(Exception):
    """A spec that cannot run. `issues` lists every problem found."""

    what = "spec"  # what the problems are in, as the message says

    def __init__(self, issues: Iterable[SpecIssue], file: str | None = None):
        self.issues = tuple(issues)
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.file}: " if self.file else ""
        n = len(self.issues)
        lines = [f"{head}{n} problem{'s' if n != 1 else ''} in the {self.what}:"]
        lines += [f"  {issue}" for issue in self.issues]
        return "\n".join(lines)
