"""The evaluation config (``config.eval``) and the metrics it can name, without TensorFlow.

``config.eval`` (``default_config()``): ``metrics`` (names below; empty: no periodic
evaluation), ``every_steps`` (0: only at the end), ``num_samples`` generated, ``num_real``
real digits of the MNIST reference, latent ``seed``, ``num_splits`` of the MNIST and
Inception scores, ``generators`` ('ema', 'raw'), ``cache_dir``; ``inception``: the
Inception metrics' ``weights`` (a path; None: the cache, ``ganjax.inception``),
``num_real`` real images whose feature statistics FID uses (streamed), the first
``num_real_features`` of them kept for KID, precision/recall and the real images' IS,
and ``batch_size`` (images per compiled call of the network); ``lpips``: ``net``
('alex' or 'vgg'), the ``backbone`` and ``heads`` weights (paths; None: the cache) and
``num_pairs``. What each metric computes is in ``ganjax.evaluation.evaluators``,
``ganjax.evaluation.inception_metrics`` and ``ganjax.evaluation.lpips_diversity``;
experiment configs import this module alone.
"""
import os
import re

from etils import epath
import ml_collections

from ganjax import errors
from ganjax import lpips
from ganjax.data import datasets
from ganjax.reporting import files

MNIST_METRICS = ('mnist_score', 'fid', 'kid', 'precision_recall', 'class_coverage')
STACKED_METRICS = ('stacked_modes',)
INCEPTION_METRICS = ('inception_fid', 'inception_score', 'inception_kid',
                     'inception_precision_recall')
LPIPS_METRICS = ('lpips_diversity',)
# What each dataset can be evaluated with; Stacked MNIST's real images are drawn, not
# stored, so it has no real statistics for the Inception metrics.
METRICS_BY_DATASET = {'mnist': MNIST_METRICS + INCEPTION_METRICS + LPIPS_METRICS,
                      'stacked_mnist': STACKED_METRICS + LPIPS_METRICS,
                      'cifar10': INCEPTION_METRICS + LPIPS_METRICS}
# What `experiments.evaluate` computes for a run that lists none: the Inception network
# is slow on a CPU (minutes per thousand images), so MNIST runs get MNIST's own network.
DEFAULT_METRICS = {'mnist': MNIST_METRICS, 'stacked_mnist': STACKED_METRICS,
                   'cifar10': INCEPTION_METRICS}
GENERATORS = ('ema', 'raw')
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
NEIGHBOURS = 3  # k of precision/recall, density/coverage and class coverage


def default_config() -> ml_collections.ConfigDict:
    """``config.eval``: no metrics (no periodic evaluation) until a config lists some."""
    return ml_collections.ConfigDict(dict(
        metrics=(), every_steps=0, num_samples=10_000, num_real=10_000, seed=0,
        num_splits=10, generators=GENERATORS,
        cache_dir=ml_collections.config_dict.placeholder(str),
        inception=default_inception_config(), lpips=default_lpips_config()))


def default_inception_config() -> ml_collections.ConfigDict:
    """``config.eval.inception``: FID statistics of 50,000 real images (all of CIFAR-10's
    training set, the usual reference), 10,000 of them kept for KID and precision/recall.
    """
    return ml_collections.ConfigDict(dict(
        weights=ml_collections.config_dict.placeholder(str), num_real=50_000,
        num_real_features=10_000, batch_size=100))


def inception_config(eval_config) -> ml_collections.ConfigDict:
    """``eval.inception``, or its defaults for a run saved before it existed."""
    return eval_config.get('inception') or default_inception_config()


def default_lpips_config() -> ml_collections.ConfigDict:
    """``config.eval.lpips``: LPIPS-AlexNet (the ``lpips`` package's default) over 1,000
    pairs of samples; ``backbone`` and ``heads``: paths of the weights (None: the cache)."""
    return ml_collections.ConfigDict(dict(
        net='alex', backbone=ml_collections.config_dict.placeholder(str),
        heads=ml_collections.config_dict.placeholder(str), num_pairs=1000))


