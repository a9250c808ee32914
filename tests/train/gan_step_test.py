"""Tests of the adversarial train step and its jit / pmap compilation."""
import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.configs import defaults
from experiments.configs import mnist_vae
from ganjax import errors
from ganjax import losses
from ganjax.train import gan_step
from ganjax.train import parallel
from ganjax.train import setup as setup_lib

import run_helpers

DATA_SHAPE = (28, 28, 1)


def make_config(model='mlp', loss='non_saturating', n_critic=1, conditional=False,
                conditioning='none', penalty='none', dropout_rate=0.0, ema_decay=0.5):
    config = defaults.gan_config(dataset='mnist', model=model, total_steps=10)
    config.batch_size = 8
    if model == 'dcgan28':  # a quarter of the tutorial's widths: the same layers, 1/16 the FLOPs
        config.model.generator.base_features = config.model.discriminator.base_features = 16
    config.model.conditional = conditional
    config.model.discriminator.conditioning = conditioning
    config.model.discriminator.dropout_rate = dropout_rate
    config.loss.name = loss
    config.loss.n_critic = n_critic
    config.loss.penalty = penalty
    config.loss.penalty_weight = 10.0 if penalty != 'none' else 0.0
    config.ema_decay = ema_decay
    return config


def sgd_config(**overrides):
    config = make_config(**overrides)
    for opt in (config.optimizer.g, config.optimizer.d):
        opt.name, opt.learning_rate = 'sgd', 0.05
    return config


def make_batch(config, seed=0, num_classes=10):
    rng = np.random.default_rng(seed)
    shape = (config.loss.n_critic, config.batch_size)
    return {'image': rng.uniform(-1, 1, (*shape, *DATA_SHAPE)).astype(np.float32),
            'label': rng.integers(0, num_classes, shape).astype(np.int32)}


def run_steps(config, num_steps=1, setup=None):
    setup = setup or setup_lib.make_setup(config, DATA_SHAPE, 10)
    state = setup.init_state(jax.random.key(0))
    step = jax.jit(setup.train_step)
    history = [state]
    for i in range(num_steps):
        state, metrics = step(state, make_batch(config, seed=i))
        history.append(state)
    return history, metrics


def tree_equal(a, b):
    return all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.array_equal(x, y)), a, b)))


@pytest.mark.parametrize('model,loss,conditional,conditioning,penalty', [
    ('mlp', 'non_saturating', False, 'none', 'none'),
    ('mlp', 'minimax', False, 'none', 'none'),
    ('dcgan28', 'wasserstein', False, 'none', 'gradient_penalty'),
    ('mlp', 'hinge', True, 'projection', 'none'),
    ('mlp', 'least_squares', True, 'auxiliary', 'none'),
    ('mlp', 'relativistic_average', False, 'none', 'r1'),
    ('mlp', 'relativistic_pairing', False, 'none', 'r1'),
])
def test_one_step_updates_both_networks_and_stays_finite(model, loss, conditional,
                                                         conditioning, penalty):
    config = make_config(model, loss, conditional=conditional, conditioning=conditioning,
                         penalty=penalty, dropout_rate=0.3)
    (before, after), metrics = run_steps(config)
    assert not tree_equal(before.g_params, after.g_params)
    assert not tree_equal(before.d_params, after.d_params)
    assert int(after.step) == 1
    chex.assert_tree_all_finite((after.g_params, after.d_params, after.ema_params, metrics))
    expected = {'d_loss', 'g_loss', 'd_real', 'd_fake', 'penalty', 'd_grad_norm',
                'g_grad_norm'}
    if conditioning == 'auxiliary':
        expected |= {'d_aux_loss', 'g_aux_loss'}
    assert set(metrics) == expected
    for value in metrics.values():
        chex.assert_shape(value, ())
    if penalty != 'none':
        assert float(metrics['penalty']) > 0


