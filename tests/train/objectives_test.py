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


def quadratic_critic(x):
    """D(x) = Σ x², so ∇D(x) = 2x and ‖∇D(x)‖² = 4‖x‖²: the penalties in closed form."""
    return jax.numpy.sum(x ** 2, axis=1)


def test_no_penalty_is_an_empty_list():
    assert objectives.make_penalties(loss_config()) == []


def test_classic_penalty_and_sections_are_all_made():
    penalties = ml_collections.ConfigDict(objectives.default_penalties())
    penalties.r1.weight, penalties.r2.weight = 5.0, 5.0
    penalties.r2.every = 4
    made = objectives.make_penalties(loss_config(penalty='gradient_penalty', penalty_weight=10.0,
                                                 penalties=penalties))
    assert [(p.name, p.metric, p.weight, p.every) for p in made] == [
        ('gradient_penalty', 'penalty', 10.0, 1), ('r1', 'penalty_r1', 5.0, 1),
        ('r2', 'penalty_r2', 5.0, 4)]


def test_r1_and_r2_of_a_quadratic_critic_match_the_closed_form():
    real = np.array([[1.0, 2.0], [0.0, -1.0]], np.float32)
    fake = np.array([[3.0, 0.0], [1.0, 1.0]], np.float32)
    key = jax.random.key(0)
    r1 = objectives.PENALTIES['r1'](quadratic_critic, real, fake, key)
    r2 = objectives.PENALTIES['r2'](quadratic_critic, real, fake, key)
    np.testing.assert_allclose(r1, np.mean(4 * np.sum(real ** 2, axis=1)), rtol=1e-6)
    np.testing.assert_allclose(r2, np.mean(4 * np.sum(fake ** 2, axis=1)), rtol=1e-6)
    # R3GAN: (γ/2)·(E‖∇D(x)‖² + E‖∇D(G(z))‖²) with both weights γ/2.
    gamma = 3.0
    np.testing.assert_allclose(gamma / 2 * (r1 + r2), gamma / 2 * (4 * 3.0 + 4 * 5.5),
                               rtol=1e-6)


@pytest.mark.parametrize('name', sorted(objectives.PENALTIES))
def test_every_penalty_is_the_losses_function(name):
    real = np.ones((3, 2), np.float32)
    fake = np.zeros((3, 2), np.float32)
    key = jax.random.key(0)
    expected = {
        'gradient_penalty': lambda: losses.gradient_penalty(quadratic_critic, real, fake, key),
        'r1': lambda: losses.r1_penalty(quadratic_critic, real),
        'r2': lambda: losses.r2_penalty(quadratic_critic, fake),
        'dragan': lambda: losses.dragan_penalty(quadratic_critic, real, key),
    }[name]()
    np.testing.assert_allclose(objectives.PENALTIES[name](quadratic_critic, real, fake, key),
                               expected, rtol=1e-6)


def test_cosine_schedule_decays_to_the_final_fraction():
    penalty = objectives.ScheduledPenalty('r1', objectives.PENALTIES['r1'], 2.0, 'cosine',
                                          final_fraction=0.1)
    weights = [float(penalty.weight_at(jax.numpy.asarray(t), 100)) for t in (0, 50, 100, 150)]
    np.testing.assert_allclose(weights, [2.0, 2.0 * (0.1 + 0.9 * 0.5), 0.2, 0.2], rtol=1e-6)
    constant = objectives.ScheduledPenalty('r1', objectives.PENALTIES['r1'], 2.0)
    assert float(constant.weight_at(jax.numpy.asarray(70), 100)) == 2.0


def test_lazy_penalty_is_due_every_kth_update():
    lazy = objectives.ScheduledPenalty('r1', objectives.PENALTIES['r1'], 1.0, every=4)
    assert [bool(lazy.is_due(jax.numpy.asarray(u))) for u in range(9)] == [
        True, False, False, False, True, False, False, False, True]


@pytest.mark.parametrize('overrides,key', [
    (dict(name='nonsaturating'), 'loss.name'),
    (dict(penalty='r3'), 'loss.penalty'),
    (dict(penalty_weight=-1.0), 'loss.penalty_weight'),
    (dict(penalty_weight=float('inf')), 'loss.penalty_weight'),
    (dict(label_smoothing=1.0), 'loss.label_smoothing'),
    (dict(n_critic=0), 'loss.n_critic'),
    (dict(unroll_steps=-1), 'loss.unroll_steps'),
    (dict(mode_seeking_weight=-0.1), 'loss.mode_seeking_weight'),
    (dict(mode_seeking_weight=float('nan')), 'loss.mode_seeking_weight'),
    (dict(penalties=dict(r3=dict(weight=1.0, schedule='constant', final_fraction=1.0,
                                 every=1))), 'loss.penalties.r3'),
    (dict(penalties=dict(r1=dict(weight=float('inf'), schedule='constant',
                                 final_fraction=1.0, every=1))), 'loss.penalties.r1.weight'),
    # A config file's typo: one error line, not math.isfinite's TypeError.
    (dict(penalties=dict(r1=dict(weight='0.1', schedule='constant', final_fraction=1.0,
                                 every=1))), 'loss.penalties.r1.weight'),
    (dict(penalties=dict(r1=dict(weight=1.0, schedule='linear', final_fraction=1.0,
                                 every=1))), 'loss.penalties.r1.schedule'),
    (dict(penalties=dict(r1=dict(weight=1.0, schedule='cosine', final_fraction=1.5,
                                 every=1))), 'loss.penalties.r1.final_fraction'),
    (dict(penalties=dict(r1=dict(weight=1.0, schedule='cosine', final_fraction=0.5,
                                 every=0))), 'loss.penalties.r1.every'),
])
def test_validate_names_the_bad_key(overrides, key):
    config = ml_collections.ConfigDict(dict(loss=loss_config(**overrides)))
    with pytest.raises(errors.ConfigError, match=f'config.{key} must'):
        objectives.validate(config)


def test_mode_seeking_needs_an_even_batch():
    config = ml_collections.ConfigDict(dict(loss=loss_config(mode_seeking_weight=0.1),
                                            batch_size=63))
    with pytest.raises(errors.ConfigError, match="config.batch_size must be even with "
                       "loss.mode_seeking_weight > 0 .G's batch is made of pairs., got 63"):
        objectives.validate(config)
    config.batch_size = 64
    objectives.validate(config)


def test_unknown_names_are_errors_when_built():
    with pytest.raises(ValueError, match='loss.name'):
        objectives.make_objective(loss_config('nonsaturating'))
    with pytest.raises(ValueError, match='loss.penalty'):
        objectives.make_penalties(loss_config(penalty='r3'))
