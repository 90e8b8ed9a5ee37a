"""growsim init: list the shipped specs, sweeps and plugins, or copy one (with the files it
refers to) into a folder of your own."""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  # What is shipped: specs, sweeps and plugins, each with its description
  growsim init

  # A spec, copied to specs/ here; then the command on its first line
  growsim init add_conn_distance
  growsim run specs/add_conn_distance.yaml --set train.batches=2000

  # A sweep, with the specs it varies (sweeps/ and specs/ here)
  growsim init wu_gu_fig3
  growsim sweep sweeps/wu_gu_fig3.yaml --list

  # A spec brings the plugin file it names (plugins/gnm_matching.py)
  growsim init add_conn_gnm --out my_project

Files keep their folders (specs/, sweeps/, plugins/), so the paths
inside them (a sweep's ../specs/NAME.yaml, a spec's ../plugins/NAME.py)
and the command on each file's first line work as they are.
"""

# Each group: its folder and the files listed (other files there, such as specs/data/,
# are copied only with a file that refers to them).
GROUPS = {"specs": ("Specs", "*.yaml"), "sweeps": ("Sweeps", "*.yaml"), "plugins": ("Plugins", "*.py")}


def _complete(incomplete: str) -> list[str]:
    """Shell completion of NAME: the listed names, and their paths (specs/NAME.yaml) once a
    folder is typed."""
    try:
        listed = [p for files in _listed(shipped_root()).values() for p in files]
    except UserError:
        return []
    names = sorted({p.stem for p in listed}) + [str(p) for p in listed]
    return [n for n in names if n.startswith(incomplete)]


def init(
    name: Annotated[str | None, typer.Argument(help="A shipped spec, sweep or plugin: add_conn_distance, wu_gu_fig3.yaml, plugins/gnm_matching.py. Without one: list them.", show_default=False, metavar="NAME", autocompletion=_complete)] = None,
    out: Annotated[Path, typer.Option("--out", help="The folder to copy into; specs/, sweeps/ and plugins/ are made inside it.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist and differ from the shipped ones.")] = False,
) -> None:
    """List the specs, sweeps and plugins shipped with growsim, or copy one into a folder of your own with the files it needs."""
    root = shipped_root()
    if name is None:
        _list(root)
        return
    wanted = _find(root, name)
    _copy(root, _with_references(root, wanted), out, force)
    _next_step(root / wanted, wanted, out)


def shipped_root() -> Path:
    """The folder holding specs/, sweeps/ and plugins/: growsim/_shipped in an installed wheel,
    the repository's root in a checkout (an editable install)."""
    package = Path(__file__).resolve().parents[1]
    inside = package / "_shipped"
    if inside.is_dir():
        return inside
    checkout = package.parent
    if all((checkout / folder).is_dir() for folder in GROUPS):
        return checkout
    raise UserError(f"the shipped specs are missing: neither {inside} nor {checkout / 'specs'} exists; reinstall growsim")


def _listed(root: Path) -> dict[str, list[PurePosixPath]]:
    return {folder: [PurePosixPath(folder, p.name) for p in sorted((root / folder).glob(pattern)) if p.is_file()]
            for folder, (_, pattern) in GROUPS.items()}


