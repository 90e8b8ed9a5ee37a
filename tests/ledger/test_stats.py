"""The ledger's statistics against values computed by hand from their definitions."""

import math
import statistics

import pytest

from growsim.ledger._stats import (EXACT_SPLITS, correlation, fmt, fmt_p, fmt_tests, fmt_versus, mann_whitney_exact_p,
                                  mean_sem, two_sample)

A = [0.52, 0.47, 0.55, 0.49, 0.51]
B = [0.41, 0.44, 0.38, 0.40]


def test_mean_sem_by_hand():
    m, s, n = mean_sem(A + [None, float("nan")])
    assert n == 5
    assert m == pytest.approx(sum(A) / 5)
    assert s == pytest.approx(statistics.stdev(A) / math.sqrt(5))
    assert math.isnan(mean_sem([0.3])[1]) and mean_sem([])[2] == 0


def test_welch_and_mann_whitney_by_hand():
    t = two_sample(A, B)
    va, vb = statistics.variance(A) / len(A), statistics.variance(B) / len(B)
    assert t["diff"] == pytest.approx(statistics.mean(A) - statistics.mean(B))
    assert t["diff_se"] == pytest.approx(math.sqrt(va + vb))
    assert t["welch_t"] == pytest.approx((statistics.mean(A) - statistics.mean(B)) / math.sqrt(va + vb))
    assert t["welch_df"] == pytest.approx((va + vb) ** 2 / (va**2 / 4 + vb**2 / 3))
    # U of the first sample: pairs (a, b) with a > b, ties half. Every a exceeds every b here.
    assert t["mwu_u"] == sum((a > b) + 0.5 * (a == b) for a in A for b in B) == 20
    # Exact two-sided p of complete separation with 5 and 4: 2 / C(9, 4).
    assert t["mwu_p"] == pytest.approx(2 / math.comb(9, 4))
    assert 0 < t["welch_p"] < 0.001


def test_mann_whitney_with_ties_is_exact_by_hand():
    from scipy import stats

    # Two groups of 3 fully apart: 2 of the C(6, 3) = 20 splits are as extreme, ties or not;
    # scipy's normal approximation, its only method with ties, says 0.047 (docs/results.md).
    assert two_sample([61, 61, 61], [17, 17, 17])["mwu_p"] == pytest.approx(0.1)
    assert round(stats.mannwhitneyu([61, 61, 61], [17, 17, 17]).pvalue, 3) == 0.047
    assert two_sample([61, 61], [9, 9])["mwu_p"] == pytest.approx(2 / 6)
    assert two_sample([1.0, 1.0, 1.0], [0.8, 0.9, 0.95, 0.7])["mwu_p"] == pytest.approx(2 / 35)
    # x = [1, 2], y = [2, 3]: midranks 1, 2.5 | 2.5, 4; the six splits' U are 0.5, 0.5, 2, 2,
    # 3.5, 3.5 around a mean of 2; the observed 0.5 is 1.5 away, and so are 4 of the 6.
    t = two_sample([1, 2], [2, 3])
    assert t["mwu_u"] == 0.5 and t["mwu_p"] == pytest.approx(4 / 6)


def test_mann_whitney_with_ties_is_scipys_exact_permutation_test():
    from scipy import stats

    x, y = [0.2, 0.5, 0.5, 0.9, 1.0], [0.5, 0.1, 0.2, 0.2, 0.3, 0.7]
    exact = stats.permutation_test((x, y), lambda a, b: stats.mannwhitneyu(a, b).statistic,
                                   permutation_type="independent", n_resamples=math.inf, alternative="two-sided")
    assert two_sample(x, y)["mwu_p"] == pytest.approx(exact.pvalue)


def test_mann_whitney_exact_p_without_ties_is_scipys_exact_p():
    from scipy import stats

    x, y = [3.1, 2.2, 5.0, 4.4], [1.0, 2.5, 0.3, 3.3, 0.9]
    assert mann_whitney_exact_p(x, y) == pytest.approx(stats.mannwhitneyu(x, y, method="exact").pvalue)
    assert mann_whitney_exact_p(A, B) == pytest.approx(2 / math.comb(9, 4))


def test_mann_whitney_with_ties_beyond_the_exact_limit_is_scipys_approximation():
    from scipy import stats

    x = [float(v % 7) for v in range(12)]
    y = [float(v % 5) + 0.5 for v in range(13)]
    assert math.comb(25, 12) > EXACT_SPLITS >= math.comb(18, 9)  # docs/results.md: exact up to 9 against 9
    assert two_sample(x, y)["mwu_p"] == pytest.approx(stats.mannwhitneyu(x, y, method="asymptotic").pvalue)


