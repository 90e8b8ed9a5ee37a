"""Loss terms are a registry like wiring rules: a plugin's term, from a file or an entry
point, is validated from the spec and trains like l1 and wiring."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from growsim import registry as core
from growsim import regularisers
from growsim.cli import main
from growsim.reader import open_run
from growsim.spec import SpecError, load_spec

TINY = Path(__file__).parent / "data" / "tiny.yaml"

PLUGIN = textwrap.dedent(
    """
    from pydantic import BaseModel, ConfigDict, Field

    from growsim.regularisers import loss_term


    class L2Params(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

        params: list[str] = Field(["w_out"], min_length=1, description="Parameters penalised.")


    @loss_term("{name}", params=L2Params)
    def l2(context, *, params=("w_out",)):
        '''sum p^2 over the named parameters.'''
        return sum((context.parameters[p] ** 2).sum() for p in params)
    """
)


@pytest.fixture
def clean():
    names = set(regularisers.LOSS_TERMS.entries)
    files = dict(core._loaded_files)
    loaded = regularisers.LOSS_TERMS.entry_points_loaded
    yield
    for name in set(regularisers.LOSS_TERMS.entries) - names:
        del regularisers.LOSS_TERMS.entries[name]
    core._loaded_files.clear()
    core._loaded_files.update(files)
    regularisers.LOSS_TERMS.entry_points_loaded = loaded


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


def test_plugin_term_from_a_file_trains_and_is_logged(clean, tmp_path):
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


class _FakeDist:
    name = "growsim-extra-terms"
    version = "2.0"


class _FakeEntryPoint:
    def __init__(self, name, value, loader):
        self.name, self.value, self._loader, self.dist = name, value, loader, _FakeDist()

    def load(self):
        return self._loader()


def test_plugin_term_from_an_entry_point(clean, tmp_path, monkeypatch):
    (tmp_path / "growsim_ep_terms.py").write_text(PLUGIN.format(name="l2_ep"))
    monkeypatch.syspath_prepend(str(tmp_path))

    def fake_entry_points(group=None, **kw):
        if group != "growsim.loss_terms":
            return []
        return [_FakeEntryPoint("ridge", "growsim_ep_terms", lambda: __import__("growsim_ep_terms"))]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    regularisers.LOSS_TERMS.entry_points_loaded = False
    try:
        run = _run(_spec(tmp_path, [{"kind": "l2_ep", "strength": 0.1, "params": ["w_in"]}]), tmp_path / "ep.h5")
        assert "reg_l2_ep" in run.series().columns
        assert regularisers.get_term("l2_ep").origin == "entry point ridge (growsim-extra-terms 2.0)"
    finally:
        sys.modules.pop("growsim_ep_terms", None)


def test_term_parameters_are_validated_by_path_and_line(clean, tmp_path):
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
