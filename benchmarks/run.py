"""Run the benchmarks in one go: training step against a plain loop, a Wu & Gu run against the
previous code, a run's memory over its length, task batches, a chain of modules by depth,
HDF5 logging overhead, community detection by size, a stacked ensemble of seeds.

Usage: python benchmarks/run.py [--quick] [--compile] [--busy]

--compile adds torch.compile against eager (it needs a C++ compiler and compiles for a while).
--busy adds the main command on an idle machine against every core kept busy (it spins the
cores itself, so run it with nothing else on the machine).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the sibling benchmark scripts

import bench_busy
import bench_chain
import bench_compile
import bench_ensemble
import bench_logging
import bench_memory
import bench_modularity
import bench_speed
import bench_tasks
import bench_train_step


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    print("== training step: growsim against a plain PyTorch loop ==")
    bench_train_step.main(["--rounds", "3" if quick else "7"])
    print()
    print("== a Wu & Gu run: training step and evaluation against the previous code, memory, Fig. 3 projected ==")
    bench_speed.main(["--rounds", "3", "--eval-rounds", "1", "--rss-batches", "200"] if quick else [])
    print()
    print("== a run's memory over its length: the HDF5 writer on its own thread against on the training thread ==")
    bench_memory.main(["--batches", "1000" if quick else "10000", "--side-by-side"])
    print()
    print("== task batches: the 20-task mixture, 64 trials ==")
    bench_tasks.main(["--n-batches", "300" if quick else "2000"])
    print()
    print("== a chain of modules: ms per batch by depth, against the same chain as one dense masked matrix ==")
    bench_chain.main(["--rounds", "2" if quick else "5"] + (["--depths", "1", "5", "10"] if quick else []))
    print()
    print("== HDF5 logging: a full logging schedule against no loggers, ms per batch ==")
    bench_logging.main(["--rounds", "2", "--batches", "100"] if quick else [])
    print()
    print("== community detection: growsim's spectral and louvain, and networkx's Louvain, by size ==")
    bench_modularity.main(["--rounds", "2", "--louvain-max", "400", "--nx-max", "400"] if quick else [])
    print()
    print("== ensembles: the members trained together against the same members one after another, and side by side ==")
    bench_ensemble.main(["--members", "1", "10", "30"] + (["--batches", "2", "--rounds", "2"] if quick else []))
    print("the same at batch 16, where members stack:")
    bench_ensemble.main(["--members", "30", "--batch", "16"] + (["--batches", "2", "--rounds", "2"] if quick else []))
    if "--busy" in argv:
        print()
        print("== the main command idle against every core kept busy, and the silence of a redirected log ==")
        bench_busy.main(["--batches", "150", "--rounds", "1"] if quick else ["--batches", "800", "--rounds", "2"])
    if "--compile" in argv:
        print()
        print("== torch.compile of the recurrent step against eager ==")
        bench_compile.main(["--rounds", "2" if quick else "5"])


if __name__ == "__main__":
    main(sys.argv[1:])
