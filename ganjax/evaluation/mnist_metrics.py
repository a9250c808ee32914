"""The MNIST feature network's metrics (``ganjax.evaluation.feature_network``), each
with its protocol:

* MNIST (28×28×1):
  - 'mnist_score': the inception score of the network's logits (``num_splits`` splits);
  - 'fid': the Fréchet distance between its penultimate features of real and generated
    digits;
  - 'kid': the kernel distance (KID) on the same features, 100 subsets of
    min(1000, N) samples, with its standard error;
  - 'precision_recall': improved precision/recall and density/coverage, k = 3;
  - 'class_coverage': per class c, the share of generated digits the network assigns
    to c (``class_share``) and the coverage of the real digits of class c
    (``class_coverage``; a dropped class shows as ≈ 0); for a class-conditional
    generator (not an InfoGAN code) also ``label_accuracy``, how often the network
    agrees with the label asked, and ``label_accuracy_by_class``, the same for each
    asked label 0–9 (None for a label never asked, as a prior π may leave one out).
* Stacked MNIST (28×28×3): 'stacked_modes': each channel classified by the network, the
  mode 100·d_R + 10·d_G + d_B counted over the samples: modes reached (≥ 1 sample) of
  1,000 and KL(mode histogram ‖ uniform) in nats (VEEGAN / PacGAN protocol); beside
  them each channel's KL and its share of clearly drawn digits (``stacked_modes_of``).

Real-data reference: the features, logits and labels of the first ``num_real`` digits
of the data source's 'train' split, computed once per (feature network hash, source,
split) and cached under ``cache_dir`` (``$GANJAX_CACHE_DIR`` or ~/.cache/ganjax) as .npz.
"""
import dataclasses
import io

from absl import logging
from etils import epath
import numpy as np

from ganjax import metrics
from ganjax.data import datasets
from ganjax.data import pipeline
from ganjax.evaluation import eval_config as eval_config_lib
from ganjax.evaluation import feature_distances
from ganjax.evaluation import feature_network
from ganjax.reporting import files


@dataclasses.dataclass(frozen=True)
class Reference:
    """The real digits as the feature network sees them."""
    features: np.ndarray  # (N, 128) float32
    logits: np.ndarray  # (N, 10) float32
    labels: np.ndarray  # (N,) int32
    source: str  # e.g. 'tfds:mnist/3.0.1:train (first 10000)'
    statistics: metrics.FeatureStatistics


def reference(network: feature_network.FeatureNetwork, data_config, num_real: int,
              directory: str) -> Reference:
    """The reference of the first ``num_real`` 'train' digits (all, if fewer), from the
    cache or computed and cached (written to a temporary file and renamed: concurrent processes
    never read a partial file)."""
    description = pipeline.prepare(data_config)
    path = eval_config_lib.reference_path(directory,
                                          f'{network.sha256[:16]}-{description}-first{num_real}')
    if epath.Path(path).exists():
        with np.load(io.BytesIO(epath.Path(path).read_bytes()), allow_pickle=False) as cached:
            features, logits, labels = cached['features'], cached['logits'], cached['labels']
            source = str(cached['source'])
        logging.info('Real reference: %s (%d digits), cached in %s.', source, len(labels), path)
    else:
        examples, source = pipeline.load_examples(pipeline.pin_source(data_config, description),
                                              'train', num_real)
        logits, features = network.logits_and_features(examples['image'])
        labels = examples['label']
        with files.replacing(path) as partial:
            np.savez(partial, features=features, logits=logits, labels=labels, source=source)
        logging.info('Real reference: %s (%d digits), computed and cached in %s.', source,
                     len(labels), path)
    return Reference(features, logits, labels, source,
                     metrics.FeatureStatistics().update(features))


