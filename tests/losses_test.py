"""Tests for ganjax.losses: exact values, stability, transformations and shape errors.

Expected values are computed here from the formulas (by hand with `math`, or with a naive
float64 NumPy transcription in probability space, or with `np.logaddexp` for a softplus),
never copied from the implementation.
Calls go through `jax.jit`, as the library is used.
"""
import functools
import math
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import losses

LOG2 = math.log(2.0)
LOG3 = math.log(3.0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _naive_bce(logits, target):
    """Binary cross-entropy in probability space, float64."""
    p = _sigmoid(np.asarray(logits, np.float64))
    return -(target * np.log(p) + (1.0 - target) * np.log(1.0 - p))


def _f32(values):
    return np.asarray(values, np.float32)


def _stable_sigmoid(x):
    """σ(x) in float64 without overflow warnings at |x| = 2e4."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))


# Every adversarial loss as loss(real, fake), with its naive float64 formula and the expected
# signs of dloss/dreal and dloss/dfake (0: the loss ignores that input).
ADVERSARIAL_LOSSES = [
    pytest.param(
        losses.minimax_discriminator_loss,
        lambda r, f: np.mean(_naive_bce(r, 1.0)) + np.mean(_naive_bce(f, 0.0)),
        (-1, 1), id='minimax_d'),
    pytest.param(
        functools.partial(losses.minimax_discriminator_loss, label_smoothing=0.1),
        lambda r, f: (-np.mean(0.9 * np.log(_sigmoid(r)) + 0.1 * np.log(1 - _sigmoid(r)))
                      - np.mean(np.log(1 - _sigmoid(f)))),
        (-1, 1), id='minimax_d_smoothed'),
    pytest.param(
        lambda r, f: losses.minimax_generator_loss(f),
        lambda r, f: np.mean(np.log(1 - _sigmoid(f))),
        (0, -1), id='minimax_g'),
    pytest.param(
        lambda r, f: losses.non_saturating_generator_loss(f),
        lambda r, f: -np.mean(np.log(_sigmoid(f))),
        (0, -1), id='non_saturating_g'),
    pytest.param(
        losses.wasserstein_discriminator_loss,
        lambda r, f: np.mean(f) - np.mean(r),
        (-1, 1), id='wasserstein_d'),
    pytest.param(
        lambda r, f: losses.wasserstein_generator_loss(f),
        lambda r, f: -np.mean(f),
        (0, -1), id='wasserstein_g'),
    pytest.param(
        losses.hinge_discriminator_loss,
        lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
        (-1, 1), id='hinge_d'),
    pytest.param(
        lambda r, f: losses.hinge_generator_loss(f),
        lambda r, f: -np.mean(f),
        (0, -1), id='hinge_g'),
    pytest.param(
        losses.least_squares_discriminator_loss,
        lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2),
        (-1, 1), id='least_squares_d'),
    pytest.param(
        lambda r, f: losses.least_squares_generator_loss(f),
        lambda r, f: 0.5 * np.mean((f - 1) ** 2),
        (0, -1), id='least_squares_g'),
    pytest.param(
        losses.relativistic_average_discriminator_loss,
        lambda r, f: (-np.mean(np.log(_sigmoid(r - np.mean(f))))
                      - np.mean(np.log(1 - _sigmoid(f - np.mean(r))))),
        (-1, 1), id='relativistic_average_d'),
    pytest.param(
        losses.relativistic_average_generator_loss,
        lambda r, f: (-np.mean(np.log(1 - _sigmoid(r - np.mean(f))))
                      - np.mean(np.log(_sigmoid(f - np.mean(r))))),
        (1, -1), id='relativistic_average_g'),
]

# The relativistic pairing losses pair real example i with fake example i, so unlike the losses
# above they need real and fake of the same shape: the shared tests below give them equal batch
# sizes (see _fake_size). Oracle: softplus(x) = log(1 + eˣ) = np.logaddexp(0, x), in float64.
PAIRING_LOSSES = [
    pytest.param(
        losses.relativistic_pairing_discriminator_loss,
        lambda r, f: np.mean(np.logaddexp(0.0, -(r - f))),
        (-1, 1), id='relativistic_pairing_d'),
    pytest.param(
        losses.relativistic_pairing_generator_loss,
        lambda r, f: np.mean(np.logaddexp(0.0, -(f - r))),
        (1, -1), id='relativistic_pairing_g'),
]
ALL_ADVERSARIAL_LOSSES = ADVERSARIAL_LOSSES + PAIRING_LOSSES
_PAIRING_FUNCTIONS = frozenset(case.values[0] for case in PAIRING_LOSSES)


def _fake_size(loss, real_size, unpaired_size):
    """The fake batch size a shared test uses: the real one for the pairing losses."""
    return real_size if loss in _PAIRING_FUNCTIONS else unpaired_size


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize('loss, args, expected', [
    # BCE(0, t) = log 2 for every target t.
    (losses.minimax_discriminator_loss, ([0.0, 0.0], [0.0]), 2 * LOG2),
    # σ(log 3) = 3/4, σ(−log 3) = 1/4; real target 0.9.
    (functools.partial(losses.minimax_discriminator_loss, label_smoothing=0.1),
     ([[LOG3]], [[-LOG3]]),
     -0.9 * math.log(0.75) - 0.1 * math.log(0.25) - math.log(0.75)),
    (losses.minimax_generator_loss, ([0.0],), -LOG2),
    (losses.minimax_generator_loss, ([[LOG3], [LOG3]],), math.log(0.25)),
    # log(1 − σ(1e4)) = −softplus(1e4) = −1e4 (a naive log(1 − sigmoid) gives −inf).
    (losses.minimax_generator_loss, ([1e4],), -1e4),
    (losses.non_saturating_generator_loss, ([0.0],), LOG2),
    (losses.non_saturating_generator_loss, ([LOG3],), -math.log(0.75)),
    (losses.non_saturating_generator_loss, ([-1e4],), 1e4),
    # E[f] − E[r] = 1 − 2, with batches of different sizes.
    (losses.wasserstein_discriminator_loss, ([1.0, 3.0], [-2.0, 0.0, 5.0]), -1.0),
    (losses.wasserstein_generator_loss, ([1.0, 2.0, 6.0],), -3.0),
    # E[relu(1 − r)] = (0.5 + 0)/2, E[relu(1 + f)] = (0 + 1.5)/2.
    (losses.hinge_discriminator_loss, ([0.5, 2.0], [-2.0, 0.5]), 1.0),
    (losses.hinge_generator_loss, ([[1.0], [2.0], [6.0]],), -3.0),
    # ½·(0 + 4)/2 + ½·(0 + 4)/2.
    (losses.least_squares_discriminator_loss, ([1.0, 3.0], [0.0, 2.0]), 2.0),
    (losses.least_squares_generator_loss, ([1.0, 3.0],), 1.0),
    (losses.relativistic_average_discriminator_loss, ([0.0], [0.0]), 2 * LOG2),
    # r − E[f] = log 3 → σ = 3/4; f − E[r] = −log 3 → σ = 1/4.
    (losses.relativistic_average_discriminator_loss, ([LOG3, LOG3], [0.0, 0.0]),
     -2 * math.log(0.75)),
    (losses.relativistic_average_generator_loss, ([LOG3, LOG3], [0.0, 0.0]),
     -2 * math.log(0.25)),
    (losses.relativistic_pairing_discriminator_loss, ([0.0], [0.0]), LOG2),
    # softplus(−log 3) = −log σ(log 3) = −log(3/4); softplus(log 3) = log 4 = −log(1/4).
    (losses.relativistic_pairing_discriminator_loss, ([LOG3], [0.0]), -math.log(0.75)),
    # Pairs (log 3, 0) and (0, log 3): r − f = ±log 3.
    (losses.relativistic_pairing_discriminator_loss, ([[LOG3], [0.0]], [[0.0], [LOG3]]),
     -(math.log(0.75) + math.log(0.25)) / 2),
    (losses.relativistic_pairing_generator_loss, ([LOG3], [0.0]), -math.log(0.25)),
    (losses.relativistic_pairing_generator_loss, ([0.0, 0.0], [LOG3, LOG3]), -math.log(0.75)),
    (losses.auxiliary_classifier_loss, (np.zeros((2, 5)), [0, 4]), math.log(5.0)),
    # softmax([log 3, 0]) = [3/4, 1/4].
    (losses.auxiliary_classifier_loss, ([[LOG3, 0.0]], [0]), -math.log(0.75)),
    (losses.auxiliary_classifier_loss, ([[LOG3, 0.0]], [1]), -math.log(0.25)),
    # ½(μ² + σ² − 1 − log σ²) summed over latents.
    (losses.gaussian_kl, ([[1.0, 0.0]], [[0.0, 0.0]]), 0.5),
    (losses.gaussian_kl, ([[0.0]], [[math.log(2.0)]]), 0.5 * (2.0 - 1.0 - math.log(2.0))),
    (losses.bernoulli_reconstruction_loss, (np.zeros((2, 3)), [[0, 1, 0.5], [1, 1, 0]]),
     3 * LOG2),
    (losses.gaussian_reconstruction_loss, ([[3.0, 4.0]], [[0.0, 0.0]]), 12.5),
    (functools.partial(losses.beta_vae_loss, beta=0.5), (2.0, 3.0), 3.5),
])
def test_hand_computed_values(loss, args, expected):
    args = [np.asarray(a) if np.asarray(a).dtype.kind == 'i' else _f32(a) for a in args]
    np.testing.assert_allclose(jax.jit(loss)(*args), expected, rtol=1e-6)


@pytest.mark.parametrize('column', [False, True], ids=['shape_B', 'shape_B1'])
@pytest.mark.parametrize('loss, naive, signs', ALL_ADVERSARIAL_LOSSES)
def test_adversarial_losses_match_naive_probability_formula(loss, naive, signs, column):
    del signs
    rng = np.random.default_rng(0)
    real = _f32(rng.uniform(-4, 4, 6))
    fake = _f32(rng.uniform(-4, 4, _fake_size(loss, 6, unpaired_size=5)))
    shaped = (lambda x: x[:, None]) if column else (lambda x: x)
    np.testing.assert_allclose(jax.jit(loss)(shaped(real), shaped(fake)),
                               naive(real.astype(np.float64), fake.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


def test_auxiliary_classifier_loss_matches_naive_softmax():
    rng = np.random.default_rng(1)
    logits, labels = _f32(rng.normal(0, 3, (6, 4))), rng.integers(0, 4, 6)
    probabilities = np.exp(logits.astype(np.float64))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probabilities[np.arange(6), labels]))
    np.testing.assert_allclose(jax.jit(losses.auxiliary_classifier_loss)(logits, labels),
                               expected, rtol=1e-5)


def test_factorized_auxiliary_classifier_loss_sums_each_factors_softmax():
    rng = np.random.default_rng(2)
    factors = (2, 3, 4)
    logits, labels = _f32(rng.normal(0, 3, (6, 9))), rng.integers(0, 24, 6)
    expected, start = 0.0, 0
    for i, k in enumerate(factors):
        head = logits[:, start:start + k].astype(np.float64)
        probabilities = np.exp(head) / np.exp(head).sum(axis=1, keepdims=True)
        # Label y = 12·y_1 + 4·y_2 + y_3.
        value = [labels // 12, labels // 4 % 3, labels % 4][i]
        expected += -np.mean(np.log(probabilities[np.arange(6), value]))
        start += k
    loss = jax.jit(losses.factorized_auxiliary_classifier_loss, static_argnums=2)
    np.testing.assert_allclose(loss(logits, labels, factors), expected, rtol=1e-5)
    np.testing.assert_allclose(loss(logits[:, :4], labels % 4, (4,)),
                               losses.auxiliary_classifier_loss(logits[:, :4], labels % 4),
                               rtol=1e-6)


@pytest.mark.parametrize('loss_of, num_classes, width', [
    (losses.auxiliary_classifier_loss, 6, 6),
    (lambda logits, labels: losses.factorized_auxiliary_classifier_loss(
        logits, labels, (2, 3, 4)), 24, 9)], ids=['plain', 'factorized'])
def test_a_class_label_out_of_range_makes_the_class_losses_nan(loss_of, num_classes, width):
    """Negative labels too: a gather reads −1 as the last class, which would hide the bad
    label behind a finite loss. In-range labels keep a finite loss and gradient."""
    logits = _f32(np.random.default_rng(3).normal(size=(3, width)))
    loss = jax.jit(loss_of)
    for bad_label in (-1, num_classes):
        assert np.isnan(loss(logits, np.array([0, bad_label, 2], np.int32))), bad_label
    valid = np.array([0, num_classes - 1, 2], np.int32)
    assert np.isfinite(loss(logits, valid))
    chex.assert_tree_all_finite(jax.grad(loss)(logits, valid))


def test_label_factors_are_the_mixed_radix_digits_first_most_significant():
    labels = np.arange(24)
    values = losses.label_factors(labels, (2, 3, 4))
    # Label y = 12·y_1 + 4·y_2 + y_3, each y_i in [0, K_i).
    np.testing.assert_array_equal(np.stack(values), [labels // 12, labels // 4 % 3, labels % 4])
    np.testing.assert_array_equal(12 * values[0] + 4 * values[1] + values[2], labels)
    np.testing.assert_array_equal(np.stack(losses.label_factors([723, 4], (10, 10, 10))),
                                  [[7, 0], [2, 0], [3, 4]])


@pytest.mark.parametrize('logits_width,factors,match', [
    (9, (2, 3, 5), 'class_logits must have shape'), (0, (), 'factors must be'),
    (5, (0, 5), 'factors must be')])
def test_factorized_auxiliary_classifier_loss_names_a_bad_argument(logits_width, factors, match):
    with pytest.raises(ValueError, match=match):
        losses.factorized_auxiliary_classifier_loss(np.zeros((2, logits_width), np.float32),
                                                    np.zeros(2, np.int32), factors)


# ----------------------------------------------------------------------------------------------
# Stability and gradients
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize('loss, naive, signs', ALL_ADVERSARIAL_LOSSES)
def test_values_and_gradients_finite_at_extreme_logits(loss, naive, signs):
    del naive, signs
    real = _f32([1e4, -1e4, 0.0, 1e4])
    # Paired, the first four give r − f = 2e4, −2e4, 0, 2e4.
    fake = _f32([-1e4, 1e4, 0.0, -1e4, 1e4])[:_fake_size(loss, 4, unpaired_size=5)]
    value, grads = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(real, fake)
    chex.assert_tree_all_finite((value, grads))


def test_auxiliary_classifier_loss_finite_at_extreme_logits():
    logits = _f32([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]])
    labels = np.array([1, 1])
    value, grads = jax.jit(jax.value_and_grad(losses.auxiliary_classifier_loss))(logits, labels)
    chex.assert_tree_all_finite((value, grads))
    # Example 0: logsumexp = 1e4, label logit −1e4; example 1 is classified perfectly.
    np.testing.assert_allclose(value, (2e4 + 0.0) / 2, rtol=1e-6)


@pytest.mark.parametrize('loss, naive, signs', ALL_ADVERSARIAL_LOSSES)
def test_gradient_signs(loss, naive, signs):
    del naive
    # Inside every hinge margin and with fakes > 0, so no term is flat.
    real, fake = _f32([-0.5, 0.3, 0.8]), _f32([0.2, 0.5, 0.7])
    grad_real, grad_fake = jax.jit(jax.grad(loss, argnums=(0, 1)))(real, fake)
    real_sign, fake_sign = signs
    np.testing.assert_array_equal(np.sign(grad_real), real_sign)
    np.testing.assert_array_equal(np.sign(grad_fake), fake_sign)


# ----------------------------------------------------------------------------------------------
# Relativistic pairing
# ----------------------------------------------------------------------------------------------

_PAIRING_D = losses.relativistic_pairing_discriminator_loss
_PAIRING_G = losses.relativistic_pairing_generator_loss


@pytest.mark.parametrize('loss, real, fake, value, slope_real, slope_fake', [
    # r − f = 2e4: D's softplus(−2e4) is 0 with slope 0, G's softplus(2e4) is 2e4 with slope 1
    # (a naive −log σ would give 0 and inf).
    (_PAIRING_D, 1e4, -1e4, 0.0, 0.0, 0.0),
    (_PAIRING_G, 1e4, -1e4, 2e4, 1.0, -1.0),
    (_PAIRING_D, -1e4, 1e4, 2e4, -1.0, 1.0),
    (_PAIRING_G, -1e4, 1e4, 0.0, 0.0, 0.0),
    # r − f = 0: log 2 and slope σ(0) = ½, though each logit is 1e4.
    (_PAIRING_D, 1e4, 1e4, LOG2, -0.5, 0.5),
    (_PAIRING_G, -1e4, -1e4, LOG2, 0.5, -0.5),
])
def test_relativistic_pairing_exact_at_extreme_logits(loss, real, fake, value, slope_real,
                                                      slope_fake):
    # The same pair B = 4 times: the loss is that pair's term, each gradient entry its slope / B.
    batch = 4
    real, fake = np.full(batch, real, np.float32), np.full(batch, fake, np.float32)
    loss_value, (grad_real, grad_fake) = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(
        real, fake)
    np.testing.assert_allclose(loss_value, value, rtol=1e-6, atol=0)
    np.testing.assert_allclose(grad_real, np.full(batch, slope_real / batch), rtol=1e-6, atol=0)
    np.testing.assert_allclose(grad_fake, np.full(batch, slope_fake / batch), rtol=1e-6, atol=0)


@pytest.mark.parametrize('loss, naive, signs', PAIRING_LOSSES)
def test_relativistic_pairing_matches_logaddexp_at_large_logits(loss, naive, signs):
    # Real and fake each up to ±1e4 in magnitude, so |r − f| up to 2e4; the float64 oracle
    # np.logaddexp(0, x) stays exact there, unlike the probability-space formulas.
    rng = np.random.default_rng(12)
    real = _f32(np.concatenate([rng.uniform(-30, 30, 6), [1e4, -1e4, 1e4, 0.0]]))
    fake = _f32(np.concatenate([rng.uniform(-30, 30, 6), [-1e4, 1e4, 1e4, -1e4]]))
    loss_value, (grad_real, grad_fake) = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))(
        real, fake)
    real64, fake64 = real.astype(np.float64), fake.astype(np.float64)
    np.testing.assert_allclose(loss_value, naive(real64, fake64), rtol=1e-6)
    # d softplus(−s·(r − f)) / dr = −s·σ(−s·(r − f)), s = +1 for D and −1 for G (= signs[0]·−1).
    sign = -signs[0]
    slope = -sign * _stable_sigmoid(-sign * (real64 - fake64)) / len(real)
    np.testing.assert_allclose(grad_real, slope, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(grad_fake, -slope, rtol=1e-5, atol=1e-12)


def test_relativistic_pairing_generator_is_discriminator_with_arguments_swapped():
    rng = np.random.default_rng(13)
    real = _f32(np.concatenate([rng.normal(0, 5, 6), [1e4, 1e4]]))
    fake = _f32(np.concatenate([rng.normal(0, 5, 6), [-1e4, 0.0]]))
    g_value, (g_real, g_fake) = jax.jit(jax.value_and_grad(_PAIRING_G, argnums=(0, 1)))(
        real, fake)
    d_value, (d_fake, d_real) = jax.jit(jax.value_and_grad(_PAIRING_D, argnums=(0, 1)))(
        fake, real)
    np.testing.assert_allclose(g_value, d_value, rtol=1e-6)
    np.testing.assert_allclose(g_real, d_real, rtol=1e-6)
    np.testing.assert_allclose(g_fake, d_fake, rtol=1e-6)
    # Not trivially so: D itself is far from symmetric here (its extreme pairs give ~0 one way
    # round and (2e4 + 1e4) / 8 the other).
    assert abs(float(jax.jit(_PAIRING_D)(real, fake)) - float(d_value)) > 1e3


@pytest.mark.parametrize('loss, naive, signs', PAIRING_LOSSES)
def test_relativistic_pairing_pairs_examples(loss, naive, signs):
    del signs
    rng = np.random.default_rng(14)
    real, fake = _f32(rng.normal(0, 3, 8)), _f32(rng.normal(0, 3, 8))
    jitted = jax.jit(loss)
    value = jitted(real, fake)
    # The same pairs in another order: the same loss.
    together = rng.permutation(8)
    np.testing.assert_allclose(jitted(real[together], fake[together]), value, rtol=1e-6)
    # Fakes shifted by one (no fixed point) pair each real with another fake: a different loss,
    # which a loss using only batch means (such as the relativistic average one) would not see.
    shifted = np.roll(np.arange(8), 1)
    shuffled_value = jitted(real, fake[shifted])
    expected = naive(real.astype(np.float64), fake.astype(np.float64)[shifted])
    np.testing.assert_allclose(shuffled_value, expected, rtol=1e-5)
    assert abs(expected - naive(real.astype(np.float64), fake.astype(np.float64))) > 0.1
    assert abs(float(shuffled_value) - float(value)) > 0.1


@pytest.mark.parametrize('column', [False, True], ids=['shape_B', 'shape_B1'])
@pytest.mark.parametrize('loss, naive, signs', PAIRING_LOSSES)
def test_relativistic_pairing_jit_equals_eager(loss, naive, signs, column):
    del naive, signs
    rng = np.random.default_rng(15)
    real, fake = _f32(rng.normal(0, 3, (5, 1))), _f32(rng.normal(0, 3, (5, 1)))
    if not column:
        real, fake = real[:, 0], fake[:, 0]
    # Plain eager call (concrete arrays, no tracer at all) against the compiled one.
    np.testing.assert_allclose(jax.jit(loss)(real, fake), loss(real, fake), rtol=1e-6)
    value_and_grad = jax.value_and_grad(loss, argnums=(0, 1))
    eager_value, eager_grads = value_and_grad(real, fake)
    jit_value, jit_grads = jax.jit(value_and_grad)(real, fake)
    np.testing.assert_allclose(jit_value, eager_value, rtol=1e-6)
    chex.assert_trees_all_close(jit_grads, eager_grads, rtol=1e-6)
    chex.assert_trees_all_equal_shapes(jit_grads, eager_grads, (real, fake))


@pytest.mark.parametrize('real_shape, fake_shape', [
    ((4,), (5,)), ((4, 1), (3, 1)), ((4,), (4, 1)), ((4, 1), (4,)), ((4,), (1,))])
@pytest.mark.parametrize('loss', [_PAIRING_D, _PAIRING_G])
@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'jit'])
def test_relativistic_pairing_rejects_unequal_shapes(loss, real_shape, fake_shape, jit):
    # Even (B,) against (1,), which would broadcast, and (B,) against (B, 1).
    call = jax.jit(loss) if jit else loss
    with pytest.raises(ValueError) as error:
        call(np.zeros(real_shape, np.float32), np.zeros(fake_shape, np.float32))
    message = str(error.value)
    assert message.startswith('fake_logits must ')
    assert f'real_logits, {real_shape}' in message
    assert f'got shape {fake_shape}' in message


# ----------------------------------------------------------------------------------------------
# Penalties
# ----------------------------------------------------------------------------------------------

WEIGHT = _f32([[1.0, 2.0], [2.0, 0.0]])  # ‖w‖ = 3
WEIGHT_NORM = 3.0


def _linear_critic(x, keepdims=False):
    values = jnp.sum(x * WEIGHT, axis=(1, 2))
    return values[:, None] if keepdims else values


@pytest.mark.parametrize('one_sided', [False, True])
@pytest.mark.parametrize('target', [0.5, 1.0, 4.0])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_gradient_penalty_of_linear_critic(seed, target, one_sided):
    rng = np.random.default_rng(seed)
    real, fake = _f32(rng.normal(size=(5, 2, 2))), _f32(rng.normal(size=(5, 2, 2)))
    # Odd seeds use a (B, 1) critic output, even seeds (B,).
    critic = functools.partial(_linear_critic, keepdims=bool(seed % 2))
    penalty = jax.jit(functools.partial(losses.gradient_penalty, critic, target=target,
                                        one_sided=one_sided))
    deviation = WEIGHT_NORM / target - 1.0
    expected = max(deviation, 0.0) ** 2 if one_sided else deviation ** 2
    np.testing.assert_allclose(penalty(real, fake, jax.random.key(seed)), expected,
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('target', [1.0, 2.0])
def test_gradient_penalty_gradient_in_critic_weights(target):
    # d/dw (‖w‖/K − 1)² = 2(‖w‖/K − 1)·w / (K‖w‖): the second-order path through the norm.
    def penalty(weight, real, fake, key):
        return losses.gradient_penalty(lambda x: jnp.sum(x * weight, axis=1), real, fake, key,
                                       target=target)

    weight = _f32([0.6, -0.8, 2.0])
    norm = float(np.linalg.norm(weight.astype(np.float64)))
    real, fake = np.ones((4, 3), np.float32), np.zeros((4, 3), np.float32)
    grad = jax.jit(jax.grad(penalty))(weight, real, fake, jax.random.key(0))
    expected = 2 * (norm / target - 1) * weight / (target * norm)
    np.testing.assert_allclose(grad, expected, rtol=1e-5)


@pytest.mark.parametrize('one_sided, expected', [(False, 1.0), (True, 0.0)])
def test_gradient_penalty_of_constant_critic_is_finite(one_sided, expected):
    # ∇ₓ critic = 0, so ‖∇‖ = 0: (0 − 1)² = 1 two-sided, max(0, −1)² = 0 one-sided. A plain
    # sqrt would give a NaN gradient in the critic weights here.
    def penalty(params, real, fake, key):
        def critic(x):
            return params['bias'] + jnp.sum(x * params['weight'], axis=1)
        return losses.gradient_penalty(critic, real, fake, key, one_sided=one_sided)

    params = {'weight': jnp.zeros(3), 'bias': jnp.asarray(0.7)}
    real, fake = np.ones((4, 3), np.float32), np.zeros((4, 3), np.float32)
    value, grads = jax.jit(jax.value_and_grad(penalty))(params, real, fake, jax.random.key(0))
    assert value == expected
    chex.assert_tree_all_finite(grads)


def _capturing_linear_critic(captured):
    """A linear critic that records the batch it is evaluated on."""
    def critic(x):
        jax.debug.callback(lambda batch: captured.append(np.asarray(batch)), x)
        return _linear_critic(x)
    return critic


def test_gradient_penalty_interpolates_with_one_epsilon_per_example():
    rng = np.random.default_rng(3)
    real = _f32(rng.uniform(1.0, 2.0, (8, 2, 2)))
    fake = _f32(rng.uniform(-2.0, -1.0, (8, 2, 2)))
    captured = []
    critic = _capturing_linear_critic(captured)
    jax.block_until_ready(jax.jit(functools.partial(losses.gradient_penalty, critic))(
        real, fake, jax.random.key(3)))
    jax.effects_barrier()
    epsilon = (captured[-1] - fake) / (real - fake)
    per_example = epsilon[:, :1, :1]
    np.testing.assert_allclose(epsilon, np.broadcast_to(per_example, epsilon.shape), atol=1e-6)
    assert np.all((per_example >= 0) & (per_example < 1))
    assert len(np.unique(per_example)) == 8


def _dragan_offsets(real, perturbation_scale):
    """x̂ − x for each element of ``real``, as seen by the critic (fixed key)."""
    captured = []
    penalty = jax.jit(functools.partial(losses.dragan_penalty, _capturing_linear_critic(captured),
                                        perturbation_scale=perturbation_scale))
    jax.block_until_ready(penalty(real, jax.random.key(4)))
    jax.effects_barrier()
    return captured[-1] - real


@pytest.mark.parametrize('perturbation_scale', [0.5, 2.0])
def test_dragan_perturbs_upwards_within_scaled_std(perturbation_scale):
    real = _f32(np.random.default_rng(4).normal(size=(8, 2, 2)))
    # x̂ − x = α·c·std(x)·u with α, u in [0, 1): inside [0, c·std(x)], varying per element.
    offsets = _dragan_offsets(real, perturbation_scale) / (
        perturbation_scale * real.astype(np.float64).std())
    assert np.all(offsets >= -1e-6) and np.all(offsets <= 1.0)
    assert len(np.unique(np.round(offsets[0], 6))) == offsets[0].size


def test_dragan_perturbation_scales_with_batch_std():
    # std(a·x + b) = a·std(x), so with the same key the offsets scale by a and ignore b.
    real = _f32(np.random.default_rng(4).normal(size=(8, 2, 2)))
    np.testing.assert_allclose(_dragan_offsets(10.0 * real + 3.0, 0.5),
                               10.0 * _dragan_offsets(real, 0.5), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('target', [1.0, 2.0, 6.0])
def test_dragan_penalty_of_linear_critic(target):
    real = _f32(np.random.default_rng(5).normal(size=(6, 2, 2)))
    penalty = jax.jit(functools.partial(losses.dragan_penalty, _linear_critic, target=target))
    np.testing.assert_allclose(penalty(real, jax.random.key(5)),
                               (WEIGHT_NORM / target - 1.0) ** 2, rtol=1e-6)


@pytest.mark.parametrize('keepdims', [False, True])
@pytest.mark.parametrize('penalty', [losses.r1_penalty, losses.r2_penalty])
def test_r1_r2_of_quadratic_critic(penalty, keepdims):
    # f(x) = Σ a·x², so ∇f = 2a·x and ‖∇f‖² = Σ 4a²x².
    rng = np.random.default_rng(6)
    a, x = _f32(rng.uniform(0.5, 2.0, (3, 2))), _f32(rng.normal(size=(5, 3, 2)))

    def critic(batch):
        values = jnp.sum(a * jnp.square(batch), axis=(1, 2))
        return values[:, None] if keepdims else values

    expected = np.mean(np.sum((2 * a.astype(np.float64) * x) ** 2, axis=(1, 2)))
    np.testing.assert_allclose(jax.jit(functools.partial(penalty, critic))(x), expected,
                               rtol=1e-5)


def test_clip_weights():
    params = {'dense': {'kernel': _f32([[-0.5, 0.005], [0.02, -0.01]]), 'bias': _f32([0.3])},
              'scale': _f32(-0.001)}
    clipped = jax.jit(functools.partial(losses.clip_weights, clip_value=0.01))(params)
    chex.assert_trees_all_equal_shapes_and_dtypes(clipped, params)
    expected = jax.tree.map(lambda leaf: np.clip(leaf, -0.01, 0.01), params)
    chex.assert_trees_all_close(clipped, expected, rtol=0)


# ----------------------------------------------------------------------------------------------
# VAE terms
# ----------------------------------------------------------------------------------------------


def test_gaussian_kl_is_zero_at_the_prior():
    assert jax.jit(losses.gaussian_kl)(np.zeros((3, 4), np.float32),
                                       np.zeros((3, 4), np.float32)) == 0.0


def test_gaussian_kl_matches_numpy():
    rng = np.random.default_rng(7)
    mean, log_var = _f32(rng.normal(size=(5, 2, 3))), _f32(rng.normal(size=(5, 2, 3)))
    mu, var = mean.astype(np.float64), np.exp(log_var.astype(np.float64))
    expected = np.mean(0.5 * np.sum(mu ** 2 + var - 1 - np.log(var), axis=(1, 2)))
    np.testing.assert_allclose(jax.jit(losses.gaussian_kl)(mean, log_var), expected, rtol=1e-5)


def test_bernoulli_reconstruction_matches_naive_likelihood():
    rng = np.random.default_rng(8)
    logits, x = _f32(rng.normal(0, 3, (4, 3, 2))), _f32(rng.uniform(size=(4, 3, 2)))
    expected = np.mean(np.sum(_naive_bce(logits, x.astype(np.float64)), axis=(1, 2)))
    np.testing.assert_allclose(jax.jit(losses.bernoulli_reconstruction_loss)(logits, x),
                               expected, rtol=1e-5)


def test_gaussian_reconstruction_matches_numpy():
    rng = np.random.default_rng(9)
    x_hat, x = _f32(rng.normal(size=(4, 5))), _f32(rng.normal(size=(4, 5)))
    expected = np.mean(0.5 * np.sum((x_hat.astype(np.float64) - x) ** 2, axis=1))
    np.testing.assert_allclose(jax.jit(losses.gaussian_reconstruction_loss)(x_hat, x),
                               expected, rtol=1e-5)


def test_beta_vae_loss_with_traced_beta():
    total = jax.jit(losses.beta_vae_loss)(_f32(10.0), _f32(4.0), _f32(0.25))
    np.testing.assert_allclose(total, 11.0, rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# jit, vmap, grad
# ----------------------------------------------------------------------------------------------


def _tanh_critic(x):
    hidden = jnp.tanh(x @ _f32([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.9]]))
    return hidden @ _f32([1.0, -2.0])


def _normal(*shape):
    return lambda rng: _f32(rng.normal(size=shape))


def _key(rng):
    return jax.random.key(int(rng.integers(2 ** 31)))


TRANSFORMATION_CASES = [
    pytest.param(case.values[0],
                 (_normal(4), _normal(_fake_size(case.values[0], 4, unpaired_size=5))),
                 id=case.id)
    for case in ALL_ADVERSARIAL_LOSSES
] + [
    pytest.param(losses.auxiliary_classifier_loss,
                 (_normal(4, 3), lambda rng: rng.integers(0, 3, 4)), id='auxiliary_classifier'),
    pytest.param(losses.gaussian_kl, (_normal(4, 2), _normal(4, 2)), id='gaussian_kl'),
    pytest.param(losses.bernoulli_reconstruction_loss,
                 (_normal(4, 2, 2), lambda rng: _f32(rng.uniform(size=(4, 2, 2)))),
                 id='bernoulli_reconstruction'),
    pytest.param(losses.gaussian_reconstruction_loss, (_normal(4, 3), _normal(4, 3)),
                 id='gaussian_reconstruction'),
    pytest.param(functools.partial(losses.beta_vae_loss, beta=0.5), (_normal(), _normal()),
                 id='beta_vae'),
    pytest.param(functools.partial(losses.gradient_penalty, _tanh_critic),
                 (_normal(4, 3), _normal(4, 3), _key), id='gradient_penalty'),
    pytest.param(functools.partial(losses.gradient_penalty, _tanh_critic, one_sided=True),
                 (_normal(4, 3), _normal(4, 3), _key), id='gradient_penalty_one_sided'),
    pytest.param(functools.partial(losses.dragan_penalty, _tanh_critic),
                 (_normal(4, 3), _key), id='dragan'),
    pytest.param(functools.partial(losses.r1_penalty, _tanh_critic), (_normal(4, 3),), id='r1'),
    pytest.param(functools.partial(losses.r2_penalty, _tanh_critic), (_normal(4, 3),), id='r2'),
    pytest.param(losses.mode_seeking_loss, (_normal(4, 2, 3), _normal(4, 5)), id='mode_seeking'),
]


@pytest.mark.parametrize('loss, arg_makers', TRANSFORMATION_CASES)
def test_jit_vmap_and_grad(loss, arg_makers):
    rng = np.random.default_rng(10)
    arg_sets = [tuple(make(rng) for make in arg_makers) for _ in range(3)]
    values = [jax.jit(loss)(*args) for args in arg_sets]
    for value in values:
        chex.assert_shape(value, ())
        chex.assert_tree_all_finite(value)

    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *arg_sets)
    batched = jax.jit(jax.vmap(loss))(*stacked)
    chex.assert_shape(batched, (3,))
    np.testing.assert_allclose(batched, np.stack(values), rtol=1e-5, atol=1e-6)

    args = arg_sets[0]
    float_argnums = tuple(
        i for i, arg in enumerate(args) if jnp.issubdtype(arg.dtype, jnp.floating))
    grads = jax.jit(jax.grad(loss, argnums=float_argnums))(*args)
    for argnum, grad in zip(float_argnums, grads):
        chex.assert_equal_shape([grad, args[argnum]])
        chex.assert_rank(grad, np.ndim(args[argnum]))
    chex.assert_tree_all_finite(grads)
    assert any(np.any(grad != 0) for grad in grads)


# ----------------------------------------------------------------------------------------------
# Mode seeking
# ----------------------------------------------------------------------------------------------


def test_mode_seeking_is_the_mean_inverse_ratio_over_adjacent_pairs():
    rng = np.random.default_rng(3)
    images, latents = rng.normal(size=(6, 2, 3, 1)), rng.normal(size=(6, 4))
    expected = np.mean([
        1.0 / (np.mean(np.abs(images[i] - images[i + 1]))
               / np.mean(np.abs(latents[i] - latents[i + 1])) + 1e-5)
        for i in (0, 2, 4)])
    got = jax.jit(losses.mode_seeking_loss)(_f32(images), _f32(latents))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_mode_seeking_costs_a_collapsed_pair_most_and_pushes_it_apart():
    # Pair 0 is two copies of one image, pair 1 two different images.
    images = _f32([[0.2, 0.2], [0.2, 0.2], [1.0, -1.0], [-1.0, 1.0]])
    latents = _f32([[0.0], [1.0], [0.0], [1.0]])
    np.testing.assert_allclose(jax.jit(losses.mode_seeking_loss)(images, latents),
                               (1 / 1e-5 + 1 / (2.0 + 1e-5)) / 2, rtol=1e-6)
    perturbed = jnp.asarray(images).at[0, 0].add(1e-3)
    grad = jax.grad(losses.mode_seeking_loss)(perturbed, latents)
    # Gradient descent moves the collapsed pair's images away from each other.
    assert grad[0, 0] < 0 < grad[1, 0]
    assert np.abs(grad[0, 0]) > 1e3 * np.abs(grad[2, 0])


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------

_OK = np.zeros(4, np.float32)
_BATCH = np.zeros((4, 3), np.float32)
_KEY = jax.random.key(0)


@pytest.mark.parametrize('loss, args, name, shape', [
    (losses.minimax_discriminator_loss, (np.zeros((4, 2)), _OK), 'real_logits', (4, 2)),
    (losses.minimax_discriminator_loss, (np.float32(0.0), _OK), 'real_logits', ()),
    (losses.wasserstein_discriminator_loss, (_OK, np.zeros((4, 1, 1))), 'fake_logits',
     (4, 1, 1)),
    (losses.hinge_discriminator_loss, (_OK, np.zeros(0)), 'fake_logits', (0,)),
    (losses.least_squares_discriminator_loss, (np.zeros((1, 4)), _OK), 'real_logits', (1, 4)),
    (losses.relativistic_average_discriminator_loss, (_OK, np.zeros((4, 4))), 'fake_logits',
     (4, 4)),
    (losses.relativistic_average_generator_loss, (np.zeros((4, 2)), _OK), 'real_logits',
     (4, 2)),
    # The pairing losses need fake_logits of real_logits' shape (their own test checks more).
    (losses.relativistic_pairing_discriminator_loss, (_OK, np.zeros(5)), 'fake_logits', (5,)),
    (losses.relativistic_pairing_discriminator_loss, (np.zeros((4, 2)), np.zeros((4, 2))),
     'real_logits', (4, 2)),
    (losses.relativistic_pairing_generator_loss, (_OK, np.zeros((4, 1))), 'fake_logits',
     (4, 1)),
    (losses.relativistic_pairing_generator_loss, (np.zeros(0), np.zeros(0)), 'real_logits',
     (0,)),
    (losses.minimax_generator_loss, (np.zeros((4, 3)),), 'fake_logits', (4, 3)),
    (losses.non_saturating_generator_loss, (np.zeros((2, 1, 2)),), 'fake_logits', (2, 1, 2)),
    (losses.wasserstein_generator_loss, (np.zeros((4, 2)),), 'fake_logits', (4, 2)),
    (losses.hinge_generator_loss, (np.zeros((4, 2)),), 'fake_logits', (4, 2)),
    (losses.least_squares_generator_loss, (np.zeros((4, 2)),), 'fake_logits', (4, 2)),
    (losses.auxiliary_classifier_loss, (_OK, np.zeros(4, np.int32)), 'class_logits', (4,)),
    (losses.auxiliary_classifier_loss, (_BATCH, np.zeros(3, np.int32)), 'labels', (3,)),
    (losses.auxiliary_classifier_loss, (_BATCH, np.zeros((4, 1), np.int32)), 'labels',
     (4, 1)),
    (functools.partial(losses.gradient_penalty, _tanh_critic),
     (_BATCH, np.zeros((5, 3), np.float32), _KEY), 'fake', (5, 3)),
    (functools.partial(losses.gradient_penalty, _tanh_critic),
     (np.float32(0.0), np.float32(0.0), _KEY), 'real', ()),
    (functools.partial(losses.gradient_penalty, lambda x: x),
     (_BATCH, _BATCH, _KEY), 'critic_fn output', (4, 3)),
    (functools.partial(losses.dragan_penalty, lambda x: jnp.sum(x)),
     (_BATCH, _KEY), 'critic_fn output', ()),
    (functools.partial(losses.r1_penalty, lambda x: x[:2, 0]), (_BATCH,), 'critic_fn output',
     (2,)),
    (functools.partial(losses.r2_penalty, _tanh_critic), (np.zeros((0, 3)),), 'fake', (0, 3)),
    (losses.gaussian_kl, (_BATCH, np.zeros((4, 2))), 'log_var', (4, 2)),
    (losses.gaussian_kl, (_OK, _OK), 'mean', (4,)),
    (losses.bernoulli_reconstruction_loss, (_BATCH, np.zeros((4, 3, 1))), 'x', (4, 3, 1)),
    (losses.gaussian_reconstruction_loss, (_OK, _OK), 'x_hat', (4,)),
    (losses.beta_vae_loss, (_OK, np.float32(1.0)), 'recon_loss', (4,)),
    (losses.beta_vae_loss, (np.float32(1.0), _OK), 'kl', (4,)),
    (losses.mode_seeking_loss, (np.zeros((3, 2)), np.zeros((3, 2))), 'images', (3, 2)),
    (losses.mode_seeking_loss, (_OK, np.zeros((4, 2))), 'images', (4,)),
    (losses.mode_seeking_loss, (_BATCH, np.zeros((2, 2))), 'latents', (2, 2)),
    (losses.mode_seeking_loss, (_BATCH, _OK), 'latents', (4,)),
])
def test_bad_shapes_raise_at_trace_time(loss, args, name, shape):
    with pytest.raises(ValueError, match=re.escape(name)) as error:
        jax.jit(loss)(*args)
    assert f'got shape {shape}' in str(error.value)


def test_float_labels_are_rejected():
    with pytest.raises(ValueError, match='labels must have an integer dtype'):
        jax.jit(losses.auxiliary_classifier_loss)(_BATCH, _OK)


@pytest.mark.parametrize('call, name', [
    (lambda: losses.minimax_discriminator_loss(_OK, _OK, label_smoothing=1.0),
     'label_smoothing'),
    (lambda: losses.minimax_discriminator_loss(_OK, _OK, label_smoothing=-0.1),
     'label_smoothing'),
    (lambda: losses.gradient_penalty(_tanh_critic, _BATCH, _BATCH, _KEY, target=0.0), 'target'),
    (lambda: losses.dragan_penalty(_tanh_critic, _BATCH, _KEY, target=-1.0), 'target'),
    (lambda: losses.dragan_penalty(_tanh_critic, _BATCH, _KEY, perturbation_scale=0.0),
     'perturbation_scale'),
    (lambda: losses.clip_weights({'w': _OK}, clip_value=0.0), 'clip_value'),
    (lambda: losses.beta_vae_loss(1.0, 1.0, beta=-1.0), 'beta'),
    (lambda: losses.mode_seeking_loss(_BATCH, _BATCH, eps=0.0), 'eps'),
])
def test_bad_hyperparameters_raise(call, name):
    with pytest.raises(ValueError, match=re.escape(name)):
        call()
