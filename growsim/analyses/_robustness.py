"""Robustness of a chain run's network to perturbations (Hamidi et al., Eq. 5, Fig. 3 and 5).

The network of a stored step is rebuilt (:func:`growsim.analyses.network_at`), perturbed,
and evaluated on fixed parity test sequences; the curve itself is
:func:`growsim.metrics.robustness.robustness_curve`. Imports torch when called.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from growsim.analyses._data import AnalysisData, check_applicable
from growsim.analyses._network import network_at
from growsim.analyses._parity import parity_test_set
from growsim.reader import Run

__all__ = ["DEFAULT_EPS", "ROBUSTNESS_TARGETS", "SCOPES", "robustness", "summary"]

#: What a robustness analysis can perturb (paper: W^R, W^FF, tau; and the connections,
#: W^R and W^FF together, of Fig. 3).
ROBUSTNESS_TARGETS = ("recurrent", "feedforward", "tau", "connections")
_PREFIXES = {"recurrent": ("w_rec/",), "feedforward": ("w_ff/",), "tau": ("tau/",), "connections": ("w_rec/", "w_ff/")}
#: Relative perturbation sizes eps of Eq. 5 by default.
DEFAULT_EPS = tuple(round(0.05 * i, 2) for i in range(11))  # 0, 0.05, ..., 0.5
#: Scopes of the norm in Eq. 5: each module's tensor by itself, or all modules' as one.
SCOPES = ("module", "network")


def _module_tensors(net) -> dict[str, np.ndarray]:
    """Every module's W_rec, W_ff (modules >= 1) and effective tau (clamped >= 1), float32 copies."""
    out: dict[str, np.ndarray] = {}
    for m, blk in enumerate(net.blocks):
        out[f"w_rec/{m}"] = blk.w_rec.detach().numpy().copy()
        if blk.w_ff is not None:
            out[f"w_ff/{m}"] = blk.w_ff.detach().numpy().copy()
        out[f"tau/{m}"] = np.maximum(blk.tau.detach().numpy(), 1.0).astype(np.float32)
    return out


def _load(net, arrays: dict[str, np.ndarray]) -> None:
    import torch

    attr = {"w_rec": "w_rec", "w_ff": "w_ff", "tau": "tau"}
    with torch.no_grad():
        for key, value in arrays.items():
            kind, m = key.split("/")
            getattr(net.blocks[int(m)], attr[kind]).copy_(torch.from_numpy(np.asarray(value, dtype=np.float32)))


def _targets(what: str | Sequence[str], n_modules: int) -> list[str]:
    names = [what] if isinstance(what, str) else list(what)
    if names == ["all"]:
        # "all": each target in turn; a single module has no feed-forward weights (its
        # connections are its recurrent weights).
        return [t for t in ROBUSTNESS_TARGETS if t != "feedforward" or n_modules > 1]
    bad = [t for t in names if t not in ROBUSTNESS_TARGETS]
    if bad or not names:
        raise ValueError(f"what must be 'all' or among {', '.join(ROBUSTNESS_TARGETS)}, got {what!r}")
    if "feedforward" in names and n_modules < 2:
        raise ValueError("the network has one module: it has no feed-forward weights to perturb")
    return list(dict.fromkeys(names))


