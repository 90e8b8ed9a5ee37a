"""Read a growsim run with plain h5py: status, metrics over training, final weights.

    python examples/read_h5py.py runs/add_conn_distance.h5

The layout is documented in docs/hdf5.md; nothing here needs growsim itself.
"""

import sys

import h5py
import numpy as np

path = sys.argv[1]
# locking=False: also reads a run that is still being written (its writer holds the lock).
with h5py.File(path, "r", locking=False) as f:
    status, last = f.attrs["status"], int(f.attrs["last_step"])
    print(f"{path}: {status} at step {last} of {int(f.attrs['batches'])}, seed {int(f.attrs['seed'])}")
    if status == "running":
        print("  (still being written, or killed: a killed run never closes its file)")

    tasks = f["tasks/names"].asstr()[()]              # column order of every per-task dataset
    steps = f["series/step"][()]                       # (k,) batches completed
    perf = f["series/perf"][()]                        # (k, n_tasks) fraction correct
    connections = f["series/connections"][()]          # (k,)
    q = f["series/modularity_q"][()] if "modularity_q" in f["series"] else np.full(len(steps), np.nan)
    for s, c, qq, p in zip(steps, connections, q, perf.mean(axis=1)):
        print(f"  step {s:>7}: {c:5.0f} synapses, Q {qq:.3f}, mean performance {p:.3f}")
    best = np.argsort(perf[-1])[::-1][:3]
    print("  best tasks at the end:", ", ".join(f"{tasks[i]} {perf[-1, i]:.2f}" for i in best))

    # Snapshots: one group per step, so a network may change size between them.
    snaps = sorted(f["snapshots"], key=int)
    print(f"  {len(snaps)} snapshots" + (f", steps {int(snaps[0])} to {int(snaps[-1])}" if snaps else ""))
    if "w_rec" in f["final"]:
        w = f["final/w_rec"][()]                       # W[post, pre]; absent synapses are exactly 0
        mask = f["final/mask"][()].astype(bool)
        print(f"  final W_rec {w.shape}: {mask.sum()} synapses, mean |w| {np.abs(w[mask]).mean():.4f}")

    events = f["events"]
    if "step" in events:
        print(f"  {len(events['step'])} growth events, {int(events['count'][()].sum())} synapses added")