@pytest.mark.parametrize('on_real', [True, False])
def test_infogan_code_never_reads_the_data_labels(on_real):
    # ACGAN's class head learns the data's labels and G's; with auxiliary_on_real=False
    # (InfoGAN's categorical code) only G's, so relabelling the real batch changes nothing.
    config = make_config(conditional=True, conditioning='auxiliary')
    config.loss.auxiliary_on_real = on_real
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    state = setup.init_state(jax.random.key(0))
    step = jax.jit(setup.train_step)
    batch = make_batch(config)
    relabelled = dict(batch, label=(batch['label'] + 1) % 10)
    (after, metrics), (after_relabelled, _) = step(state, batch), step(state, relabelled)
    assert tree_equal(after.d_params, after_relabelled.d_params) == (not on_real)
    assert tree_equal(after.g_params, after_relabelled.g_params) == (not on_real)
    assert float(metrics['d_aux_loss']) > 0


def test_factorized_code_is_read_by_a_head_per_factor():
    # A code of 10 × 10 read back digit by digit: D's class head has 10 + 10 logits, and
    # its loss is the sum of the two digits' cross-entropies.
    config = make_config(conditional=True, conditioning='auxiliary')
    config.model.discriminator.class_factors = (10, 10)
    config.loss.auxiliary_on_real = False
    setup = setup_lib.make_setup(config, DATA_SHAPE, 100)
    state = setup.init_state(jax.random.key(0))
    assert state.d_params['DiscriminatorHead_0']['class_logits']['kernel'].shape[-1] == 20
    after, metrics = jax.jit(setup.train_step)(state, make_batch(config, num_classes=100))
    chex.assert_tree_all_finite((after.d_params, metrics))
    assert float(metrics['d_aux_loss']) > 0


@pytest.mark.parametrize('network,conditioning,factors', [
    *((network, conditioning, factors) for network in ('generator', 'discriminator')
      for conditioning, factors in (('auxiliary', (10, 9)), ('none', (2, 5)),
                                    ('auxiliary', 10))),
    # A class head reads factors only as an auxiliary classifier.
    ('discriminator', 'projection', (10, 10))])
def test_class_factors_that_do_not_fit_are_a_config_error(network, conditioning, factors):
    config = make_config(conditional=conditioning != 'none', conditioning=conditioning)
    config.model[network].class_factors = factors
    with pytest.raises(errors.ConfigError, match=f'model.{network}.class_factors'):
        setup_lib.validate(config, DATA_SHAPE, 100)


@pytest.mark.parametrize('conditional,conditioning,on_real,needs', [
    (False, 'none', True, 'be None unless model.conditional is True'),
    (True, 'auxiliary', False, 'be None for an InfoGAN code'),
    # A projection head cannot leave the real labels out: that, not the clusters, is said.
    (True, 'projection', False, None),
])
def test_clusters_without_a_model_that_reads_them_are_a_config_error(conditional,
                                                                    conditioning, on_real,
                                                                    needs):
    config = make_config(conditional=conditional, conditioning=conditioning)
    config.loss.auxiliary_on_real = on_real
    config.data.clusters = 20
    with pytest.raises(errors.ConfigError, match=f'config.data.clusters must {needs}' if needs
                       else 'config.loss.auxiliary_on_real must be True'):
        setup_lib.validate(config, DATA_SHAPE, 20)
    if needs:
        config.data.clusters = None
        setup_lib.validate(config, DATA_SHAPE, 20)


def test_a_vae_refuses_clusters():
    config = mnist_vae.get_config()
    config.data.clusters = 10
    with pytest.raises(errors.ConfigError, match='config.data.clusters must be None for a VAE'):
        setup_lib.validate(config, DATA_SHAPE, 10)


@pytest.mark.parametrize('key,value', [('half_life_kimg', 0.0), ('half_life_kimg', -1.0),
                                       ('rampup', float('nan')), ('rampup', float('inf'))])
def test_a_bad_ema_horizon_is_a_config_error(key, value):
    config = sgd_config()
    config.ema[key] = value
    with pytest.raises(errors.ConfigError, match=f'ema.{key} must be None or a finite'):
        setup_lib.validate(config, DATA_SHAPE, 100)


def test_discriminator_update_leaves_generator_untouched():
    config = make_config()
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    # With G's optimizer zeroing its updates, any change to G would come from D's update.
    frozen_g = dataclasses.replace(
        setup, g_tx=optax.set_to_zero(), train_step=gan_step.make_gan_train_step(
            setup.generator, setup.discriminator, optax.set_to_zero(), setup.d_tx, config.loss,
            latent_dim=config.model.latent_dim, ema_decay=config.ema_decay))
    (before, after), _ = run_steps(config, setup=frozen_g)
    assert tree_equal(before.g_params, after.g_params)
    assert not tree_equal(before.d_params, after.d_params)