def robustness(
    run: Run,
    *,
    what: str | Sequence[str] = "all",
    eps: Sequence[float] = DEFAULT_EPS,
    draws: int = 10,
    trials: int | None = None,
    seed: int = 0,
    step: int | None = None,
    scope: str = "module",
    threshold: float = 0.9,
) -> AnalysisData:
    """Accuracy per level after random perturbations (Hamidi et al., Eq. 5, Fig. 3 and 5).

    For each target in ``what`` (``recurrent``: every module's W_rec; ``feedforward``:
    every W_ff; ``tau``: every neuron's tau, upward only; ``connections``: every W_rec and
    W_ff at once, as Fig. 3 perturbs a network's connections; ``all``: each of these in turn),
    each eps and each of ``draws`` random directions, all modules are perturbed at once
    and the network at ``step`` (default: the end) is evaluated on fixed test sequences
    (:func:`parity_test_set`: by default the run's own evaluation sequences). A level
    counts as solved with accuracy strictly above ``threshold`` (paper: 0.9).

    ``scope="module"`` (default): each module's tensor is perturbed relative to its own
    Frobenius norm, ``W'_m = W_m + eps ||W_m|| xi_m / ||xi_m||`` ("proportional to the
    magnitude of the weights of the layer being targeted"; each module is a layer of the
    paper's code); ``"network"``: all modules' tensors of the target as one vector with
    one norm. Recurrent noise goes off the diagonal only when the chain has no autapses
    (``network.zero_diagonal``), so every perturbation changes the network by exactly
    eps times the norm. tau is perturbed from its effective value (clamped >= 1). Along a
    draw only eps changes (common random numbers); ``seed`` seeds the directions, each
    target from its own stream.
    """
    from growsim.metrics.robustness import robustness_curve

    check_applicable(run, "robustness")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    eps_arr = np.asarray(list(eps), dtype=np.float64)
    if eps_arr.size == 0 or not np.all(np.isfinite(eps_arr)) or np.any(eps_arr < 0):
        raise ValueError(f"eps must be one or more numbers >= 0, got {list(eps)}")
    if int(draws) < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    net, snap = network_at(run, step)
    targets = _targets(what, net.n_modules)
    levels = run.head_levels(snap)
    test = parity_test_set(run, levels, trials=trials)
    base = _module_tensors(net)
    unperturbed = test.accuracy(net)
    k = net.n_modules
    off_diagonal = ~np.eye(net.module_size, dtype=bool) if net.zero_diagonal else None
    n_eps, n_lev = eps_arr.size, len(levels)
    accuracy = np.full((len(targets), n_eps, int(draws), n_lev), np.nan)
    n_solved = np.zeros((len(targets), n_eps, int(draws)), np.int64)
    norms = np.full((len(targets), k), np.nan)

    def evaluate(weights: dict[str, np.ndarray]) -> np.ndarray:
        _load(net, weights)
        return test.accuracy(net)

    try:
        for i, target in enumerate(targets):
            names = [n for n in base if n.startswith(_PREFIXES[target])]
            kind = "tau" if target == "tau" else "weight"
            recurrent = [n for n in names if n.startswith("w_rec/")]
            masks = {n: off_diagonal for n in recurrent} if off_diagonal is not None and recurrent else None
            result = robustness_curve(
                evaluate, base, perturb={n: kind for n in names}, eps=eps_arr, n_draws=int(draws),
                rng=np.random.default_rng([int(seed), ROBUSTNESS_TARGETS.index(target)]),
                threshold=threshold, scope="tensor" if scope == "module" else "group", masks=masks,
            )  # fmt: skip
            accuracy[i], n_solved[i] = result.accuracies, result.n_solved
            for m in range(k):  # a module's connections: the norm of its W_rec and W_ff together
                own = [base[n].astype(np.float64).ravel() for n in names if int(n.split("/")[1]) == m]
                if own:
                    norms[i, m] = float(np.linalg.norm(np.concatenate(own)))
    finally:
        _load(net, base)
    steps = np.array([snap.step], np.int64)
    return AnalysisData(
        metric="robustness",
        description="Accuracy per curriculum level after random perturbations of the recurrent weights, the "
        "feed-forward weights or the timescales, W' = W + eps ||W||_F xi / ||xi||_F (Hamidi et al., Eq. 5; tau upward "
        "only), on fixed test sequences; levels still solved with accuracy above the threshold.",
        parameters={"step": int(snap.step), "what": ",".join(targets), "eps": [float(e) for e in eps_arr],
                    "draws": int(draws), "trials": test.n_trials, "seed": int(seed), "scope": scope,
                    "threshold": float(threshold)},
        datasets={
            "step": (steps, "batches", "The step whose weights were perturbed."),
            "what": (np.array(targets, dtype=object), "", ("What was perturbed in each row: recurrent (W_rec), "
                                                          "feedforward (W_ff), tau, or connections (W_rec and W_ff), all modules at once.")),
            "eps": (eps_arr, "1", "Relative size of the perturbation: ||W' - W||_F = eps ||W||_F."),
            "draw": (np.arange(int(draws), dtype=np.int64), "1", "Index of the random direction (the same direction at every eps)."),
            "levels": (np.array(levels, np.int64), "1", "The level N of each readout head, in column order."),
            "accuracy": (accuracy, "1", "Fraction of test sequences correct: (what, eps, draw, level)."),
            "n_solved_above": (n_solved, "levels", "Levels with accuracy above the threshold: (what, eps, draw)."),
            "accuracy_unperturbed": (unperturbed, "1", "Accuracy of the network as stored, per level."),
            "norm": (norms, "1", ("Frobenius norm of each module's perturbed tensors, together (what, module); NaN "
                                  "where the module has none (module 0's W_ff).")),
        },
        attrs={"n_modules": int(k), "module_size": int(net.module_size), "test_seed": int(test.seed)},
    )


def summary(result: AnalysisData) -> str:
    """One line saying what a robustness analysis found."""
    data = {key: value[0] for key, value in result.datasets.items()}
    eps, solved = data["eps"], data["n_solved_above"]
    parts = [f"{w}: {solved[i, 0].mean():.1f} -> {solved[i, -1].mean():.1f} levels" for i, w in enumerate(data["what"])]
    return (f"step {int(data['step'][0])}, levels {data['levels'][0]}-{data['levels'][-1]}, mean levels above "
            f"{result.parameters['threshold']:g} from eps {eps[0]:g} to {eps[-1]:g}: " + "; ".join(parts))
