"""Tests of growsim.metrics.timescales: autocorrelation fits and AIC on synthetic signals.

The synthetic neurons are AR(1) processes x_t = a x_{t-1} + sqrt(1 - a^2) e_t with
a = exp(-1 / tau), whose autocorrelation is exactly exp(-k / tau), and sums of two
independent ones (a two-exponential autocorrelation). Runs are 1e5 steps, as in the
paper; each test's tolerance is derived from that sample size in its comment.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter

import growsim.metrics.timescales as ts
from growsim.metrics.timescales import (
    TAU_BOUNDS,
    autocorrelation,
    effective_timescales,
    fit_timescales,
    resolved_summary,
)

T = 100_000
N_EACH = 8


def ar1(rng: np.random.Generator, tau: float, n_steps: int, n: int) -> np.ndarray:
    """(n_steps, n) unit-variance AR(1) with autocorrelation exp(-k / tau), stationary from step 0."""
    a = math.exp(-1.0 / tau)
    e = rng.standard_normal((n_steps, n))
    e[0] /= math.sqrt(1 - a * a)  # x_0 ~ N(0, 1): no transient to drop
    return lfilter([1.0], [1.0, -a], e * math.sqrt(1 - a * a), axis=0)


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(2024)
    single = ar1(rng, 10.0, T, N_EACH)
    double = ar1(rng, 2.0, T, N_EACH) + ar1(rng, 20.0, T, N_EACH)  # equal variances
    white = rng.standard_normal((T, N_EACH))
    x = np.concatenate([single, double, white], axis=1)
    return x, effective_timescales(x)


def ar1_tau_se(tau: float, n: int) -> float:
    """Standard error of tau from the AR(1) maximum-likelihood estimate of a = exp(-1/tau).

    sd(a_hat) = sqrt((1 - a^2) / n) and dtau/da = 1 / (a ln(a)^2); at tau = 10 and
    n = 1e5 this is 0.149 steps.
    """
    a = math.exp(-1.0 / tau)
    return math.sqrt((1 - a * a) / n) / (a * math.log(a) ** 2)


# ------------------------------------------------------------------ autocorrelation


def direct_ac(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(T, B, n) -> (max_lag+1, n): sum_t x_t x_{t+k} / (T - k) per trial, averaged, / lag 0."""
    x = x - x.mean(axis=0)
    t = x.shape[0]
    cov = np.array([(x[: t - k] * x[k:]).sum(axis=0) / (t - k) for k in range(max_lag + 1)])
    cov = cov.mean(axis=1)
    return cov / cov[0]


def test_fft_autocorrelation_equals_the_direct_sum():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3, 4)).cumsum(axis=0) * 0.1 + rng.normal(size=(500, 3, 4))
    ac = autocorrelation(x, 40)
    assert ac.shape == (41, 4)
    assert np.allclose(ac, direct_ac(x, 40), rtol=0, atol=1e-12)
    assert np.allclose(ac[0], 1.0)
    # (T, n) is one trial
    assert np.allclose(autocorrelation(x[:, 0], 40), direct_ac(x[:, :1], 40), atol=1e-12)


def test_autocorrelation_works_a_few_neurons_at_a_time(monkeypatch):
    x = np.random.default_rng(1).normal(size=(300, 2, 7)).cumsum(axis=0)
    whole = autocorrelation(x, 10)
    monkeypatch.setattr(ts, "_FFT_CHUNK_BYTES", 1)  # one neuron per chunk
    assert np.allclose(autocorrelation(x, 10), whole, atol=1e-12)


def test_ar1_autocorrelation_is_exp_minus_k_over_tau(synthetic):
    x, _ = synthetic
    ac = autocorrelation(x[:, :N_EACH], 30).mean(axis=1)
    # Bartlett: sd of r_k <= sqrt((1 + a^2) / (1 - a^2) / T) = 0.010 at tau = 10, and
    # the mean of 8 neurons has sd 0.0035; 5 sd = 0.018.
    assert np.max(np.abs(ac - np.exp(-np.arange(31) / 10.0))) < 0.018


# ------------------------------------------------------------------ fits on synthetic neurons


