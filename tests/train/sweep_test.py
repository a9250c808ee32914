"""A config key swept inside one vmapped program (``ganjax.train.sweep``), and the 2-D
benchmark's results of a sweep."""
import chex
import jax
import numpy as np
import pytest

from experiments.configs import toy2d as toy2d_config
from experiments.support import tables
from ganjax import errors
from ganjax.data import mixtures
from ganjax.evaluation import mode_collapse
from ganjax.train import multiseed
from ganjax.train import setup as setup_lib
from ganjax.train import sweep


def swept_config(key, values, variant='gan'):
    config = toy2d_config.get_config(f'ring,{variant},smoke')
    config.sweep.key, config.sweep.values = key, values
    return config


@pytest.mark.parametrize('key,values', [
    ('optimizer.d.learning_rate', (1e-3, 3e-2)), ('loss.penalties.r1.weight', (0.0, 5.0)),
    ('optimizer.g.learning_rate, optimizer.d.learning_rate', (1e-3, 3e-2))])
def test_each_swept_run_is_the_run_of_the_config_at_its_value(key, values):
    # Compared over two steps (SGD), while float32 rounding is all that may differ: see
    # mode_collapse_test's vmapped-seeds test. A traced value is a multiply XLA cannot
    # fold, so sums round differently: atol is one float32 ulp of parameters near 1.
    config = swept_config(key, values)
    config.total_steps = config.chunk_steps = 2
    # Narrow networks: the comparison holds at any width, and they compile faster.
    config.model.generator.hidden, config.model.discriminator.hidden = 32, 16
    for opt in (config.optimizer.g, config.optimizer.d):
        opt.name, opt.learning_rate = 'sgd', 1e-3
    mode_collapse.validate(config)
    mixture, seeds = mixtures.ring(), [3, 7]
    train = dict(batch_size=config.batch_size, total_steps=2, num_train=config.num_train,
                 chunk_steps=2)
    together, _, _ = multiseed.train(
        lambda value: setup_lib.make_setup(sweep.with_value(config, value), (2,), 0),
        mixture, seeds * 2, values=[v for v in values for _ in seeds], **train)
    for index, value in enumerate(values):
        alone, _, _ = multiseed.train(
            multiseed.fixed(setup_lib.make_setup(sweep.with_value(config, value), (2,), 0)),
            mixture, seeds, **train)
        for name in ('g_params', 'd_params', 'g_state'):
            runs = jax.tree.map(lambda x, index=index: x[2 * index:2 * index + 2],
                                getattr(together, name))
            chex.assert_trees_all_close(runs, getattr(alone, name), rtol=1e-5, atol=1.2e-7)
    # The values differ enough that the runs do: the sweep did not train one value twice.
    first, second = (jax.tree.leaves(jax.tree.map(lambda x, i=i: x[2 * i], together.d_params))
                     for i in range(2))
    assert any(not np.allclose(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize('key', ['model.generator.hidden', 'loss.n_critic',
                                 'model.discriminator.pieces'])
def test_a_key_that_shapes_the_program_is_refused_in_one_line(key):
    config = swept_config(key, (2, 4))
    with pytest.raises(errors.ConfigError, match=f"sweep.key='{key}' cannot be swept") as e:
        mode_collapse.validate(config)
    assert '\n' not in str(e.value)


@pytest.mark.parametrize('key,values,match', [
    ('optimizer.d.nope', (1.0,), 'optimizer.d.nope is missing'),
    # Read by the run, not the step: every value would have trained the same runs.
    ('num_train', (10, 1000), "sweep.key must name keys under .*got 'num_train'"),
    ('first_seed', (0, 5), "sweep.key must name keys under .*got 'first_seed'"),
    ('total_steps', (2, 4), "sweep.key must name keys under .*got 'total_steps'"),
    ('optimizer.d.learning_rate,num_samples', (1.0,), "got 'num_samples'"),
    ('loss.name', (1.0,), 'sweep.key must name numeric config keys'),
    ('optimizer.d.learning_rate,loss.name', (1.0,), "must name numeric config keys, got 'loss"),
    ('optimizer.d.learning_rate', (), 'sweep.values must be a non-empty tuple'),
    ('optimizer.d.learning_rate', (1e-3, float('nan')), 'sweep.values must be'),
    ('optimizer.d.learning_rate', (1e-3, -1.0), 'optimizer.d.learning_rate must be finite'),
])
def test_bad_sweeps_name_the_key(key, values, match):
    with pytest.raises(errors.ConfigError, match=match):
        mode_collapse.validate(swept_config(key, values))


def test_sweep_results_hold_each_value_and_its_seeds(tmp_path):
    config = swept_config('optimizer.g.learning_rate', (1e-4, 1e-3), variant='best')
    command = ('python -m experiments.toy2d --config=toy2d.py:ring,best,smoke '
               '--config.sweep.key=optimizer.g.learning_rate --config.sweep.values=(1e-4,1e-3) '
               '--config.num_seeds=2 --config.ema_decay=0.99 --workdir=/tmp/x')
    results = mode_collapse.run(config, str(tmp_path), command=command)
    samples = np.load(tmp_path / 'samples.npy')
    assert samples.shape == (2, 2, config.num_samples, 2)
    assert results['sweep'] == {'key': 'optimizer.g.learning_rate', 'values': [1e-4, 1e-3]}
    assert 'mean' not in results
    for group, points in zip(results['by_value'], samples):
        assert [r['seed'] for r in group['per_seed']] == [0, 1]
        for r, seed_points in zip(group['per_seed'], points):
            assert r['high_quality'] == mixtures.mode_coverage(
                seed_points, mixtures.ring()).high_quality
        assert group['mean']['modes'] == pytest.approx(
            np.mean([r['modes'] for r in group['per_seed']]))
        assert set(group['by_batch_norm']) == set(setup_lib.BATCH_NORM_MODES)
    assert not np.allclose(samples[0], samples[1])
    # The ablation table: a row per value, labelled by the command's other overrides and
    # the value.
    rows = tables.ablation_table([results]).splitlines()[2:]
    assert len(rows) == 2
    for row, group in zip(rows, results['by_value']):
        assert row.startswith(f"| best | ema_decay=0.99, optimizer.g.learning_rate="
                              f"{group['value']:g} | {group['mean']['modes']:.1f} ± ")
        assert "| 2 (0–1) × 20 | " in row
        assert f"min (all values), {results['cpu'].split(',')[0]} |" in row
