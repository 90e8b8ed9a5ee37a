"""The run file names the exact code that wrote it (growsim/_source.py)."""

import hashlib
import subprocess
from pathlib import Path

import growsim
from growsim import _source


def test_source_digest_is_the_hash_of_the_package_files():
    package = Path(growsim.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*")
                       if p.is_file() and p.suffix in (".py", ".csv", ".md") and "__pycache__" not in p.parts):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    assert _source.source_digest() == h.hexdigest()[:16]


def test_git_commit_is_the_checkout_head():
    root = Path(growsim.__file__).resolve().parent.parent
    commit = _source.git_commit()
    if not (root / ".git").exists():
        assert commit == ""
        return
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert commit.removesuffix("+dirty") == head


def test_run_file_records_source_and_commit(small_runs):
    import h5py

    with h5py.File(small_runs["tiny"], "r") as f:
        assert f.attrs["version_growsim_source"] == _source.source_digest()
        assert f.attrs["version_growsim_commit"] == _source.git_commit()