@pytest.mark.parametrize('n_critic', [1, 3])
@pytest.mark.parametrize('d_frozen', [True, False])
def test_generator_update_sees_the_last_critic_updates_fakes(n_critic, d_frozen):
    # WGAN: g_loss = −mean D(G(z)) and d_fake = mean D(G(z_n)) for the last critic
    # update's fakes. With D's optimizer zeroing its updates (and no dropout), they are
    # negatives exactly when G's update reuses those fakes; with D learning, they are
    # not, because G's update is against the updated D.
    config = make_config(loss='wasserstein', n_critic=n_critic)
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    d_tx = optax.set_to_zero() if d_frozen else setup.d_tx
    setup = dataclasses.replace(setup, d_tx=d_tx, train_step=gan_step.make_gan_train_step(
        setup.generator, setup.discriminator, setup.g_tx, d_tx, config.loss,
        latent_dim=config.model.latent_dim, ema_decay=config.ema_decay))
    state = setup.init_state(jax.random.key(0))
    step = jax.jit(setup.train_step)
    batch = make_batch(config)
    _, metrics = step(state, batch)
    g_loss, last_d_fake = float(metrics['g_loss']), float(metrics['d_fake'])
    assert (abs(g_loss + last_d_fake) <= 1e-6 * max(1.0, abs(g_loss))) == d_frozen


@pytest.mark.parametrize('n_critic', [1, 3])
def test_n_critic_discriminator_updates_per_generator_update(n_critic):
    config = make_config(n_critic=n_critic)
    (_, after), _ = run_steps(config)
    # optax.adam's state counts the updates it has applied.
    assert int(after.d_opt_state[0].count) == n_critic
    assert int(after.g_opt_state[0].count) == 1


@pytest.mark.parametrize('step,decay,expected', [
    (0, 0.999, 0.1), (90, 0.999, 0.91), (10_000, 0.999, 0.999), (5, 0.0, 0.0)])
def test_ema_warmup_schedule(step, decay, expected):
    assert float(gan_step.ema_decay_at(jnp.asarray(step), decay)) == pytest.approx(expected)


@pytest.mark.parametrize('decay', [0.0, 0.05, 0.999])
def test_ema_is_exponential_moving_average_of_generator(decay):
    config = make_config(ema_decay=decay)
    (before, after), _ = run_steps(config)
    effective = min(decay, 1 / 10)  # warm-up at step 0: min(β, (1 + 0)/(10 + 0))
    expected = jax.tree.map(lambda ema, new: effective * ema + (1 - effective) * new,
                            before.ema_params, after.g_params)
    chex.assert_trees_all_close(after.ema_params, expected, rtol=1e-6, atol=1e-7)
    if decay == 0.0:
        assert tree_equal(after.ema_params, after.g_params)


def test_step_does_not_retrace():
    config = make_config()
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    step = jax.jit(chex.assert_max_traces(setup.train_step, n=1), donate_argnums=0)
    state = setup.init_state(jax.random.key(0))
    for i in range(3):
        state, _ = step(state, make_batch(config, seed=i))
    assert int(state.step) == 3


def test_steps_draw_fresh_randomness_from_step_counter():
    config = make_config()
    history, _ = run_steps(config, num_steps=2)
    # Same base key, different steps: the derived keys differ, the base key does not.
    assert tree_equal(history[0].rng, history[2].rng)
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    state = setup.init_state(jax.random.key(0))
    step = jax.jit(setup.train_step)
    batch = make_batch(config)
    _, m0 = step(state, batch)
    _, m1 = step(state.replace(step=state.step + 1), batch)
    assert float(m0['g_loss']) != float(m1['g_loss'])


def test_batch_with_wrong_critic_axis_is_rejected():
    config = make_config(n_critic=2)
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    state = setup.init_state(jax.random.key(0))
    bad = make_batch(make_config(n_critic=1))
    with pytest.raises(ValueError, match='n_critic'):
        jax.jit(setup.train_step)(state, bad)


