"""Every kind of bad input gets one clear message, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.cli import main

ROOT = Path(__file__).parents[2]
TINY = (ROOT / "tests" / "data" / "tiny.yaml").read_text()


def _spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _fails(capsys, args: list[str], *needles: str) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def _geometry_spec(tmp_path, geometry: str) -> Path:
    return _spec(tmp_path, TINY.replace("geometry: {kind: grid, shape: [4, 4]}", geometry))


@pytest.mark.parametrize(
    ("make", "geometry", "message"),
    [
        (lambda p: np.save(p / "d.npy", np.array([[0, 1], [-1, 0.0]])), "{kind: distance_file, path: d.npy}", "negative"),
        (lambda p: np.save(p / "d.npy", np.array([[0, np.nan], [1, 0.0]])), "{kind: distance_file, path: d.npy}", "not finite"),
        (lambda p: (p / "c.csv").write_bytes(b"\x00\xff\xfe garbage \x01"), "{kind: coordinates_file, path: c.csv}", "c.csv"),
        (lambda p: None, "{kind: coordinates_file, path: absent.csv}", "does not exist"),
    ],
    ids=["negative", "nan", "garbled-coordinates", "missing-coordinates"],
)
def test_bad_geometry_files(tmp_path, capsys, make, geometry, message):
    make(tmp_path)
    spec = _geometry_spec(tmp_path, f"geometry: {geometry}")
    for command in ("validate", "run"):
        args = [command, str(spec)] + (["--out", str(tmp_path / "x.h5"), "-q"] if command == "run" else [])
        _fails(capsys, args, "network.geometry.path:", message)
    assert not (tmp_path / "x.h5").exists(), "nothing written for a spec that cannot run"


def test_plugin_that_fails_to_import(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("import numpy\nraise ImportError('needs a package you do not have')\n")
    spec = _spec(tmp_path, TINY + "plugins: [broken.py]\n")
    _fails(capsys, ["validate", str(spec)], "plugins[0]:", "failed to import (line 2)", "needs a package", "(line 26)")


def test_plugin_module_that_is_not_installed(tmp_path, capsys):
    """The YAML path and line and the module's name; no line from inside importlib."""
    spec = _spec(tmp_path, TINY + "plugins: [no_such_module_xyz]\n")
    err = _fails(capsys, ["validate", str(spec)], "plugins[0]: plugin module 'no_such_module_xyz' is not installed")
    (line,) = [ln for ln in err.splitlines() if "plugins[0]" in ln]
    assert line.endswith("(line 26)") and line.count("line") == 1, line


def test_plugin_file_whose_import_fails_names_its_own_line(tmp_path, capsys):
    """A plugin file that imports a missing package: the line of its import, not importlib's."""
    (tmp_path / "needs.py").write_text("import numpy\nimport no_such_package_xyz\n")
    spec = _spec(tmp_path, TINY + "plugins: [needs.py]\n")
    _fails(capsys, ["validate", str(spec)], "plugins[0]:", "needs.py failed to import (line 2): ModuleNotFoundError", "(line 26)")


def test_plugin_rule_with_the_wrong_answer(tmp_path, capsys):
    (tmp_path / "wrong.py").write_text(
        "import numpy as np\nfrom growsim.wiring import wiring_rule\n"
        "@wiring_rule('wrong_shape_for_test')\n"
        "def rule(request, params):\n    return np.zeros((request.n, 3), dtype=int)\n"
    )
    text = TINY.replace("rule: distance", "rule: wrong_shape_for_test").replace("  eta: -3.0\n", "")
    spec = _spec(tmp_path, text + "plugins: [wrong.py]\n")
    out = tmp_path / "out.h5"
    _fails(capsys, ["run", str(spec), "--out", str(out), "-q"], "must return an integer array of shape (5, 2)", "records where and why")
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "failed" and "shape (5, 2)" in f.attrs["status_reason"]


def test_unwritable_output_path(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    spec = _spec(tmp_path, TINY)
    _fails(capsys, ["run", str(spec), "--out", str(blocker / "run.h5"), "-q"], "cannot create the output folder")
    _fails(capsys, ["run", str(spec), "--out", str(tmp_path), "-q"], "is a folder")


def test_paths_resolve_relative_to_the_spec_not_the_working_directory(tmp_path, monkeypatch):
    folder = tmp_path / "specs_here"
    folder.mkdir()
    x = np.arange(6.0)
    np.save(folder / "d.npy", np.abs(x[:, None] - x[None, :]))
    spec = _geometry_spec(folder, "geometry: {kind: distance_file, path: d.npy}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["validate", str(spec)]) == 0
    (elsewhere / "d.npy").write_bytes(b"not this one")
    assert main(["validate", "../specs_here/spec.yaml"]) == 0


def test_yaml_cannot_construct_objects(tmp_path, capsys):
    spec = _spec(tmp_path, "seed: !!python/object/apply:os.system ['touch pwned']\n" + TINY.split("\n", 3)[3])
    _fails(capsys, ["validate", str(spec)], "is not allowed")
    assert not Path("pwned").exists()
