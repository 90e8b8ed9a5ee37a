"""Variance of the normalised weight change between consecutive modules (Hamidi et al., Fig. 5c)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from growsim.metrics import ConstantMatrixError, normalized_weights, weight_change_variance


def test_two_by_two_by_hand():
    # A = [[1, 2], [3, 4]]: mean 2.5, deviations -1.5, -0.5, 0.5, 1.5; population variance
    # (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, std sqrt(5) / 2, so Z_A = (-3, -1, 1, 3) / sqrt(5).
    # B = A transposed = [[1, 3], [2, 4]]: the same values, Z_B = (-3, 1, -1, 3) / sqrt(5).
    # Z_B - Z_A = (0, 2, -2, 0) / sqrt(5), mean 0: variance (0 + 4 + 4 + 0) / (4 * 5) = 0.4.
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = a.T.copy()
    np.testing.assert_allclose(normalized_weights(a), np.array([-3, -1, 1, 3]) / math.sqrt(5), rtol=1e-12)
    np.testing.assert_allclose(weight_change_variance([a, b]), [0.4], rtol=1e-12)
    # Back again (B to A) is the same change with its sign flipped: the same variance.
    np.testing.assert_allclose(weight_change_variance([a, b, a]), [0.4, 0.4], rtol=1e-12)


def test_three_by_three_without_the_diagonal_by_hand():
    # Off-diagonal entries, row by row: A gives 1, 2, 3, 4, 5, 6 (mean 3.5, squared deviations
    # 6.25, 2.25, 0.25, 0.25, 2.25, 6.25, sum 17.5, variance 35 / 12); B swaps them in pairs,
    # 2, 1, 4, 3, 6, 5: the same mean and variance. B's deviations minus A's are
    # 1, -1, 1, -1, 1, -1, so Z_B - Z_A = (1, -1, ...) / sqrt(35 / 12): mean 0, variance 12 / 35.
    a = np.array([[9.0, 1, 2], [3, 9, 4], [5, 6, 9]])
    b = np.array([[0.0, 2, 1], [4, 0, 3], [6, 5, 0]])
    np.testing.assert_allclose(normalized_weights(a, exclude_diagonal=True),
                               (np.arange(1, 7) - 3.5) / math.sqrt(35 / 12), rtol=1e-12)
    np.testing.assert_allclose(weight_change_variance([a, b], exclude_diagonal=True), [12 / 35], rtol=1e-12)
    # The diagonals (9 against 0) count only when they are asked for.
    assert weight_change_variance([a, b])[0] > 1.0


@pytest.fixture
def chain():
    rng = np.random.default_rng(3)
    return [rng.standard_normal((5, 5)) for _ in range(4)]


def test_identical_and_affine_modules_are_fully_conserved(chain):
    w = chain[0]
    np.testing.assert_allclose(weight_change_variance([w, w, w]), [0.0, 0.0], atol=1e-24)
    np.testing.assert_allclose(weight_change_variance([w, 3.0 * w - 7.0, 0.01 * w + 2.0]), [0.0, 0.0], atol=1e-24)
    np.testing.assert_allclose(weight_change_variance([w, -2.0 * w + 1.0]), [4.0], rtol=1e-12)  # a < 0: all reversed


def test_a_sign_flip_of_z_scores_gives_four(chain):
    z = normalized_weights(chain[0]).reshape(5, 5)
    assert z.mean() == pytest.approx(0.0, abs=1e-12) and z.std() == pytest.approx(1.0)
    np.testing.assert_allclose(weight_change_variance([z, -z]), [4.0], rtol=1e-12)


def test_the_variance_is_two_minus_twice_the_correlation(chain):
    out = weight_change_variance(chain, exclude_diagonal=True)
    assert out.shape == (3,) and out.dtype == np.float64
    off = ~np.eye(5, dtype=bool)
    r = [np.corrcoef(chain[k][off], chain[k + 1][off])[0, 1] for k in range(3)]
    np.testing.assert_allclose(out, 2.0 * (1.0 - np.array(r)), rtol=1e-12)
    assert weight_change_variance(chain[:1]).shape == (0,)  # one module: no pair


def test_bad_input_is_refused(chain):
    with pytest.raises(ConstantMatrixError, match=r"weights\[1\] is constant") as info:
        weight_change_variance([chain[0], np.full((5, 5), 0.3), chain[1]])
    assert info.value.index == 1 and isinstance(info.value, ValueError)
    # Constant off the diagonal only: constant for the entries compared.
    with pytest.raises(ConstantMatrixError, match=r"weights\[0\]"):
        weight_change_variance([np.eye(3), chain[0][:3, :3]], exclude_diagonal=True)
    with pytest.raises(ValueError, match="one shape"):
        weight_change_variance([chain[0], chain[1][:4]])
    with pytest.raises(ValueError, match="2-D"):
        weight_change_variance([np.ones(4), np.ones(4)])
    with pytest.raises(ValueError, match="NaN or inf"):
        weight_change_variance([chain[0], np.where(chain[1] > 0, np.nan, chain[1])])
    with pytest.raises(ValueError, match="empty"):
        weight_change_variance([])
    with pytest.raises(ValueError, match="square"):
        weight_change_variance([np.ones((2, 3))], exclude_diagonal=True)
    with pytest.raises(ValueError, match="at least 2"):
        normalized_weights(np.ones((1, 1)))
