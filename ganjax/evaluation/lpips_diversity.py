"""'lpips_diversity': how different a generator's samples are from each other, as the
mean LPIPS distance (``ganjax.lpips``, Zhang et al. 2018) over pairs of samples.

Pairs: sample i with sample i + P for i < P, P = min(``eval.lpips.num_pairs``,
``num_samples`` // 2), rounded down to a multiple of the dataset's number of classes K
where P ≥ K: independent latents, so independent pairs, and since a class-conditional
generator's labels are cycled 0..K−1, both samples of a pair share their label:
diversity within a class, as conditional papers (e.g. MSGAN, DRIT) measure it.
One-channel images are repeated into three. The result has the mean and its standard
error over pairs.
"""
import dataclasses
from typing import Any

import numpy as np

from ganjax import lpips
from ganjax.data import datasets
from ganjax.evaluation import eval_config as eval_config_lib
from ganjax.evaluation import feature_network

_BATCH = 100  # pairs per compiled call; the last call is padded to it


@dataclasses.dataclass(frozen=True)
class LpipsNetwork:
    """LPIPS with its weights.

    Attributes:
      net: 'alex' or 'vgg'.
      variables: the Flax variables.
      sha256: ``feature_network.params_sha256(variables)``: names the function.
      weights: where the backbone's and the heads' weights came from.
    """
    net: str
    variables: Any
    sha256: str
    weights: dict

    def distances(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """LPIPS of each pair (x_i, y_i), images (N, H, W, 1 or 3) in [−1, 1]."""
        if x.shape[-1] == 1:
            x, y = np.repeat(x, 3, axis=-1), np.repeat(y, 3, axis=-1)
        distances, = feature_network.in_batches(
            lambda x, y: (lpips.distance(self.variables, x, y, self.net),), _BATCH, x, y)
        return distances


def load_network(lpips_config) -> LpipsNetwork:
    """LPIPS with the weights ``eval.lpips`` names (a validated config: see
    ``eval_config.validate``; None: the cache, downloading once).

    Raises:
      downloads.WeightsUnavailableError: the weights are neither cached nor downloadable;
        the message says where to put them.
    """
    net = lpips_config.net
    variables = lpips.load_weights(net, lpips_config.backbone, lpips_config.heads)
    return LpipsNetwork(net, variables, feature_network.params_sha256(variables),
                        dict(backbone=lpips_config.backbone or lpips.BACKBONE_URLS[net],
                             heads=lpips_config.heads or lpips.HEADS_URLS[net]))


class LpipsDiversity:
    """The 'lpips_diversity' metric family."""
    metric_names = ('lpips_diversity',)

    def __init__(self, eval_config, data_config, network: LpipsNetwork):
        _, num_classes = datasets.dataset_spec(data_config)
        pairs = min(eval_config_lib.lpips_config(eval_config).num_pairs,
                    eval_config.num_samples // 2)
        self._num_pairs = pairs - pairs % num_classes if pairs >= num_classes else pairs
        self.network = network

    def summarise(self, samples: np.ndarray, start: int) -> dict[str, np.ndarray]:
        """The samples that are in a pair (the first 2P) of a chunk of samples from index
        ``start``."""
        return dict(lpips_samples=samples[:max(2 * self._num_pairs - start, 0)])

    def metrics(self, summaries: dict[str, np.ndarray], labels) -> dict:
        del labels  # a pair's share theirs (see the module docstring)
        samples, pairs = summaries['lpips_samples'], self._num_pairs
        distances = self.network.distances(samples[:pairs], samples[pairs:2 * pairs])
        return dict(lpips_diversity=float(distances.mean()),
                    lpips_diversity_stderr=float(distances.std(ddof=1) / np.sqrt(pairs)))

    def protocol(self, num_generated: int) -> dict:
        del num_generated
        return dict(lpips=dict(
            net=self.network.net, version='0.1', weights=self.network.weights,
            sha256=self.network.sha256, num_pairs=self._num_pairs,
            pairs='sample i with sample i + num_pairs'))
