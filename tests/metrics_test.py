"""ganjax.metrics against closed forms, hand-computed cases and naive formulas."""
import itertools
import math

import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import metrics


def gaussian(n, d, seed, mean=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(mean, scale, (n, d))


def random_covariance(d, seed):
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# ------------------------------------------------------------------ Fréchet distance


def test_fid_of_a_set_with_itself_is_zero():
    x = gaussian(500, 16, 0, mean=3.0)
    assert metrics.frechet_distance_from_features(x, x) == pytest.approx(0.0, abs=1e-9)


def test_fid_of_diagonal_gaussians_is_the_closed_form():
    rng = np.random.default_rng(1)
    mean_a, mean_b = rng.normal(size=64), rng.normal(size=64)
    std_a, std_b = rng.uniform(0.1, 2, 64), rng.uniform(0.1, 2, 64)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((std_a - std_b) ** 2)
    got = metrics.frechet_distance(mean_a, np.diag(std_a ** 2), mean_b, np.diag(std_b ** 2))
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_fid_of_non_commuting_2d_gaussians_is_the_closed_form(seed):
    # For a 2×2 matrix M with non-negative eigenvalues, Tr √M = √(Tr M + 2 √det M).
    cov_a, cov_b = random_covariance(2, seed), random_covariance(2, seed + 10)
    assert not np.allclose(cov_a @ cov_b, cov_b @ cov_a)
    product = cov_a @ cov_b
    trace_sqrt = np.sqrt(np.trace(product) + 2 * np.sqrt(np.linalg.det(product)))
    mean_a, mean_b = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    expected = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2 * trace_sqrt)
    assert metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(
        expected, rel=1e-10)
    assert metrics.frechet_distance(mean_b, cov_b, mean_a, cov_a) == pytest.approx(
        expected, rel=1e-10)


def test_fid_from_features_uses_means_and_unbiased_covariances():
    real, fake = gaussian(300, 8, 0), gaussian(200, 8, 1, mean=0.5, scale=1.5)
    expected = metrics.frechet_distance(real.mean(0), np.cov(real, rowvar=False),
                                        fake.mean(0), np.cov(fake, rowvar=False))
    got = metrics.frechet_distance_from_features(jnp.asarray(real, jnp.float32),
                                                 jnp.asarray(fake, jnp.float32))
    # The JAX inputs were rounded to float32 on the way in.
    assert got == pytest.approx(expected, rel=1e-5)
    assert metrics.frechet_distance_from_features(real, fake) == pytest.approx(expected,
                                                                               rel=1e-12)