class MnistMetrics:
    """The metrics of the MNIST feature network: ``MNIST_METRICS`` against the real
    reference, and Stacked MNIST's 'stacked_modes'."""

    def __init__(self, metric_names, eval_config, data_config, network):
        names = eval_config_lib.MNIST_METRICS + eval_config_lib.STACKED_METRICS
        self.metric_names = tuple(m for m in metric_names if m in names)
        self._eval_config = eval_config
        self.network = network
        self.reference = None
        if set(self.metric_names) & set(eval_config_lib.MNIST_METRICS):
            self.reference = reference(network, data_config, eval_config.num_real,
                                       eval_config_lib.cache_dir(eval_config))
            # The score of the real digits themselves: the ceiling to read scores against.
            self._real_mnist_score = metrics.inception_score_from_logits(
                self.reference.logits, eval_config.num_splits).mean

    def summarise(self, samples: np.ndarray, start: int) -> dict[str, np.ndarray]:
        """What the metrics need of a chunk of samples: the network's logits and features
        (of each channel, for Stacked MNIST's modes)."""
        del start
        summary = {}
        if 'stacked_modes' in self.metric_names:
            summary['stacked_mode'], summary['stacked_confident'] = stacked_mode_of_each(
                self.network, samples)
        if self.reference is not None:
            summary['mnist_logits'], summary['mnist_features'] = (
                self.network.logits_and_features(samples))
        return summary

    def metrics(self, summaries: dict[str, np.ndarray], labels) -> dict:
        """The metrics of all samples' ``summarise`` outputs, concatenated."""
        values = {}
        if 'stacked_modes' in self.metric_names:
            values.update(stacked_modes_of(summaries['stacked_mode'],
                                           summaries['stacked_confident']))
        if self.reference is None:
            return values
        logits, features = summaries['mnist_logits'], summaries['mnist_features']
        real = self.reference
        if 'mnist_score' in self.metric_names:
            score = metrics.inception_score_from_logits(logits, self._eval_config.num_splits)
            values.update(mnist_score=score.mean, mnist_score_std=score.std)
        values.update(feature_distances.feature_distances(
            self.metric_names, real.statistics, real.features, features))
        if 'class_coverage' in self.metric_names:
            predicted = logits.argmax(axis=1)
            values['class_share'] = (np.bincount(predicted, minlength=10) / len(predicted)
                                     ).tolist()
            values['class_coverage'] = metrics.coverage_by_class(
                real.features, real.labels, features, 10, eval_config_lib.NEIGHBOURS).tolist()
            if labels is not None:
                correct = predicted == labels
                values['label_accuracy'] = float(np.mean(correct))
                values['label_accuracy_by_class'] = [
                    float(np.mean(correct[labels == c])) if np.any(labels == c) else None
                    for c in range(10)]
        return values

    def protocol(self, num_generated: int) -> dict:
        """The network and, for MNIST metrics, the real data and the metrics' settings."""
        protocol = dict(feature_network=self.network.protocol)
        if self.reference is not None:
            protocol.update(real_data=self.reference.source,
                            num_real=len(self.reference.labels),
                            features='penultimate layer (128)',
                            neighbours_k=eval_config_lib.NEIGHBOURS,
                            kid_subsets=eval_config_lib.KID_SUBSETS,
                            kid_subset_size=feature_distances.kid_subset_size(
                                len(self.reference.labels), num_generated),
                            mnist_score_splits=self._eval_config.num_splits,
                            real_data_mnist_score=self._real_mnist_score)
        return protocol


# The class probability from which a channel's digit counts as clearly drawn.
CONFIDENT = 0.9


def stacked_modes(network: feature_network.FeatureNetwork, samples: np.ndarray) -> dict:
    """Stacked MNIST's mode count of samples (N, 28, 28, 3): ``stacked_modes_of`` their
    modes."""
    return stacked_modes_of(*stacked_mode_of_each(network, samples))


def stacked_mode_of_each(network: feature_network.FeatureNetwork,
                         samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mode of each sample (N, 28, 28, 3), (N,): each channel's digit is the
    network's class; mode = 100·d_R + 10·d_G + d_B. And whether the network gives each
    channel's class a probability ≥ ``CONFIDENT``, (N, 3) bool."""
    if samples.ndim != 4 or samples.shape[-1] != datasets.STACKED_DIGITS:
        raise ValueError(f'samples must have shape (N, 28, 28, {datasets.STACKED_DIGITS}), '
                         f'got {samples.shape}')
    modes = np.zeros(len(samples), np.int64)
    confident = []
    for channel in range(datasets.STACKED_DIGITS):
        logits, _ = network.logits_and_features(samples[..., channel:channel + 1])
        modes = 10 * modes + logits.argmax(axis=1)
        # The softmax's largest probability, 1 / Σ exp(logit − largest logit).
        top = 1 / np.sum(np.exp(logits - logits.max(axis=1, keepdims=True)), axis=1)
        confident.append(top >= CONFIDENT)
    return modes, np.stack(confident, axis=1)


def stacked_modes_of(modes: np.ndarray, confident: np.ndarray) -> dict:
    """Modes reached (≥ 1 sample) of 1,000, KL(mode histogram ‖ uniform) of the samples'
    modes, ``channel_kl``: each channel's own KL(digit histogram ‖ uniform over 10),
    R, G, B, and ``channel_confident``: the share of each channel's digits whose class
    the network gives a probability ≥ ``CONFIDENT`` (``confident``, (N, 3), says which).
    The real digits score about 0.96; a generator that blends classes scores lower, and
    its blends fall into some classes more than others, which shows in the KLs.

    The mode KL is the channels' KLs plus the KL of the mode histogram to the product of
    its channels' histograms (how far the channels' digits are from independent), so
    ``kl`` ≥ Σ ``channel_kl``, with equality when they are independent: the split says
    whether a high KL is uneven digits or digits that go together."""
    num_modes = 10 ** datasets.STACKED_DIGITS
    counts = np.bincount(modes, minlength=num_modes)
    powers = 10 ** np.arange(datasets.STACKED_DIGITS - 1, -1, -1)  # R, G, B
    digits = np.asarray(modes)[:, None] // powers % 10
    return dict(modes=int(np.sum(counts > 0)), num_modes=num_modes,
                kl=metrics.kl_to_uniform(counts),
                channel_kl=[metrics.kl_to_uniform(np.bincount(channel, minlength=10))
                            for channel in digits.T],
                channel_confident=np.mean(confident, axis=0).tolist())
