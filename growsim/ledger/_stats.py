"""The statistics of the ledger's tables: mean and standard error, two-sample tests,
correlations. Thin, named wrappers over scipy, so every table says the same thing."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _finite(values: Sequence[float | None]) -> np.ndarray:
    a = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return a[np.isfinite(a)]


def mean_sem(values: Sequence[float | None]) -> tuple[float, float, int]:
    """Mean, standard error of the mean (sample s.d. / sqrt(n); NaN below 2 values), n.
    NaN and missing values are left out."""
    a = _finite(values)
    n = len(a)
    if n == 0:
        return math.nan, math.nan, 0
    sem = float(a.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return float(a.mean()), sem, n


#: Up to this many ways of splitting the pooled values, a Mann-Whitney p with ties is exact.
EXACT_SPLITS = 50_000


def mann_whitney_exact_p(x: Sequence[float], y: Sequence[float]) -> float:
    """The exact two-sided p of the Mann-Whitney U of x against y, ties included: over every
    way of splitting the pooled values into groups of len(x) and len(y) (midranks for ties,
    the split observed counted), twice the smaller of the fractions whose U is at most and at
    least the observed one, at most 1 (scipy's convention for its exact test). Two groups of
    3 fully apart give 2 / C(6, 3) = 0.1, whether or not the values within a group are
    equal."""
    from itertools import combinations

    from scipy.stats import rankdata

    nx = len(x)
    ranks = rankdata(np.concatenate([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)]))
    offset = nx * (nx + 1) / 2
    observed = ranks[:nx].sum() - offset
    u = np.fromiter((sum(c) for c in combinations(ranks.tolist(), nx)), dtype=np.float64) - offset
    return float(min(1.0, 2 * min(np.mean(u <= observed + 1e-9), np.mean(u >= observed - 1e-9))))


def two_sample(a: Sequence[float | None], b: Sequence[float | None]) -> dict[str, float]:
    """a against b: the difference of means and its standard error, Welch's t test and
    the Mann-Whitney U test, both two-sided (NaN where a side has fewer than 2 values).

    The Mann-Whitney p is exact where scipy's is (no ties, a group below 8 values); with ties
    it is exact too up to ``EXACT_SPLITS`` splits of the pooled values
    (``mann_whitney_exact_p``), since scipy's normal approximation, the only method it has
    for ties, goes far below the exact p with a few values a side (two groups of 3 fully
    apart with equal values within each: 0.047 against 0.1); beyond that the approximation,
    with its tie correction."""
    from scipy import stats

    x, y = _finite(a), _finite(b)
    out = {"n_a": len(x), "n_b": len(y), "diff": math.nan, "diff_se": math.nan,
           "welch_t": math.nan, "welch_df": math.nan, "welch_p": math.nan, "mwu_u": math.nan, "mwu_p": math.nan}
    if len(x) and len(y):
        out["diff"] = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return out
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    out["diff_se"] = float(math.sqrt(va + vb))
    if va + vb > 0:
        t = stats.ttest_ind(x, y, equal_var=False)
        out["welch_t"], out["welch_p"] = float(t.statistic), float(t.pvalue)
        out["welch_df"] = float((va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1)))
    u = stats.mannwhitneyu(x, y, alternative="two-sided")
    out["mwu_u"], out["mwu_p"] = float(u.statistic), float(u.pvalue)
    pooled = np.concatenate([x, y])
    if len(np.unique(pooled)) < len(pooled) and math.comb(len(pooled), len(x)) <= EXACT_SPLITS:
        out["mwu_p"] = mann_whitney_exact_p(x, y)
    return out


def paired(a: Sequence[float | None], b: Sequence[float | None]) -> dict[str, float]:
    """a against b, paired by position (the same network measured twice): the mean
    difference a - b and its standard error, the paired t test and the Wilcoxon signed-rank
    test, both two-sided. Pairs with a NaN on either side are left out; NaN below 2 pairs,
    t NaN when the differences have no spread, Wilcoxon NaN when every difference is 0."""
    from scipy import stats

    x = np.array([np.nan if v is None else v for v in a], dtype=np.float64)
    y = np.array([np.nan if v is None else v for v in b], dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    d = x[keep] - y[keep]
    out = {"n": int(len(d)), "diff": float(d.mean()) if len(d) else math.nan, "diff_se": math.nan,
           "t": math.nan, "t_p": math.nan, "wilcoxon_w": math.nan, "wilcoxon_p": math.nan}
    if len(d) < 2:
        return out
    out["diff_se"] = float(d.std(ddof=1) / math.sqrt(len(d)))
    if out["diff_se"] > 0:
        t = stats.ttest_rel(x[keep], y[keep])
        out["t"], out["t_p"] = float(t.statistic), float(t.pvalue)
    if np.any(d != 0):
        w = stats.wilcoxon(d, alternative="two-sided")
        out["wilcoxon_w"], out["wilcoxon_p"] = float(w.statistic), float(w.pvalue)
    return out


def correlation(x: Sequence[float | None], y: Sequence[float | None]) -> dict[str, float]:
    """Pearson r and Spearman rho of paired values with their two-sided p values (pairs
    with a NaN left out; NaN below 3 pairs or for a constant side)."""
    from scipy import stats

    a = np.array([np.nan if v is None else v for v in x], dtype=np.float64)
    b = np.array([np.nan if v is None else v for v in y], dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    out = {"n": int(len(a)), "pearson_r": math.nan, "pearson_p": math.nan, "spearman_rho": math.nan, "spearman_p": math.nan}
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return out
    p = stats.pearsonr(a, b)
    s = stats.spearmanr(a, b)
    out.update(pearson_r=float(p.statistic), pearson_p=float(p.pvalue),
               spearman_rho=float(s.statistic), spearman_p=float(s.pvalue))
    return out


def fmt(value: float, digits: int = 3) -> str:
    """A table cell: NaN as a dash, ``digits`` decimals (``digits`` significant digits from 1000 up)."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def fmt_p(value: float) -> str:
    """A p value: two significant digits, in scientific notation below 0.001."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.1e}" if value < 1e-3 else f"{value:.2g}"


def fmt_u(t: dict[str, float]) -> str:
    """The Mann-Whitney U of ``two_sample``'s result, or a dash where it is undefined."""
    return "–" if math.isnan(t["mwu_u"]) else format(t["mwu_u"], "g")


def fmt_tests(t: dict[str, float], digits: int = 3) -> list[str]:
    """Three table cells for ``two_sample``'s result: the difference ± its standard error
    (``digits`` as ``fmt``), Welch's t (p) and the Mann-Whitney U (p)."""
    return [f"{fmt(t['diff'], digits)} ± {fmt(t['diff_se'], digits)}",
            f"{fmt(t['welch_t'], 2)} ({fmt_p(t['welch_p'])})", f"{fmt_u(t)} ({fmt_p(t['mwu_p'])})"]


def fmt_versus(t: dict[str, float], digits: int = 3, se: bool = True) -> str:
    """One table cell for ``two_sample``'s result: the difference (± its standard error
    unless ``se`` is false); Welch's p; the Mann-Whitney U (p)."""
    diff = f"{fmt(t['diff'], digits)} ± {fmt(t['diff_se'], digits)}" if se else fmt(t["diff"], digits)
    return f"{diff}; Welch p {fmt_p(t['welch_p'])}; U {fmt_u(t)} (p {fmt_p(t['mwu_p'])})"


def fmt_mean_sem(values: Sequence[float | None], digits: int = 3) -> str:
    m, s, n = mean_sem(values)
    return f"{fmt(m, digits)} ± {fmt(s, digits)}" if n else "–"


def permutation_p(percentile: float, n: int) -> float:
    """One-sided permutation p value of a statistic smaller than chance, from its percentile
    among ``n`` shuffles (0-100, ties counted half): ``(n * percentile / 100 + 1) / (n + 1)``,
    the fraction of shuffles at or below it with the observed labelling counted among them
    (so never 0)."""
    return (n * percentile / 100.0 + 1.0) / (n + 1.0)


def fisher_combined(pvalues: Sequence[float]) -> float:
    """Fisher's method: ``-2 sum(ln p_i)`` against chi-squared with ``2k`` degrees of freedom;
    NaN without p values."""
    from scipy import stats

    p = _finite(pvalues)
    if len(p) == 0:
        return math.nan
    return float(stats.chi2.sf(-2.0 * np.log(p).sum(), 2 * len(p)))
