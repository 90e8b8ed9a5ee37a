"""Trained and effective timescales of every neuron of a chain run's network (Hamidi et al., Fig. 4).

The network of a stored step is rebuilt (:func:`growsim.analyses.network_at`) and driven
by random bits; the fits are :func:`growsim.metrics.timescales.effective_timescales`.
Imports torch when called.
"""

from __future__ import annotations

import numpy as np

from growsim.analyses._data import AnalysisData, check_applicable
from growsim.analyses._network import network_at
from growsim.reader import Run

__all__ = ["chain_activity", "solve_steps", "summary", "summary_at_solves", "timescales", "timescales_at_solves"]

# Time steps simulated per block when recording activity for timescales.
_CHUNK_STEPS = 10_000


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
    ``gls`` or ``ols``). Times are in steps (dt = 1). A module's mean effective timescale
    leaves out the neurons whose tau sits at the fit's upper bound, too slow for the lags
    to resolve, and reports their fraction instead
    (:func:`growsim.metrics.timescales.resolved_summary`).
    """
    from growsim.metrics.timescales import TAU_BOUNDS, effective_timescales, resolved_summary

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
    eff_mean, unresolved = np.array([resolved_summary(row) for row in tau_eff]).reshape(k, 2).T
    high = f"{TAU_BOUNDS[1]:g} steps"
    return AnalysisData(
        metric="timescales",
        description="Trained timescale (tau, clamped >= 1) and effective timescale of every neuron: the slowest tau "
        "of the one- or two-exponential fit (chosen by AIC) to the autocorrelation of its rate, driven by random bits "
        "(Hamidi et al., Fig. 4). A module's mean effective timescale is over its resolved neurons; those whose tau "
        f"sits at the fit's upper bound ({high}), slower than lags 0..max_lag can resolve, are counted apart.",
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
            "tau_effective_mean": (eff_mean, "steps", ("Mean effective timescale of each module over its resolved "
                                                        f"neurons: fitted, and not at the fit's upper bound ({high}); "
                                                        "NaN if none.")),
            "tau_unresolved_fraction": (unresolved, "1", ("Fraction of each module's fitted neurons whose effective "
                                                          f"timescale sits at the fit's upper bound ({high}): slower "
                                                          "than lags 0..max_lag resolve, a lower limit; NaN if none "
                                                          "was fitted.")),
        },
        attrs={"n_modules": int(k), "module_size": int(m), "n_fitted": int(np.isfinite(res.tau).sum()),
               "n_two_timescales": int((res.model == 2).sum())},
    )


def summary(result: AnalysisData) -> str:
    """One line saying what a timescales analysis found."""
    from growsim.metrics.timescales import resolved_summary

    data = {key: value[0] for key, value in result.datasets.items()}
    trained, eff = data["tau_trained"], data["tau_effective"]
    fitted = np.isfinite(eff)
    median_eff = f"{np.median(eff[fitted]):.2f}" if fitted.any() else "n/a"
    unresolved = round(resolved_summary(eff)[1] * fitted.sum()) if fitted.any() else 0
    return (f"step {int(data['step'][0])}: {trained.shape[0]} modules of {trained.shape[1]} neurons; median tau trained "
            f"{np.median(trained):.2f}, effective {median_eff} steps ({int(fitted.sum())} neurons fitted, "
            f"{result.attrs['n_two_timescales']} with two timescales, {unresolved} at the fit's upper bound)")


def solve_steps(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """The evaluation steps at which the curriculum advanced (N_solved rose), with N_solved
    there. The snapshot each of them stores is taken after that step's metrics and its
    growth on `level_solved`: the network that solved the level, with the module and head
    grown for the next level (not yet trained) when growth added one."""
    series = run.series()
    if "n_solved" not in series:
        raise ValueError(f"{run.path} logs no n_solved (not a parity curriculum run)")
    solved = series["n_solved"].to_numpy(dtype=float)
    steps = series["step"].to_numpy()
    best = np.fmax.accumulate(np.nan_to_num(solved))  # the most solved up to each row
    before = np.concatenate([[0.0], best[:-1]])
    rose = np.flatnonzero(np.isfinite(solved) & (solved > before))
    return steps[rose].astype(np.int64), solved[rose].astype(np.int64)


def timescales_at_solves(run: Run, **options) -> AnalysisData:
    """`timescales` (with `options`, ``step`` aside) at every step where N_solved rose and a
    snapshot was stored: Hamidi et al.'s Fig. 4, trained and effective timescales against
    N_solved. Arrays gain a leading axis over those steps, padded with NaN to the largest
    number of modules."""
    if "step" in options:
        raise ValueError("timescales_at_solves chooses its own steps: those where N_solved rose")
    check_applicable(run, "timescales")
    steps, n_solved = solve_steps(run)
    stored = set(run.snapshot_steps())
    keep = np.array([s in stored for s in steps], dtype=bool)
    steps, n_solved = steps[keep], n_solved[keep]
    if not steps.size:
        raise ValueError(f"{run.path} stores no snapshot at a step where N_solved rose")
    each = [timescales(run, step=int(s), **options) for s in steps]
    k_max = max(r.attrs["n_modules"] for r in each)
    m = each[0].attrs["module_size"]

    def stacked(key: str) -> np.ndarray:
        first = each[0].datasets[key][0]
        out = np.full((len(each), k_max, *first.shape[1:]), np.nan)
        for i, r in enumerate(each):
            value = r.datasets[key][0]
            out[i, : value.shape[0]] = value
        return out

    keys = ("tau_trained", "tau_effective", "tau_trained_mean", "tau_effective_mean", "tau_unresolved_fraction")
    datasets = {
        "step": (steps, "batches", "The steps at which N_solved rose, whose networks were driven."),
        "n_solved": (n_solved, "levels", "N_solved at that step."),
        "n_modules": (np.array([r.attrs["n_modules"] for r in each], np.int64), "1", "Modules of the network there."),
        **{key: (stacked(key), each[0].datasets[key][1], each[0].datasets[key][2] + " Padded with NaN beyond the "
                 "step's own modules; one row per step.") for key in keys},
    }
    return AnalysisData(
        metric="timescales_at_solves",
        description="Trained and effective timescales (as the timescales analysis) at every step where N_solved rose "
        "(Hamidi et al., Fig. 4).",
        parameters={**{k: v for k, v in each[0].parameters.items() if k != "step"}},
        datasets=datasets,
        attrs={"module_size": int(m), "n_steps": len(each)},
    )


def summary_at_solves(result: AnalysisData) -> str:
    """One line: the steps, and the mean effective timescale over the first module's resolved
    neurons (the module every modular network keeps from its start) at the first and the last
    of them. (The newest module of a snapshot at a solve step is the one grown there, untrained.)"""
    data = {key: value[0] for key, value in result.datasets.items()}
    first, last = data["tau_effective_mean"][0][0], data["tau_effective_mean"][-1][0]
    return (f"timescales at {len(data['step'])} solve steps (N_solved {data['n_solved'][0]} to {data['n_solved'][-1]}); "
            f"first module's mean effective tau (resolved neurons) {first:.3g} -> {last:.3g} steps")