def test_single_timescale_is_chosen_and_recovered(synthetic):
    _, res = synthetic
    model, tau, se = res.model[:N_EACH], res.tau[:N_EACH], res.tau_se[:N_EACH]
    # AIC picks the larger of two nested models by chance now and then (measured on
    # 120 such neurons: 4 of 120); all 8 here, at most one allowed.
    assert np.count_nonzero(model == 1) >= N_EACH - 1
    one = model == 1
    bound = ar1_tau_se(10.0, T)
    assert bound == pytest.approx(0.149, abs=0.001)
    # Each estimate within 5 standard errors of the efficient (MLE) estimator...
    assert np.all(np.abs(tau[one] - 10.0) < 5 * bound)
    # ...and the reported standard error agrees with that bound.
    assert np.all((se[one] > 0.5 * bound) & (se[one] < 2 * bound))
    assert np.all(res.reason[:N_EACH] == "")


def test_two_timescales_are_chosen_and_the_slow_one_recovered(synthetic):
    _, res = synthetic
    sl = slice(N_EACH, 2 * N_EACH)
    assert np.all(res.model[sl] == 2)
    tau, se = res.tau[sl], res.tau_se[sl]
    # The slow tau is the reported one; its standard error at T = 1e5 (Bartlett's
    # error model) is about 1.1 steps (measured spread over 120 neurons: 1.09).
    assert np.all((se > 0.5) & (se < 2.5))
    assert np.all(np.abs(tau - 20.0) < 4 * se)
    assert abs(tau.mean() - 20.0) < 4 * se.mean() / math.sqrt(N_EACH)
    assert np.allclose(res.tau_double[sl, 1], tau)
    # the fast component and the equal split of variance are found too
    assert np.all(np.abs(res.tau_double[sl, 0] - 2.0) < 0.5)
    assert np.all(np.abs(res.amp_double[sl] - 0.5) < 0.1)


def test_white_noise_has_a_very_short_timescale(synthetic):
    _, res = synthetic
    tau = res.tau[2 * N_EACH :]
    # AC at lag 1 is ~N(0, 1/T): |r_1| < 0.01 gives tau = -1/ln|r_1| < 0.22.
    assert np.count_nonzero(tau < 0.3) >= N_EACH - 1
    assert np.median(tau) < 0.3


def test_ordinary_least_squares_overfits_one_timescale(synthetic):
    # Why "gls" is the default: treating AC lags as independent, AIC takes the
    # smooth, correlated errors of a sample AC for a second timescale.
    x, _ = synthetic
    ols = effective_timescales(x[:, :N_EACH], method="ols")
    assert np.count_nonzero(ols.model == 2) >= 2
    assert np.all(np.isnan(ols.tau_se))


# ------------------------------------------------------------------ exact curves


@pytest.mark.parametrize("method", ["gls", "ols"])
def test_exact_curves_are_fitted_exactly(method):
    k = np.arange(31.0)
    ac = np.column_stack([np.exp(-k / 7.0), 0.3 * np.exp(-k / 1.5) + 0.7 * np.exp(-k / 40.0)])
    res = fit_timescales(ac, n_samples=T, method=method)
    assert res.model.tolist() == [1, 2]
    assert res.tau[0] == pytest.approx(7.0, rel=1e-6)
    assert res.tau[1] == pytest.approx(40.0, rel=1e-6)
    assert res.tau_double[1] == pytest.approx([1.5, 40.0], rel=1e-5)
    assert res.amp_double[1] == pytest.approx([0.3, 0.7], rel=1e-5)
    assert res.lags.tolist() == list(range(31))


def test_lag_window_and_unnormalised_input():
    k = np.arange(60.0)
    ac = 4.0 * np.exp(-k / 12.0)  # a covariance: divided by lag 0 inside
    res = fit_timescales(ac, n_samples=T, min_lag=5, max_lag=50)
    assert res.lags.tolist() == list(range(5, 51))
    assert res.tau[0] == pytest.approx(12.0, rel=1e-6)
    assert res.ac[0, 0] == 1.0


# ------------------------------------------------------------------ taus at the fit's bound


