"""The prior of G's code learned by EM (``ganjax.train.code_prior``), in the train step
and in the 2-D benchmarks' samples, and the prior fixed at the data's label shares."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import mnist_cgan
from experiments.configs import mnist_dcgan
from experiments.configs import toy2d as toy2d_config
from ganjax import errors
from ganjax.data import mixtures
from ganjax.evaluation import mode_collapse
from ganjax.harness import validation
from ganjax.train import code_prior
from ganjax.train import multiseed
from ganjax.train import setup as setup_lib

NUM_CODES = 5


def coded_config(packing=1, rule='em', start=0.0, rate=0.25):
    """The ring's smoke config with G's InfoGAN code (5 values) and the prior's rule."""
    config = toy2d_config.get_config('ring,gan,smoke')
    config.model.conditional, config.model.num_codes = True, NUM_CODES
    config.model.discriminator.update(conditioning='auxiliary', packing=packing)
    config.loss.auxiliary_on_real, config.loss.auxiliary_weight = False, 1.0
    config.code_prior.update(rule=rule, start=start, rate=rate)
    return config


def first_step(config):
    """Seed 0's setup, initial state and batch, and the state after one train step."""
    mode_collapse.validate(config)
    setup = mode_collapse.make_setup(config)
    key = multiseed.seed_keys([0])[0]
    state, train_set = multiseed.init_run(setup, mixtures.ring(), config.num_train, key)
    index = jax.random.randint(jax.random.fold_in(jax.random.fold_in(key, 2), 0),
                               (1, config.batch_size), 0, train_set.shape[0])
    after, _ = jax.jit(setup.train_step)(state, {'image': train_set[index]})
    return setup, state, train_set[index][0], after


@pytest.mark.parametrize('packing', [1, 2])
def test_em_moves_the_prior_toward_the_real_batchs_mean_code_posterior(packing):
    config = coded_config(packing)
    setup, state, real, after = first_step(config)
    np.testing.assert_allclose(state.code_prior, np.full(NUM_CODES, 1 / NUM_CODES))
    # D's head before its update, on the step's real batch: the E-step. (This D has
    # no dropout, BatchNorm or spectral norm: train and eval mode agree.)
    _, class_logits = setup.discriminator.apply({'params': state.d_params}, real, None,
                                                train=False)
    posterior = np.mean(jax.nn.softmax(np.reshape(class_logits, (-1, NUM_CODES))), axis=0)
    assert posterior.shape == (NUM_CODES,) and not np.allclose(posterior, 1 / NUM_CODES)
    np.testing.assert_allclose(after.code_prior, 0.75 / NUM_CODES + 0.25 * posterior,
                               rtol=1e-5)
    assert float(jnp.sum(after.code_prior)) == pytest.approx(1.0, abs=1e-6)


def test_the_prior_stays_uniform_before_start_and_is_none_when_not_learned():
    config = coded_config(start=0.5)  # 20 steps: EM from step 10
    assert np.allclose(first_step(config)[-1].code_prior, 1 / NUM_CODES)
    assert first_step(coded_config(rule='uniform'))[-1].code_prior is None


def test_codes_are_drawn_from_the_prior():
    key = jax.random.key(3)
    prior = jnp.array([0.0, 0.7, 0.0, 0.3, 0.0])
    counts = np.bincount(code_prior.sample(key, prior, (20_000,), NUM_CODES), minlength=5)
    np.testing.assert_allclose(counts / 20_000, prior, atol=0.01)
    assert counts[[0, 2, 4]].sum() == 0  # an emptied code is never drawn
    uniform = code_prior.sample(key, None, (7,), NUM_CODES)
    np.testing.assert_array_equal(uniform, jax.random.randint(key, (7,), 0, NUM_CODES))


def test_a_code_at_probability_zero_is_never_drawn_even_for_u_within_rounding_of_one():
    # π's prefix sums over 100 codes often round below 1 (float32): normalised by the sum,
    # u just under 1 fell past the end, to index K: no code (G's flax Embed gives NaN).
    priors = jax.random.uniform(jax.random.key(0), (50, 100)).at[:, -3:].set(0.0)
    priors = priors / jnp.sum(priors, axis=1, keepdims=True)
    largest_below_one = jnp.nextafter(jnp.float32(1), jnp.float32(0))
    codes = jax.vmap(lambda p: code_prior._invert(p, largest_below_one))(priors)
    np.testing.assert_array_equal(codes, 96)
    # And u = 0 skips leading empty codes (``side='right'``).
    assert int(code_prior._invert(jnp.array([0.0, 0.0, 1.0]), jnp.float32(0))) == 2


def test_the_cumulative_distribution_is_flat_over_empty_codes_and_monotone():
    # XLA's tree-shaped prefix sums repeat a sum at an empty code to within a bit, and can
    # dip, over 1,000 codes on CPU: a one-bit share would let a code at π_c = 0 be drawn.
    keys = jax.random.split(jax.random.key(1))
    priors = jax.random.uniform(keys[0], (20, 1000))
    priors = jnp.where(jax.random.uniform(keys[1], priors.shape) < 0.3, 0.0, priors)
    priors = priors.at[:, :2].set(0.0)  # leading empty codes
    cdf = np.asarray(jax.vmap(code_prior.cumulative)(priors))
    empty = np.asarray(priors[:, 1:] == 0)
    np.testing.assert_array_equal(cdf[:, 1:][empty], cdf[:, :-1][empty])
    assert np.all(np.diff(cdf, axis=1) >= 0)
    np.testing.assert_array_equal(cdf[:, :2], 0.0)
    np.testing.assert_array_equal(cdf[:, -1], 1.0)