def assert_pmap_equals_jit(config, num_steps):
    """pmap on 4 devices and jit on one give the same metrics and state, step by step.

    In float64: the two programs sum in different orders (per-device sums, then a
    cross-device mean; XLA:CPU also picks its convolution kernels by batch size), and in
    float32 that rounding, amplified by cancellations in gradients and BatchNorm
    variances, reached 1e-5 in parameters on some CPUs. In float64 it is ~1e-12, far
    below what a wrong or missing cross-device mean changes (~1e-2).
    """
    jit_setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    pmap_setup = setup_lib.make_setup(config, DATA_SHAPE, 10, axis_name=parallel.AXIS)
    with jax.enable_x64(True):
        jit_step = parallel.compile_jit(jit_setup.train_step)
        pmap_step = parallel.compile_pmap(pmap_setup.train_step)
        state = run_helpers.to_float64(jit_setup.init_state(jax.random.key(0)))
        # Each step starts both from the same state, so the two are compared step by
        # step instead of compounding.
        for i in range(num_steps):
            batch = run_helpers.to_float64(make_batch(config, seed=i))
            pmap_state, pmap_metrics = pmap_step(parallel.replicate(state),
                                                 parallel.split_batch(batch))
            state, jit_metrics = jit_step(state, batch)
            assert all(x.dtype == jnp.float64 for x in jax.tree.leaves(state.d_params))
            chex.assert_trees_all_close(parallel.unreplicate(pmap_metrics), jit_metrics,
                                        rtol=1e-9, atol=1e-10)
            got = parallel.unreplicate(pmap_state)
            for name in ('g_params', 'd_params', 'g_state', 'd_state', 'ema_params'):
                chex.assert_trees_all_close(getattr(got, name), getattr(state, name),
                                            rtol=1e-9, atol=1e-10)
    return jit_metrics


@pytest.mark.parametrize('model,n_critic,conditional', [
    ('mlp', 1, False), ('dcgan28', 2, True)])
def test_pmap_on_four_devices_equals_jit_on_one(model, n_critic, conditional):
    assert jax.local_device_count() == 4, 'tests/conftest.py fakes 4 CPU devices'
    # SGD, not Adam: Adam divides by √v, so a parameter whose exact gradient is zero
    # (a Dense bias feeding BatchNorm) takes lr-sized steps driven by rounding noise,
    # which differs between any two reduction orders.
    config = sgd_config(model=model, n_critic=n_critic, conditional=conditional,
                        conditioning='projection' if conditional else 'none')
    assert_pmap_equals_jit(config, num_steps=3)


def test_sharded_jit_on_four_devices_equals_jit_on_one():
    # The sharded program is the same computation on the global batch, dropout masks
    # included, partitioned by XLA: only the reduction order may differ.
    config = sgd_config(model='dcgan28', n_critic=2, conditional=True,  # SGD: see the pmap test
                        conditioning='projection', dropout_rate=0.3)
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    mesh = parallel.data_mesh()
    assert mesh.size == 4
    one_device = parallel.compile_jit(setup.train_step)
    four_devices = parallel.compile_jit(setup.train_step, mesh)
    for i in range(2):
        # Both from the same initial state (each donates its own copy), two batches.
        batch = make_batch(config, seed=i)
        got_state, got_metrics = four_devices(
            jax.device_put(setup.init_state(jax.random.key(0)), parallel.replicated(mesh)),
            parallel.global_batch(batch, mesh))
        assert got_metrics['d_loss'].sharding.is_fully_replicated
        state, metrics = one_device(setup.init_state(jax.random.key(0)), batch)
        chex.assert_trees_all_close(got_metrics, metrics, rtol=1e-4, atol=1e-5)
        for name in ('g_params', 'd_params', 'g_state', 'd_state', 'ema_params'):
            chex.assert_trees_all_close(getattr(got_state, name), getattr(state, name),
                                        rtol=1e-4, atol=1e-6)


# Objectives and stabilisers of the step: unrolling, DiffAugment, scheduled penalties.


def test_unroll_zero_is_the_plain_step():
    plain = sgd_config()
    del plain.loss['unroll_steps']  # a config from before the key existed
    want, want_metrics = run_steps(plain, num_steps=2)
    got, got_metrics = run_steps(sgd_config(), num_steps=2)
    assert tree_equal(got[-1], want[-1]) and tree_equal(got_metrics, want_metrics)


