"""Code runs only where the user names it: a run file's plugins on resume, a plugin that
exits, a module that merely lies in the working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from growsim.cli import main

ROOT = Path(__file__).parents[2]
TINY = (ROOT / "tests" / "data" / "tiny.yaml").read_text()
PLUGIN = '''
from pathlib import Path

from growsim.wiring import wiring_rule
from growsim.wiring.rules import RandomParams, uniform

Path(__file__).with_suffix(".ran").write_text("ran")


@wiring_rule("marked_{n}", params=RandomParams)
def marked(request, params):
    return uniform(request, params)
'''


def _spec_with_plugin(folder: Path, n: int) -> Path:
    (folder / f"marker{n}.py").write_text(PLUGIN.replace("{n}", str(n)))
    text = TINY.replace("rule: distance", f"rule: marked_{n}").replace("  eta: -3.0\n", "")
    spec = folder / "spec.yaml"
    spec.write_text(text + f"plugins: [marker{n}.py]\n")
    return spec


def test_resume_does_not_run_a_run_files_plugins_unless_allowed(tmp_path, capsys):
    from growsim.runner import Stop, run

    spec = _spec_with_plugin(tmp_path, 1)
    out = tmp_path / "theirs.h5"
    stop = Stop()
    stop.request("stopped by the test")
    assert run(spec, out, stop=stop).status == "interrupted"
    marker = tmp_path / "marker1.ran"
    marker.unlink()
    assert main(["run", "--resume", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "plugins" in err and "names plugins, whose code would run: pass --allow-plugins" in err
    assert "line" in err and "Traceback" not in err
    assert not marker.exists()


def test_resume_runs_them_when_allowed(tmp_path):
    from growsim.wiring.registry import unregister

    spec = _spec_with_plugin(tmp_path, 2)
    out = tmp_path / "ours.h5"
    assert main(["run", str(spec), "--out", str(out), "-q", "--set", "train.batches=4"]) == 0
    # a completed run has nothing to resume: run a copy stopped before its first batch
    from growsim.runner import Stop, run

    stopped = tmp_path / "stopped.h5"
    stop = Stop()
    stop.request("stopped by the test")
    assert run(spec, stopped, overrides=["train.batches=4"], stop=stop).status == "interrupted"
    unregister("marked_2")  # as in a fresh process, where the plugin is not loaded yet
    (tmp_path / "marker2.ran").unlink()
    assert main(["run", "--resume", str(stopped), "-q", "--allow-plugins"]) == 0
    assert (tmp_path / "marker2.ran").exists()


@pytest.mark.parametrize("command", ["validate", "run", "plugins --spec", "plugins --file"])
def test_a_plugin_that_exits_is_an_error_not_a_silent_exit(tmp_path, capsys, command):
    (tmp_path / "quits.py").write_text("import sys\nsys.exit(7)\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(TINY + "plugins: [quits.py]\n")
    args = {
        "validate": ["validate", str(spec)],
        "run": ["run", str(spec), "--out", str(tmp_path / "x.h5"), "-q"],
        "plugins --spec": ["plugins", "--spec", str(spec)],
        "plugins --file": ["plugins", "--file", str(tmp_path / "quits.py")],
    }[command]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "quits.py failed to import (line 2): SystemExit: 7" in err and "Traceback" not in err
    if command != "plugins --file":  # a spec names it: its path and line there
        assert "plugins[0]: plugin file" in err and "(line 26)" in err
    assert "Wiring rules" not in out  # nothing listed as if all were well
    assert not (tmp_path / "x.h5").exists() and list(tmp_path.glob(".*")) == []


def test_python_m_does_not_import_plugin_modules_from_the_working_directory(tmp_path):
    (tmp_path / "lurker.py").write_text("open('lurked', 'w').write('x')\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(TINY + "plugins: [lurker]\n")
    done = subprocess.run([sys.executable, "-m", "growsim", "validate", str(spec)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "lurker" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "lurked").exists()