def test_streaming_statistics_equal_one_pass_even_far_from_the_origin():
    x = gaussian(1000, 12, 3, mean=1e6, scale=1.0)  # Σx² would lose the spread here
    stats = metrics.FeatureStatistics()
    for start, stop in itertools.pairwise([0, 1, 2, 130, 640, 1000]):
        stats.update(x[start:stop])
    assert stats.count == 1000
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-14)
    np.testing.assert_allclose(stats.covariance(), np.cov(x - 1e6, rowvar=False),
                               rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize('real,fake,match', [
    (np.zeros((5,)), np.zeros((5, 2)), 'real'),
    (np.zeros((5, 2)), np.zeros((1, 2)), 'fake'),
    (np.zeros((5, 2)), np.zeros((5, 3)), 'same number of features'),
    (np.full((5, 2), np.nan), np.zeros((5, 2)), 'real contains NaN'),
])
def test_fid_rejects_bad_features(real, fake, match):
    with pytest.raises(ValueError, match=match):
        metrics.frechet_distance_from_features(real, fake)


# ------------------------------------------------------------------ kernel distance


def naive_unbiased_mmd2(x, y):
    def k(a, b):
        return (a @ b / len(a) + 1) ** 3
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_mmd2_is_the_naive_double_sum():
    x, y = gaussian(7, 5, 0), gaussian(9, 5, 1, mean=0.3)
    assert metrics.unbiased_mmd2(x, y) == pytest.approx(naive_unbiased_mmd2(x, y), rel=1e-12)


def test_kid_is_zero_in_expectation_for_one_distribution():
    real, fake = gaussian(2000, 16, 0), gaussian(2000, 16, 1)
    kid = metrics.kernel_distance_from_features(real, fake, num_subsets=50, subset_size=200)
    assert abs(kid.value) < 3 * kid.stderr
    assert kid.stderr == pytest.approx(kid.std / np.sqrt(50))
    shifted = metrics.kernel_distance_from_features(
        real, gaussian(2000, 16, 1, mean=0.5), num_subsets=50, subset_size=200)
    assert shifted.value > 10 * shifted.stderr


@pytest.mark.parametrize('num_fake', [30, 45])
def test_kid_on_all_samples_once_is_the_mmd(num_fake):
    # Both whole sets, whatever their sizes: no subset size to report.
    x, y = gaussian(30, 4, 0), gaussian(num_fake, 4, 1)
    kid = metrics.kernel_distance_from_features(x, y)
    assert (kid.value, kid.std, kid.num_subsets, kid.subset_size) == (
        pytest.approx(metrics.unbiased_mmd2(x, y), rel=1e-12), 0.0, 1, None)


@pytest.mark.parametrize('kwargs,match', [({'subset_size': 31}, 'subset_size'),
                                          ({'num_subsets': 0}, 'num_subsets')])
def test_kid_rejects_bad_subsets(kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.kernel_distance_from_features(gaussian(30, 4, 0), gaussian(40, 4, 1),
                                              **kwargs)


# ------------------------------------------------------------------ inception score


@pytest.mark.parametrize('num_classes', [1, 2, 10])
def test_inception_score_of_k_confident_equally_likely_classes_is_k(num_classes):
    logits = 1e4 * np.tile(np.eye(num_classes), (5, 1))
    assert metrics.inception_score_from_logits(logits).mean == pytest.approx(num_classes,
                                                                             rel=1e-12)


def test_inception_score_of_constant_logits_is_one():
    score = metrics.inception_score_from_logits(np.full((20, 10), 3.7), num_splits=4)
    assert (score.mean, score.std) == (pytest.approx(1.0, abs=1e-12), pytest.approx(0.0))


def test_inception_score_by_hand():
    # p(y|x) ∈ {(1,0), (1,0), (0,1)}: p(y) = (2/3, 1/3), KLs log 1.5, log 1.5, log 3.
    logits = 1e4 * np.array([[1, 0], [1, 0], [0, 1]], np.float64)
    expected = np.exp((2 * np.log(1.5) + np.log(3)) / 3)
    assert metrics.inception_score_from_logits(logits).mean == pytest.approx(expected,
                                                                             rel=1e-12)


def test_inception_score_splits_score_separately():
    # Split 1 confident over 2 classes (IS 2), split 2 uniform (IS 1): mean 1.5, std 0.5.
    logits = np.concatenate([1e4 * np.eye(2), np.zeros((2, 2))])
    score = metrics.inception_score_from_logits(logits, num_splits=2)
    assert (score.mean, score.std) == (pytest.approx(1.5), pytest.approx(0.5))


def test_inception_score_splits_keep_every_sample():
    # 5 confident samples in 2 splits, cut as Salimans et al.'s code cuts them: [0, 2)
    # holds classes 0, 1 (IS 2) and [2, 5) classes 0, 1, 2 (IS 3). Dropping the last
    # sample would score [2, 4) as 2.
    logits = 1e4 * np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
                            np.float64)
    score = metrics.inception_score_from_logits(logits, num_splits=2)
    assert (score.mean, score.std) == (pytest.approx(2.5, rel=1e-12), pytest.approx(0.5))


# ------------------------------------------------------------------ precision / recall


def test_precision_recall_density_coverage_by_hand():
    # Reals 0, 1, 2, 3 on a line (k = 1: every real radius is 1); fakes 0.5, 4, 10.
    # 4 lies exactly on the boundary of real 3's ball, which is closed.
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [4.0], [10.0]])
    result = metrics.precision_recall_from_features(real, fake, k=1)
    # Fake radii: 0.5 → 3.5, 4 → 3.5, 10 → 6; every real is within 3.5 of 0.5 or 4.
    # The fractions are float64's, to the last bit (float32's 2/3 is another number).
    assert result.precision == 2 / 3
    assert result.recall == 1.0
    # 0.5 lies in the balls of reals 0 and 1, 4 in real 3's: 3 / (k·M) = 1.
    assert result.density == 1.0
    # Real 2's nearest fake is 1.5 away, outside its radius 1.
    assert result.coverage == 3 / 4


@pytest.mark.parametrize('offset', [1e4, 1e6])
def test_neighbour_metrics_do_not_move_with_a_common_offset(offset):
    """Distances do not change when both sets move together; computed as ‖a‖² + ‖b‖² − 2abᵀ
    on uncentred sets, a spread of 1e-3 around 1e4 moved precision from 0.66 to 0.68."""
    rng = np.random.default_rng(5)
    real, fake = 1e-3 * rng.normal(size=(200, 16)), 1e-3 * rng.normal(0.5, 1, (200, 16))
    labels = rng.integers(0, 3, 200)
    here = metrics.precision_recall_from_features(real, fake, k=3)
    assert metrics.precision_recall_from_features(real + offset, fake + offset, k=3) == here
    np.testing.assert_array_equal(
        metrics.coverage_by_class(real + offset, labels, fake + offset, 3),
        metrics.coverage_by_class(real, labels, fake, 3))


