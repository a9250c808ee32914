"""Tests of how a setup samples: standing statistics (``ganjax.models.standing_statistics``)
and the BatchNorm modes of ``GANSetup.sampling_variables`` / ``generate``."""
import dataclasses

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import defaults
from experiments.configs import toy2d as toy2d_config
from ganjax import errors
from ganjax.evaluation import mode_collapse
from ganjax.models import standing_statistics
from ganjax.train import setup as setup_lib


class TwoBatchNorms(nn.Module):
    """Dense → BN → Dense → BN(axis over the middle) on (B, 3, 4) inputs."""

    @nn.compact
    def __call__(self, z, labels=None, *, train: bool):
        del labels
        h = nn.BatchNorm(use_running_average=not train)(nn.Dense(4)(z) * 3.0 + 1.0)
        return nn.BatchNorm(use_running_average=not train, axis=1)(nn.Dense(5)(h))


def _init(module, z):
    return module.init(jax.random.key(0), z, train=False)


def test_first_layer_statistics_are_exact_population_moments_over_chunks():
    model = TwoBatchNorms()
    z = jax.random.normal(jax.random.key(1), (64, 3, 4))
    params = _init(model, z)['params']
    stats = standing_statistics.standing_statistics(model, params, z, chunks=4)['batch_stats']
    dense = params['Dense_0']
    inputs = (np.asarray(z, np.float64) @ np.asarray(dense['kernel'], np.float64)
              + np.asarray(dense['bias'], np.float64)) * 3.0 + 1.0
    np.testing.assert_allclose(stats['BatchNorm_0']['mean'], inputs.mean((0, 1)), rtol=1e-5)
    np.testing.assert_allclose(stats['BatchNorm_0']['var'], inputs.var((0, 1)), rtol=1e-4)


def test_one_chunk_equals_the_batch_statistics_flax_computes():
    model = TwoBatchNorms()
    z = jax.random.normal(jax.random.key(2), (32, 3, 4))
    variables = _init(model, z)
    stats = standing_statistics.standing_statistics(model, variables['params'], z,
                                                    chunks=1)['batch_stats']
    # Flax's running average from zeros after one step is (1 − momentum) × batch statistic.
    zeros = jax.tree.map(jnp.zeros_like, variables['batch_stats'])
    _, updated = model.apply({'params': variables['params'], 'batch_stats': zeros}, z,
                             train=True, mutable=['batch_stats'])
    flax_stats = jax.tree.map(lambda v: v / 0.01, updated['batch_stats'])
    assert jax.tree.structure(stats) == jax.tree.structure(flax_stats)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                 stats, flax_stats)
    assert stats['BatchNorm_1']['mean'].shape == (3,)  # the layer's own feature axis


def test_latents_must_split_into_chunks():
    model = TwoBatchNorms()
    z = jnp.zeros((10, 3, 4))
    with pytest.raises(ValueError, match='10 latents do not split into 4 chunks'):
        standing_statistics.standing_statistics(model, _init(model, z)['params'], z, chunks=4)


def make_setup(batch_norm, model='mlp', **sampling):
    config = defaults.gan_config(dataset='mnist', model=model, total_steps=10)
    config.sampling.batch_norm = batch_norm
    config.sampling.update(sampling)
    return setup_lib.make_setup(config, (28, 28, 1), 10)


def trained_looking_state(setup):
    """A state whose EMA parameters, raw parameters and running statistics all differ."""
    state = setup.init_state(jax.random.key(0))
    noise = lambda tree, seed: jax.tree.map(  # noqa: E731
        lambda x: x + 0.1 * jax.random.normal(jax.random.key(seed), x.shape), tree)
    return state.replace(g_params=noise(state.g_params, 1), ema_params=noise(state.ema_params, 2),
                         g_state=noise(state.g_state, 3))


def test_running_mode_samples_with_the_trained_running_averages():
    setup = make_setup('running')
    state = trained_looking_state(setup)
    variables = setup.sampling_variables(state, True)
    assert variables['params'] is state.ema_params
    assert variables['batch_stats'] is state.g_state['batch_stats']


