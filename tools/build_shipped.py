"""Build step (pyproject.toml, [tool.setuptools.cmdclass]): a wheel carries the shipped specs,
sweeps and plugins as growsim/_shipped/{specs,sweeps,plugins}.

They stay at the repository's root, where the README's commands (`growsim run
specs/...`) and the sweeps' `../specs/...` paths expect them, and are copied into the
package only when a wheel is built. An editable install gets no copy: `growsim init`
reads them from the checkout. MANIFEST.in puts the same folders (and this file) in an
sdist, so a wheel built from the sdist carries them too.
"""

from __future__ import annotations

from pathlib import Path

from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("specs", "sweeps", "plugins")
TARGET = Path("growsim", "_shipped")


def shipped_files(root: Path = ROOT) -> list[Path]:
    """Every file under the shipped folders, relative to root; caches left out."""
    files = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(path.relative_to(root))
    return files


class BuildPy(build_py):
    """setuptools' build_py, then a copy of the shipped folders into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # the checkout's own folders serve an editable install
            return
        for rel in shipped_files():
            target = Path(self.build_lib) / TARGET / rel
            self.mkpath(str(target.parent))
            self.copy_file(str(ROOT / rel), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False):
            outputs += [str(Path(self.build_lib) / TARGET / rel) for rel in shipped_files()]
        return outputs
