"""The scripts in examples/ run on a freshly made run; h5dump and Octave read it where installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
# What each script must print about a 6-batch run of specs/add_conn_distance.yaml.
EXPECTED = {
    "read_h5py.py": ["completed at step 6 of 6", "step       6:    20 synapses", "3 snapshots, steps 0 to 6", "2 growth events"],
    "read_pandas.py": ["wiring distance, 0 initial synapses", "modularity_q", "growth events: 2"],
    "read_xarray.py": ["<xarray.Dataset>", "perf ", "(step, task)", "mean performance over tasks"],
    "snapshot_networkx.py": ["step 6: 83 neurons, 20 synapses", "louvain communities", "strongest synapses:"],
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


def test_networkx_example_on_a_step_and_without_snapshots(shipped_runs, small_runs):
    result = _python("snapshot_networkx.py", str(shipped_runs["fix_conn_random"]), "3")
    assert result.returncode == 0, result.stderr
    assert "step 3: 83 neurons, 800 synapses" in result.stdout
    result = _python("snapshot_networkx.py", str(small_runs["no_snapshots"]))
    assert result.returncode == 0, result.stderr
    assert "step 40: 16 neurons, 12 synapses" in result.stdout


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