def test_standing_statistics_change_the_statistics_of_the_chosen_parameters_only():
    setup = make_setup('standing', standing_batches=2, standing_batch_size=64)
    state = trained_looking_state(setup)
    ema, raw = (jax.jit(setup.sampling_variables, static_argnums=1)(state, use_ema)
                for use_ema in (True, False))
    chex.assert_trees_all_equal(ema['params'], state.ema_params)
    chex.assert_trees_all_equal(raw['params'], state.g_params)
    assert jax.tree.structure(ema['batch_stats']) == jax.tree.structure(
        state.g_state['batch_stats'])
    # Each generator gets the statistics of its own parameters, not the running ones.
    z = jax.random.normal(jax.random.key(20190928), (128, setup.latent_dim))
    for variables, params in ((ema, state.ema_params), (raw, state.g_params)):
        expected = standing_statistics.standing_statistics(setup.generator, params, z, chunks=2)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                     variables['batch_stats'], expected['batch_stats'])
    assert not np.allclose(ema['batch_stats']['BatchNorm_0']['mean'],
                           raw['batch_stats']['BatchNorm_0']['mean'])
    assert not np.allclose(ema['batch_stats']['BatchNorm_0']['mean'],
                           state.g_state['batch_stats']['BatchNorm_0']['mean'])


def test_standing_statistics_draw_a_learned_priors_codes():
    # An InfoGAN G with a learned prior π: its standing statistics are those of codes
    # drawn from π (all code 3 for a one-hot π), as its samples are; without one, of the
    # classes cycled.
    config = toy2d_config.get_config('ring,recipe,smoke')
    setup = mode_collapse.make_setup(config)
    state = trained_looking_state(setup)
    assert state.code_prior is not None and state.g_state
    one_hot = jnp.zeros(setup.num_classes).at[3].set(1.0)
    sampling = setup.sampling
    num = sampling.standing_batches * sampling.standing_batch_size
    z = jax.random.normal(jax.random.key(20190928), (num, setup.latent_dim))

    def standing(labels):
        return standing_statistics.standing_statistics(
            setup.generator, state.ema_params, z, labels,
            chunks=sampling.standing_batches)['batch_stats']
    chex.assert_trees_all_close(
        setup.sampling_variables(state.replace(code_prior=one_hot))['batch_stats'],
        standing(jnp.full((num,), 3, jnp.int32)), rtol=1e-6, atol=1e-7)
    chex.assert_trees_all_close(
        setup.sampling_variables(state.replace(code_prior=None))['batch_stats'],
        standing(jnp.arange(num, dtype=jnp.int32) % setup.num_classes), rtol=1e-6, atol=1e-7)


def test_batch_mode_normalises_each_call_by_its_own_batch():
    setup = make_setup('batch')
    state = trained_looking_state(setup)
    z = jax.random.normal(jax.random.key(4), (16, setup.latent_dim))
    samples = setup.sample(state, z)
    expected = setup.generator.apply({'params': state.ema_params}, z, None, train=True,
                                     mutable=['batch_stats'])[0]
    np.testing.assert_allclose(samples, expected, rtol=1e-6)
    # A sample depends on the rest of its batch in this mode.
    assert not np.allclose(setup.sample(state, z[:8]), samples[:8], atol=1e-4)


def test_a_generator_without_batch_norm_samples_alike_in_every_mode():
    samples = []
    for batch_norm in setup_lib.BATCH_NORM_MODES:
        config = defaults.gan_config(dataset='mnist', model='mlp', total_steps=10)
        config.model.generator.batch_norm_from = 99  # no hidden layer has BatchNorm
        config.sampling.batch_norm = batch_norm
        setup = setup_lib.make_setup(config, (28, 28, 1), 10)
        state = setup.init_state(jax.random.key(0))
        assert not state.g_state
        samples.append(setup.sample(state, jax.random.normal(jax.random.key(5), (4, 100))))
    np.testing.assert_array_equal(samples[0], samples[1])
    np.testing.assert_array_equal(samples[0], samples[2])


@pytest.mark.parametrize('sampling,key', [
    (dict(batch_norm='population'), 'sampling.batch_norm'),
    (dict(standing_batches=0), 'sampling.standing_batches'),
    (dict(standing_batch_size=-3), 'sampling.standing_batch_size'),
    (dict(standing_batch=8), 'sampling'),
])
def test_validate_names_the_bad_sampling_key(sampling, key):
    config = defaults.gan_config(dataset='mnist', model='mlp', total_steps=10)
    config.sampling.update(sampling)
    with pytest.raises(errors.ConfigError, match=f'config.{key} must'):
        setup_lib.validate(config, (28, 28, 1), 10)


def test_configs_without_a_sampling_section_use_the_defaults():
    config = defaults.gan_config(dataset='mnist', model='mlp', total_steps=10)
    del config['sampling']
    setup_lib.validate(config, (28, 28, 1), 10)
    assert setup_lib.make_setup(config, (28, 28, 1), 10).sampling == setup_lib.SamplingConfig()
    assert dataclasses.asdict(setup_lib.SamplingConfig()) == dict(
        defaults.gan_config(dataset='mnist', model='mlp', total_steps=10).sampling)
