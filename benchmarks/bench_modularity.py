"""Community detection and Q by size: growsim.metrics.communities against networkx's Louvain.

Usage: python benchmarks/bench_modularity.py [--sizes 84 400 2000] [--rounds 5] [--rounds-large 1]
                                             [--louvain-max 2000] [--nx-max 2000]

Two kinds of weight matrix A (A[i, j] the edge from j to i, as growsim passes abs(W_rec)):
  random:  25% of the off-diagonal entries present, |N(0, 1)| weights: like a trained RNN's
           abs(W_rec), with no structure to find;
  planted: round(sqrt(N) / 2) equal modules, an edge with probability 0.4 inside a module
           and 0.05 between modules, |N(0, 1)| weights.
Methods, timed on the same matrix:
  spectral:  communities(A, method="spectral"), growsim's default (Leicht & Newman);
  louvain:   communities(A, method="louvain", seed=0) (networkx's Louvain inside);
  networkx:  the reference a user writes by hand from the same matrix: nx.from_numpy_array
             (A.T, DiGraph), louvain_communities(seed=0), then nx.community.modularity.
Seconds per call are medians over rounds that alternate between the methods (fewer rounds
from N >= --large on, where one call takes seconds); louvain runs up to --louvain-max
neurons, the networkx reference up to --nx-max. Q is the directed modularity of each
partition (the planted partition's own Q is printed beside it), so the reader can see
that the methods agree; louvain and networkx, with the same seed, should find the same
partition and Q.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import networkx as nx
import numpy as np
import scipy

from growsim.metrics import communities
from growsim.metrics.modularity import modularity_q


def random_matrix(n: int, rng: np.random.Generator, density: float = 0.25) -> np.ndarray:
    a = np.abs(rng.standard_normal((n, n))) * (rng.random((n, n)) < density)
    np.fill_diagonal(a, 0.0)
    return a


def planted_matrix(n: int, rng: np.random.Generator, p_in: float = 0.4, p_out: float = 0.05):
    """A matrix with equal planted modules, and each neuron's module."""
    k = max(2, round(np.sqrt(n) / 2))
    labels = np.arange(n) * k // n
    p = np.where(labels[:, None] == labels[None, :], p_in, p_out)
    a = np.abs(rng.standard_normal((n, n))) * (rng.random((n, n)) < p)
    np.fill_diagonal(a, 0.0)
    return a, labels


def by_networkx(a: np.ndarray) -> tuple[float, int]:
    g = nx.from_numpy_array(a.T, create_using=nx.DiGraph)  # edge j -> i carries A[i, j]
    parts = nx.community.louvain_communities(g, weight="weight", seed=0)
    return float(nx.community.modularity(g, parts, weight="weight")), len(parts)


def by_growsim(method: str):
    def run(a: np.ndarray) -> tuple[float, int]:
        result = communities(a, method=method, seed=0)
        return result.q, result.n_communities

    return run


def timed(fn, a: np.ndarray) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    q, k = fn(a)
    return time.perf_counter() - t0, q, k


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[84, 400, 2000])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--large", type=int, default=1000, help="from this size on, --rounds-large rounds")
    ap.add_argument("--rounds-large", type=int, default=1)
    ap.add_argument("--louvain-max", type=int, default=2000, help="largest size for growsim's louvain")
    ap.add_argument("--nx-max", type=int, default=2000, help="largest size for the networkx reference")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(
        f"numpy {np.__version__}, scipy {scipy.__version__}, networkx {nx.__version__}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}; median of {args.rounds} rounds "
        f"({args.rounds_large} from N = {args.large})"
    )
    methods = {"spectral": by_growsim("spectral"), "louvain": by_growsim("louvain"), "networkx": by_networkx}
    warm = random_matrix(30, np.random.default_rng(0))
    for fn in methods.values():  # imports and first calls
        fn(warm)
    print(f"{'matrix':<8} {'N':>5} {'edges':>8} {'method':<9} {'s/call':>9} {'x spectral':>10} "
          f"{'Q':>7} {'groups':>6}  planted Q")
    for n in args.sizes:
        rng = np.random.default_rng(args.seed + n)
        planted, labels = planted_matrix(n, rng)
        cases = [("random", random_matrix(n, rng), None), ("planted", planted, modularity_q(planted, labels))]
        rounds = args.rounds if n < args.large else args.rounds_large
        for kind, a, q_planted in cases:
            active = {name: fn for name, fn in methods.items()
                      if name == "spectral" or (name == "louvain" and n <= args.louvain_max)
                      or (name == "networkx" and n <= args.nx_max)}
            times: dict[str, list[float]] = {name: [] for name in active}
            found: dict[str, tuple[float, int]] = {}
            for _ in range(rounds):
                for name, fn in active.items():
                    seconds, q, k = timed(fn, a)
                    times[name].append(seconds)
                    found[name] = (q, k)
            spectral = statistics.median(times["spectral"])
            for i, name in enumerate(active):
                s = statistics.median(times[name])
                q, k = found[name]
                lead = f"{kind:<8} {n:5d} {int(np.count_nonzero(a)):8d}" if i == 0 else " " * 23
                extra = f"  {q_planted:.3f}" if i == 0 and q_planted is not None else ""
                print(f"{lead} {name:<9} {s:9.4f} {s / spectral:10.1f} {q:7.3f} {k:6d}{extra}", flush=True)
            skipped = [name for name in methods if name not in active]
            if skipped:
                print(" " * 24 + f"({', '.join(skipped)}: skipped at this size)")


if __name__ == "__main__":
    main()
