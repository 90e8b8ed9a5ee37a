"""Which growsim wrote a run: a digest of the package's own source, and its git commit.

The version number alone cannot tell two checkouts apart, and the results ledger must
name the code each run came from. The digest covers every file a run can execute or read
from the package (its .py files and package data), so it is exact for any kind of install;
the commit is there when the package runs from a git checkout.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SOURCE_SUFFIXES = (".py", ".csv", ".md")


@functools.cache
def source_digest() -> str:
    """sha256 (first 16 hex digits) over the package's source files, names and contents.

    A wheel's copy of the shipped specs, sweeps and plugins (growsim/_shipped) is not
    growsim's code and is left out: a wheel and a checkout of the same code agree."""
    h = hashlib.sha256()
    files = sorted(p for p in _PACKAGE.rglob("*") if p.is_file() and p.suffix in _SOURCE_SUFFIXES
                   and "__pycache__" not in p.parts and p.relative_to(_PACKAGE).parts[0] != "_shipped")
    for path in files:
        h.update(path.relative_to(_PACKAGE).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


@functools.cache
def git_commit() -> str:
    """The checkout's HEAD, with "+dirty" when the package's files differ from it; "" when
    the package is not in a git checkout (an installed wheel) or git is not there."""
    root = _PACKAGE.parent
    if not (root / ".git").exists():
        return ""
    # fsmonitor off: a repository's config could name a program for git status to run.
    git = ["git", "-c", "core.fsmonitor=false", "-C", str(root)]
    try:
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        changed = subprocess.run([*git, "status", "--porcelain", "--", _PACKAGE.name],
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if changed else "")
