"""The benchmark scripts still run against the current API (at sizes too small to time anything)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

SMOKE = {
    "bench_train_step": ["--sizes", "16", "--steps", "5", "--batches", "1", "--rounds", "1", "--batch", "4"],
    "bench_tasks": ["--n-batches", "2", "--no-neurogym"],
    "bench_speed": ["--batches", "1", "--rounds", "1", "--eval-rounds", "1", "--eval-trials", "4", "--rss-batches", "0"],
    "bench_chain": ["--depths", "1", "2", "--batch", "4", "--steps", "5", "--batches", "1", "--rounds", "1"],
    "bench_logging": ["--n", "16", "--conn", "20", "--grow-every", "2", "--batches", "4", "--batch", "4", "--every", "2",
                      "--eval-batch", "4", "--rounds", "1"],
    "bench_modularity": ["--sizes", "12", "--rounds", "1"],
    "bench_ensemble": ["--members", "2", "--neurons", "12", "--batch", "4", "--batches", "1", "--rounds", "1"],
    "bench_busy": ["--batches", "1", "--rounds", "1", "--busy", "1"],
    "bench_memory": ["--batches", "4", "--log-every", "2", "--side-by-side"],
}


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_benchmark_script_runs(name, capsys):
    module = __import__(name)
    module.main(SMOKE[name])
    assert capsys.readouterr().out.strip()
