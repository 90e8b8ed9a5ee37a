"""The scripts in examples/ run on a freshly made run; h5dump and Octave read it where installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
# What each script must print about a 6-batch run of specs/add_conn_distance.yaml.
EXPECTED = {
    "read_h5py.py": ["completed at step 6 of 6", "step       6:    20 synapses", "3 snapshots, steps 0 to 6", "2 growth events"],
    "read_pandas.py": ["wiring distance, 0 initial synapses", "modularity_q", "growth events: 2"],
    "read_xarray.py": ["<xarray.Dataset>", "perf ", "(step, task)", "mean performance over tasks"],
    "snapshot_networkx.py": ["step 6: 83 neurons, 20 synapses", "louvain communities", "strongest synapses:"],
    "to_mat.py": ["wrote ", ".mat: ", " series"],
}

# What each notebook must leave in its working directory.
NOTEBOOK_FILES = {
    "first_run.ipynb": ["first_run/tiny.yaml", "first_run/tiny.h5", "first_run/loss.png", "first_run/weights.png"],
}


def _python(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(check=False, args=[sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def test_every_python_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_python_example(script, shipped_runs):
    result = _python(script, str(shipped_runs["add_conn_distance"]))
    assert result.returncode == 0, result.stderr
    for text in EXPECTED[script]:
        assert text in result.stdout, f"{script} did not print {text!r}:\n{result.stdout}"


def test_mat_file_holds_the_runs_series_and_final_weights(shipped_runs, tmp_path):
    """What Octave's `load` reads when its h5read (the hdf5oct package) is missing."""
    from scipy.io import loadmat

    run, out = shipped_runs["add_conn_distance"], tmp_path / "run.mat"
    assert _python("to_mat.py", str(run), str(out)).returncode == 0
    mat = loadmat(out, squeeze_me=True)
    with h5py.File(run, "r") as f:
        assert (mat["series_step"] == f["series/step"][()]).all()
        assert mat["series_perf"].shape == f["series/perf"].shape
        assert (mat["final_w_rec"] == f["final/w_rec"][()]).all()
        assert mat["attr_status"] == "completed"
        assert list(mat["tasks"]) == list(f["tasks/names"].asstr()[()])


def test_networkx_example_on_a_step_and_without_snapshots(shipped_runs, small_runs):
    result = _python("snapshot_networkx.py", str(shipped_runs["fix_conn_random"]), "3")
    assert result.returncode == 0, result.stderr
    assert "step 3: 83 neurons, 800 synapses" in result.stdout
    result = _python("snapshot_networkx.py", str(small_runs["no_snapshots"]))
    assert result.returncode == 0, result.stderr
    assert "step 40: 16 neurons, 12 synapses" in result.stdout


def test_networkx_example_names_the_snapshots_when_a_step_has_none(shipped_runs, small_runs):
    result = _python("snapshot_networkx.py", str(shipped_runs["add_conn_distance"]), "7")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "has no snapshot at step 7; its snapshots are at steps 0, " in result.stderr and result.stderr.rstrip().endswith(", 6")
    result = _python("snapshot_networkx.py", str(shipped_runs["add_conn_distance"]), "last")
    assert result.returncode == 2 and "STEP must be a step number, not 'last'" in result.stderr
    result = _python("snapshot_networkx.py", str(small_runs["no_snapshots"]), "10")
    assert result.returncode == 2 and "no snapshots (log.snapshots: false), only its final weights, at step 40" in result.stderr


def _code_cells(notebook: Path) -> list[str]:
    """The code cells of a notebook, read as JSON (nbformat 4): no Jupyter needed."""
    data = json.loads(notebook.read_text())
    assert data["nbformat"] == 4
    cells = [c for c in data["cells"] if c["cell_type"] == "code"]
    for cell in cells:  # shipped without outputs, so that a diff shows only what was written
        assert cell["outputs"] == [] and cell["execution_count"] is None, notebook.name
    return ["".join(c["source"]) for c in cells]


def test_every_notebook_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(NOTEBOOK_FILES)


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_FILES))
def test_notebook_runs_in_order_and_makes_its_files(notebook, tmp_path, monkeypatch):
    """Every code cell in order, in one namespace, in an empty working directory (a figure
    backend without a screen)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    try:
        for i, code in enumerate(_code_cells(EXAMPLES / notebook)):
            exec(compile(code, f"{notebook}, code cell {i + 1}", "exec"), namespace)
    finally:
        plt.close("all")
    for name in NOTEBOOK_FILES[notebook]:
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 0, name
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        if path.suffix == ".h5":
            with h5py.File(path, "r") as f:
                assert f.attrs["status"] == "completed", name


@pytest.mark.skipif(not shutil.which("h5dump"), reason="h5dump (Debian's hdf5-tools) is not installed")
def test_h5dump_reads_the_layout_and_analysis(shipped_runs, tmp_path):
    from growsim.cli import main

    run = tmp_path / "run.h5"
    run.write_bytes(shipped_runs["add_conn_distance"].read_bytes())
    assert main(["analyze", str(run), "modularity", "--method", "louvain"]) == 0
    header = subprocess.run(check=False, args=["h5dump", "-H", str(run)], capture_output=True, text=True)
    assert header.returncode == 0, header.stderr
    for name in ('GROUP "series"', 'DATASET "modularity_q"', 'GROUP "000000006"', 'GROUP "analysis"', 'GROUP "modularity_louvain"'):
        assert name in header.stdout
    q = subprocess.run(check=False, args=["h5dump", "-d", "/analysis/modularity_louvain/q", str(run)], capture_output=True, text=True)
    assert q.returncode == 0 and "DATASPACE  SIMPLE { ( 3 ) / ( 3 ) }" in q.stdout
    attrs = subprocess.run(check=False, args=["h5dump", "-a", "/analysis/modularity_louvain/method", str(run)], capture_output=True, text=True)
    assert attrs.returncode == 0 and '"louvain"' in attrs.stdout


@pytest.mark.skipif(not shutil.which("octave"), reason="Octave is not installed")
def test_octave_example(shipped_runs):
    load = "try, pkg load hdf5oct; end; "  # Octave's h5read comes with the hdf5oct package
    probe = subprocess.run(check=False, args=["octave", "--no-gui", "--quiet", "--eval", load + "exit(~exist('h5read'))"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("Octave has no h5read (install the hdf5oct package)")
    run = shipped_runs["add_conn_distance"]
    result = subprocess.run(
        check=False, args=["octave", "--no-gui", "--quiet", "--eval", f"{load}run_file = '{run}'; cd('{EXAMPLES}'); read_run"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "completed at step 6" in result.stdout and "final W_rec: 83 x 83, 20 synapses" in result.stdout
