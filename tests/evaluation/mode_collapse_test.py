"""The 2-D mixtures, their metric on hand-made samples, multi-seed training and the
toy2d benchmark run."""
import functools
import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import toy2d as toy2d_config
from experiments.support import tables
from ganjax import errors
from ganjax.data import mixtures
from ganjax.evaluation import mode_collapse
from ganjax.reporting import machine
from ganjax.train import multiseed
from ganjax.train import parallel
from ganjax.train import setup as setup_lib

import run_helpers


def test_ring_has_eight_distinct_modes_on_the_unit_circle():
    modes = mixtures.ring().modes
    assert modes.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 1.0)
    # Neighbours 2π/8 apart: no angle repeats (linspace over [0, 2π] would repeat 0).
    gaps = np.linalg.norm(modes - np.roll(modes, 1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 2 * np.sin(np.pi / 8))


def test_grid_is_five_by_five_at_even_coordinates():
    modes = mixtures.grid().modes
    assert modes.shape == (25, 2)
    assert sorted(map(tuple, modes.tolist())) == [
        (x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)]


@pytest.mark.parametrize('make', [mixtures.ring, mixtures.grid])
def test_samples_of_the_mixture_itself_score_perfectly(make):
    mixture = make()
    points = mixture.sample(jax.random.key(0), 2500)
    result = mixtures.mode_coverage(points, mixture)
    assert result.modes == len(mixture.modes)
    assert result.high_quality > 0.98  # P(‖N(0, I₂)‖ < 3) = 1 − e^{−4.5} ≈ 0.989
    assert result.kl < 0.02


def test_mode_coverage_on_hand_made_samples():
    mixture = mixtures.ring()  # std 0.01: high quality within 0.03 of a mode
    a, b = mixture.modes[0], mixture.modes[1]
    samples = np.array([
        a + [0.02, 0.0],        # high quality, mode 0
        a + [0.0, -0.029],      # high quality, mode 0
        b + [0.031, 0.0],       # nearest mode 1, but 3.1 stds away: not high quality
        (a + b) / 2,            # exactly between modes 0 and 1: far from both
        [0.0, 0.0],             # the centre, equidistant from all eight
    ])
    result = mixtures.mode_coverage(samples, mixture)
    assert result.modes == 1
    assert result.high_quality == pytest.approx(2 / 5)
    # All high-quality samples on one of 8 modes: KL(h ‖ u) = log 8.
    assert result.kl == pytest.approx(np.log(8))


def test_kl_of_a_balanced_histogram_is_zero_and_without_quality_is_nan():
    mixture = mixtures.grid()
    assert mixtures.mode_coverage(np.repeat(mixture.modes, 3, axis=0), mixture).kl == (
        pytest.approx(0.0, abs=1e-12))
    assert np.isnan(mixtures.mode_coverage(mixture.modes + 1.0, mixture).kl)


def smoke_config(variant='gan'):
    return toy2d_config.get_config(f'ring,{variant},smoke')


def coded_config(variant='gan'):
    """The smoke config with G's InfoGAN code (5 values, weight 0.5) and D's first-layer
    biases drawn from U(−1, 1)."""
    config = smoke_config(variant)
    config.model.conditional, config.model.num_codes = True, 5
    config.model.discriminator.update(conditioning='auxiliary', packing=1,
                                      input_bias_range=1.0)
    config.loss.auxiliary_weight, config.loss.auxiliary_on_real = 0.5, False
    return config


@pytest.mark.parametrize('option', ['plain', 'lazy_r1', 'coded'])
def test_vmapped_seeds_equal_separate_single_seed_runs(option):
    # Seed by seed, the vmapped, scanned program computes what the plain loop of that
    # seed computes: the same training set and initial state bit for bit, then the same
    # steps. The steps are compared in float64: in float32 the two programs' matrix
    # products round differently and a GAN amplifies that (ReLU units near 0 flip; with
    # the lazy R1 a BatchNorm running mean of ~1e-5 parted by 1.3e-8 within two steps on
    # a 2-core AMD EPYC Zen 4), while in float64 the rounding is ~1e-12, far below what a
    # wrong seed, key or step index changes. With a lazy R1 (every 2nd D update) the
    # shared step's penalty is due once in the two steps; with an InfoGAN code, D's
    # auxiliary head and G's code embedding train too.
    config = coded_config() if option == 'coded' else smoke_config()
    config.total_steps = 2
    if option == 'lazy_r1':
        config.loss.penalties.r1.weight, config.loss.penalties.r1.every = 1.0, 2
    # SGD, not Adam: Adam turns the rounding noise on exactly-zero gradients (a Dense
    # bias feeding BatchNorm) into lr-sized steps, differently for any two op orders.
    for opt in (config.optimizer.g, config.optimizer.d):
        opt.name, opt.learning_rate = 'sgd', 1e-3
    setup = setup_lib.make_setup(config, (2,), config.model.num_codes)
    mixture = mixtures.ring()
    keys = multiseed.seed_keys([3, 7])
    states, train_sets = jax.vmap(
        lambda key: multiseed.init_run(setup, mixture, config.num_train, key))(keys)
    states = states.replace(step=states.step[0])  # shared (multiseed.state_axes)
    alone = [multiseed.init_run(setup, mixture, config.num_train, key) for key in keys]
    for index, (state, train_set) in enumerate(alone):
        np.testing.assert_array_equal(train_set, train_sets[index])
        chex.assert_trees_all_equal(state.g_params, jax.tree.map(
            lambda x, index=index: x[index], states.g_params))
    with jax.enable_x64(True):
        run_chunk = multiseed.chunk_runner(multiseed.fixed(setup), config.batch_size,
                                           config.total_steps, multiseed.state_axes(states))
        together, _ = run_chunk(run_helpers.to_float64(states), run_helpers.to_float64(train_sets), keys, None, 0)
        assert all(x.dtype == jnp.float64 for x in jax.tree.leaves(together.g_params))
        for index, (state, train_set) in enumerate(alone):
            # Compiled as multiseed compiles its programs.
            step = parallel.jit(functools.partial(
                multiseed.run_step, setup, config.batch_size,
                train_set=run_helpers.to_float64(train_set), key=keys[index]))
            state = run_helpers.to_float64(state)
            for t in range(config.total_steps):
                state, _ = step(state, step=t)
            for name in ('g_params', 'd_params', 'g_state', 'd_state'):
                chex.assert_trees_all_close(
                    jax.tree.map(lambda x, index=index: x[index], getattr(together, name)),
                    getattr(state, name), rtol=1e-9, atol=1e-12)
    # The runs share one step counter (multiseed.state_axes).
    assert together.step.shape == () and int(together.step) == config.total_steps


def test_a_seeds_run_is_the_same_bits_among_other_seeds():
    # Seed 7 trained beside 3 and beside 5 and 9: the same program shapes but the run
    # axis, so the same kernels; Adam and BatchNorm as the benchmarks train.
    config = smoke_config()
    config.total_steps = config.chunk_steps = 3
    setup_of = multiseed.fixed(setup_lib.make_setup(config, (2,), 0))

    def runs(seeds):
        return multiseed.train(setup_of, mixtures.ring(), seeds, batch_size=config.batch_size,
                               total_steps=3, num_train=config.num_train, chunk_steps=3)[0]
    pair, triple = runs([3, 7]), runs([5, 7, 9])
    for name in ('g_params', 'd_params', 'g_state', 'ema_params'):
        chex.assert_trees_all_equal(jax.tree.map(lambda x: x[1], getattr(pair, name)),
                                    jax.tree.map(lambda x: x[1], getattr(triple, name)))


@pytest.mark.parametrize('variant', ['gan', 'pacgan2', 'wgan_gp', 'best', 'recipe'])
def test_benchmark_run_writes_samples_results_and_plot(tmp_path, variant):
    config = smoke_config(variant)
    results = mode_collapse.run(config, str(tmp_path), command='python -m experiments.toy2d')
    samples = np.load(tmp_path / 'samples.npy')
    assert samples.shape == (2, config.num_samples, 2)
    with open(tmp_path / 'results.json', encoding='utf-8') as f:  # strict JSON: NaN → null
        assert json.load(f) == json.loads(json.dumps(results).replace('NaN', 'null'))
    assert [r['seed'] for r in results['per_seed']] == [0, 1]
    for r, points in zip(results['per_seed'], samples):
        assert r['modes'] == mixtures.mode_coverage(points, mixtures.ring()).modes
    assert results['mean']['modes'] == pytest.approx(
        np.mean([r['modes'] for r in results['per_seed']]))
    # The samples use the config's BatchNorm mode; every mode is measured beside them.
    assert results['protocol']['batch_norm'] == 'standing'
    assert set(results['by_batch_norm']) == set(setup_lib.BATCH_NORM_MODES)
    assert results['by_batch_norm']['standing']['high_quality'] == pytest.approx(
        results['mean']['high_quality'])
    assert os.path.getsize(tmp_path / 'samples.png') > 0
    row = tables.results_table([results]).splitlines()[-1]
    assert row.startswith(f'| ring (8 modes) | {variant} | {results["mean"]["modes"]:.1f} ± ')
    # Beside Table 1's row of the same name, or its best one (PacGAN2 on the ring).
    paper = (('| 6.3 ± 0.5 (GAN) |', '| 98.2 ± 0.2 % |', '| 0.45 ± 0.09 |') if variant == 'gan'
             else ('| 7.9 ± 0.1 (PacGAN2) |', '| 95.6 ± 2.0 % |', '| 0.07 ± 0.03 |'))
    assert all(cell in row for cell in paper) and '| 2 (0–1) × 20 |' in row, row
    assert results['paper'] == mode_collapse.paper_row('ring', variant)
    assert ('| ema, standing |' if variant in ('best', 'recipe')
            else '| raw generator, standing |') in row
    by_mode = results['by_batch_norm']
    assert (' / '.join(f"{100 * by_mode[m]['high_quality']:.1f}"
                       for m in ('standing', 'running', 'batch')) + ' % |') in row
    # The runtime names the CPU it was measured on (without cores and extensions).
    assert results['cpu'] == machine.cpu_description()
    assert f"| {results['runtime_s'] / 60:.1f} min, {results['cpu'].split(',')[0]} |" in row


def test_a_coded_run_samples_uniform_codes_and_records_them(tmp_path):
    config = coded_config()
    results = mode_collapse.run(config, str(tmp_path), command='toy2d')
    assert results['protocol']['num_codes'] == 5
    samples = np.load(tmp_path / 'samples.npy')
    assert samples.shape == (2, config.num_samples, 2) and np.all(np.isfinite(samples))
    # The samples are G's at uniformly drawn codes (not cycled), from the seed's key.
    setup = setup_lib.make_setup(config, (2,), 5)
    state = setup.init_state(jax.random.key(0))
    key = multiseed.seed_keys([4])[0]
    z = jax.random.normal(jax.random.fold_in(key, 3), (200, 2))
    codes = jax.random.randint(jax.random.fold_in(key, 4), (200,), 0, 5)
    assert sorted(set(np.asarray(codes).tolist())) == [0, 1, 2, 3, 4]
    assert np.any(np.asarray(codes) != np.arange(200) % 5)
    np.testing.assert_array_equal(
        multiseed.sample_run(setup, state, key, 200, use_ema=False),
        setup.sample(state, z, codes, use_ema=False))
    # An untrained G already maps the codes apart: the codes reach its output.
    zero_codes = setup.sample(state, z, jnp.zeros_like(codes), use_ema=False)
    assert np.abs(np.asarray(zero_codes) - np.asarray(
        setup.sample(state, z, codes, use_ema=False))).max() > 1e-3


def test_mode_seeking_changes_only_each_seeds_generator_update():
    """MSGAN's term on the 2-D benchmarks (``loss.mode_seeking_weight``): one vmapped step
    from the same seeds leaves D's update as it is without the term, and changes G's."""
    states, metrics = {}, {}
    for weight in (0.0, 1.0):
        config = smoke_config()
        config.lock()  # as the entry point's: only a key the config has takes a value
        config.loss.mode_seeking_weight = weight
        setup = setup_lib.make_setup(config, (2,), 0)
        states[weight], metrics[weight], _ = multiseed.train(
            multiseed.fixed(setup), mixtures.ring(), [3, 7], batch_size=config.batch_size,
            total_steps=1, num_train=config.num_train, chunk_steps=1)
    chex.assert_trees_all_equal(states[0.0].d_params, states[1.0].d_params)
    for without, with_term in zip(jax.tree.leaves(states[0.0].g_params),
                                  jax.tree.leaves(states[1.0].g_params)):
        assert not np.array_equal(without, with_term)
    assert 'g_mode_seeking' in metrics[1.0] and 'g_mode_seeking' not in metrics[0.0]
    assert np.all(np.asarray(metrics[1.0]['g_mode_seeking']) > 0)


@pytest.mark.parametrize('key,value,message', [
    ('model.num_codes', 0, 'model.num_codes'),
    ('loss.auxiliary_on_real', True, 'loss.auxiliary_on_real'),
])
def test_bad_code_settings_name_the_key(key, value, message):
    config = coded_config()
    *parents, leaf = key.split('.')
    node = config
    for part in parents:
        node = node[part]
    node[leaf] = value
    with pytest.raises(errors.ConfigError, match=message):
        mode_collapse.validate(config)


def test_codes_without_a_conditional_model_are_refused():
    config = smoke_config()
    config.model.num_codes = 10
    with pytest.raises(errors.ConfigError, match='model.num_codes'):
        mode_collapse.validate(config)


def test_results_from_before_batch_norm_modes_read_as_running_averages(tmp_path):
    results = mode_collapse.run(smoke_config(), str(tmp_path), command='toy2d')
    del results['by_batch_norm'], results['protocol']['batch_norm'], results['cpu']
    row = tables.results_table([results]).splitlines()[-1]
    assert '| raw generator, running | — |' in row
    assert f"| {results['runtime_s'] / 60:.1f} min | `toy2d` |" in row  # CPU not recorded


@pytest.mark.parametrize('packing', [1, 2, 3, 4])
def test_paper_variants_follow_pacgans_protocol(packing):
    variant = 'paper_gan' if packing == 1 else f'paper_pacgan{packing}'
    config = toy2d_config.get_config(f'grid,{variant}')
    assert config.model.discriminator.packing == packing
    assert (config.model.generator.hidden, config.model.generator.depth) == (400, 4)
    assert (config.model.discriminator.hidden, config.model.discriminator.pieces) == (200, 5)
    for opt in (config.optimizer.g, config.optimizer.d):
        assert (opt.name, opt.learning_rate, opt.b1, opt.schedule) == ('adam', 1e-4, 0.8,
                                                                       'constant')
    # A batch is 100 packs, as in PacGAN's code: m × 100 samples.
    assert (config.batch_size, config.num_train, config.total_steps) == (
        100 * packing, 100_000, 400_000)
    assert config.model.latent_dim == 2 and not config.sample_from_ema
    # Its results stand beside the Table 1 row of its packing (grid: GAN 17.3 modes).
    row = mode_collapse.paper_row('grid', variant)
    assert row['row'] == ('GAN' if packing == 1 else f'PacGAN{packing}')
    assert row['modes'] == {1: 17.3, 2: 23.8, 3: 24.6, 4: 24.8}[packing]


def test_variants_outside_table_1_stand_beside_its_best_row():
    for variant in ('recipe', 'best', 'wgan_gp'):
        assert mode_collapse.paper_row('grid', variant)['row'] == 'PacGAN4'
        assert mode_collapse.paper_row('ring', variant)['row'] == 'PacGAN2'


@pytest.mark.parametrize('key,value', [('mixture', 'spiral'), ('chunk_steps', 3),
                                       ('num_seeds', 0), ('first_seed', -1),
                                       # the smoke config's 2 seeds would pass 2**32 - 1
                                       ('first_seed', 2 ** 32 - 1)])
def test_bad_toy_config_names_the_key(key, value):
    config = smoke_config()
    config[key] = value
    with pytest.raises(errors.ConfigError, match=key):
        mode_collapse.validate(config)


def test_an_unknown_generator_activation_names_the_key():
    config = smoke_config()
    config.model.generator.activation = 'swish'
    with pytest.raises(errors.ConfigError, match='model.generator.activation'):
        mode_collapse.validate(config)


def test_packing_with_a_gradient_penalty_is_rejected():
    config = smoke_config('wgan_gp')
    config.model.discriminator.packing = 2
    with pytest.raises(errors.ConfigError, match='packing'):
        mode_collapse.validate(config)