def test_precision_and_recall_separate_fidelity_from_diversity():
    real = gaussian(600, 2, 0)
    # Fakes from the real distribution score high on all four; fakes collapsed onto its
    # centre keep the precision (as high a bar) but lose recall and coverage.
    # For identical distributions E[density] = 1 and E[coverage] → 1 − 1/2^k as M = N
    # grows (Naeem et al. 2020, §3.2).
    same = metrics.precision_recall_from_features(real, gaussian(600, 2, 2), k=3)
    assert same.precision > 0.95 and same.recall > 0.95
    assert abs(same.density - 1) < 0.1 and abs(same.coverage - (1 - 0.5 ** 3)) < 0.05
    collapsed = gaussian(600, 2, 1, scale=0.05)
    result = metrics.precision_recall_from_features(real, collapsed, k=3)
    assert result.precision > 0.85 and result.recall < 0.1 and result.coverage < 0.1


def test_coverage_of_a_perfect_generator_matches_its_exact_expectation():
    # A real x is uncovered iff its k nearest neighbours among the other N − 1 reals and
    # the M fakes are all reals: for identical distributions, by exchangeability,
    # E[coverage] = 1 − C(N−1, k) / (N+M−1 choose k). With M = 2N that is 0.963, as in
    # the MNIST protocol (5,000 reals, 10,000 samples): a generator's coverage target
    # of 0.9 is below what a perfect one scores.
    n, m, k = 300, 600, 3
    expected = 1 - math.comb(n - 1, k) / math.comb(n + m - 1, k)
    assert expected == pytest.approx(1 - math.comb(4999, k) / math.comb(14999, k), abs=1e-3)
    measured = [metrics.precision_recall_from_features(gaussian(n, 2, seed),
                                                       gaussian(m, 2, seed + 100), k=k).coverage
                for seed in range(4)]
    assert np.mean(measured) == pytest.approx(expected, abs=0.015)


def test_precision_recall_needs_more_than_k_samples():
    with pytest.raises(ValueError, match='fake'):
        metrics.precision_recall_from_features(np.zeros((10, 2)), np.zeros((3, 2)), k=3)


def test_kid_of_unequal_sets_uses_every_sample_once():
    x, y = gaussian(30, 4, 0), gaussian(45, 4, 1)
    kid = metrics.kernel_distance_from_features(x, y)
    assert kid.value == pytest.approx(metrics.unbiased_mmd2(x, y), rel=1e-12)


def test_coverage_by_class_splits_coverage_by_the_reals_class():
    # Class 0 at 0..3, class 1 at 10..13 (k = 1: every radius is 1); fakes near class 0
    # only: 0.5 covers reals 0 and 1, 3.2 covers real 3 (real 2 is 1.2 from 3.2).
    real = np.array([[0.0], [1.0], [2.0], [3.0], [10.0], [11.0], [12.0], [13.0]])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    fake = np.array([[0.5], [3.2], [30.0]])
    per_class = metrics.coverage_by_class(real, labels, fake, num_classes=3, k=1)
    np.testing.assert_allclose(per_class[:2], [3 / 4, 0.0])
    assert np.isnan(per_class[2])  # no reals of class 2
    overall = metrics.precision_recall_from_features(real, fake, k=1).coverage
    assert overall == pytest.approx(np.mean(per_class[:2]))
    with pytest.raises(ValueError, match='real_labels'):
        metrics.coverage_by_class(real, labels[:-1], fake, num_classes=2)


@pytest.mark.parametrize('counts, expected', [
    ([5, 5, 5, 5], 0.0),
    ([7, 0, 0, 0], np.log(4)),
    ([3, 1], 0.75 * np.log(1.5) + 0.25 * np.log(0.5)),
    ([2, 0, 2], 2 * 0.5 * np.log(1.5)),
])
def test_kl_to_uniform_by_hand(counts, expected):
    assert metrics.kl_to_uniform(counts) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize('counts', [[], [0, 0], [1, -1, 2], [[1, 2]]])
def test_kl_to_uniform_rejects_what_is_not_a_histogram(counts):
    with pytest.raises(ValueError, match='counts'):
        metrics.kl_to_uniform(counts)
