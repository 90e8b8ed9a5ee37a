"""The registry: decorators, plugin files and modules, entry points, duplicates."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap

import pytest
from pydantic import BaseModel

from growsim import registry as core
from growsim.wiring import registry
from growsim.wiring.registry import (
    PluginLoadError,
    RegistryError,
    UnknownRuleError,
    available_rules,
    get_rule,
    load_plugin_file,
    load_plugin_module,
    wiring_rule,
)

PLUGIN = textwrap.dedent(
    """
    import numpy as np
    from pydantic import BaseModel, Field
    from growsim.wiring import wiring_rule

    class P(BaseModel):
        k: int = Field(2, ge=1)

    @wiring_rule("{name}", params=P)
    def rule(request, params):
        '''Takes the first candidates in order.'''
        flat = np.flatnonzero(request.candidates)[: request.n]
        return np.stack(np.unravel_index(flat, request.mask.shape), axis=1)
    """
)


@pytest.fixture
def clean():
    available_rules()  # the built-ins register on first use: before the snapshot, so they stay
    names = set(registry.RULES.entries)
    files = dict(core._loaded_files)
    loaded = registry.RULES.entry_points_loaded
    yield
    for name in set(registry.RULES.entries) - names:
        del registry.RULES.entries[name]
    core._loaded_files.clear()
    core._loaded_files.update(files)
    registry.RULES.entry_points_loaded = loaded


def test_builtins_are_registered_and_decorator_returns_function(clean):
    rules = available_rules()
    assert {"distance", "random", "mixture"} <= set(rules)
    assert rules["distance"].origin == "built-in"

    class P(BaseModel):
        pass

    def f(request, params):
        return None

    assert wiring_rule("decorated_once", params=P)(f) is f
    assert get_rule("decorated_once").func is f


def test_duplicate_names_are_errors(clean):
    with pytest.raises(RegistryError, match="registered twice"):
        wiring_rule("distance")(lambda r, p: None)


def test_unknown_rule_suggests(clean):
    with pytest.raises(UnknownRuleError, match="did you mean 'mixture'"):
        get_rule("mixtur")


def test_plugin_file_registers_its_rules_once(clean, tmp_path):
    path = tmp_path / "my_rule.py"
    path.write_text(PLUGIN.format(name="first_candidates"))
    assert load_plugin_file(path) == ["first_candidates"]
    assert load_plugin_file(path) == ["first_candidates"]  # loading twice is harmless
    info = get_rule("first_candidates")
    assert info.origin == f"file {path.resolve()}"
    assert info.summary == "Takes the first candidates in order."


def test_broken_plugin_file_is_reported(clean, tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import numpy\n\nx = 1 / 0\n")
    with pytest.raises(PluginLoadError, match=r"broken.py failed to import \(line 3\): ZeroDivisionError"):
        load_plugin_file(path)
    with pytest.raises(PluginLoadError, match="does not exist"):
        load_plugin_file(tmp_path / "absent.py")


def test_plugin_module_by_name(clean, tmp_path, monkeypatch):
    (tmp_path / "growsim_test_rules_mod.py").write_text(PLUGIN.format(name="from_module"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert load_plugin_module("growsim_test_rules_mod") == ["from_module"]
        assert get_rule("from_module").origin == "module growsim_test_rules_mod"
    finally:
        sys.modules.pop("growsim_test_rules_mod", None)
    with pytest.raises(PluginLoadError, match="plugin module .growsim_no_such_module. is not installed"):
        load_plugin_module("growsim_no_such_module")


class _FakeDist:
    name = "growsim-extra-rules"
    version = "1.2.3"


class _FakeEntryPoint:
    def __init__(self, name, value, loader):
        self.name, self.value, self._loader, self.dist = name, value, loader, _FakeDist()

    def load(self):
        return self._loader()


def test_entry_points_load_only_when_asked(clean, tmp_path, monkeypatch):
    (tmp_path / "growsim_ep_rules.py").write_text(PLUGIN.format(name="from_entry_point"))
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = []

    def fake_entry_points(group=None, **kw):
        calls.append(group)
        if group != "growsim.wiring":
            return []
        return [_FakeEntryPoint("extra", "growsim_ep_rules", lambda: __import__("growsim_ep_rules"))]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    registry.RULES.entry_points_loaded = False
    try:
        get_rule("distance")  # a built-in: entry points are not needed
        assert calls == []
        info = get_rule("from_entry_point")
        assert calls == ["growsim.wiring"]
        assert info.origin == "entry point extra (growsim-extra-rules 1.2.3)"
    finally:
        sys.modules.pop("growsim_ep_rules", None)


def test_broken_entry_point_is_reported(clean, monkeypatch):
    def boom():
        raise ImportError("missing dependency")

    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda group=None, **kw: [_FakeEntryPoint("bad", "bad_pkg:rules", boom)]
    )
    registry.RULES.entry_points_loaded = False
    with pytest.raises(PluginLoadError, match="entry point 'bad'.*missing dependency"):
        available_rules()
