"""Which part of growsim may import which: the Packages table of docs/architecture.md, held.

`ALLOWED` below is the table's single source: docs/architecture.md's table must say the
same (a test compares them). Every import of growsim code is read with `ast`, also those
inside functions and under `if TYPE_CHECKING:`, and mapped to its part of growsim: a
package (`growsim.reader`) or a top-level module (`growsim.streams`). Imports by a module
name held in a variable at run time (a registry's built-in module, the ledger's figure
modules) cannot be seen; literal names given to `importlib.import_module` are.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "growsim"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: The package's own `__init__`: `__version__`, and names it re-exports when first used.
FACADE = "growsim"
#: `growsim.__version__`, a constant of the facade: reading it imports no other part.
VERSION = "__version__"
#: `cli` may import every part (it is the top; nothing imports it but `__main__`).
EVERY = "all"

# Each part of growsim -> the parts it may import. Parts listed with none are leaves.
ALLOWED: dict[str, frozenset[str] | str] = {
    # Small modules that import nothing of growsim, so that leaves may share them.
    "_process": frozenset(),  # whether a process runs: the reader and the logger both ask
    "registry": frozenset(),  # registries of extension points (wiring rules, growth operations, loss terms)
    "_cpus": frozenset(),
    "_source": frozenset(),
    "streams": frozenset(),
    # Leaves.
    "geometry": frozenset(),
    "network": frozenset(),
    "tasks": frozenset({"registry"}),  # the registry of task suites
    "metrics": frozenset({"registry"}),
    "wiring": frozenset({"registry"}),
    "reader": frozenset({"_process"}),
    # Above them, from the bottom up.
    "log": frozenset({"_process"}),
    "growth": frozenset({"network", "registry"}),
    "train": frozenset({"network", "growth", "wiring", "tasks", "metrics", "log", "streams", "registry"}),
    "spec": frozenset({"wiring", "growth", "train", "metrics", "tasks", "registry"}),  # registries, to validate parameters
    "build": frozenset({"spec", "geometry", "wiring", "network", "growth", "train", "tasks", "metrics", "log",
                        "streams", "registry", "_source", VERSION,
                        "reader", "analyses"}),  # a warm start reads another run's stored network
    "runner": frozenset({"spec", "build", "train", "log", "wiring", "registry", "reader", "_cpus", "_source",
                         "_process", VERSION}),
    "analyses": frozenset({"reader", "network", "tasks", "metrics", "streams", VERSION}),
    "plots": frozenset({"reader", "metrics"}),
    "ledger": frozenset({"reader", "plots", "spec", "metrics"}),
    "sweep": frozenset({"spec", "build", "train", "runner", "log", "reader", "_cpus"}),
    "cli": EVERY,
    "__main__": frozenset({"cli"}),
    FACADE: frozenset({"spec", "reader", "runner"}),
}

#: Leaves: they import no other part of growsim, only the small modules above them
#: (which import nothing of growsim). The reader imports `_process` alone.
LEAVES = ("geometry", "wiring", "network", "tasks", "metrics", "reader")
SHARED = ("_process", "registry")

# Imports the table does not allow, in files whose owners are changing them now. Each is
# listed with where it is and why it breaks the documented direction; remove the entry
# with the import (a test fails while an entry names an import that no longer exists).
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _allowed(part: str) -> frozenset[str]:
    rule = ALLOWED[part]
    return frozenset(ALLOWED) - {part, "__main__"} | {VERSION} if rule == EVERY else rule


def _parts_on_disk() -> set[str]:
    """The parts of growsim: its packages, its top-level modules, and the facade."""
    out = {FACADE}
    for path in PACKAGE.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            out.add(path.name)
        elif path.suffix == ".py" and path.name != "__init__.py":
            out.add(path.stem)
    return out


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _part_of(module: str) -> str:
    parts = module.split(".")
    return FACADE if len(parts) == 1 else parts[1]


def _facade_name(name: str, parts: set[str]) -> str:
    """What `growsim.<name>` is: a part of growsim, the version, or a name the facade re-exports."""
    if name == VERSION:
        return VERSION
    return name if name in parts else FACADE


def _imports(path: Path, parts: set[str], root: Path = ROOT) -> Iterator[tuple[str, int]]:
    """(part of growsim, line) for every import of growsim code in the file ``path`` (under ``root``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    # `import growsim`: what it is used for decides what it imports (growsim.__version__...).
    used = sorted({node.attr for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "growsim"})
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "growsim":
                    for name in used:
                        yield _facade_name(name, parts), node.lineno
                    if not used:
                        yield FACADE, node.lineno
                elif alias.name.startswith("growsim."):
                    yield _part_of(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package this file is in
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "growsim":
                for alias in node.names:
                    yield _facade_name(alias.name, parts), node.lineno
            elif name.startswith("growsim."):
                yield _part_of(name), node.lineno
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and node.args[0].value.split(".")[0] == "growsim"
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            yield _part_of(node.args[0].value), node.lineno


def _edges() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) -> the places (file:line) where a part of growsim imports another."""
    parts = _parts_on_disk()
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part_of(_module_name(path))
        for target, line in _imports(path, parts):
            if target != source:
                out.setdefault((source, target), []).append(f"{path.relative_to(ROOT)}:{line}")
    return out


def _cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges``, or None."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_every_part_of_growsim_has_a_row():
    missing = sorted(_parts_on_disk() - set(ALLOWED))
    assert not missing, f"add a row to ALLOWED (and to docs/architecture.md's Packages table) for: {missing}"
    for part, rule in ALLOWED.items():
        assert rule == EVERY or rule <= set(ALLOWED) | {VERSION}, f"{part} may import parts with no row: {rule}"


def test_imports_follow_the_table():
    wrong = [f"{a} -> {b}: {', '.join(where)}" for (a, b), where in sorted(_edges().items())
             if b not in _allowed(a) and (a, b) not in EXCEPTIONS]
    assert not wrong, "imports the Packages table does not allow:\n" + "\n".join(wrong)


def test_every_exception_is_still_needed():
    edges = _edges()
    for (a, b), why in EXCEPTIONS.items():
        assert b not in _allowed(a), f"{a} -> {b} is allowed by the table: drop its exception"
        assert (a, b) in edges, f"{a} no longer imports {b} ({why}): drop its exception"


def test_no_cycles_in_the_table_or_the_code():
    table = {(a, b) for a in ALLOWED for b in _allowed(a)}
    assert _cycle(table) is None, f"the table allows a cycle: {' -> '.join(_cycle(table))}"
    code = set(_edges())
    assert _cycle(code) is None, f"imports go round in a cycle: {' -> '.join(_cycle(code))}"


def test_leaves_import_no_other_part():
    edges = _edges()
    for leaf in LEAVES:
        assert _allowed(leaf) <= set(SHARED), leaf
        assert {b for a, b in edges if a == leaf} <= set(SHARED), leaf
    # The reader imports nothing of growsim but whether a process runs.
    assert {b for a, b in edges if a == "reader"} == {"_process"}
    for shared in SHARED:
        assert not _allowed(shared) and not {b for a, b in edges if a == shared}, shared
    # ... and that module is the standard library alone (not even numpy).
    tree = ast.parse((PACKAGE / "_process.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names - {"__future__"} <= set(sys.stdlib_module_names), names


def test_the_version_imports_nothing():
    """Reading `growsim.__version__` runs the facade's top level, which must import no part of growsim."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(not (getattr(n, "module", None) or "").startswith("growsim") for n in top)
    assert all(not a.name.startswith("growsim") for n in top if isinstance(n, ast.Import) for a in n.names)
    assert any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == VERSION for t in n.targets) for n in tree.body)


