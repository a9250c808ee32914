"""The shipped MNIST feature network: its files, its hash, its accuracy, its training."""
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import mnist_classifier
from experiments.configs import mnist_dcgan
from experiments.support import classifier_training
from ganjax import errors
from ganjax.data import datasets
from ganjax.data import pipeline
from ganjax.evaluation import feature_network


@pytest.fixture(scope='module')
def network():
    return feature_network.load()


def embedded(data_dir):
    config = datasets.default_config('mnist')
    config.source, config.data_dir = 'embedded', data_dir
    return config


def test_shipped_weights_match_their_record(network):
    with open(os.path.join(feature_network.WEIGHTS_DIR, 'mnist_classifier.json'),
              encoding='utf-8') as f:
        record = json.load(f)
    assert network.sha256 == record['sha256'] == feature_network.params_sha256(network.params)
    assert record['heldout_accuracy'] >= 0.97
    assert record['heldout_data'].endswith(':train[90%:]')
    assert record['train_data'].endswith(':train[:90%]')  # disjoint from the held-out digits
    assert network.protocol == dict(name='mnist_classifier', sha256=record['sha256'],
                                    heldout_accuracy=record['heldout_accuracy'])


def test_recorded_heldout_accuracy_is_reproduced(network, embedded_data_dir):
    heldout, _ = pipeline.load_examples(embedded(embedded_data_dir), 'train[90%:]')
    accuracy, per_class = classifier_training.accuracy(network.params, heldout['image'],
                                                       heldout['label'])
    assert accuracy == network.record['heldout_accuracy']
    np.testing.assert_allclose(per_class, network.record['heldout_accuracy_per_class'])


def test_logits_and_features_do_not_depend_on_batching(network, embedded_data_dir):
    examples, _ = pipeline.load_examples(embedded(embedded_data_dir), 'train[:501]')
    logits, features = network.logits_and_features(examples['image'])
    assert logits.shape == (501, 10) and features.shape == (501, 128)
    # The last image sits alone in a zero-padded chunk; computed in a full one it agrees.
    last_logits, last_features = network.logits_and_features(examples['image'][-2:])
    np.testing.assert_allclose(last_logits[-1], logits[-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(last_features[-1], features[-1], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r'\(N > 0, 28, 28, 1\)'):
        network.logits_and_features(examples['image'][:, :, :, 0])


def test_hash_sees_every_byte_and_a_tampered_file_is_refused(network, tmp_path):
    params = jax.tree.map(np.array, network.params)
    params['Dense_1']['bias'][3] = np.nextafter(params['Dense_1']['bias'][3], np.float32(1))
    assert feature_network.params_sha256(params) != network.sha256
    for name in ('mnist_classifier.npz', 'mnist_classifier.json'):
        shutil.copy(os.path.join(feature_network.WEIGHTS_DIR, name), tmp_path / name)
    arrays = dict(np.load(tmp_path / 'mnist_classifier.npz'))
    arrays['Dense_1/bias'] = params['Dense_1']['bias']
    np.savez(tmp_path / 'mnist_classifier.npz', **arrays)
    with pytest.raises(feature_network.WeightsError, match='does not match'):
        feature_network.load(str(tmp_path))
    with pytest.raises(feature_network.WeightsError, match='train_classifier'):
        feature_network.load(str(tmp_path / 'nowhere'))


def test_random_shift_moves_each_image_within_the_bound():
    images = jnp.full((16, 28, 28, 1), -1.0).at[:, 14, 14, 0].set(1.0)
    shifted = np.asarray(classifier_training.random_shift(jax.random.key(0), images, 2))
    assert shifted.shape == images.shape
    positions = [np.argwhere(image[..., 0] == 1.0) for image in shifted]
    assert all(len(p) == 1 and np.abs(p[0] - 14).max() <= 2 for p in positions)
    assert len({tuple(p[0]) for p in positions}) > 1  # not one shift for all
    assert np.all((shifted == 1.0) | (shifted == -1.0))  # filled with background
    np.testing.assert_array_equal(
        classifier_training.random_shift(jax.random.key(0), images, 0), images)


def test_training_writes_a_loadable_network_with_its_record(embedded_data_dir, tmp_path):
    config = mnist_classifier.get_config('smoke')
    config.data = embedded(embedded_data_dir)
    params, record = classifier_training.train(config)
    feature_network.save(params, record, str(tmp_path))
    loaded = feature_network.load(str(tmp_path))
    assert loaded.sha256 == feature_network.params_sha256(params)
    assert loaded.record['num_train'] == 4500 and loaded.record['num_heldout'] == 500
    assert 0.0 <= loaded.record['heldout_accuracy'] <= 1.0
    with np.load(tmp_path / 'mnist_classifier.npz', allow_pickle=False) as arrays:
        assert all(arrays[name].dtype == np.float32 for name in arrays.files)


@pytest.mark.parametrize('key,value,message', [
    ('epochs', 0, 'config.epochs must be a positive integer'),
    ('learning_rate', float('nan'), 'config.learning_rate must be finite and > 0'),
    ('weight_decay', -1e-4, 'config.weight_decay must be finite and >= 0'),
    ('max_shift', -1, 'config.max_shift must be an integer >= 0'),
    ('seed', -1, 'config.seed must be an integer >= 0'),
])
def test_a_bad_classifier_config_names_its_key(key, value, message):
    config = mnist_classifier.get_config('smoke')
    config[key] = value
    with pytest.raises(errors.ConfigError, match=message):
        classifier_training.train(config)


def test_a_gan_config_is_not_a_classifier_config():
    with pytest.raises(errors.ConfigError, match='config.epochs is missing'):
        classifier_training.validate(mnist_dcgan.get_config('smoke'))
    config = mnist_classifier.get_config('smoke')
    config.data.name = 'cifar10'
    with pytest.raises(errors.ConfigError, match="config.data.name must be 'mnist'"):
        classifier_training.validate(config)
    config = mnist_classifier.get_config('smoke')
    config.data.clusters = 10  # k-means clusters would replace the digits' labels
    with pytest.raises(errors.ConfigError, match='config.data.clusters must be None'):
        classifier_training.validate(config)
