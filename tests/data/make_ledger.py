"""What the make.py of each test ledger shares: run tests/data/tiny.yaml with overrides, and
record the runs with `growsim ledger add` under protocol "tiny"."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TINY = Path(__file__).resolve().parent / "tiny.yaml"


def remake(folder: Path, runs: dict[str, list[str]]) -> None:
    """Replace ``folder``'s records with records of one tiny run per entry of ``runs``
    (a name and its --set overrides)."""
    growsim = [sys.executable, "-m", "growsim"]
    shutil.rmtree(folder / "records", ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, overrides in runs.items():
            out = Path(tmp) / f"{name}.h5"
            subprocess.run([*growsim, "run", str(TINY), "--out", str(out), *[a for o in overrides for a in ("--set", o)]],
                           check=True)
            paths.append(str(out))
        subprocess.run([*growsim, "ledger", "add", str(folder), *paths, "--protocol", "tiny"], check=True)