def test_stratified_codes_follow_the_prior_without_noise():
    # Quantiles 1/16, 3/16, …, 15/16 of π's cumulative distribution (0.5, 0.5, 0.75, 1).
    prior = jnp.array([0.5, 0.0, 0.25, 0.25])
    np.testing.assert_array_equal(code_prior.stratified(prior, 8, 4), [0, 0, 0, 0, 2, 2, 3, 3])
    # An unnormalised π (a float32 running average) counts as its normalised self.
    np.testing.assert_array_equal(code_prior.stratified(prior * 0.999, 8, 4),
                                  [0, 0, 0, 0, 2, 2, 3, 3])
    np.testing.assert_array_equal(code_prior.stratified(None, 6, 4), [0, 1, 2, 3, 0, 1])


def test_spread_codes_are_the_stratified_ones_shuffled_or_cycled_without_a_prior():
    prior, key = jnp.array([0.5, 0.0, 0.25, 0.25]), jax.random.key(1)
    spread = np.asarray(code_prior.spread(prior, 400, 4, key))
    np.testing.assert_array_equal(np.sort(spread), code_prior.stratified(prior, 400, 4))
    # Shuffled: the first 100 hold more than code 0 (sorted, they would be all 0s).
    assert set(spread[:100].tolist()) == {0, 2, 3}
    np.testing.assert_array_equal(code_prior.spread(prior, 400, 4, key), spread)
    np.testing.assert_array_equal(code_prior.spread(None, 6, 4, key), [0, 1, 2, 3, 0, 1])


def test_the_data_rule_fixes_the_prior_at_the_label_shares():
    config = mnist_dcgan.get_config('clusters,smoke')
    config.code_prior.rule = 'data'
    validation.validate(config, num_devices=1)
    prior = code_prior.CodePrior.from_config(config)
    assert not prior.learned  # no EM: π never moves
    shares = np.arange(1, 51) / np.arange(1, 51).sum()
    np.testing.assert_allclose(prior.initial(50, shares), shares, rtol=1e-6)
    # Without the shares, a template of the right shape for a checkpoint to replace.
    np.testing.assert_allclose(prior.initial(50), np.full(50, 0.02))
    setup = setup_lib.make_setup(config, (28, 28, 1), 50)
    state = setup.init_state(jax.random.key(0), shares)
    batch = {'image': jnp.zeros((setup.updates_per_step, config.batch_size, 28, 28, 1)),
             'label': jnp.zeros((setup.updates_per_step, config.batch_size), jnp.int32)}
    after, _ = jax.jit(setup.train_step)(state, batch)
    np.testing.assert_array_equal(after.code_prior, state.code_prior)


@pytest.mark.parametrize('variant', ['infogan', 'unconditional', 'toy2d'])
def test_the_data_rule_needs_labels_of_stored_images(variant):
    if variant == 'toy2d':  # no data labels: the 2-D mixtures' points have none
        config = coded_config(rule='data')
        check = mode_collapse.validate
    else:
        config = mnist_dcgan.get_config('infogan,smoke')
        if variant == 'unconditional':
            config.model.conditional = False
            config.model.discriminator.conditioning = 'none'
            config.loss.auxiliary_on_real = True
        config.code_prior.rule = 'data'
        check = functools.partial(validation.validate, num_devices=1)
    with pytest.raises(errors.ConfigError, match="code_prior.rule must be 'data' only for"):
        check(config)


def test_the_benchmarks_samples_draw_their_codes_from_the_learned_prior():
    config = coded_config()
    setup, _, _, state = first_step(config)
    key = multiseed.seed_keys([0])[0]
    one_code = state.replace(code_prior=jnp.eye(NUM_CODES)[2])
    z = jax.random.normal(jax.random.fold_in(key, 3), (6, setup.latent_dim))
    np.testing.assert_array_equal(
        multiseed.sample_run(setup, one_code, key, 6, use_ema=False),
        setup.sample(one_code, z, jnp.full((6,), 2), use_ema=False))


def test_the_rate_and_start_can_be_swept_in_one_program():
    config = coded_config()
    config.sweep.key, config.sweep.values = 'code_prior.rate', (0.1, 0.5)
    mode_collapse.validate(config)  # traces the program at a traced rate


@pytest.mark.parametrize('key,value,message', [
    ('rule', 'learned', 'code_prior.rule'), ('rate', 0.0, 'code_prior.rate'),
    ('rate', 1.5, 'code_prior.rate'), ('start', 1.0, 'code_prior.start'),
    ('typo', 1, 'code_prior')])
def test_a_bad_prior_names_its_key(key, value, message):
    config = coded_config()
    with config.code_prior.unlocked():
        config.code_prior[key] = value
    with pytest.raises(errors.ConfigError, match=message):
        mode_collapse.validate(config)


def test_em_needs_an_infogan_code():
    config = toy2d_config.get_config('ring,gan,smoke')
    config.code_prior.rule = 'em'
    with pytest.raises(errors.ConfigError, match="code_prior.rule must be 'uniform' unless"):
        mode_collapse.validate(config)


def test_image_experiments_refuse_a_learned_prior():
    config = mnist_dcgan.get_config('infogan,smoke')
    config.code_prior.rule = 'em'
    with pytest.raises(errors.ConfigError, match='image experiments'):
        validation.validate(config, num_devices=1)


def test_only_the_datas_classes_are_scored_as_labels():
    classes = mnist_cgan.get_config()
    assert code_prior.labels_are_classes(classes)
    clustered = mnist_cgan.get_config()
    clustered.data.clusters = 50  # k-means clusters of the pixels, no labels
    infogan = mnist_cgan.get_config()
    infogan.model.discriminator.conditioning, infogan.loss.auxiliary_on_real = 'auxiliary', False
    for config in (clustered, infogan):
        assert not code_prior.labels_are_classes(config)
