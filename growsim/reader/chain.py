"""Chain runs (``network.kind: chain``, Hamidi et al.): the network of a step rebuilt from the
file, its accuracy on parity test sequences, and two analyses of it.

- :func:`network_at`: the :class:`growsim.network.ChainRNN` of a snapshot or of /final.
- :class:`ParityTestSet`: fixed test sequences; by default the very ones the run's own
  evaluations used, so that the accuracy of a stored step is the logged ``series/perf``.
- :func:`robustness`: accuracy per level after perturbing W_rec, W_ff or tau by Eq. 5
  (Hamidi et al., Fig. 3 and 5), through :func:`growsim.metrics.robustness.robustness_curve`.
- :func:`timescales`: trained and effective timescale of every neuron (Fig. 4), through
  :func:`growsim.metrics.timescales.effective_timescales`.

The analyses return :class:`growsim.reader.analyses.AnalysisData` for ``write_analysis``
(layout: docs/analysis.md). Unlike the rest of ``growsim.reader`` this module runs the
network, so its functions import torch (when called, not when this module is imported).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from growsim.reader._run import Run, RunFileError, Snapshot

if TYPE_CHECKING:
    from growsim.network import ChainRNN
    from growsim.reader.analyses import AnalysisData

__all__ = [
    "DEFAULT_EPS",
    "ROBUSTNESS_TARGETS",
    "ParityTestSet",
    "chain_activity",
    "levels_of",
    "network_at",
    "parity_test_set",
    "require_chain",
    "robustness",
    "timescales",
]

#: What a robustness analysis can perturb (paper: W^R, W^FF, tau).
ROBUSTNESS_TARGETS = ("recurrent", "feedforward", "tau")
#: Relative perturbation sizes eps of Eq. 5 by default.
DEFAULT_EPS = tuple(round(0.05 * i, 2) for i in range(11))  # 0, 0.05, ..., 0.5
#: Scopes of the norm in Eq. 5: each module's tensor by itself, or all modules' as one.
SCOPES = ("module", "network")
# Parts of a module in the order of ChainRNN.PARTS (the columns of `trainable`).
_PARTS = ("recurrent", "feedforward", "input", "bias", "tau")
# The training evaluation's number of batches (ParityObjective's eval_batches).
_EVAL_BATCHES = 8
# Time steps simulated per block when recording activity for timescales.
_CHUNK_STEPS = 10_000


def require_chain(run: Run, what: str) -> None:
    """Raise :class:`RunFileError` unless ``run`` is a chain run."""
    if run.network_kind != "chain":
        raise RunFileError(
            f"{run.path}: {what} needs a chain run (network.kind: chain, Hamidi et al.'s parity curriculum); "
            f"this is a {run.network_kind} run"
        )


def _arrays(snap: Snapshot) -> dict[str, np.ndarray]:
    if not snap.is_chain:
        raise RunFileError(f"the weights at step {snap.step} are not a chain's (w_rec is not (K, M, M))")
    out = {"w_rec": snap.w_rec, "w_in": snap.w_in, **snap.extra}
    missing = [k for k in ("w_in", "w_ff", "bias", "tau", "head_w", "head_b", "head_module") if out.get(k) is None]
    if missing:
        raise RunFileError(f"the chain weights at step {snap.step} lack {', '.join(missing)}")
    return out


def structure_of(snap: Snapshot) -> dict[str, Any]:
    """``ChainRNN.structure()`` of the stored network (heads' freezing is not stored: unfrozen)."""
    a = _arrays(snap)
    k, m = a["w_rec"].shape[:2]
    trainable = a.get("trainable")
    if trainable is None:
        trainable = np.ones((k, len(_PARTS)), np.uint8)
    frozen = []
    for i in range(k):
        parts = [p for p in _PARTS if not (p == "feedforward" and i == 0)]
        frozen.append({p: not bool(trainable[i, _PARTS.index(p)]) for p in parts})
    heads = [int(h) for h in a["head_module"]]
    return {"n_input": int(a["w_in"].shape[2]), "n_modules": int(k), "module_size": int(m), "head_module": heads,
            "frozen": frozen, "frozen_heads": [False] * len(heads)}


def _network_kwargs(run: Run) -> dict[str, Any]:
    net = run.spec.get("network", {})
    return {
        "zero_diagonal": bool(net.get("zero_diagonal", True)),
        "h0_scale": float(net.get("h0_scale", 0.1)),
        "negative_slope": float(net.get("negative_slope", 0.01)),
        "tau_init": tuple(float(v) for v in net.get("tau_init", (1.0, 2.0))),
    }


def parameter_arrays(snap: Snapshot) -> dict[str, np.ndarray]:
    """The stored arrays under the network's ``state_dict`` names (``blocks.3.w_ff``, ``heads.0.weight``...)."""
    a = _arrays(snap)
    out: dict[str, np.ndarray] = {}
    for i in range(a["w_rec"].shape[0]):
        out[f"blocks.{i}.w_rec"] = a["w_rec"][i]
        if i >= 1:
            out[f"blocks.{i}.w_ff"] = a["w_ff"][i]
        out[f"blocks.{i}.w_in"] = a["w_in"][i]
        out[f"blocks.{i}.bias"] = a["bias"][i]
        out[f"blocks.{i}.tau"] = a["tau"][i]
    for h in range(a["head_w"].shape[0]):
        out[f"heads.{h}.weight"] = a["head_w"][h]
        out[f"heads.{h}.bias"] = a["head_b"][h]
    return out


def network_at(run: Run, step: int | None = None) -> tuple[ChainRNN, Snapshot]:
    """The chain network at ``step`` (default: the end) and the snapshot it was built from.

    ``ChainRNN.from_structure`` with the spec's network settings, then the stored arrays
    loaded as its state_dict (every key must match). The stored arrays are used rather
    than /checkpoint, which holds one step only: snapshots and /final hold every array
    of the network (values exactly as trained), at every stored step.
    """
    import torch

    from growsim.network import ChainRNN

    require_chain(run, "rebuilding the network")
    snap = run.weights(step)
    net = ChainRNN.from_structure(structure_of(snap), **_network_kwargs(run))
    state = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in parameter_arrays(snap).items()}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise RunFileError(f"{run.path}: the weights at step {snap.step} do not fit a chain network ({exc})") from None
    net.eval()
    return net, snap


