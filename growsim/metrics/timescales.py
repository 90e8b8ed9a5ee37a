"""Effective timescales of neurons from the autocorrelation of their activity.

Following Hamidi et al. (methods, "Timescale Estimation") and the method they cite
(Khajehabdollahi et al. 2024; Zeraati et al. 2022): the autocorrelation (AC) of each
neuron's activity over a long run (the paper: 1e5 steps) is fitted, on lags 0 to 30,
with one and with two exponentials::

    single:  A exp(-k / tau)
    double:  A1 exp(-k / tau1) + A2 exp(-k / tau2)        (A1, A2 >= 0, tau1 <= tau2)

the model with the lower Akaike information criterion (AIC) is kept, and the
neuron's effective timescale is that model's slowest tau. Times are in steps (the
network's dt; Hamidi et al.: dt = 1).

The AC is estimated per trial (each trial's mean removed) with an FFT, with the
unbiased normalisation ``1 / (T - k)`` at lag k, averaged over trials and divided
by its lag-0 value.

How the fits are scored (``method``):

- ``"gls"`` (default): errors of a sample AC at nearby lags are strongly correlated
  (Bartlett 1946), so least squares that treats lags as independent prefers the
  two-exponential model far too often: on AR(1) signals of 1e5 steps (one true
  timescale) it chose two in about 40% of neurons. Here the fits minimise
  ``r' S^-1 r``, with ``S`` the covariance of the sample AC given by Bartlett's
  formula for the AC of the single-exponential fit and ``n_samples`` data points,
  and ``AIC = r' S^-1 r + 2 p``, the AIC of that Gaussian likelihood. Lag 0 of a
  normalised AC is exactly 1 and enters as a (near) exact constraint. Measured on
  1e5-step signals: two timescales chosen for 4 of 120 AR(1) neurons and for 2 of
  120 white-noise neurons (AIC's own rate for nested models), and for 120 of 120
  sums of two AR(1) processes (tau 2 and 20); the slow tau's spread matched the
  reported ``tau_se``. A spurious second component shows as a ``tau_se`` larger
  than ``tau`` or a tau ``at_bound``.
- ``"ols"``: plain least squares and ``AIC = n log(RSS / n) + 2 p`` over the n lags,
  as the LevinaLab code does; for comparison with published numbers.

Depends on numpy and scipy only.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Literal, NamedTuple, TypedDict, Unpack

import numpy as np
import scipy.fft
from scipy.linalg import LinAlgError, cholesky, solve_triangular
from scipy.optimize import OptimizeWarning, curve_fit

__all__ = [
    "METHODS",
    "TAU_BOUNDS",
    "TimescaleResult",
    "autocorrelation",
    "effective_timescales",
    "fit_timescales",
    "resolved_summary",
]

#: Ways of scoring the fits; see the module docstring.
METHODS: tuple[str, ...] = ("gls", "ols")
#: The taus a fit may take by default, in steps: from white noise to AC that barely decays
#: within 30 lags.
TAU_BOUNDS: tuple[float, float] = (1e-2, 1e4)

# Columns per FFT chunk are chosen to keep one chunk's work arrays near this size.
_FFT_CHUNK_BYTES = 64 * 2**20
# A neuron whose standard deviation is below this fraction of its largest |value| is
# constant up to rounding: it has no autocorrelation to fit.
_REL_STD_TOL = 1e-10
# Residuals below this (on an AC normalised to 1) are rounding; flooring RSS here keeps
# log(RSS) finite for exact synthetic curves, so that ties go to the simpler model.
_RSS_FLOOR_PER_LAG = 1e-24
# Starting points: taus on a log grid; amplitudes solved exactly for each.
_GRID_SIZE = 40
_AMP_MAX = 10.0
# Bartlett's sum runs over lags j = 1..J with rho_j = A exp(-j / tau) down to e^-30,
# but J is capped: beyond ~600 steps of tau the covariance is underestimated (such
# AC barely decays within 30 lags, and both models are scored alike).
_BARTLETT_DECAYS = 30
_BARTLETT_MAX_TERMS = 20_000
# Lag 0 of a normalised AC has no error; this fraction of the mean variance stands in
# for 0 so that S stays positive definite.
_LAG0_REL_VARIANCE = 1e-10
_JITTER = 1e-10
# A tau within this relative distance of a bound is reported as on it.
_AT_BOUND_RTOL = 1e-3


class TimescaleResult(NamedTuple):
    """Result of :func:`effective_timescales` / :func:`fit_timescales`, for n neurons.

    Attributes:
        tau: (n,) float64 effective timescale in steps, the slowest tau of the model
            AIC chose; NaN where ``reason`` says why.
        tau_se: (n,) float64 standard error of ``tau`` (steps) from the fit's
            covariance under Bartlett's error model ("gls"); NaN for "ols".
        model: (n,) int64 chosen model: 1 (single), 2 (double), 0 (none).
        tau_single: (n,) float64 tau of the single-exponential fit (NaN if it failed).
        amp_single: (n,) float64 its amplitude A.
        tau_double: (n, 2) float64 (fast, slow) taus of the double fit.
        amp_double: (n, 2) float64 their amplitudes (A1, A2), same order.
        aic: (n, 2) float64 AIC of the single and the double fit (inf if failed).
        at_bound: (n,) bool, the reported tau sits on a bound of ``tau_bounds``
            (white activity at the low end; AC that barely decays at the high end).
        reason: (n,) str, '' for a fitted neuron, else why ``tau`` is NaN:
            "no variance", "non-finite activity" or "fit failed".
        lags: (n_lags,) int64 lags used in the fits.
        ac: (L, n) float64 autocorrelation the fits saw, normalised to 1 at lag 0
            (NaN for neurons without variance).
    """

    tau: np.ndarray
    tau_se: np.ndarray
    model: np.ndarray
    tau_single: np.ndarray
    amp_single: np.ndarray
    tau_double: np.ndarray
    amp_double: np.ndarray
    aic: np.ndarray
    at_bound: np.ndarray
    reason: np.ndarray
    lags: np.ndarray
    ac: np.ndarray


def _as_int(value: object, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _activity_3d(activity: object) -> np.ndarray:
    """(T, n) or (T, B, n) real array -> (T, B, n) view, dtype kept."""
    x = np.asarray(activity)
    if np.iscomplexobj(x) or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"activity must hold real numbers, got dtype {x.dtype}")
    if x.ndim == 2:
        x = x[:, None, :]
    if x.ndim != 3:
        raise ValueError(f"activity must be (T, n_neurons) or (T, n_trials, n_neurons), got shape {x.shape}")
    return x


_OK, _NO_VARIANCE, _NON_FINITE = 0, 1, 2
_REASONS = {_OK: "", _NO_VARIANCE: "no variance", _NON_FINITE: "non-finite activity"}


def _ac_and_status(x: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, B, n) activity -> normalised AC (max_lag + 1, n) and a status code per neuron.

    Works on a few neurons at a time, in float64, so memory stays near
    ``_FFT_CHUNK_BYTES`` whatever T and n are.
    """
    t, b, n = x.shape
    if max_lag >= t:
        raise ValueError(f"max_lag ({max_lag}) must be < the number of steps ({t})")
    n_fft = scipy.fft.next_fast_len(2 * t - 1, real=True)
    # Per neuron: its float64 copy, the padded input, the half spectrum, the inverse.
    per_neuron = 8 * b * (t + 2 * n_fft + 2 * (n_fft // 2 + 1))
    step = max(1, _FFT_CHUNK_BYTES // per_neuron)
    unbiased = (t - np.arange(max_lag + 1))[:, None]  # T - k products at lag k
    ac = np.full((max_lag + 1, n), np.nan)
    status = np.zeros(n, dtype=np.int64)
    for s in range(0, n, step):
        c = x[:, :, s : s + step].astype(np.float64)  # (t, b, m), a copy
        m = c.shape[2]
        finite = np.isfinite(c).all(axis=(0, 1))
        c[:, :, ~finite] = 0.0
        scale = np.abs(c).max(axis=(0, 1))
        c -= c.mean(axis=0)  # each trial's own mean
        spread = np.sqrt((c * c).mean(axis=0)).max(axis=0)
        flat = finite & (spread <= _REL_STD_TOL * scale)
        spec = scipy.fft.rfft(c.reshape(t, b * m), n=n_fft, axis=0)
        del c
        power = spec.real**2 + spec.imag**2
        del spec
        cov = scipy.fft.irfft(power, n=n_fft, axis=0)[: max_lag + 1] / unbiased
        cov = cov.reshape(max_lag + 1, b, m).mean(axis=1)
        good = finite & ~flat
        ac[:, s : s + m][:, good] = cov[:, good] / cov[0, good]
        status[s : s + m][flat] = _NO_VARIANCE
        status[s : s + m][~finite] = _NON_FINITE
    return ac, status


def autocorrelation(activity: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation of each neuron, averaged over trials.

    Args:
        activity: (T, n) or (T, n_trials, n) activity, time first; drop any
            transient (burn-in) before calling.
        max_lag: largest lag in steps (< T).
    Returns:
        (max_lag + 1, n) float64 with 1 at lag 0; NaN columns for neurons without
        variance or with non-finite values.
    """
    return _ac_and_status(_activity_3d(activity), _as_int(max_lag, "max_lag", 0))[0]


# --------------------------------------------------------------------- fits


def _single(k, a, tau):
    return a * np.exp(-k / tau)


def _single_jac(k, a, tau):
    e = np.exp(-k / tau)
    return np.column_stack([e, a * e * k / tau**2])


def _double(k, a1, tau1, a2, tau2):
    return a1 * np.exp(-k / tau1) + a2 * np.exp(-k / tau2)


def _double_jac(k, a1, tau1, a2, tau2):
    e1 = np.exp(-k / tau1)
    e2 = np.exp(-k / tau2)
    return np.column_stack([e1, a1 * e1 * k / tau1**2, e2, a2 * e2 * k / tau2**2])


def _start_single(y: np.ndarray, basis: np.ndarray, grid: np.ndarray) -> list[float]:
    """Best [A, tau] over the tau grid, A >= 0 solved exactly. basis: (n_grid, n_lags)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a basis that is 0 on every lag
        amp = np.nan_to_num(np.clip(basis @ y / np.einsum("gk,gk->g", basis, basis), 0.0, _AMP_MAX))
    rss = ((amp[:, None] * basis - y) ** 2).sum(axis=1)
    g = int(np.argmin(rss))
    return [float(amp[g]), float(grid[g])]


def _start_double(y: np.ndarray, basis: np.ndarray, grid: np.ndarray) -> list[float]:
    """Best [A1, tau1, A2, tau2] over grid pairs tau1 < tau2, A >= 0 solved exactly."""
    i, j = np.triu_indices(grid.size, k=1)
    e1, e2 = basis[i], basis[j]
    s11 = np.einsum("pk,pk->p", e1, e1)
    s22 = np.einsum("pk,pk->p", e2, e2)
    s12 = np.einsum("pk,pk->p", e1, e2)
    r1, r2 = e1 @ y, e2 @ y
    det = s11 * s22 - s12**2
    # Zero or collinear bases (a tau so short that it is 0 on every lag) give inf/NaN,
    # which the checks below replace.
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = (s22 * r1 - s12 * r2) / det
        a2 = (s11 * r2 - s12 * r1) / det
        only1 = np.nan_to_num(np.clip(r1 / s11, 0.0, _AMP_MAX))
        only2 = np.nan_to_num(np.clip(r2 / s22, 0.0, _AMP_MAX))
    # Where the unconstrained solution breaks A >= 0, the constrained optimum uses
    # one exponential only: take the better of the two.
    bad = ~(np.isfinite(a1) & np.isfinite(a2) & (a1 >= 0) & (a2 >= 0))
    use1 = ((only1[:, None] * e1 - y) ** 2).sum(1) <= ((only2[:, None] * e2 - y) ** 2).sum(1)
    a1 = np.clip(np.where(bad, np.where(use1, only1, 0.0), a1), 0.0, _AMP_MAX)
    a2 = np.clip(np.where(bad, np.where(use1, 0.0, only2), a2), 0.0, _AMP_MAX)
    rss = ((a1[:, None] * e1 + a2[:, None] * e2 - y) ** 2).sum(axis=1)
    p = int(np.argmin(rss))
    return [float(a1[p]), float(grid[i[p]]), float(a2[p]), float(grid[j[p]])]


def _inside(p0: list[float], lo: list[float], hi: list[float]) -> list[float]:
    """p0 moved strictly inside the bounds, as curve_fit requires."""
    out = []
    for v, a, b in zip(p0, lo, hi, strict=True):
        a_in = a * (1 + 1e-9) if a > 0 else a + 1e-12
        out.append(min(max(v, a_in), b * (1 - 1e-9)))
    return out


class _Fit(NamedTuple):
    params: np.ndarray
    score: float  # RSS ("ols") or chi-square r' S^-1 r ("gls")
    cov: np.ndarray | None  # parameter covariance ("gls" only)


def _fit(func, jac, k, y, p0, lo, hi, chol: np.ndarray | None) -> _Fit | None:
    """Bounded least squares; with ``chol`` (lower Cholesky factor of S), generalised."""
    if chol is None:
        f, fj, yy = func, jac, y
    else:
        def f(kk, *p):
            return solve_triangular(chol, func(kk, *p), lower=True)

        def fj(kk, *p):
            return solve_triangular(chol, jac(kk, *p), lower=True)

        yy = solve_triangular(chol, y, lower=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, pcov = curve_fit(
                f, k, yy, p0=_inside(p0, lo, hi), bounds=(lo, hi), jac=fj,
                method="trf", max_nfev=2000, absolute_sigma=True,
            )  # fmt: skip
    except (RuntimeError, ValueError, LinAlgError):
        return None
    score = float(((f(k, *popt) - yy) ** 2).sum())
    if not math.isfinite(score):
        return None
    return _Fit(popt, score, pcov if chol is not None else None)


def _bartlett_chol(k: np.ndarray, amp: float, tau: float, n_samples: int) -> np.ndarray | None:
    """Lower Cholesky factor of the covariance of a sample AC at lags ``k``.

    Bartlett's formula, for an AC rho_0 = 1, rho_j = amp exp(-j / tau) (j >= 1)
    estimated from ``n_samples`` points::

        cov(r_h, r_l) = (1/n) sum_{j>=1} g_h(j) g_l(j),
        g_h(j) = rho_{j+h} + rho_{|j-h|} - 2 rho_h rho_j
    """
    amp = min(max(amp, 0.0), 1.0)

    def rho(m):
        return np.where(m == 0, 1.0, amp * np.exp(-m / tau))

    pos = k[k > 0]
    n_terms = int(min(pos.max() + math.ceil(_BARTLETT_DECAYS * tau), _BARTLETT_MAX_TERMS, n_samples))
    j = np.arange(1, n_terms + 1, dtype=np.float64)
    g = rho(j[None, :] + pos[:, None]) + rho(np.abs(j[None, :] - pos[:, None])) - 2 * rho(pos)[:, None] * rho(j)
    s_pos = g @ g.T / n_samples
    s = np.zeros((k.size, k.size))
    idx = np.flatnonzero(k > 0)
    s[np.ix_(idx, idx)] = s_pos
    mean_var = float(np.trace(s_pos)) / pos.size
    s[k == 0, k == 0] = _LAG0_REL_VARIANCE * mean_var
    s[np.diag_indices(k.size)] += _JITTER * mean_var
    try:
        return cholesky(s, lower=True)
    except LinAlgError:
        return None


def _at(tau, bound: float):
    """Whether ``tau`` sits on ``bound`` (elementwise for arrays)."""
    return np.isclose(tau, bound, rtol=_AT_BOUND_RTOL)


def _aic_ols(rss: float, n: int, p: int) -> float:
    return n * math.log(max(rss, n * _RSS_FLOOR_PER_LAG) / n) + 2 * p


MAX_LAG = 30  # the last lag fitted by default (Hamidi et al.: lags 0 to 30)


class FitOptions(TypedDict, total=False):
    """How the fits run, as `fit_timescales` takes them (and `effective_timescales` passes on)."""

    method: Literal["gls", "ols"]
    min_lag: int
    max_lag: int
    tau_bounds: tuple[float, float]


def fit_timescales(
    ac: np.ndarray,
    *,
    n_samples: int | None = None,
    method: Literal["gls", "ols"] = "gls",
    min_lag: int = 0,
    max_lag: int = MAX_LAG,
    tau_bounds: tuple[float, float] = TAU_BOUNDS,
) -> TimescaleResult:
    """Fit one and two exponentials to autocorrelations and choose by AIC.

    Args:
        ac: (L, n) autocorrelation at lags 0..L-1 (e.g. from :func:`autocorrelation`);
            each column is divided by its lag-0 value. NaN columns are reported as
            "no variance".
        n_samples: number of data points each AC was estimated from (steps times
            trials); required by "gls", which scales the error model by it.
        method: "gls" (default) or "ols"; see the module docstring.
        min_lag, max_lag: the lags fitted, inclusive (paper: 0 to 30); max_lag < L.
        tau_bounds: (low, high) allowed taus in steps; also the range of the grid of
            starting points. Default :data:`TAU_BOUNDS`.
    Returns:
        :class:`TimescaleResult`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "gls":
        if n_samples is None:
            raise ValueError("method 'gls' needs n_samples (steps times trials behind each AC)")
        n_samples = _as_int(n_samples, "n_samples", 2)
    a = np.asarray(ac, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"ac must be (n_lags, n_neurons), got shape {a.shape}")
    min_lag = _as_int(min_lag, "min_lag", 0)
    max_lag = _as_int(max_lag, "max_lag", 0)
    if not min_lag < max_lag < a.shape[0]:
        raise ValueError(f"need min_lag < max_lag < {a.shape[0]} (the lags given), got {min_lag} and {max_lag}")
    if max_lag - min_lag + 1 < 5:
        raise ValueError("need at least 5 lags to fit a two-exponential model (4 parameters)")
    t_lo, t_hi = (float(v) for v in tau_bounds)
    if not (math.isfinite(t_lo) and math.isfinite(t_hi) and 0 < t_lo < t_hi):
        raise ValueError(f"tau_bounds must be finite with 0 < low < high, got {tau_bounds!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        a = a / a[0]
    a[:, ~(np.isfinite(a).all(axis=0))] = np.nan

    k = np.arange(min_lag, max_lag + 1, dtype=np.float64)
    n_lags = k.size
    grid = np.geomspace(t_lo, t_hi, _GRID_SIZE)
    basis = np.exp(-k[None, :] / grid[:, None])
    n = a.shape[1]
    tau, tau_se = np.full(n, np.nan), np.full(n, np.nan)
    model = np.zeros(n, dtype=np.int64)
    tau_s, amp_s = np.full(n, np.nan), np.full(n, np.nan)
    tau_d, amp_d = np.full((n, 2), np.nan), np.full((n, 2), np.nan)
    aic = np.full((n, 2), np.inf)
    at_bound = np.zeros(n, dtype=bool)
    reason = np.full(n, "", dtype=object)

    lo1, hi1 = [0.0, t_lo], [_AMP_MAX, t_hi]
    lo2, hi2 = [0.0, t_lo, 0.0, t_lo], [_AMP_MAX, t_hi, _AMP_MAX, t_hi]
    for j in range(n):
        y = a[min_lag : max_lag + 1, j]
        if not np.all(np.isfinite(y)):
            reason[j] = "no variance"
            continue
        # 1. Plain least squares from the best grid points.
        single = _fit(_single, _single_jac, k, y, _start_single(y, basis, grid), lo1, hi1, None)
        double = _fit(_double, _double_jac, k, y, _start_double(y, basis, grid), lo2, hi2, None)
        if method == "gls":
            # 2. Refit both against Bartlett's errors for the single fit's AC, which
            # is the right error model when one timescale suffices; when it does
            # not, the single model's misfit dwarfs the error anyway.
            chol = None if single is None else _bartlett_chol(k, *single.params, n_samples)
            if single is None or chol is None:
                single = double = None
            else:
                single = _fit(_single, _single_jac, k, y, list(single.params), lo1, hi1, chol)
                p0 = list(double.params) if double is not None else _start_double(y, basis, grid)
                double = _fit(_double, _double_jac, k, y, p0, lo2, hi2, chol)
        if single is not None:
            amp_s[j], tau_s[j] = single.params
            aic[j, 0] = single.score + 4 if method == "gls" else _aic_ols(single.score, n_lags, 2)
        if double is not None:
            p = double.params
            order = [1, 3] if p[1] <= p[3] else [3, 1]
            tau_d[j] = p[order]
            amp_d[j] = p[[o - 1 for o in order]]
            aic[j, 1] = double.score + 8 if method == "gls" else _aic_ols(double.score, n_lags, 4)
        if single is None and double is None:
            reason[j] = "fit failed"
            continue
        if aic[j, 1] < aic[j, 0]:
            model[j] = 2
            # The slowest component present (a zero amplitude leaves its tau free).
            slow = order[1] if amp_d[j, 1] > 0 else order[0]
            tau[j] = double.params[slow]
            if double.cov is not None:
                tau_se[j] = math.sqrt(max(double.cov[slow, slow], 0.0))
        else:
            model[j] = 1
            tau[j] = tau_s[j]
            if single.cov is not None:
                tau_se[j] = math.sqrt(max(single.cov[1, 1], 0.0))
        at_bound[j] = bool(_at(tau[j], t_lo) or _at(tau[j], t_hi))

    return TimescaleResult(
        tau=tau,
        tau_se=tau_se,
        model=model,
        tau_single=tau_s,
        amp_single=amp_s,
        tau_double=tau_d,
        amp_double=amp_d,
        aic=aic,
        at_bound=at_bound,
        reason=reason.astype(str),
        lags=k.astype(np.int64),
        ac=a,
    )


def effective_timescales(activity: np.ndarray, **fit: Unpack[FitOptions]) -> TimescaleResult:
    """Effective timescale of each neuron: AC, one- and two-exponential fits, AIC.

    Args:
        activity: (T, n) or (T, n_trials, n) activity, time first, transient removed
            (paper: T = 1e5 steps). float32 is fine; the work is in float64.
        fit: ``method``, ``min_lag``, ``max_lag``, ``tau_bounds``, as
            :func:`fit_timescales` takes them (and with its defaults).
    Returns:
        :class:`TimescaleResult`: ``tau`` (n,) in steps, NaN with a ``reason`` for
        neurons without variance ("no variance") or with NaN/inf activity
        ("non-finite activity").

    Cost: one FFT of length ~2T per neuron and trial (a few neurons at a time, so
    memory stays near 64 MiB whatever T), then four small fits per neuron; about
    25 ms per neuron at T = 1e5 on one core.
    """
    x = _activity_3d(activity)
    max_lag = _as_int(fit.get("max_lag", MAX_LAG), "max_lag", 1)
    ac, status = _ac_and_status(x, max_lag)
    res = fit_timescales(ac, n_samples=x.shape[0] * x.shape[1], **{**fit, "max_lag": max_lag})
    reason = res.reason.astype(object)
    for code in (_NO_VARIANCE, _NON_FINITE):
        reason[status == code] = _REASONS[code]
    return res._replace(reason=reason.astype(str))


def resolved_summary(tau: np.ndarray, high: float = TAU_BOUNDS[1]) -> tuple[float, float]:
    """Mean of the resolved taus, and the fraction of fitted taus that are not resolved.

    A tau at the fit's upper bound ``high`` (as ``at_bound`` tests it) comes from an AC
    that barely decays over the fitted lags: any tau far beyond the last lag fits it about
    as well, so the bound is a lower limit on the timescale, not an estimate of it.
    Averaged in, each such neuron adds high / n to a mean over n neurons (667 steps for
    one neuron of 15 at 1e4), and the mean then follows how many neurons reached the bound
    rather than how slow the others are. Such neurons are counted instead of averaged.
    Taus at the lower bound stay in the mean: those neurons are genuinely faster than one
    step, and so small a value cannot dominate a mean.

    Args:
        tau: effective timescales in steps, any shape; NaN (not fitted) is ignored.
        high: the upper bound of the fits' ``tau_bounds``.
    Returns:
        (mean tau over the finite taus not at ``high``, NaN if there is none;
        fraction of the finite taus that are at ``high``, NaN if none is finite).
    """
    t = np.asarray(tau, dtype=np.float64).ravel()
    t = t[np.isfinite(t)]
    if not t.size:
        return math.nan, math.nan
    unresolved = _at(t, float(high))
    resolved = t[~unresolved]
    return (float(resolved.mean()) if resolved.size else math.nan), float(unresolved.mean())
