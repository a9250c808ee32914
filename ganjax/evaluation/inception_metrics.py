"""Metrics on the FID Inception-v3's features (``ganjax.inception``): the numbers CIFAR-10
and ImageNet papers report.

* 'inception_fid': the Fréchet distance (Heusel et al. 2017) between the pool3 features
  (2048) of the generated images and of the first ``eval.inception.num_real`` images of
  the data's 'train' split (50,000: all of CIFAR-10's, as TTUR's and pytorch-fid's
  precomputed statistics).
* 'inception_score': IS (Salimans et al. 2016) of the 1,008 logits without the last
  layer's bias (``inception.unbiased_logits``: Salimans et al.'s code), in
  ``eval.num_splits`` contiguous splits (10), mean and standard deviation over splits.
* 'inception_kid': KID (Bińkowski et al. 2018), cubic polynomial kernel, 100 subsets of
  min(1000, N) samples, with its standard error.
* 'inception_precision_recall': improved precision/recall (Kynkäänniemi et al. 2019) and
  density/coverage (Naeem et al. 2020), k = 3.

Images in [−1, 1] are resized to 299 × 299 as pytorch-fid resizes them (bilinear, no
antialiasing); one-channel images are repeated into three. KID and precision/recall
compare the generated samples with the first ``eval.inception.num_real_features`` real
images.

Real-data reference: streamed through the network in batches (a running mean and
scatter matrix, never every feature at once), the features and logits of the first
``num_real_features`` kept; cached per (weights hash, data source and split, counts) in
``cache_dir/reference`` as .npz.
"""
import dataclasses
import io
import os
from typing import Any

from absl import logging
from etils import epath
import numpy as np

from ganjax import inception
from ganjax import metrics
from ganjax.data import pipeline
from ganjax.evaluation import eval_config as eval_config_lib
from ganjax.evaluation import feature_distances
from ganjax.evaluation import feature_network
from ganjax.reporting import files
from ganjax.reporting import writers

