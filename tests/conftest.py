"""Shared fixtures. Tests keep torch to 1 thread: the suite runs in parallel on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def tiny_spec() -> Path:
    return DATA / "tiny.yaml"
