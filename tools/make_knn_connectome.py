"""Write specs/data/desikan_knn8.csv: an example connectivity file for growsim.

Each of the 83 Desikan-Killiany regions (growsim's built-in atlas) is joined, both ways, to
its 8 nearest regions by centroid distance: a local, symmetric graph in the shape of a
structural connectome, made from growsim's own atlas (no external data). Rows and columns
are regions in atlas order; entry [i, j] = 1 is a synapse j -> i.

    python tools/make_knn_connectome.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from growsim.geometry import atlas

OUT = Path(__file__).parents[1] / "specs" / "data" / "desikan_knn8.csv"


def knn_adjacency(distances: np.ndarray, k: int) -> np.ndarray:
    """1 where j is among i's k nearest (or i among j's), 0 elsewhere and on the diagonal."""
    d = distances.copy()
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    a = np.zeros(d.shape, dtype=np.int64)
    a[np.repeat(np.arange(d.shape[0]), k), nearest.reshape(-1)] = 1
    return np.maximum(a, a.T)


def main() -> None:
    geo = atlas("desikan_killiany")
    a = knn_adjacency(geo.distances, 8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    header = "# Desikan-Killiany regions joined to their 8 nearest (both ways); made by tools/make_knn_connectome.py"
    np.savetxt(OUT, a, fmt="%d", delimiter=",", header=header[2:], comments="# ")
    print(f"wrote {OUT}: {a.shape[0]} regions, {int(a.sum())} synapses")


if __name__ == "__main__":
    main()
