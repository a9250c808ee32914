"""Tests for ganjax.train.optimizers: schedules with warm-up, β2 schedules, validation."""
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from experiments.configs import defaults
from ganjax import errors
from ganjax.train import optimizers


def section(**overrides):
    opt = defaults.adam(1e-3, b1=0.0, b2=0.99)
    opt.update(overrides)
    return opt


@pytest.mark.parametrize('schedule,expected', [
    ('constant', [0.0, 5e-4, 1e-3, 1e-3, 1e-3]),
    ('cosine', [0.0, 5e-4, 1e-3, 5e-4, 0.0]),
    ('linear_decay', [0.0, 5e-4, 1e-3, 5e-4, 0.0]),
])
def test_warmup_then_schedule(schedule, expected):
    # 20 updates: 10 of linear warm-up, then the schedule over the 10 left.
    lr = optimizers.learning_rate_schedule(section(schedule=schedule, warmup_steps=10), 20)
    np.testing.assert_allclose([float(lr(t)) for t in (0, 5, 10, 15, 20)], expected,
                               rtol=1e-6, atol=1e-12)


def test_no_warmup_is_the_plain_schedule():
    lr = optimizers.learning_rate_schedule(section(schedule='cosine'), 20)
    plain = optax.cosine_decay_schedule(1e-3, 20)
    np.testing.assert_allclose([float(lr(t)) for t in range(21)],
                               [float(plain(t)) for t in range(21)])


def test_b2_schedule_moves_beta2_linearly_over_the_run():
    tx = optimizers.make_optimizer(section(b2_final=0.999), num_updates=10)
    params = {'w': jnp.ones(3)}
    state = tx.init(params)
    used = []  # the state records the β2 its last update used
    for _ in range(10):
        _, state = tx.update({'w': jnp.ones(3)}, state, params)
        used.append(float(state.hyperparams['b2']))
    np.testing.assert_allclose(used, np.linspace(0.99, 0.999, 11)[:10], rtol=1e-6)


def test_constant_b2_keeps_plain_adam_state():
    # Checkpoints of runs without a β2 schedule keep optax.adam's state layout.
    state = optimizers.make_optimizer(section(), 10).init({'w': jnp.ones(3)})
    assert not hasattr(state, 'hyperparams')


@pytest.mark.parametrize('overrides,key', [
    (dict(learning_rate=float('inf')), 'optimizer.g.learning_rate'),
    (dict(learning_rate=0.0), 'optimizer.g.learning_rate'),
    (dict(warmup_steps=-1), 'optimizer.g.warmup_steps'),
    (dict(b2_final=1.0), 'optimizer.g.b2_final'),
    (dict(b1=1.0), 'optimizer.g.b1'),
])
def test_validate_names_the_bad_key(overrides, key):
    config = ml_collections.ConfigDict(dict(optimizer=dict(g=section(**overrides))))
    with pytest.raises(errors.ConfigError, match=f'config.{key} must'):
        optimizers.validate(config, 'optimizer.g')
