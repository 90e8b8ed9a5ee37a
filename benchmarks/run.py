"""Run the foundation benchmarks in one go: training step against a plain loop, and task batches.

Usage: python benchmarks/run.py [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the sibling benchmark scripts

import bench_tasks  # noqa: E402
import bench_train_step  # noqa: E402


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    print("== training step: growsim against a plain PyTorch loop ==")
    bench_train_step.main(["--rounds", "3" if quick else "7"])
    print()
    print("== task batches: the 20-task mixture, 64 trials ==")
    bench_tasks.main(["--n-batches", "300" if quick else "2000"])


if __name__ == "__main__":
    main(sys.argv[1:])