def test_taus_at_the_upper_bound_are_counted_not_averaged():
    # 1e4 is unresolved: the mean is over 1 and 3, and 1 of the 3 finite taus is out.
    mean, unresolved = resolved_summary(np.array([1.0, 3.0, 1e4, np.nan]))
    assert mean == pytest.approx(2.0) and unresolved == pytest.approx(1 / 3)
    # Within rtol 1e-3 of the bound counts as on it, as at_bound does; 2% below does not.
    assert resolved_summary([4.0, 1e4 * (1 - 5e-4)]) == (pytest.approx(4.0), pytest.approx(0.5))
    assert resolved_summary([4.0, 9800.0]) == (pytest.approx(4902.0), 0.0)
    # The lower bound stays in the mean: (0.01 + 2) / 2.
    assert resolved_summary([TAU_BOUNDS[0], 2.0, 1e4]) == (pytest.approx(1.005), pytest.approx(1 / 3))
    mean, unresolved = resolved_summary(np.full((2, 3), 1e4))
    assert math.isnan(mean) and unresolved == 1.0
    assert all(math.isnan(v) for v in resolved_summary([np.nan, np.nan]))
    assert all(math.isnan(v) for v in resolved_summary(np.array([])))
    # Another upper bound: only taus at that one are out.
    assert resolved_summary([2.0, 100.0, 1e4], high=100.0) == (pytest.approx(5001.0), pytest.approx(1 / 3))


def test_an_autocorrelation_that_barely_decays_is_fitted_at_the_bound_and_counted():
    k = np.arange(31.0)
    ac = np.column_stack([np.exp(-k / 1e6), np.exp(-k / 5.0)])  # far slower than 30 lags resolve
    res = fit_timescales(ac, n_samples=T)
    assert res.at_bound.tolist() == [True, False]
    assert res.tau[0] == pytest.approx(TAU_BOUNDS[1], rel=1e-3)
    assert resolved_summary(res.tau) == (pytest.approx(5.0, rel=1e-6), 0.5)


# ------------------------------------------------------------------ neurons that cannot be fitted


def test_constant_and_non_finite_neurons_get_nan_with_a_reason():
    rng = np.random.default_rng(4)
    x = ar1(rng, 5.0, 20_000, 5)
    x[:, 1] = 0.3  # a neuron stuck at a fixed point
    x[:, 2] = 0.0  # a silent neuron
    x[100, 3] = np.nan
    x[:, 4] = 1e6 * (1 + 1e-13 * rng.standard_normal(20_000))  # constant up to rounding
    res = effective_timescales(x)
    assert res.reason.tolist() == ["", "no variance", "no variance", "non-finite activity", "no variance"]
    assert np.isnan(res.tau[1:]).all() and np.isnan(res.ac[:, 1:]).all()
    assert res.model[1:].tolist() == [0, 0, 0, 0]
    assert abs(res.tau[0] - 5.0) < 0.5  # the healthy neuron is unaffected
    assert res.ac[0, 0] == 1.0


def test_trials_are_averaged():
    rng = np.random.default_rng(6)
    x = ar1(rng, 8.0, 25_000 * 4, 3).reshape(4, 25_000, 3).transpose(1, 0, 2)  # (T, B, n)
    res = effective_timescales(x)
    assert res.ac.shape == (31, 3)
    # 4 trials of 25,000 steps carry the information of 1e5: se(tau) ~ 0.12 here.
    assert np.all(np.abs(res.tau - 8.0) < 5 * ar1_tau_se(8.0, 100_000))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: effective_timescales(np.ones((20, 2)), max_lag=30), "max_lag"),
        (lambda: effective_timescales(np.ones((5, 2, 2, 2))), "activity must be"),
        (lambda: effective_timescales(np.ones((100, 2)), method="mle"), "method"),
        (lambda: fit_timescales(np.ones((31, 2))), "n_samples"),
        (lambda: fit_timescales(np.ones((31, 2)), n_samples=100, tau_bounds=(5.0, 1.0)), "tau_bounds"),
        (lambda: fit_timescales(np.ones((31, 2)), n_samples=100, min_lag=0, max_lag=3), "at least 5 lags"),
        (lambda: fit_timescales(np.ones((31, 2)), n_samples=100, max_lag=31), "max_lag"),
    ],
)
def test_argument_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