def levels_of(run: Run, snap: Snapshot) -> list[int]:
    """The level N of each readout head of the chain at ``snap``: ``task.n_start`` + head index."""
    n_start = int(run.spec.get("task", {}).get("n_start", 2))
    heads = snap.extra.get("head_module")
    n = 0 if heads is None else len(heads)
    return list(range(n_start, n_start + n))


# --- test sequences --------------------------------------------------------------------


@dataclass
class ParityTestSet:
    """Fixed parity test sequences for one set of levels, and the seed of the initial rates.

    ``accuracy(net)`` runs every batch through the network (no gradient) and returns the
    fraction correct of each head (n_levels,), exactly as ``ParityObjective.evaluate``
    does: the initial rates come from a torch generator seeded with ``seed`` at each call,
    so the same network always gets the same accuracy.
    """

    levels: list[int]
    batches: list[Any]
    seed: int

    @property
    def n_trials(self) -> int:
        return sum(b.batch_size for b in self.batches)

    def accuracy(self, net) -> np.ndarray:
        import torch

        from growsim.tasks import parity_accuracy

        gen = torch.Generator()
        gen.manual_seed(self.seed)
        correct = np.zeros(len(self.levels))
        with torch.no_grad():
            for batch in self.batches:
                logits, _ = net(torch.from_numpy(batch.x), generator=gen, keep_rates=False)
                if logits.shape[0] != len(self.levels):
                    raise RunFileError(f"the network has {logits.shape[0]} heads for {len(self.levels)} levels")
                correct += parity_accuracy(logits.numpy(), batch.labels) * batch.batch_size
        return correct / self.n_trials


