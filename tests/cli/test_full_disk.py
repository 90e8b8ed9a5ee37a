"""A full disk stops a run with exit code 2 and one message, and leaves a file that says so.

Real full disks: a tmpfs of a few hundred kB is mounted for each case (as root; skipped
otherwise), sized from the commits of a reference run so that the disk fills while the
run file is created, at its first step, in the middle of the run and while its end is
written. The same moments are also faked in-process, where no mount is possible: the
writer's low-level write fails as a full disk does (overwriting bytes works, growing a
file does not).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).parents[2]
SPEC = ROOT / "tests" / "data" / "tiny.yaml"
SETS = ["log.every=5", "train.batches=40"]
ENV = {"OMP_NUM_THREADS": "1", "PATH": os.environ.get("PATH", "")}
PAGE = 4096

# Runs `growsim run` and prints the size of every committed image (the writer's commits,
# in order: the set-up, steps 0, 5, ..., 40, then the end).
_SIZES = """
import sys
import growsim.log.hdf5 as hdf5
real = hdf5._write_atomically
def write(path, image):
    print("image", len(image), flush=True)
    real(path, image)
hdf5._write_atomically = write
from growsim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_args(out: Path, *extra: str) -> list[str]:
    sets = [a for s in (*SETS, *extra) for a in ("--set", s)]
    return ["run", str(SPEC), "--out", str(out), "-q", *sets]


def _growsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "growsim", *args], env=ENV, capture_output=True, text=True, timeout=300)


def _pages(n: int) -> int:
    return -(-n // PAGE) * PAGE


@pytest.fixture(scope="module")
def commits(tmp_path_factory) -> list[int]:
    """The disk space (whole pages) each commit of the reference run takes: its image and slack."""
    from growsim.log.hdf5 import SLACK_BYTES

    out = tmp_path_factory.mktemp("sizes") / "x.h5"
    proc = subprocess.run([sys.executable, "-c", _SIZES, *_run_args(out)], env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    sizes = [_pages(int(line.split()[1]) + SLACK_BYTES) for line in proc.stdout.splitlines() if line.startswith("image ")]
    assert len(sizes) == 11  # set-up, 9 log steps, the end
    return sizes


@pytest.fixture
def tiny_disk(tmp_path):
    """A factory of real tmpfs mounts of a given size (as root only)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _needed(commits: list[int], k: int, atomic: bool) -> int:
    """The disk space commit k needs: written atomically, the last commit and its new copy."""
    if k == 0 or not atomic:
        return commits[k]
    return commits[k - 1] + commits[k]


# The commit that finds the disk full, and what the file then says: its last_step (None:
# no file) and the batch named in the reason.
MOMENTS = {
    "creating": (0, None, None),
    "first-step": (1, -1, 0),
    "mid-run": (5, 15, 20),
    "final-write": (10, 40, 40),
}


def _check_failed_run(proc, out: Path, last_step: int | None, batch: int | None) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("error: ") == 1, proc.stderr
    assert "No space left on device" in proc.stderr
    assert not list(out.parent.glob(".*.writing")), "a stale working copy is left"
    if last_step is None:
        assert "nothing was written" in proc.stderr
        assert not out.exists()
        return
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "failed"
        assert f.attrs["status_reason"].startswith(f"disk full at batch {batch} (No space left on device)")
        assert int(f.attrs["last_step"]) == last_step
    inspected = _growsim("inspect", str(out))
    assert inspected.returncode == 0 and "Traceback" not in inspected.stderr, inspected.stderr
    assert f"failed at step {last_step} of 40: disk full at batch {batch}" in inspected.stdout


@pytest.mark.slow
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_real_full_disk(tiny_disk, commits, moment):
    k, last_step, batch = MOMENTS[moment]
    # Between what the commit before needs and what this one needs, away from both.
    low = _needed(commits, k - 1, True) if k else 4 * PAGE
    size = (low + _needed(commits, k, True)) // 2 // PAGE * PAGE
    out = tiny_disk(size) / "x.h5"
    proc = _growsim(*_run_args(out))
    _check_failed_run(proc, out, last_step, batch)
    if moment == "mid-run":  # once there is room again, the run continues from its checkpoint
        subprocess.run(["mount", "-o", "remount,size=4m", str(out.parent)], check=True)
        resumed = _growsim("run", "--resume", str(out), "-q")
        assert resumed.returncode == 0, resumed.stderr
        with h5py.File(out, "r") as f:
            assert f.attrs["status"] == "completed" and f.attrs["last_step"] == 40


@pytest.mark.slow
def test_a_real_full_disk_written_in_place(tiny_disk, commits):
    """log.atomic_writes: false grows the file in place; a full disk stops it just as cleanly."""
    size = (commits[4] + commits[5]) // 2 // PAGE * PAGE  # the file outgrows it at step 20
    out = tiny_disk(size) / "x.h5"
    proc = _growsim(*_run_args(out, "log.atomic_writes=false"))
    _check_failed_run(proc, out, 15, 20)


# --- the same moments, faked ------------------------------------------------------------


class _FullDisk:
    """The writer's disk fills at its `at`-th commit: from then on a write that would grow a
    file fails with ENOSPC once it has filled what the file already holds, while
    overwriting bytes still works (as on a real file system that is not copy-on-write).
    With `nothing`, every write fails."""

    def __init__(self, monkeypatch, at: int, nothing: bool = False):
        from growsim.log import hdf5

        self.commits, self.full = 0, False
        real_commit, real_write = hdf5.HDF5Logger.commit, hdf5._write_all

        def commit(logger, step=None):
            self.commits += 1
            self.full = self.full or self.commits >= at
            real_commit(logger, step)

        def write(fd, data, offset):
            room = os.fstat(fd).st_size - offset
            if self.full and (nothing or len(memoryview(data)) > room):
                real_write(fd, memoryview(data)[: max(0, room)], offset)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_write(fd, data, offset)

        monkeypatch.setattr(hdf5.HDF5Logger, "commit", commit)
        monkeypatch.setattr(hdf5, "_write_all", write)


@pytest.mark.parametrize("atomic", [True, False], ids=["atomic", "in-place"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_faked_full_disk(tmp_path, capsys, monkeypatch, moment, atomic):
    from growsim.cli import main

    k, last_step, batch = MOMENTS[moment]
    _FullDisk(monkeypatch, at=k + 1)
    out = tmp_path / "x.h5"
    code = main(_run_args(out, f"log.atomic_writes={str(atomic).lower()}"))
    _check_failed_run(subprocess.CompletedProcess([], code, "", capsys.readouterr().err), out, last_step, batch)


def test_a_full_disk_with_no_room_left_at_all(tmp_path, capsys, monkeypatch):
    """Not even the failure can be recorded: the message says so, the file keeps its last
    commit (which says running), and no working copy is left."""
    from growsim.cli import main

    _FullDisk(monkeypatch, at=5, nothing=True)
    out = tmp_path / "x.h5"
    assert main(_run_args(out)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "run failed at batch 15: disk full" in err, err
    assert "not even the failure could be recorded" in err and "still says running" in err
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "running" and f.attrs["last_step"] == 10
    assert not list(tmp_path.glob(".*.writing"))