def test_unroll_one_equals_a_hand_unrolled_reference():
    config = sgd_config()
    config.loss.unroll_steps = 1
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    state = setup.init_state(jax.random.key(0))
    batch = make_batch(config)
    got, _ = jax.jit(setup.train_step)(state, batch)
    plain_setup = setup_lib.make_setup(sgd_config(), DATA_SHAPE, 10)
    plain, _ = jax.jit(plain_setup.train_step)(state, batch)
    # The real D advances by its one update, unrolled or not.
    chex.assert_trees_all_close(got.d_params, plain.d_params, rtol=1e-6, atol=1e-7)

    # By hand: the step's latents, G's fakes as a function of its parameters, one SGD
    # update of D on (last real batch, fakes), G's loss against that D.
    keys = jax.random.split(jax.random.fold_in(state.rng, state.step), 3)
    z = jax.random.normal(jax.random.split(keys[0])[0], (config.batch_size, 100))
    real = jnp.asarray(batch['image'][-1])

    def d_logits(d_params, x):
        return setup.discriminator.apply({'params': d_params}, x, None, train=True)[0]

    def g_objective(g_params):
        fakes = setup.generator.apply({'params': g_params, **state.g_state}, z, None,
                                      train=True, mutable=list(state.g_state))[0]
        d_grads = jax.grad(lambda d: losses.minimax_discriminator_loss(
            d_logits(d, real), d_logits(d, fakes)))(plain.d_params)
        unrolled = jax.tree.map(lambda p, g: p - 0.05 * g, plain.d_params, d_grads)
        return losses.non_saturating_generator_loss(d_logits(unrolled, fakes))
    want = jax.tree.map(lambda p, g: p - 0.05 * g, state.g_params,
                        jax.jit(jax.grad(g_objective))(state.g_params))
    chex.assert_trees_all_close(got.g_params, want, rtol=1e-4, atol=1e-6)
    # ... and it is not the plain step's G update.
    assert not tree_equal(got.g_params, plain.g_params)


def test_diff_augment_reaches_every_discriminator_input():
    plain = sgd_config(model='dcgan28')
    augmented = sgd_config(model='dcgan28')
    augmented.augment.policy = 'color,translation,cutout'
    (_, want), want_metrics = run_steps(plain)
    (_, got), got_metrics = run_steps(augmented)
    for name in ('d_real', 'd_fake', 'g_loss'):
        assert float(got_metrics[name]) != float(want_metrics[name]), name
    chex.assert_tree_all_finite((got.g_params, got.d_params, got_metrics))


def penalty_config(weight, every=1, schedule='constant'):
    config = sgd_config()
    config.loss.penalties.r1.update(weight=weight, every=every, schedule=schedule,
                                    final_fraction=0.5)
    return config


def test_lazy_penalty_is_weighted_by_its_interval_on_the_updates_it_runs():
    # Update 0 is due: weight w every 2nd update equals weight 2w on every update.
    (_, lazy), lazy_metrics = run_steps(penalty_config(1.0, every=2))
    (_, eager), _ = run_steps(penalty_config(2.0))
    chex.assert_trees_all_close(lazy.d_params, eager.d_params, rtol=1e-6, atol=1e-7)
    assert float(lazy_metrics['penalty_r1']) > 0
    # Update 1 is not due: no penalty, the same D update as without one.
    _, metrics = run_steps(penalty_config(1.0, every=2), num_steps=2)
    assert float(metrics['penalty_r1']) == 0.0
    assert float(metrics['penalty']) == 0.0  # the classic loss.penalty is off


@pytest.mark.parametrize('due', [True, False])
def test_lazy_value_is_the_same_under_cond_and_on_cpu(due):
    # On CPU the lazy penalty is computed and masked, elsewhere a lax.cond skips it; both
    # give value() and its gradient when due, and exact zeros otherwise.
    w = jnp.asarray([0.3, -1.2, 2.0])

    def lazy(w, on_cpu):
        return gan_step.lazy_value(jnp.asarray(due), lambda: jnp.sum(jnp.sin(w) ** 2), on_cpu)
    expected = jnp.sum(jnp.sin(w) ** 2) if due else 0.0
    expected_grad = jnp.sin(2 * w) if due else jnp.zeros(3)
    for on_cpu in (True, False):
        value, grad = jax.jit(jax.value_and_grad(lazy), static_argnums=1)(w, on_cpu)
        np.testing.assert_allclose(value, expected, rtol=1e-6)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=0)


