"""Build a networkx graph from a weight snapshot of a growsim run.

    python examples/snapshot_networkx.py runs/add_conn_distance.h5 [STEP]

Nodes are neurons (with their region label and position when the file has them); an
edge pre -> post carries the weight W_rec[post, pre]. Default STEP: the last snapshot; a
STEP with no snapshot exits with code 2 and the steps that have one.
"""

import sys

import h5py
import networkx as nx
import numpy as np


def fail(message: str) -> None:
    """A mistake in the arguments: say what is there, exit 2 (no traceback)."""
    print(f"snapshot_networkx.py: {message}", file=sys.stderr)
    sys.exit(2)


path = sys.argv[1]
wanted = sys.argv[2] if len(sys.argv) > 2 else None
if wanted is not None and not wanted.isdigit():
    fail(f"STEP must be a step number, not {wanted!r}")
with h5py.File(path, "r", locking=False) as f:
    snaps = sorted(f["snapshots"], key=int)
    if snaps:
        key = f"{int(wanted):09d}" if wanted is not None else snaps[-1]
        if key not in f["snapshots"]:
            steps = [str(int(s)) for s in snaps]
            listed = ", ".join(steps)
            if len(steps) > 12:                  # a long run: its first and last few
                listed = f"{', '.join(steps[:3])}, ..., {', '.join(steps[-3:])} ({len(steps)} snapshots)"
            fail(f"{path} has no snapshot at step {int(wanted)}; its snapshots are at steps {listed}")
        group = f["snapshots"][key]
    else:                                        # made with log.snapshots: false
        group = f["final"]
        if wanted is not None and int(wanted) != int(group.attrs["step"]):
            fail(f"{path} has no snapshots (log.snapshots: false), only its final weights, "
                 f"at step {int(group.attrs['step'])}")
    step = int(group.attrs["step"])
    w = group["w_rec"][()]                      # (N, N), W[post, pre]
    geo = f["geometry"]
    labels = list(geo["labels"].asstr()[()]) if "labels" in geo else None
    positions = geo["positions"][()] if "positions" in geo else None

g = nx.DiGraph(step=step)
for i in range(w.shape[0]):
    attrs = {}
    if labels is not None:
        attrs["label"] = labels[i]
    if positions is not None:
        attrs["pos"] = tuple(positions[i])
    g.add_node(i, **attrs)
post, pre = np.nonzero(w)
g.add_weighted_edges_from((int(j), int(i), float(w[i, j])) for i, j in zip(post, pre))
for _, _, d in g.edges(data=True):
    d["abs_weight"] = abs(d["weight"])          # modularity and path lengths want non-negative weights

print(f"step {step}: {g.number_of_nodes()} neurons, {g.number_of_edges()} synapses, density {nx.density(g):.3f}")
connected = [n for n in g if g.degree(n) > 0]
print(f"neurons with a synapse: {len(connected)}; weakly connected components: "
      f"{nx.number_weakly_connected_components(g.subgraph(connected)) if connected else 0}")
if g.number_of_edges():
    parts = nx.community.louvain_communities(g, weight="abs_weight", seed=0)
    q = nx.community.modularity(g, parts, weight="abs_weight")
    print(f"louvain communities: {len(parts)}, Q {q:.3f}")
    name = (lambda n: g.nodes[n].get("label", n))
    strongest = sorted(g.edges(data="weight"), key=lambda e: -abs(e[2]))[:5]
    print("strongest synapses:", "; ".join(f"{name(a)} -> {name(b)} {wt:+.3f}" for a, b, wt in strongest))
