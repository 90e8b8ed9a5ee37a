"""In-run analyses are a registry like wiring rules: the built-in against a hand-computed
case, and a plugin's analysis, from a file or an entry point, running from a spec."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from growsim.cli import main
from growsim.metrics import analyses
from growsim.metrics.analyses import AnalysisContext, get_analysis
from growsim.reader import open_run
from growsim.spec import SpecError, load_spec

TINY = Path(__file__).parents[1] / "data" / "tiny.yaml"

PLUGIN = textwrap.dedent(
    """
    import numpy as np
    from pydantic import BaseModel, ConfigDict, Field

    from growsim.metrics.analyses import analysis


    class InDegreeParams(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        scale: float = Field(1.0, gt=0, description="Multiplies the counts.")


    @analysis("{name}", params=InDegreeParams)
    def in_degree(context, *, scale=1.0):
        '''Each neuron's number of incoming synapses, and their mean.'''
        degree = np.asarray(context.weights["mask"], dtype=np.float64).sum(axis=1) * scale
        return {{"per_neuron": degree, "mean": float(degree.mean()), "step_seen": float(context.step)}}
    """
)


@pytest.fixture
def restored(restored_registry):
    return restored_registry(analyses.ANALYSES)


def test_wiring_length_by_hand():
    w = np.array([[0.0, -2.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.05, 0.0]])
    d = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    context = AnalysisContext(step=0, weights={"w_rec": w, "mask": w != 0}, distances=d, positions=None, seed=0)
    func = get_analysis("wiring_length").func
    assert func(context) == pytest.approx({"synapses": 3, "mean_length": 1.0, "total_length": 3.0, "weighted_length": 2.55})
    assert func(context, threshold=0.1) == pytest.approx(
        {"synapses": 2, "mean_length": 1.0, "total_length": 2.0, "weighted_length": 2.5}
    )


def _spec(tmp_path, entries, plugins=()):
    data = yaml.safe_load(TINY.read_text())
    data["log"]["analyses"] = entries
    if plugins:
        data["plugins"] = list(plugins)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_plugin_analysis_from_a_file_runs_on_its_schedule(restored, tmp_path):
    (tmp_path / "deg.py").write_text(PLUGIN.format(name="in_degree"))
    spec = _spec(tmp_path, [{"kind": "in_degree", "every": 20, "scale": 2.0}, {"kind": "wiring_length", "every": 10}],
                 ["deg.py"])
    out = tmp_path / "run.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    run = open_run(out)
    series = run.series()
    assert list(series["step"]) == [0, 10, 20, 30, 40]
    # every 20 batches (and at the end): NaN at 10 and 30
    np.testing.assert_array_equal(series["in_degree_step_seen"].to_numpy(), [0, np.nan, 20, np.nan, 40])
    # tiny.yaml grows 5 synapses at 10 and 20 and 2 at 30: 0, 10, 12 in all; twice as counted
    np.testing.assert_array_equal(series["in_degree_mean"].to_numpy()[[0, 2, 4]], np.array([0, 10, 12]) * 2 / 16)
    np.testing.assert_array_equal(series["wiring_length_synapses"].to_numpy(), [0, 5, 10, 12, 12])
    _, per_neuron = run.series_array("in_degree_per_neuron")
    assert per_neuron.shape == (5, 16) and per_neuron[4].sum() == 24 and np.isnan(per_neuron[1]).all()
    assert "in_degree: file" in run.attrs.get("version_analyses", "")


def test_a_plugin_analysis_from_an_entry_point(restored, tmp_path, fake_entry_point):
    (tmp_path / "growsim_ep_analyses.py").write_text(PLUGIN.format(name="in_degree_ep"))
    fake_entry_point("growsim.analyses", "deg", tmp_path, "growsim_ep_analyses", "growsim-extra-analyses", "0.3")
    out = tmp_path / "ep.h5"
    assert main(["run", str(_spec(tmp_path, [{"kind": "in_degree_ep", "every": 40, "name": "deg"}])), "--out", str(out), "-q"]) == 0
    series = open_run(out).series()
    assert series["deg_mean"].iloc[-1] == 12 / 16
    assert get_analysis("in_degree_ep").origin == "entry point deg (growsim-extra-analyses 0.3)"


def test_analysis_entries_are_checked(restored, tmp_path):
    spec = _spec(tmp_path, [
        {"kind": "wiring_lenght", "every": 10},
        {"kind": "wiring_length", "every": 15},
        {"kind": "wiring_length", "every": 10, "treshold": 1},
    ])
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    text = str(info.value)
    assert "log.analyses[0].kind: unknown analysis 'wiring_lenght'; did you mean 'wiring_length'?" in text
    assert "log.analyses[2].treshold: unknown key 'treshold'; did you mean 'threshold'? for analysis 'wiring_length'" in text
    spec = _spec(tmp_path, [{"kind": "wiring_length", "every": 15}, {"kind": "wiring_length", "every": 20}])
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    text = str(info.value)
    assert "log.analyses[0].every: must be a multiple of log.every (10)" in text
    assert "log.analyses[1]: its series would be named like analysis 0's (wiring_length_...): give it a name" in text
