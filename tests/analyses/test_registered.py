"""Registered analyses after the run: `growsim analyze RUN <name>` computes any analysis of
the registry (log.analyses') at every stored step, as the run computed it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from growsim.analyses import registered_analysis
from growsim.analyses._registered import _stack
from growsim.cli import main
from growsim.metrics import analyses
from growsim.reader import open_run

TINY = Path(__file__).parents[1] / "data" / "tiny.yaml"

PLUGIN = textwrap.dedent(
    """
    import numpy as np
    from pydantic import BaseModel, ConfigDict, Field

    from growsim.metrics.analyses import analysis


    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        scale: float = Field(1.0, gt=0)


    @analysis("out_degree_after", params=Params)
    def out_degree(context, *, scale=1.0):
        '''Each neuron's number of outgoing synapses.'''
        degree = np.asarray(context.weights["mask"], dtype=np.float64).sum(axis=0) * scale
        return {"per_neuron": degree, "total": float(degree.sum()), "seed_seen": float(context.seed)}
    """
)


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    """tiny.yaml with wiring_length logged at every log step and a snapshot at each."""
    folder = tmp_path_factory.mktemp("registered")
    data = yaml.safe_load(TINY.read_text())
    data["log"]["analyses"] = [{"kind": "wiring_length", "every": 10, "threshold": 0.01}]
    data["log"]["snapshot_every"] = 10
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    out = folder / "run.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    return out


@pytest.fixture
def restored(restored_registry):
    return restored_registry(analyses.ANALYSES)


def test_wiring_length_after_the_run_equals_what_the_run_logged(run_file):
    run = open_run(run_file)
    result = registered_analysis(run, "wiring_length", {"threshold": 0.01})
    steps = result.datasets["step"][0]
    assert list(steps) == [0, 10, 20, 30, 40]
    series = run.series().set_index("step")
    for key in ("synapses", "mean_length", "total_length", "weighted_length"):
        np.testing.assert_allclose(result.datasets[key][0], series.loc[steps, f"wiring_length_{key}"].to_numpy(),
                                   rtol=1e-6, equal_nan=True)
    assert result.parameters == {"threshold": 0.01, "seed": 0}


def test_the_command_writes_a_plugin_analysis_named_on_the_command_line(restored, run_file, tmp_path, capsys):
    plugin = tmp_path / "degree.py"
    plugin.write_text(PLUGIN)
    copy = tmp_path / "run.h5"
    copy.write_bytes(run_file.read_bytes())
    # unknown without the plugin: nothing in the run file loads code
    assert main(["analyze", str(copy), "out_degree_after"]) == 2
    assert "unknown metric 'out_degree_after'" in capsys.readouterr().err
    args = ["analyze", str(copy), "out_degree_after", "--plugin", str(plugin), "--seed", "7"]
    assert main([*args, "--param", "scale=0"]) == 2
    assert "--param for out_degree_after: scale: Input should be greater than 0" in capsys.readouterr().err
    assert main([*args, "--param", "scale=2"]) == 0
    assert "out_degree_after at 5 steps (0 to 40); at step 40: total 24" in capsys.readouterr().out
    result = open_run(copy).analysis("out_degree_after")
    with h5py.File(copy, "r") as f:
        mask = f["final/mask"][()].astype(float)
    np.testing.assert_array_equal(result["per_neuron"][-1], mask.sum(axis=0) * 2)
    np.testing.assert_array_equal(result["total"], [0, 10, 20, 24, 24])  # 0, 5, 10, 12, 12 synapses, doubled
    assert set(result["seed_seen"]) == {7.0}


def test_bad_parameters_and_failing_analyses_are_user_errors(restored, run_file, tmp_path, capsys):
    plugin = tmp_path / "broken.py"
    plugin.write_text(
        "from growsim.metrics.analyses import analysis\n"
        "@analysis('broken_after')\n"
        "def broken(context):\n    return {'x': 1 / 0}\n"
    )
    copy = tmp_path / "run.h5"
    copy.write_bytes(run_file.read_bytes())
    assert main(["analyze", str(copy), "broken_after", "--plugin", str(plugin)]) == 2
    assert "the analysis broken_after failed on" in capsys.readouterr().err
    assert main(["analyze", str(copy), "wiring_length", "--param", "treshold=1"]) == 2
    assert "--param for wiring_length: treshold: Extra inputs are not permitted" in capsys.readouterr().err
    assert main(["analyze", str(copy), "wiring_length", "--param", "threshold"]) == 2
    assert "write KEY=VALUE" in capsys.readouterr().err
    assert main(["analyze", str(copy), "modularity", "--param", "x=1"]) == 2
    assert "--param is for registered analyses" in capsys.readouterr().err


def test_results_of_a_growing_network_are_padded_with_nan():
    out = _stack([np.array([1.0, 2.0]), None, np.array([3.0, 4.0, 5.0])])
    np.testing.assert_array_equal(out, [[1, 2, np.nan], [np.nan] * 3, [3, 4, 5]])
    np.testing.assert_array_equal(_stack([np.array(1.0), np.array(2.5)]), [1.0, 2.5])
    with pytest.raises(ValueError, match="number of dimensions"):
        _stack([np.array(1.0), np.array([1.0, 2.0])])
