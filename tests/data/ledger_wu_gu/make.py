"""Remake the tiny test ledger's records from real runs: `python tests/data/ledger_wu_gu/make.py`.

Runs tests/data/tiny.yaml as add_conn and as fix_conn (its 12 synapses from the start),
seeds 0 to 2, and records them under protocol "tiny".
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from make_ledger import remake  # noqa: E402

if __name__ == "__main__":
    remake(HERE, {f"{name}{seed}": [f"seed={seed}", *sets] for seed in range(3)
                  for name, sets in (("add", []), ("fix", ["growth.initial_connections=12", "growth.events=[]"]))})
