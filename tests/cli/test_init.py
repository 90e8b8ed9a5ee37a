"""`growsim init`: the shipped specs, sweeps and plugins are listed, copied with what they
refer to, and carried by a wheel; shell completion works."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from growsim.cli import main

ROOT = Path(__file__).parents[2]
SHIPPED = {"specs": "*.yaml", "sweeps": "*.yaml", "plugins": "*.py"}


def _shipped(folder: str) -> list[Path]:
    return sorted((ROOT / folder).glob(SHIPPED[folder]))


def test_the_list_names_every_shipped_file_in_its_group(capsys):
    assert main(["init"]) == 0
    text = capsys.readouterr().out
    starts = {folder: text.index(f"({folder}/)") for folder in SHIPPED}
    bounds = sorted(starts.values()) + [len(text)]
    for folder, start in starts.items():
        section = text[start: bounds[bounds.index(start) + 1]]
        for path in _shipped(folder):
            assert re.search(rf"^  {re.escape(path.stem)}\s", section, re.M), f"{folder}/{path.name} is not listed"
    # a description beside each: the first comment line, not the command on line 1
    assert re.search(r"^  add_conn_distance\s+Wu & Gu, add_conn with distance-dependent wiring", text, re.M)
    assert re.search(r"^  gnm_matching\s+A worked wiring-rule plugin", text, re.M)


@pytest.mark.parametrize("name", ["add_conn_distance", "add_conn_distance.yaml", "specs/add_conn_distance.yaml"])
def test_a_spec_is_copied_under_specs(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", name]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "specs/add_conn_distance.yaml"]
    assert (tmp_path / "specs/add_conn_distance.yaml").read_bytes() == (ROOT / "specs/add_conn_distance.yaml").read_bytes()
    assert "next: growsim run specs/add_conn_distance.yaml" in capsys.readouterr().out


def test_a_spec_brings_its_plugin_and_data_files_and_validates_there(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "add_conn_gnm", "--out", "project"]) == 0
    assert main(["init", "connectome_file", "--out", "project"]) == 0
    project = tmp_path / "project"
    for rel in ("specs/add_conn_gnm.yaml", "plugins/gnm_matching.py", "specs/connectome_file.yaml", "specs/data/desikan_knn8.csv"):
        assert (project / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
    # In a process of its own: loading the copied plugin here would register its rule a second
    # time beside the repository's copy, which later tests load.
    result = subprocess.run([sys.executable, "-m", "growsim", "validate", "specs/add_conn_gnm.yaml", "specs/connectome_file.yaml"],
                            cwd=project, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_sweep_brings_its_specs_and_lists_its_points_in_an_empty_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "wu_gu_fig3"]) == 0
    copied = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    conditions = {f"specs/{kind}_conn_{rule}.yaml" for kind in ("add", "fix") for rule in ("distance", "random", "mixture")}
    assert copied == {"sweeps/wu_gu_fig3.yaml"} | conditions
    capsys.readouterr()
    assert main(["sweep", "sweeps/wu_gu_fig3.yaml", "--list"]) == 0
    text = capsys.readouterr().out
    assert "spec=add_conn_distance" in text and "spec=fix_conn_mixture" in text
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.h5"))


def test_a_plugin_is_copied_under_plugins(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "synaptic_scaling.py"]) == 0
    assert (tmp_path / "plugins/synaptic_scaling.py").read_bytes() == (ROOT / "plugins/synaptic_scaling.py").read_bytes()
    assert "growsim plugins --file plugins/synaptic_scaling.py" in capsys.readouterr().out


def test_a_file_that_differs_is_not_overwritten_unless_forced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "add_conn_random"]) == 0
    assert main(["init", "add_conn_random"]) == 0  # the same content: nothing to refuse
    assert "unchanged" in capsys.readouterr().out
    spec = tmp_path / "specs/add_conn_random.yaml"
    spec.write_text("# my own\n")
    assert main(["init", "wu_gu_fig3"]) == 2  # one of its specs differs: nothing is copied
    err = capsys.readouterr().err
    assert "specs/add_conn_random.yaml" in err and "--force" in err and "Traceback" not in err
    assert spec.read_text() == "# my own\n" and not (tmp_path / "sweeps").exists()
    assert main(["init", "wu_gu_fig3", "--force"]) == 0
    assert spec.read_bytes() == (ROOT / "specs/add_conn_random.yaml").read_bytes()
    assert (tmp_path / "sweeps/wu_gu_fig3.yaml").exists()


def test_an_unknown_name_gets_close_matches_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "add_con_distance"]) == 2
    err = capsys.readouterr().err
    assert "add_con_distance" in err and "did you mean add_conn_distance" in err and "Traceback" not in err
    assert main(["init", "wu_gu_fig2"]) == 2  # a spec and a sweep: the message names both
    err = capsys.readouterr().err
    assert "specs/wu_gu_fig2.yaml" in err and "sweeps/wu_gu_fig2.yaml" in err
    assert main(["init", "sweeps/wu_gu_fig2"]) == 0
    assert not any(tmp_path.glob("*.yaml"))


# The console script's own lines: typer names the completion after the program.
AS_CONSOLE_SCRIPT = "import sys; sys.argv[0] = 'growsim'; from growsim.cli import main; sys.exit(main())"


def _growsim(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", AS_CONSOLE_SCRIPT, *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_bash_completion_script_and_completions():
    shown = _growsim("--show-completion", "bash")
    assert shown.returncode == 0, shown.stderr
    assert "_GROWSIM_COMPLETE=complete_bash" in shown.stdout and "complete -o default -F _growsim_completion growsim" in shown.stdout
    commands = _growsim(_GROWSIM_COMPLETE="complete_bash", COMP_WORDS="growsim in", COMP_CWORD="1")
    assert commands.stdout.split() == ["init", "inspect"], commands.stderr
    names = _growsim(_GROWSIM_COMPLETE="complete_bash", COMP_WORDS="growsim init add_conn_d", COMP_CWORD="2")
    assert names.stdout.split() == ["add_conn_dale", "add_conn_distance"], names.stderr


def _source_tree(to: Path) -> None:
    """What an sdist is built from: the package, the shipped folders and the build files."""
    to.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("growsim", "specs", "sweeps", "plugins"):
        shutil.copytree(ROOT / name, to / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "MANIFEST.in", "tools/build_shipped.py"):
        (to / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, to / name)


def _run(args: list[str], cwd: Path, **env: str) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_a_wheel_built_from_the_sdist_carries_the_shipped_files(tmp_path):
    """sdist (MANIFEST.in) -> wheel (tools/build_shipped.py) -> installed: `growsim init` copies from it."""
    source = tmp_path / "source"
    _source_tree(source)
    sdist = _run([sys.executable, "-c", "from setuptools import build_meta; print(build_meta.build_sdist('dist'))"], source)
    sdist = source / "dist" / sdist.split()[-1]
    _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-q", "-w", str(tmp_path / "wheel"), str(sdist)], tmp_path)
    (wheel,) = (tmp_path / "wheel").glob("growsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"growsim/_shipped/{p.relative_to(ROOT).as_posix()}" for folder in SHIPPED for p in _shipped(folder)}
    expected.add("growsim/_shipped/specs/data/desikan_knn8.csv")
    assert expected <= names, sorted(expected - names)
    assert not any(n.startswith(("specs/", "sweeps/", "plugins/", "tools/")) for n in names)

    # Installed (a pure wheel unpacked is installed, less its scripts): init reads growsim/_shipped.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    empty = tmp_path / "empty"
    empty.mkdir()
    where = _run([sys.executable, "-c", "import growsim.cli.init as i; print(i.shipped_root())"], empty, PYTHONPATH=str(site))
    assert Path(where.strip()) == site / "growsim" / "_shipped"
    _run([sys.executable, "-m", "growsim", "init", "add_conn_gnm"], empty, PYTHONPATH=str(site))
    assert (empty / "plugins/gnm_matching.py").read_bytes() == (ROOT / "plugins/gnm_matching.py").read_bytes()
    # The copy is not growsim's code: the wheel's source digest is the source tree's.
    digest = [sys.executable, "-c", "from growsim._source import source_digest; print(source_digest())"]
    assert _run(digest, empty, PYTHONPATH=str(site)) == _run(digest, empty, PYTHONPATH=str(source))