def test_the_scan_sees_imports_inside_functions(tmp_path):
    """The scanner on a file of its own: nested, TYPE_CHECKING, relative and by-name imports count."""
    pkg = tmp_path / "growsim" / "reader"
    pkg.mkdir(parents=True)
    code = ("from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from growsim.network import ChainRNN\n"
            "def f():\n    import growsim.tasks.yang\n    from ..metrics import communities\n"
            "    from growsim import __version__, open_run, streams\n"
            "    import importlib; importlib.import_module('growsim.log.hdf5')\n"
            "import growsim\nx = growsim.__version__\n")
    (pkg / "x.py").write_text(code)
    found = sorted({p for p, _ in _imports(pkg / "x.py", {"network", "tasks", "metrics", "streams", "log"}, tmp_path)})
    assert found == sorted({"network", "tasks", "metrics", VERSION, FACADE, "streams", "log"})


# --- docs/architecture.md agrees ----------------------------------------------------------

def _docs_table() -> dict[str, frozenset[str] | str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Packages", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `growsim")]
    out: dict[str, frozenset[str] | str] = {}
    for line in rows:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"a row of the Packages table needs 4 cells: {line}"
        names = [_part_of(n) for n in re.findall(r"`(growsim[\w.]*)`", cells[0])]
        last = cells[3]
        rule: frozenset[str] | str = EVERY if last == EVERY else frozenset(re.findall(r"`([\w.]+)`", last))
        assert rule or last.startswith("none"), f"say none, or name the parts in backquotes: {line}"
        for name in names:
            assert name not in out, f"{name} has two rows in the Packages table"
            out[name] = rule
    return out


def test_docs_table_agrees():
    docs = _docs_table()
    assert set(docs) == set(ALLOWED), (f"rows only in the docs: {sorted(set(docs) - set(ALLOWED))}; "
                                       f"only in this test: {sorted(set(ALLOWED) - set(docs))}")
    for part, rule in ALLOWED.items():
        assert docs[part] == rule, f"{part}: the docs say {docs[part]}, this test {rule}"


@pytest.mark.parametrize("part", LEAVES)
def test_docs_call_each_leaf_a_leaf(part):
    section = ARCHITECTURE.read_text(encoding="utf-8").split("## Packages", 1)[1]
    row = next(line for line in section.splitlines() if line.startswith(f"| `growsim.{part}`"))
    assert "(leaf)" in row
