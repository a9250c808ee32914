"""The evaluation config (``config.eval``) and the metrics it can name, without TensorFlow.

``config.eval`` (``default_config()``): ``metrics`` (names below; empty: no periodic
evaluation), ``every_steps`` (0: only at the end), ``num_samples`` generated, ``num_real``
real digits of the reference, latent ``seed``, ``num_splits`` of the MNIST score,
``generators`` ('ema', 'raw') and ``cache_dir``. What each metric computes is in
``ganjax.evaluation.evaluators``; experiment configs import this module alone.
"""
import os

import ml_collections

from ganjax import errors
from ganjax.reporting import files

MNIST_METRICS = ('mnist_score', 'fid', 'kid', 'precision_recall', 'class_coverage')
STACKED_METRICS = ('stacked_modes',)
METRICS_BY_DATASET = {'mnist': MNIST_METRICS, 'stacked_mnist': STACKED_METRICS}
GENERATORS = ('ema', 'raw')
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
NEIGHBOURS = 3  # k of precision/recall, density/coverage and class coverage


def default_config() -> ml_collections.ConfigDict:
    """``config.eval``: no metrics (no periodic evaluation) until a config lists some."""
    return ml_collections.ConfigDict(dict(
        metrics=(), every_steps=0, num_samples=10_000, num_real=10_000, seed=0,
        num_splits=10, generators=GENERATORS,
        cache_dir=ml_collections.config_dict.placeholder(str)))


def validate(config) -> None:
    """Raises ``errors.ConfigError`` naming the first bad ``eval`` key."""
    eval_config = config.get('eval')
    if eval_config is None:
        return
    available = METRICS_BY_DATASET.get(config.data.name, ())
    metric_names = tuple(eval_config.metrics)
    unknown = [m for m in metric_names if m not in available]
    errors.require(not unknown, 'eval.metrics', metric_names,
                       f'list metrics of data.name={config.data.name!r}, one of '
                       f'{available} (ganjax has feature networks for MNIST only)')
    every = eval_config.every_steps
    errors.require(isinstance(every, int) and every >= 0, 'eval.every_steps', every,
                       'be an integer >= 0 (0: evaluate only at the end)')
    for key in ('num_samples', 'num_real', 'num_splits'):
        errors.positive_int(config, f'eval.{key}')
    errors.require(eval_config.num_samples >= eval_config.num_splits,
                       'eval.num_samples', eval_config.num_samples,
                       f'be at least eval.num_splits={eval_config.num_splits}')
    errors.require(eval_config.num_samples > NEIGHBOURS, 'eval.num_samples',
                       eval_config.num_samples, f'be more than {NEIGHBOURS}')
    generators = tuple(eval_config.generators)
    errors.require(generators and set(generators) <= set(GENERATORS), 'eval.generators',
                       generators, f'be a non-empty subset of {GENERATORS}')


def cache_dir(eval_config) -> str:
    """Where real-data references are cached: ``eval.cache_dir``, else
    ``$GANJAX_CACHE_DIR``, else ~/.cache/ganjax."""
    return eval_config.get('cache_dir') or os.fspath(files.cache_dir())