def parity_test_set(run: Run, levels: Sequence[int], *, trials: int | None = None, seed: int | None = None) -> ParityTestSet:
    """Test sequences for ``levels`` as the run's evaluations draw them.

    Batches of ``log.eval_batch_size`` sequences (the last one smaller if ``trials`` is
    not a multiple), lengths and p(1) as in ``task``. Default ``trials``: 8 batches, as
    every evaluation during training; default ``seed``: the run's evaluation stream, so
    that with both defaults these are the very sequences (and initial rates) the logged
    ``series/perf`` was measured on.
    """
    from growsim.streams import stream_seed
    from growsim.tasks import ParitySuite

    task, log = run.spec.get("task", {}), run.spec.get("log", {})
    if task.get("suite") != "parity":
        raise RunFileError(f"{run.path}: parity test sequences need the parity task suite, not {task.get('suite')!r}")
    if not levels:
        raise RunFileError(f"{run.path}: the network has no readout head yet: no level to test")
    batch_size = int(log.get("eval_batch_size", 256))
    trials = _EVAL_BATCHES * batch_size if trials is None else int(trials)
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    seed = stream_seed(int(run.seed or 0), "eval") if seed is None else int(seed)
    suite = ParitySuite(list(levels), length=task.get("length", "paper"), p_one=task.get("p_one"),
                        p_one_scope=task.get("p_one_scope", "batch"))
    rng = np.random.Generator(np.random.PCG64(seed))
    sizes = [batch_size] * (trials // batch_size) + ([trials % batch_size] if trials % batch_size else [])
    return ParityTestSet(list(levels), [suite.sample(rng, b) for b in sizes], seed)


# --- robustness --------------------------------------------------------------------------


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
        # "all": each kind in turn; a single module has no feed-forward weights.
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
    every W_ff; ``tau``: every neuron's tau, upward only; ``all``: each of these in turn),
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
    from growsim.reader.analyses import AnalysisData, check_applicable

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
    levels = levels_of(run, snap)
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
            prefix = {"recurrent": "w_rec/", "feedforward": "w_ff/", "tau": "tau/"}[target]
            names = [n for n in base if n.startswith(prefix)]
            kind = "tau" if target == "tau" else "weight"
            masks = {n: off_diagonal for n in names} if target == "recurrent" and off_diagonal is not None else None
            result = robustness_curve(
                evaluate, base, perturb={n: kind for n in names}, eps=eps_arr, n_draws=int(draws),
                rng=np.random.default_rng([int(seed), ROBUSTNESS_TARGETS.index(target)]),
                threshold=threshold, scope="tensor" if scope == "module" else "group", masks=masks,
            )  # fmt: skip
            accuracy[i], n_solved[i] = result.accuracies, result.n_solved
            for n in names:
                norms[i, int(n.split("/")[1])] = float(np.linalg.norm(base[n].astype(np.float64)))
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
                                                          "feedforward (W_ff) or tau, all modules at once.")),
            "eps": (eps_arr, "1", "Relative size of the perturbation: ||W' - W||_F = eps ||W||_F."),
            "draw": (np.arange(int(draws), dtype=np.int64), "1", "Index of the random direction (the same direction at every eps)."),
            "levels": (np.array(levels, np.int64), "1", "The level N of each readout head, in column order."),
            "accuracy": (accuracy, "1", "Fraction of test sequences correct: (what, eps, draw, level)."),
            "n_solved_above": (n_solved, "levels", "Levels with accuracy above the threshold: (what, eps, draw)."),
            "accuracy_unperturbed": (unperturbed, "1", "Accuracy of the network as stored, per level."),
            "norm": (norms, "1", ("Frobenius norm of each module's perturbed tensor (what, module); NaN where "
                                  "the module has none (module 0's W_ff).")),
        },
        attrs={"n_modules": int(k), "module_size": int(net.module_size), "test_seed": int(test.seed)},
    )


# --- timescales --------------------------------------------------------------------------