def test_pmap_equals_jit_with_every_objective_option():
    config = sgd_config(model='dcgan28', loss='relativistic_pairing', n_critic=2)
    config.augment.policy = 'color,translation,cutout'
    config.loss.unroll_steps = 1
    config.loss.penalties.r1.update(weight=1.0, schedule='cosine', final_fraction=0.1)
    config.loss.penalties.r2.update(weight=1.0, every=2)
    jit_metrics = assert_pmap_equals_jit(config, num_steps=2)
    assert float(jit_metrics['penalty_r1']) > 0


def mode_seeking_config(weight=0.5, **overrides):
    config = sgd_config(model='mlp', conditional=True, conditioning='projection', **overrides)
    config.loss.mode_seeking_weight = weight
    return config


def test_mode_seeking_pairs_share_a_label():
    # With z's rows of G's first kernel zeroed, G's image depends on its label alone: every
    # pair of G's batch is then one image twice, and MSGAN's term is 1/ε for each pair.
    config = mode_seeking_config()
    setup = setup_lib.make_setup(config, DATA_SHAPE, 10)
    state = setup.init_state(jax.random.key(0))
    kernel = state.g_params['Dense_0']['kernel']
    state = state.replace(g_params={**state.g_params, 'Dense_0': {
        **state.g_params['Dense_0'], 'kernel': kernel.at[:config.model.latent_dim].set(0.0)}})
    for seed in range(3):  # three batches of labels
        _, metrics = jax.jit(setup.train_step)(state.replace(step=seed),
                                               make_batch(config, seed=seed))
        np.testing.assert_allclose(metrics['g_mode_seeking'], 1e5, rtol=1e-2)


def test_mode_seeking_changes_only_the_generator_update():
    # Same labels (paired in both), same D update; G's update gains w·∇L_ms.
    (_, plain), plain_metrics = run_steps(mode_seeking_config(weight=1e-12))
    (_, seeking), metrics = run_steps(mode_seeking_config(weight=1.0))
    chex.assert_trees_all_close(seeking.d_params, plain.d_params, rtol=1e-6, atol=1e-7)
    assert not tree_equal(seeking.g_params, plain.g_params)
    np.testing.assert_allclose(metrics['g_mode_seeking'], plain_metrics['g_mode_seeking'],
                               rtol=1e-6)
    assert float(metrics['g_mode_seeking']) > 0


def test_pmap_equals_jit_with_mode_seeking_pairs():
    # Batch 8 on 4 devices: each device forms one pair from its 2 examples.
    assert_pmap_equals_jit(mode_seeking_config(), num_steps=2)


def test_pmap_equals_jit_with_a_minibatch_stddev_discriminator():
    # Batch 8 on 4 devices: each device's 2 examples are one group, as in the global batch.
    config = sgd_config(model='dcgan28')
    config.model.discriminator.update(minibatch_std_group=2, batch_norm=True)
    assert_pmap_equals_jit(config, num_steps=2)


def test_half_life_ema_decay_halves_in_its_half_life():
    batch, kimg = 64, 0.64  # a half-life of 640 images = 10 steps of 64
    beta = float(gan_step.half_life_ema_decay_at(jnp.asarray(100), batch, kimg))
    np.testing.assert_allclose(beta ** 10, 0.5, rtol=1e-6)
    # Ramp-up: the horizon grows with the images seen (0.05 · 64 · t), capped at 640.
    ramped = [float(gan_step.half_life_ema_decay_at(jnp.asarray(t), batch, kimg, rampup=0.05))
              for t in (0, 100, 1000)]
    np.testing.assert_allclose(ramped, [0.0, 0.5 ** (64 / 320), beta], rtol=1e-6)


def test_step_uses_the_half_life_when_set():
    config = sgd_config(ema_decay=0.5)
    config.ema.half_life_kimg = 0.016  # 16 images: two steps of 8
    (before, after), _ = run_steps(config)
    beta = 0.5 ** (8 / 16)
    want = jax.tree.map(lambda ema, g: beta * ema + (1 - beta) * g, before.ema_params,
                        after.g_params)
    chex.assert_trees_all_close(after.ema_params, want, rtol=1e-6, atol=1e-7)
