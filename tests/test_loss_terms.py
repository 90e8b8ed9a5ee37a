"""Loss terms are a registry like wiring rules: a plugin's term, from a file or an entry
point, is validated from the spec and trains like l1 and wiring."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from growsim.train import regularisers
from growsim.cli import main
from growsim.reader import open_run
from growsim.spec import SpecError, load_spec

TINY = Path(__file__).parent / "data" / "tiny.yaml"

PLUGIN = textwrap.dedent(
    """
    from pydantic import BaseModel, ConfigDict, Field

    from growsim.train.regularisers import loss_term


    class L2Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        params: list[str] = Field(["w_out"], min_length=1, description="Parameters penalised.")


    @loss_term("{name}", params=L2Params)
    def l2(context, *, params=("w_out",)):
        '''sum p^2 over the named parameters.'''
        return sum((context.parameters[p] ** 2).sum() for p in params)
    """
)


def _spec(tmp_path: Path, terms: list, plugins=(), name="spec.yaml") -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["train"]["batches"] = 60
    data["regularisers"] = terms
    if plugins:
        data["plugins"] = list(plugins)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(spec: Path, out: Path):
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    return open_run(out)


@pytest.fixture
def restored(restored_registry):
    return restored_registry(regularisers.LOSS_TERMS)


def test_plugin_term_from_a_file_trains_and_is_logged(restored, tmp_path):
    (tmp_path / "l2.py").write_text(PLUGIN.format(name="l2_test"))
    spec = _spec(tmp_path, [{"kind": "l2_test", "strength": 0.5, "name": "ridge"}], ["l2.py"])
    assert load_spec(spec).spec.regularisers[0].args == {"params": ["w_out"]}
    run = _run(spec, tmp_path / "l2.h5")
    plain = _run(_spec(tmp_path, [], name="plain.yaml"), tmp_path / "plain.h5")
    series = run.series()
    assert (series["reg_ridge"].iloc[1:] > 0).all() and (series["reg_ridge_strength"] == 0.5).all()
    # The logged value is sum w_out^2 averaged over the batches since the last log: at the
    # end it lies between the final weights' value and the previous log's.
    final = float((run.final().w_out.astype(np.float64) ** 2).sum())
    assert final < float(series["reg_ridge"].iloc[1])
    # It trained: a strong ridge on W_out leaves it smaller than training without it.
    assert final < 0.9 * float((plain.final().w_out.astype(np.float64) ** 2).sum())


def test_plugin_term_from_an_entry_point(restored, tmp_path, fake_entry_point):
    (tmp_path / "growsim_ep_terms.py").write_text(PLUGIN.format(name="l2_ep"))
    fake_entry_point("growsim.loss_terms", "ridge", tmp_path, "growsim_ep_terms", "growsim-extra-terms", "2.0")
    run = _run(_spec(tmp_path, [{"kind": "l2_ep", "strength": 0.1, "params": ["w_in"]}]), tmp_path / "ep.h5")
    assert "reg_l2_ep" in run.series().columns
    assert regularisers.get_term("l2_ep").origin == "entry point ridge (growsim-extra-terms 2.0)"


def test_term_parameters_are_validated_by_path_and_line(restored, tmp_path):
    (tmp_path / "l2.py").write_text(PLUGIN.format(name="l2_err"))
    spec = _spec(
        tmp_path,
        [{"kind": "l2_err", "strength": 0.5, "params": []}, {"kind": "wiring", "strength": 1.0, "a": 2}, {"kind": "l3", "strength": 1}],
        ["l2.py"],
    )
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    text = str(info.value)
    assert "regularisers[0].params: " in text
    assert "regularisers[1].a: unknown key 'a' (allowed: A, l0) for loss term 'wiring'" in text
    assert "regularisers[2].kind: unknown loss term 'l3'" in text
    assert all(issue.line is not None for issue in info.value.issues)