def chain_activity(
    net,
    n_steps: int,
    *,
    trials: int = 1,
    seed: int = 0,
    p_one: float = 0.5,
    burn_in: int = 0,
    chunk: int = _CHUNK_STEPS,
) -> np.ndarray:
    """Rates of every neuron of ``net`` driven by random bits: (n_steps, trials, K * M) float32.

    The input is i.i.d. bits with probability ``p_one`` of a 1 (from ``seed``); initial
    rates ``h0_scale * U(0, 1)`` as in training; the first ``burn_in`` steps are run but
    not returned. The time is simulated ``chunk`` steps at a time, the state carried from
    one to the next, so the working memory is that of one chunk (the result itself is
    4 * n_steps * trials * K * M bytes). Neuron ``m * M + i`` is module m's neuron i.
    The update is ChainRNN's forward pass, written out so that the state can be carried.
    """
    import torch
    from torch.nn import functional as F

    if n_steps < 1 or trials < 1 or burn_in < 0 or chunk < 1:
        raise ValueError("n_steps, trials and chunk must be >= 1 and burn_in >= 0")
    k, m = net.n_modules, net.module_size
    rng = np.random.Generator(np.random.PCG64(seed))
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    out = np.empty((n_steps, trials, k * m), np.float32)
    with torch.no_grad():
        blocks = list(net.blocks)
        dtype = blocks[0].w_rec.dtype
        w_rec_t = (torch.stack([b.w_rec for b in blocks]) * net.off_diagonal).transpose(1, 2)
        w_ff_t = torch.stack([b.w_ff for b in blocks[1:]]).transpose(1, 2) if k > 1 else None
        w_in = torch.stack([b.w_in for b in blocks])  # (K, M, n_input)
        bias = torch.stack([b.bias for b in blocks]).unsqueeze(1)  # (K, 1, M)
        alpha = torch.stack([b.tau for b in blocks]).clamp(min=1.0).reciprocal().unsqueeze(1).expand(k, trials, m)
        r = net.h0_scale * torch.rand((k, trials, m), generator=gen, dtype=dtype)
        total, t0 = burn_in + n_steps, 0
        while t0 < total:
            n = min(chunk, total - t0)
            x = torch.from_numpy((rng.random((n, trials, net.n_input)) < p_one).astype(np.float32)).to(dtype)
            drive = torch.einsum("tbi,kmi->tkbm", x, w_in).add_(bias)  # (n, K, B, M)
            rates = torch.empty_like(drive)
            for t in range(n):
                c = torch.bmm(r, w_rec_t).add_(drive[t])
                if w_ff_t is not None:
                    c[1:].add_(torch.bmm(r[:-1], w_ff_t))
                r = torch.lerp(r, F.leaky_relu(c, net.negative_slope), alpha)
                rates[t] = r
            keep_from = max(0, burn_in - t0)
            if keep_from < n:
                dst = t0 + keep_from - burn_in
                out[dst : dst + n - keep_from] = rates[keep_from:].permute(0, 2, 1, 3).reshape(n - keep_from, trials, k * m).numpy()
            t0 += n
    return out


