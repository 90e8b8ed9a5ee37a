"""Remake the tiny test ledger's records from real runs: `python tests/data/ledger_wu_gu/make.py`.

Runs tests/data/tiny.yaml as add_conn and as fix_conn (its 12 synapses from the start),
seeds 0 to 2, and records them with `growsim ledger add` under protocol "tiny".
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
        for seed in range(3):
            for name, sets in (("add", []), ("fix", ["growth.initial_connections=12", "growth.events=[]"])):
                out = Path(tmp) / f"{name}{seed}.h5"
                subprocess.run([*GROWSIM, "run", str(TINY), "--out", str(out), "--set", f"seed={seed}",
                                *[a for s in sets for a in ("--set", s)]], check=True)
                runs.append(str(out))
        subprocess.run([*GROWSIM, "ledger", "add", str(HERE), *runs, "--protocol", "tiny"], check=True)
