"""Growth operations are a registry like wiring rules: built-ins, plugin files, entry points;
the engine calls whatever an event names, with the operation's validated parameters."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import BaseModel, Field

from growsim.cli import main
from growsim.growth import available_operations, get_operation, growth_operation, registry
from growsim.reader import open_run
from growsim.registry import RegistryError, UnknownNameError
from growsim.spec import SpecError, load_spec

TINY = Path(__file__).parents[1] / "data" / "tiny.yaml"

# A plugin operation that leaves the network alone and reports what it was given.
PLUGIN = textwrap.dedent(
    """
    from pydantic import BaseModel, ConfigDict, Field

    from growsim.growth import Outcome, growth_operation


    class MarkParams(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        label: str = Field("x", description="Written into the event's details.")
        scale: float = Field(1.0, gt=0, description="Multiplies W_rec.")


    @growth_operation("{name}", params=MarkParams, networks=("leaky_rnn",))
    def mark(ctx, *, label="x", scale=1.0):
        '''Multiply W_rec by scale and report the step and the label.'''
        import torch

        with torch.no_grad():
            ctx.network.w_rec.mul_(scale)
        return Outcome({{"label": label, "at_step": ctx.step, "synapses_seen": int(ctx.network.n_connections)}})
    """
)


def _spec_with(tmp_path: Path, events: list, plugins: list[str] = ()) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["growth"]["events"] = events
    if plugins:
        data["plugins"] = list(plugins)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def restored(restored_registry):
    return restored_registry(registry.OPERATIONS)


def test_builtins_are_registered_with_the_networks_they_apply_to():
    ops = available_operations()
    assert {"add_connections", "prune_connections", "swap_neurons", "duplicate_module", "add_readout"} <= set(ops)
    assert all(ops[name].origin == "built-in" for name in ("add_connections", "duplicate_module"))
    assert ops["add_connections"].meta["networks"] == ("leaky_rnn",)
    assert ops["add_readout"].meta["networks"] == ("chain",)


def test_decorator_returns_the_function_and_refuses_duplicates_and_reserved_names(restored):
    class P(BaseModel):
        k: int = Field(1)

    def op(ctx, *, k=1):
        return None

    assert growth_operation("registry_test_op", params=P)(op) is op
    assert get_operation("registry_test_op").func is op
    with pytest.raises(RegistryError, match="registered twice"):
        growth_operation("registry_test_op", params=P)(op)

    class Clash(BaseModel):
        every: int = 1

    with pytest.raises(RegistryError, match="may not be called 'every'"):
        growth_operation("clash_op", params=Clash)
    with pytest.raises(ValueError, match="unknown network kinds"):
        growth_operation("odd_op", networks=("lstm",))
    with pytest.raises(UnknownNameError, match="did you mean 'add_readout'"):
        get_operation("add_readot")


def test_plugin_operation_from_a_file_runs_from_a_spec(restored, tmp_path):
    (tmp_path / "mark.py").write_text(PLUGIN.format(name="mark_test"))
    spec = _spec_with(
        tmp_path,
        [
            {"op": "add_connections", "every": 10, "count": 5, "until": 12},
            {"op": "mark_test", "at": [20, 30], "label": "hello", "scale": 0.5},
        ],
        ["mark.py"],
    )
    loaded = load_spec(spec)
    assert loaded.spec.growth.events[1].params == {"label": "hello", "scale": 0.5}
    out = tmp_path / "run.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    run = open_run(out)
    events = run.events()
    marks = events[events["op"] == "mark_test"]
    assert list(marks["step"]) == [20, 30]
    assert list(marks["label"]) == ["hello", "hello"]
    assert list(marks["at_step"]) == [20, 30]
    # It ran after the add_connections event of the same step (list order): 10 synapses at 20, 12 at 30.
    assert list(marks["synapses_seen"]) == [10, 12]
    assert list(marks["connections"]) == [10, 12]
    assert "mark_test: file " in run.attrs["version_growth_operations"]
    # The operation really changed the network: the same run without it ends elsewhere.
    (tmp_path / "plain").mkdir()
    plain = _spec_with(tmp_path / "plain", [{"op": "add_connections", "every": 10, "count": 5, "until": 12}])
    out2 = tmp_path / "plain.h5"
    assert main(["run", str(plain), "--out", str(out2), "-q"]) == 0
    assert not np.allclose(run.final().w_rec, open_run(out2).final().w_rec)


def test_plugin_operation_from_an_entry_point_runs_from_a_spec(restored, tmp_path, fake_entry_point):
    (tmp_path / "growsim_ep_growth.py").write_text(PLUGIN.format(name="mark_ep"))
    fake_entry_point("growsim.growth", "mark", tmp_path, "growsim_ep_growth", "growsim-extra-growth", "0.1")
    spec = _spec_with(tmp_path, [{"op": "mark_ep", "every": 20, "label": "ep"}])
    out = tmp_path / "run.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    events = open_run(out).events()
    assert list(events["step"]) == [20] and list(events["label"]) == ["ep"]
    assert get_operation("mark_ep").origin == "entry point mark (growsim-extra-growth 0.1)"


def test_spec_errors_name_the_event_and_the_parameter(restored, tmp_path):
    (tmp_path / "mark.py").write_text(PLUGIN.format(name="mark_err"))
    spec = _spec_with(
        tmp_path,
        [
            {"op": "add_conections", "every": 10, "count": 5},
            {"op": "mark_err", "every": 10, "scale": -1, "colour": "red"},
        ],
        ["mark.py"],
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    text = str(info.value)
    assert "growth.events[0].op: unknown growth operation 'add_conections'; did you mean 'add_connections'?" in text
    assert "growth.events[1].scale: must be > 0" in text
    assert "growth.events[1].colour: unknown key 'colour' (allowed: label, scale) for operation 'mark_err'" in text
    assert all(issue.line is not None for issue in info.value.issues)


def test_an_operation_on_the_wrong_kind_of_network_is_refused(tmp_path):
    spec = _spec_with(tmp_path, [{"op": "duplicate_module", "every": 10}])
    # (the operations it takes: the built-ins, and any plugin an earlier test of this process loaded)
    with pytest.raises(SpecError, match=r"growth.events\[0\].op: duplicate_module does not apply to a leaky_rnn network \(it takes: add_connections, prune_connections, swap_neurons(, \w+)*\) \(line 14\)"):
        load_spec(spec)


def test_the_spec_and_the_registries_agree_on_the_shared_keys():
    """The spec gathers every key but the shared ones into an entry's own parameters; the
    registries refuse parameters named like a shared key. Both lists must be the same."""
    from growsim.growth.registry import TRIGGER_KEYS
    from growsim.metrics.analyses import COMMON_KEYS as ANALYSIS_KEYS
    from growsim.train.regularisers import COMMON_KEYS as TERM_KEYS
    from growsim.spec.models import AnalysisSpec, GrowthEvent, RegulariserSpec

    assert GrowthEvent._SHARED == set(TRIGGER_KEYS)
    assert RegulariserSpec._SHARED == set(TERM_KEYS)
    assert AnalysisSpec._SHARED == set(ANALYSIS_KEYS)
