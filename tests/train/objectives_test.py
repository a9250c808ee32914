"""Tests for ganjax.train.objectives: every name maps to its ganjax.losses formulas in
the one (real_logits, fake_logits) shape, options are bound, unknown names are errors."""
import jax
import ml_collections
import numpy as np
import pytest

from ganjax import errors
from ganjax import losses
from ganjax.train import objectives

REAL = np.array([0.3, -1.2, 2.0, 0.7], np.float32)
FAKE = np.array([-0.4, 0.9, -2.5, 0.1], np.float32)
OTHER_REAL = np.array([5.0, 4.0, -3.0, 1.0], np.float32)

# name → (D loss, G loss) computed directly from ganjax.losses.
EXPECTED = {
    'non_saturating': (lambda r, f: losses.minimax_discriminator_loss(r, f),
                       lambda r, f: losses.non_saturating_generator_loss(f)),
    'minimax': (lambda r, f: losses.minimax_discriminator_loss(r, f),
                lambda r, f: losses.minimax_generator_loss(f)),
    'wasserstein': (losses.wasserstein_discriminator_loss,
                    lambda r, f: losses.wasserstein_generator_loss(f)),
    'hinge': (losses.hinge_discriminator_loss, lambda r, f: losses.hinge_generator_loss(f)),
    'least_squares': (losses.least_squares_discriminator_loss,
                      lambda r, f: losses.least_squares_generator_loss(f)),
    'relativistic_average': (losses.relativistic_average_discriminator_loss,
                             losses.relativistic_average_generator_loss),
    'relativistic_pairing': (losses.relativistic_pairing_discriminator_loss,
                             losses.relativistic_pairing_generator_loss),
}


def loss_config(name='non_saturating', **overrides):
    return ml_collections.ConfigDict(dict(
        dict(name=name, label_smoothing=0.0, penalty='none', penalty_weight=0.0,
             n_critic=1), **overrides))


def test_every_registered_objective_is_tested():
    assert set(objectives.OBJECTIVES) == set(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_objective_computes_its_losses(name):
    objective = objectives.make_objective(loss_config(name))
    want_d, want_g = EXPECTED[name]
    np.testing.assert_allclose(jax.jit(objective.discriminator_loss)(REAL, FAKE),
                               want_d(REAL, FAKE), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(objective.generator_loss)(REAL, FAKE),
                               want_g(REAL, FAKE), rtol=1e-6)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_generator_reads_real_says_whether_real_logits_matter(name):
    objective = objectives.make_objective(loss_config(name))
    changed = not np.isclose(objective.generator_loss(REAL, FAKE),
                             objective.generator_loss(OTHER_REAL, FAKE))
    assert changed == objective.generator_reads_real


def test_label_smoothing_is_bound_when_built():
    smoothed = objectives.make_objective(loss_config(label_smoothing=0.1))
    np.testing.assert_allclose(
        smoothed.discriminator_loss(REAL, FAKE),
        losses.minimax_discriminator_loss(REAL, FAKE, label_smoothing=0.1), rtol=1e-6)
    assert not np.isclose(smoothed.discriminator_loss(REAL, FAKE),
                          losses.minimax_discriminator_loss(REAL, FAKE))


def test_penalties():
    assert objectives.make_penalty(loss_config(penalty='none')) is None

    def critic(x):
        return jax.numpy.sum(x ** 2, axis=1)
    real, fake = np.ones((3, 2), np.float32), np.zeros((3, 2), np.float32)
    key = jax.random.key(0)
    np.testing.assert_allclose(
        objectives.make_penalty(loss_config(penalty='r1'))(critic, real, fake, key),
        losses.r1_penalty(critic, real))
    np.testing.assert_allclose(
        objectives.make_penalty(loss_config(penalty='gradient_penalty'))(critic, real, fake,
                                                                         key),
        losses.gradient_penalty(critic, real, fake, key))


@pytest.mark.parametrize('overrides,key', [
    (dict(name='nonsaturating'), 'loss.name'),
    (dict(penalty='r3'), 'loss.penalty'),
    (dict(penalty_weight=-1.0), 'loss.penalty_weight'),
    (dict(label_smoothing=1.0), 'loss.label_smoothing'),
    (dict(n_critic=0), 'loss.n_critic'),
])
def test_validate_names_the_bad_key(overrides, key):
    config = ml_collections.ConfigDict(dict(loss=loss_config(**overrides)))
    with pytest.raises(errors.ConfigError, match=f'config.{key} must'):
        objectives.validate(config)


def test_unknown_names_are_errors_when_built():
    with pytest.raises(ValueError, match='loss.name'):
        objectives.make_objective(loss_config('nonsaturating'))
    with pytest.raises(ValueError, match='loss.penalty'):
        objectives.make_penalty(loss_config(penalty='r3'))
