"""Remake the tiny Fig. 2 test ledger's records from real runs: `python tests/data/ledger_wu_gu_fig2/make.py`.

Runs tests/data/tiny.yaml on a 4x4 and a 3x3 grid, with 1 and 2 tasks, seeds 0 and 1, and
records them under protocol "tiny".
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from make_ledger import remake  # noqa: E402

if __name__ == "__main__":
    remake(HERE, {f"n{side * side}_k{len(tasks)}_s{seed}": [f"seed={seed}", f"network.geometry.shape=[{side}, {side}]",
                                                           f"task.tasks=[{', '.join(tasks)}]"]
                  for side in (4, 3) for tasks in (["fdgo"], ["fdgo", "reactgo"]) for seed in range(2)})