@dataclasses.dataclass(frozen=True)
class InceptionNetwork:
    """The FID Inception-v3 with its weights, applied in batches of ``batch_size``.

    Attributes:
      variables: the network's Flax variables.
      sha256: ``feature_network.params_sha256(variables)``: names the function.
      weights: the file the variables came from.
      batch_size: images per compiled call (the last call of a set is padded to it).
    """
    variables: Any
    sha256: str
    weights: str
    batch_size: int

    @property
    def protocol(self) -> dict:
        """What a number computed with this network should be stored with."""
        return dict(name='FID Inception-v3 (pytorch-fid)', weights=self.weights,
                    sha256=self.sha256,
                    resize=f'bilinear to {inception.INPUT_SIZE}x{inception.INPUT_SIZE}, '
                           'align_corners=False, no antialiasing (pytorch-fid)',
                    channels='one-channel images repeated into RGB', features='pool3 (2048)',
                    score_logits='pool3 @ W, without the bias (Salimans et al.)')

    def pool3_and_logits(self, images) -> tuple[np.ndarray, np.ndarray]:
        """pool3 (N, 2048) and unbiased logits (N, 1008) of images (N, H, W, 1 or 3) in
        [−1, 1], as float32 NumPy arrays."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[-1] not in (1, 3) or not len(images):
            raise ValueError(f'images must have shape (N > 0, H, W, 1 or 3), got {images.shape}')
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)

        def pool3_and_logits(batch):
            pool3, _ = inception.features(self.variables, batch)
            return pool3, inception.unbiased_logits(self.variables, pool3)
        return feature_network.in_batches(pool3_and_logits, self.batch_size, images)


def load_network(inception_config) -> InceptionNetwork:
    """The network with ``eval.inception.weights`` (a validated config: see
    ``eval_config.validate``; None: the cache, downloading once).

    Raises:
      downloads.WeightsUnavailableError: the weights are neither cached nor downloadable;
        the message says where to put them.
    """
    path = inception_config.weights
    variables = inception.load_weights(path)
    return InceptionNetwork(
        variables, feature_network.params_sha256(variables),
        os.fspath(path) if path else inception.FID_WEIGHTS_URL.rsplit('/', 1)[-1],
        inception_config.batch_size)


@dataclasses.dataclass(frozen=True)
class Reference:
    """The real images as the Inception network sees them."""
    statistics: metrics.FeatureStatistics  # of all num_real images' pool3
    features: np.ndarray  # (M, 2048) pool3 of the first num_real_features
    logits: np.ndarray  # (M, 1008) their unbiased logits
    source: str  # e.g. 'tfds:cifar10/3.0.2:train (first 50000) at its native size'


def reference(network: InceptionNetwork, data_config, inception_config,
              directory: str) -> Reference:
    """The reference of the first ``num_real`` 'train' images, from the cache or computed
    (streamed) and cached."""
    description = pipeline.prepare(data_config)
    num_real, num_kept = inception_config.num_real, inception_config.num_real_features
    path = epath.Path(eval_config_lib.reference_path(
        directory, f'inception-{network.sha256[:16]}-{description}-{_size(data_config)}'
                   f'-first{num_real}-kept{num_kept}'))
    if path.exists():
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as cached:
            statistics = metrics.FeatureStatistics(int(cached['count']), cached['mean'],
                                                   cached['scatter'])
            real = Reference(statistics, cached['features'], cached['logits'],
                             str(cached['source']))
        logging.info('Inception reference: %s (%d images), cached in %s.', real.source,
                     statistics.count, path)
        return real
    batches, total, source = pipeline.iterate_examples(
        pipeline.pin_source(data_config, description), 'train', num_real,
        batch_size=network.batch_size)
    source = f'{source} {_size(data_config)}'
    statistics, kept_features, kept_logits = metrics.FeatureStatistics(), [], []
    progress = writers.CountProgress('Inception features of the real images', total)
    for batch in batches:
        pool3, logits = network.pool3_and_logits(batch['image'])
        keep = max(num_kept - statistics.count, 0)
        kept_features.append(pool3[:keep])
        kept_logits.append(logits[:keep])
        statistics.update(pool3)
        progress.update(statistics.count)
    real = Reference(statistics, np.concatenate(kept_features), np.concatenate(kept_logits),
                     source)
    with files.replacing(path) as partial:
        np.savez(partial, count=statistics.count, mean=np.asarray(statistics.mean),
                 scatter=np.asarray(statistics.scatter), features=real.features,
                 logits=real.logits, source=source)
    logging.info('Inception reference: %s (%d images), computed and cached in %s.', source,
                 statistics.count, path)
    return real


def _size(data_config) -> str:
    """The real images' size: the data's own, or data.image_size (resized, antialiased)."""
    size = data_config.get('image_size')
    return f'at {size}x{size}' if size else 'at its native size'


class InceptionMetrics:
    """The Inception metrics of ``metric_names``, against a lazily computed reference
    (a run starts training before the real images pass through the network)."""

    def __init__(self, metric_names, eval_config, data_config, network: InceptionNetwork):
        self.metric_names = tuple(m for m in metric_names
                                  if m in eval_config_lib.INCEPTION_METRICS)
        self._eval_config = eval_config
        self._inception_config = eval_config_lib.inception_config(eval_config)
        self._data_config = data_config
        self._cache_dir = eval_config_lib.cache_dir(eval_config)
        self.network = network
        self._reference = None

    @property
    def reference(self) -> Reference:
        if self._reference is None:
            self._reference = reference(self.network, self._data_config,
                                        self._inception_config, self._cache_dir)
        return self._reference

    def summarise(self, samples: np.ndarray, start: int) -> dict[str, np.ndarray]:
        """What the metrics need of a chunk of samples: pool3 and unbiased logits."""
        del start
        pool3, logits = self.network.pool3_and_logits(samples)
        return dict(inception_pool3=pool3, inception_logits=logits)

    def metrics(self, summaries: dict[str, np.ndarray], labels) -> dict:
        """The metrics of all samples' ``summarise`` outputs, concatenated (the labels
        asked of a conditional generator play no part)."""
        del labels
        features, logits = summaries['inception_pool3'], summaries['inception_logits']
        real = self.reference
        values = feature_distances.feature_distances(
            [name.removeprefix('inception_') for name in self.metric_names], real.statistics,
            real.features, features, prefix='inception_')
        if 'inception_score' in self.metric_names:
            score = metrics.inception_score_from_logits(logits, self._eval_config.num_splits)
            values.update(inception_score=score.mean, inception_score_std=score.std)
        return values

    def protocol(self, num_generated: int) -> dict:
        """{'inception': the network, the real data and the metrics' settings}."""
        real = self.reference
        num_splits = self._eval_config.num_splits
        return dict(inception=dict(
            network=self.network.protocol, real_data=real.source,
            num_real=real.statistics.count, num_real_features=len(real.features),
            neighbours_k=eval_config_lib.NEIGHBOURS, kid_subsets=eval_config_lib.KID_SUBSETS,
            kid_subset_size=feature_distances.kid_subset_size(len(real.features),
                                                              num_generated),
            score_splits=num_splits,
            # The score of the real images themselves: the ceiling to read scores against.
            real_data_inception_score=metrics.inception_score_from_logits(
                real.logits, min(num_splits, len(real.logits))).mean))
