"""Remake the tiny Fig. 2 test ledger's records from real runs: `python tests/data/ledger_wu_gu_fig2/make.py`.

Runs tests/data/tiny.yaml on a 4x4 and a 3x3 grid, with 1 and 2 tasks, seeds 0 and 1, and
records them with `growsim ledger add` under protocol "tiny".
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TINY = HERE.parent / "tiny.yaml"
GROWSIM = [sys.executable, "-m", "growsim"]

if __name__ == "__main__":
    shutil.rmtree(HERE / "records", ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for side in (4, 3):
            for tasks in ("[fdgo]", "[fdgo, reactgo]"):
                for seed in range(2):
                    out = Path(tmp) / f"n{side * side}_k{tasks.count(',') + 1}_s{seed}.h5"
                    subprocess.run([*GROWSIM, "run", str(TINY), "--out", str(out), "--set", f"seed={seed}",
                                    "--set", f"network.geometry.shape=[{side}, {side}]", "--set", f"task.tasks={tasks}"],
                                   check=True)
                    runs.append(str(out))
        subprocess.run([*GROWSIM, "ledger", "add", str(HERE), *runs, "--protocol", "tiny"], check=True)
