"""Run files for the analysis tests, made once per session by tests/reader/make_runs.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_NAME = "growsim_tests_make_runs"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).parents[1] / "reader" / "make_runs.py")
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])
make_runs = sys.modules[_NAME]


@pytest.fixture(scope="session")
def small_runs(tmp_path_factory):
    return make_runs.small_runs(tmp_path_factory.getbasetemp() / "analysis-small-runs")


@pytest.fixture(scope="session")
def shipped_runs(tmp_path_factory):
    return make_runs.shipped_runs(tmp_path_factory.getbasetemp() / "analysis-shipped-runs")