def test_two_sample_needs_two_values_a_side():
    t = two_sample([0.5], B)
    assert t["diff"] == pytest.approx(0.5 - statistics.mean(B))
    assert math.isnan(t["welch_p"]) and math.isnan(t["mwu_p"])


def test_correlation_by_hand():
    x, y = [0.1, 0.2, 0.3, 0.4, 0.5], [0.3, 0.2, 0.5, 0.4, 0.9]
    mx, my = statistics.mean(x), statistics.mean(y)
    r = sum((a - mx) * (b - my) for a, b in zip(x, y)) / math.sqrt(
        sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))
    c = correlation(x, y)
    assert c["n"] == 5 and c["pearson_r"] == pytest.approx(r)
    # Ranks of y: 2, 1, 4, 3, 5 against 1..5: rho = 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 6 * 4 / 120.
    assert c["spearman_rho"] == pytest.approx(0.8)
    assert math.isnan(correlation([1, 2], [3, 4])["pearson_r"])
    assert math.isnan(correlation([1, 1, 1], [3, 4, 5])["spearman_rho"])


def test_fmt():
    assert fmt(float("nan")) == "–" and fmt(0.12345) == "0.123" and fmt(-0.000859) == "-0.001" and fmt(12345.6) == "1.23e+04"
    assert fmt_p(0.5012) == "0.5" and fmt_p(0.0123) == "0.012" and fmt_p(2.34e-6) == "2.3e-06" and fmt_p(float("nan")) == "–"


def test_test_cells_by_hand():
    t = dict(diff=1.23456, diff_se=0.5, welch_t=2.4691, welch_p=0.0456, mwu_u=20.0, mwu_p=0.0159)
    assert fmt_tests(t) == ["1.235 ± 0.500", "2.47 (0.046)", "20 (0.016)"]
    assert fmt_tests(t, 1) == ["1.2 ± 0.5", "2.47 (0.046)", "20 (0.016)"]
    assert fmt_versus(t) == "1.235 ± 0.500; Welch p 0.046; U 20 (p 0.016)"
    assert fmt_versus(t, se=False) == "1.235; Welch p 0.046; U 20 (p 0.016)"
    one_a_side = two_sample([0.5], [0.25])  # no test with one value a side: dashes, not "nan"
    assert fmt_tests(one_a_side) == ["0.250 ± –", "– (–)", "– (–)"]


def test_fisher_combined_by_hand():
    from growsim.ledger._stats import fisher_combined

    # Two p values: -2 ln(p1 p2) against chi-squared with 4 degrees of freedom, whose
    # survival function is exp(-x/2) (1 + x/2).
    p1, p2 = 0.03, 0.2
    x = -2 * math.log(p1 * p2)
    assert fisher_combined([p1, p2]) == pytest.approx(math.exp(-x / 2) * (1 + x / 2))
    # One p value: chi-squared with 2 degrees of freedom gives it back.
    assert fisher_combined([0.04]) == pytest.approx(0.04)
    assert math.isnan(fisher_combined([]))


def test_permutation_p_counts_the_observed_labelling_among_the_shuffles():
    from growsim.ledger._stats import permutation_p

    assert permutation_p(0.0, 10_000) == pytest.approx(1 / 10_001)  # never 0
    assert permutation_p(2.6, 10_000) == pytest.approx(261 / 10_001)
    assert permutation_p(100.0, 99) == 1.0


def test_paired_by_hand():
    from growsim.ledger._stats import paired

    # Differences 1, 2, 3, 4: mean 2.5, s.d. sqrt(5/3), t = 2.5 / (s.d. / 2) on 3 degrees of
    # freedom, whose two-sided p is 1 - (2/pi) (x / (1 + x^2) + atan x), x = t / sqrt(3).
    out = paired([1, 2, 4, 7, None], [0, 0, 1, 3, 5])
    t = 2.5 / (math.sqrt(5 / 3) / 2)
    x = t / math.sqrt(3)
    assert out["n"] == 4 and out["diff"] == 2.5 and out["diff_se"] == pytest.approx(math.sqrt(5 / 3) / 2)
    assert out["t"] == pytest.approx(t)
    assert out["t_p"] == pytest.approx(1 - (2 / math.pi) * (x / (1 + x * x) + math.atan(x)))
    # Every difference positive: W = 0, and exactly 2 of the 2^4 sign patterns are as extreme.
    assert out["wilcoxon_w"] == 0 and out["wilcoxon_p"] == pytest.approx(2 / 16)
    same = paired([1, 2, 3], [1, 2, 3])  # no difference: no test
    assert same["diff"] == 0 and math.isnan(same["t"]) and math.isnan(same["wilcoxon_p"])
    assert math.isnan(paired([1], [0])["diff_se"])