def timescales(
    run: Run,
    *,
    step: int | None = None,
    steps: int = 100_000,
    max_lag: int = 30,
    burn_in: int = 1000,
    trials: int = 1,
    seed: int = 0,
    p_one: float = 0.5,
    method: str = "gls",
) -> AnalysisData:
    """Trained and effective timescale of every neuron of the chain at ``step`` (default: the end).

    Trained: tau as the network uses it (clamped >= 1). Effective (Hamidi et al., Fig. 4b):
    the network is driven by ``steps`` random bits (p(1) = ``p_one``; paper: 1e5 steps)
    after ``burn_in`` steps, in ``trials`` independent sequences; the autocorrelation of
    each neuron's rate on lags 0 to ``max_lag`` is fitted with one and with two exponentials
    and the model with the lower AIC is kept; its slowest tau is the neuron's effective
    timescale (:func:`growsim.metrics.timescales.effective_timescales`, ``method``
    ``gls`` or ``ols``). Times are in steps (dt = 1).
    """
    from growsim.metrics.timescales import effective_timescales
    from growsim.reader.analyses import AnalysisData, check_applicable

    check_applicable(run, "timescales")
    if steps < 2 or max_lag < 4 or max_lag >= steps:
        raise ValueError(f"need steps >= 2 and 4 <= max_lag < steps, got steps {steps} and max_lag {max_lag}")
    if not 0.0 < p_one < 1.0:
        raise ValueError(f"p_one must be in (0, 1), got {p_one}")
    net, snap = network_at(run, step)
    k, m = net.n_modules, net.module_size
    activity = chain_activity(net, int(steps), trials=int(trials), seed=int(seed), p_one=float(p_one), burn_in=int(burn_in))
    res = effective_timescales(activity, method=method, max_lag=int(max_lag))
    del activity
    tau_trained = np.maximum(np.stack([b.tau.detach().numpy() for b in net.blocks]).astype(np.float64), 1.0)
    tau_eff = res.tau.reshape(k, m)
    with warnings.catch_warnings():  # a module with no fitted neuron: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        eff_mean = np.nanmean(tau_eff, axis=1)
    return AnalysisData(
        metric="timescales",
        description="Trained timescale (tau, clamped >= 1) and effective timescale of every neuron: the slowest tau "
        "of the one- or two-exponential fit (chosen by AIC) to the autocorrelation of its rate, driven by random bits "
        "(Hamidi et al., Fig. 4).",
        parameters={"step": int(snap.step), "steps": int(steps), "max_lag": int(max_lag), "burn_in": int(burn_in),
                    "trials": int(trials), "seed": int(seed), "p_one": float(p_one), "method": method},
        datasets={
            "step": (np.array([snap.step], np.int64), "batches", "The step whose network was driven."),
            "tau_trained": (tau_trained, "steps", "Trained timescale of each neuron, clamped >= 1: (module, neuron)."),
            "tau_effective": (tau_eff, "steps", ("Effective timescale: the slowest tau of the model AIC chose; "
                                                  "NaN where `reason` says why: (module, neuron).")),
            "tau_se": (res.tau_se.reshape(k, m), "steps", "Standard error of tau_effective (gls fits; NaN for ols)."),
            "model": (res.model.reshape(k, m), "1", "Model chosen by AIC: 1 (one exponential), 2 (two), 0 (none)."),
            "tau_single": (res.tau_single.reshape(k, m), "steps", "tau of the one-exponential fit."),
            "tau_double": (res.tau_double.reshape(k, m, 2), "steps", "(fast, slow) taus of the two-exponential fit."),
            "at_bound": (res.at_bound.reshape(k, m).astype(np.uint8), "1", "1 where tau_effective sits on a bound of the fit."),
            "reason": (np.array(res.reason, dtype=object), "", "Why tau_effective is NaN ('' if fitted), for neuron m * M + i."),
            "ac": (res.ac.reshape(-1, k, m), "1", "Autocorrelation of each neuron's rate at lags 0..max_lag: (lag, module, neuron)."),
            "tau_trained_mean": (tau_trained.mean(axis=1), "steps", "Mean trained timescale of each module."),
            "tau_effective_mean": (eff_mean, "steps", "Mean effective timescale of each module (over fitted neurons)."),
        },
        attrs={"n_modules": int(k), "module_size": int(m), "n_fitted": int(np.isfinite(res.tau).sum()),
               "n_two_timescales": int((res.model == 2).sum())},
    )


def summary(result: AnalysisData) -> str:
    """One line saying what a robustness or timescales analysis found."""
    data = {key: value[0] for key, value in result.datasets.items()}
    step = int(data["step"][0])
    if result.metric == "robustness":
        eps, solved = data["eps"], data["n_solved_above"]
        parts = [f"{w}: {solved[i, 0].mean():.1f} -> {solved[i, -1].mean():.1f} levels"
                 for i, w in enumerate(data["what"])]
        return (f"step {step}, levels {data['levels'][0]}-{data['levels'][-1]}, mean levels above "
                f"{result.parameters['threshold']:g} from eps {eps[0]:g} to {eps[-1]:g}: " + "; ".join(parts))
    trained, eff = data["tau_trained"], data["tau_effective"]
    fitted = np.isfinite(eff)
    median_eff = f"{np.median(eff[fitted]):.2f}" if fitted.any() else "n/a"
    return (f"step {step}: {trained.shape[0]} modules of {trained.shape[1]} neurons; median tau trained "
            f"{np.median(trained):.2f}, effective {median_eff} steps ({int(fitted.sum())} neurons fitted, "
            f"{result.attrs['n_two_timescales']} with two timescales)")