def lpips_config(eval_config) -> ml_collections.ConfigDict:
    """``eval.lpips``, or its defaults for a run saved before it existed."""
    return eval_config.get('lpips') or default_lpips_config()


def validate(config) -> None:
    """Raises ``errors.ConfigError`` naming the first bad ``eval`` key."""
    eval_config = config.get('eval')
    if eval_config is None:
        return
    available = METRICS_BY_DATASET.get(config.data.name, ())
    metric_names = tuple(eval_config.metrics)
    unknown = [m for m in metric_names if m not in available]
    errors.require(not unknown, 'eval.metrics', metric_names,
                       f'list metrics of data.name={config.data.name!r}, one of {available}')
    every = eval_config.every_steps
    errors.require(isinstance(every, int) and every >= 0, 'eval.every_steps', every,
                       'be an integer >= 0 (0: evaluate only at the end)')
    for key in ('num_samples', 'num_real', 'num_splits'):
        errors.positive_int(config, f'eval.{key}')
    # The real reference is scored like the samples (its MNIST score, its neighbours).
    for key in ('num_samples', 'num_real'):
        count = eval_config[key]
        errors.require(count >= eval_config.num_splits, f'eval.{key}', count,
                       f'be at least eval.num_splits={eval_config.num_splits}')
        errors.require(count > NEIGHBOURS, f'eval.{key}', count, f'be more than {NEIGHBOURS}')
    generators = tuple(eval_config.generators)
    errors.require(generators and set(generators) <= set(GENERATORS), 'eval.generators',
                       generators, f'be a non-empty subset of {GENERATORS}')
    if eval_config.get('inception') is not None:
        for key in ('num_real', 'num_real_features', 'batch_size'):
            errors.positive_int(config, f'eval.inception.{key}')
        errors.require(eval_config.inception.num_real_features > NEIGHBOURS,
                       'eval.inception.num_real_features',
                       eval_config.inception.num_real_features, f'be more than {NEIGHBOURS}')
        _require_file_or_none(config, 'eval.inception.weights')
    if eval_config.get('lpips') is not None:
        _validate_lpips(config)


def _validate_lpips(config) -> None:
    lpips_config = config.eval.lpips
    errors.positive_int(config, 'eval.lpips.num_pairs')
    errors.require(lpips_config.num_pairs >= 2, 'eval.lpips.num_pairs',
                   lpips_config.num_pairs, 'be at least 2 (for a standard error)')
    for key in ('backbone', 'heads'):
        _require_file_or_none(config, f'eval.lpips.{key}')
    net = lpips_config.net
    errors.require(net in lpips.NETS, 'eval.lpips.net', net, f'be one of {lpips.NETS}')
    if 'lpips_diversity' in config.eval.metrics:
        (height, width, _), _ = datasets.dataset_spec(config.data)
        errors.require(
            min(height, width) >= lpips.MIN_SIZE[net], 'eval.lpips.net', net,
            f'suit the data: LPIPS-{net} needs images of at least {lpips.MIN_SIZE[net]} '
            f'pixels a side, data.name={config.data.name!r} has {height} x {width} '
            "(eval.lpips.net='vgg' takes 16; or set data.image_size)")


def _require_file_or_none(config, key: str) -> None:
    """A weights path must name a file (a typo would otherwise cost a run its metrics)."""
    value = errors.config_value(config, key)
    errors.require(value is None or (isinstance(value, str) and value
                                     and epath.Path(value).is_file()), key, value,
                   'be an existing .pth (or .npz) file, or None for the cache')


def reference_path(directory: str, name: str) -> str:
    """Where, under the cache ``directory``, the real-data reference called ``name``
    (which names everything it depends on: network hash, data source and split, image
    size, counts) is cached."""
    return os.path.join(directory, 'reference',
                        re.sub(r'[^A-Za-z0-9.()_-]+', '_', name) + '.npz')


def cache_dir(eval_config) -> str:
    """Where real-data references are cached: ``eval.cache_dir``, else
    ``$GANJAX_CACHE_DIR``, else ~/.cache/ganjax."""
    return eval_config.get('cache_dir') or os.fspath(files.cache_dir())
