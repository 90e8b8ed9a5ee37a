"""growsim.metrics imports each name from its module when first used."""

from __future__ import annotations

import importlib

import pytest

import growsim.metrics as metrics


def test_every_exported_name_resolves_to_its_modules_object():
    assert set(metrics.__all__) <= set(metrics._NAMES)
    for name, (module, attribute) in metrics._NAMES.items():
        assert getattr(metrics, name) is getattr(importlib.import_module(f"growsim.metrics.{module}"), attribute)
    assert metrics.TIMESCALE_METHODS is importlib.import_module("growsim.metrics.timescales").METHODS
    assert set(metrics.__all__) <= set(dir(metrics))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_metric"):
        metrics.no_such_metric  # noqa: B018
    with pytest.raises(ImportError):
        from growsim.metrics import no_such_metric  # noqa: F401