def _shipped(root: Path) -> set[PurePosixPath]:
    """Every file under the shipped folders, relative to root: the listed ones and the data
    files they may name (specs/data/)."""
    return {PurePosixPath(p.relative_to(root).as_posix())
            for folder in GROUPS for p in (root / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _list(root: Path) -> None:
    for folder, files in _listed(root).items():
        width = max((len(p.stem) for p in files), default=0)
        console.print(f"[bold underline]{GROUPS[folder][0]}[/bold underline] ({folder}/)", highlight=False)
        console.print()
        for rel in files:
            console.print(f"  {rel.stem:<{width}}  {_description(root / rel)}".rstrip(), markup=False, highlight=False)
        console.print()
    console.print(
        f"From {root}. `growsim init NAME` copies one into specs/, sweeps/ or plugins/ of the current folder "
        "(or --out), with the specs, plugins and data files it refers to.",
        markup=False,
        highlight=False,
    )


def _description(path: Path) -> str:
    """A YAML file's first comment line that is not the command running it; a plugin's docstring's first line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        import ast

        try:
            doc = ast.get_docstring(ast.parse(text)) or ""
        except SyntaxError:
            return ""
        return doc.strip().splitlines()[0] if doc.strip() else ""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        line = line.lstrip("#").strip()
        if line and not line.startswith("growsim "):
            return line
    return ""


def _find(root: Path, name: str) -> PurePosixPath:
    """The shipped file a name means: a path (specs/x.yaml), a file name (x.yaml) or a stem (x)."""
    given = PurePosixPath(name.replace("\\", "/").removeprefix("./"))
    shipped = _shipped(root)
    if given in shipped:
        return given
    folder = given.parent if given.parent != PurePosixPath(".") else None
    matches = sorted(p for p in shipped
                     if given.name in (p.name, p.stem) and (folder is None or p.parent == folder))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UserError(f"'{name}' could be {' or '.join(map(str, matches))}: name one of them, e.g. growsim init {matches[-1]}")
    stems = sorted({p.stem for files in _listed(root).values() for p in files})
    close = difflib.get_close_matches(given.name.removesuffix(".yaml").removesuffix(".py"), stems, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UserError(f"no shipped spec, sweep or plugin is called '{name}'{hint} (growsim init lists them all)")


def _with_references(root: Path, first: PurePosixPath) -> list[PurePosixPath]:
    """first, then every shipped file it refers to (a sweep's specs, a spec's plugins and data
    files), and theirs in turn. A reference is any string in a YAML file that names a shipped
    file relative to the file, as growsim reads such paths."""
    import yaml

    shipped = _shipped(root)
    found: list[PurePosixPath] = []
    todo = [first]
    while todo:
        rel = todo.pop(0)
        if rel in found:
            continue
        found.append(rel)
        if rel.suffix not in (".yaml", ".yml"):
            continue
        try:
            tree = yaml.safe_load((root / rel).read_text(encoding="utf-8"))
        except yaml.YAMLError:
            continue
        for text in _strings(tree):
            target = PurePosixPath(os.path.normpath(str(rel.parent / text)).replace(os.sep, "/"))
            if target in shipped:
                todo.append(target)
    return found


def _strings(tree):
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from _strings(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _strings(value)


def _copy(root: Path, files: list[PurePosixPath], out: Path, force: bool) -> None:
    """Copy every file or none: a file that exists and differs stops the copy unless force."""
    differ = [rel for rel in files if (out / rel).exists() and not _same(root / rel, out / rel)]
    if differ and not force:
        names = ", ".join(str(out / rel) for rel in differ)
        raise UserError(f"nothing copied: {names} exists already and differs from the shipped file (--force overwrites)")
    for rel in files:
        target = out / rel
        if target.exists() and _same(root / rel, target):
            console.print(f"unchanged  {target}", markup=False, highlight=False)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target)
        console.print(f"{'replaced' if rel in differ else 'wrote':<9}  {target}", markup=False, highlight=False)


def _same(a: Path, b: Path) -> bool:
    return b.is_file() and a.read_bytes() == b.read_bytes()


def _next_step(source: Path, rel: PurePosixPath, out: Path) -> None:
    where = "" if out.resolve() == Path.cwd().resolve() else f" (in {out})"
    if rel.suffix == ".py":
        console.print(f"next{where}: name it in a spec's plugins list (from specs/: ../{rel}); "
                      f"growsim plugins --file {rel} lists what it adds", markup=False, highlight=False)
        return
    first = source.read_text(encoding="utf-8").splitlines()[:1]
    if first and first[0].startswith("# growsim "):
        console.print(f"next{where}: {first[0].removeprefix('# ')}", markup=False, highlight=False)
