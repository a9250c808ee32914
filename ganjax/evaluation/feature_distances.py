"""The distances between generated and real features that every feature network's
metrics share: FID, KID and precision/recall, with the settings of ``eval_config``."""
import numpy as np

from ganjax import metrics
from ganjax.evaluation import eval_config as eval_config_lib

DISTANCES = ('fid', 'kid', 'precision_recall')


def kid_subset_size(num_real: int, num_generated: int) -> int:
    """KID's subset size: 1,000, or the smaller set where that is smaller."""
    return min(eval_config_lib.KID_SUBSET_SIZE, num_real, num_generated)


def feature_distances(wanted, real_statistics: metrics.FeatureStatistics,
                      real_features: np.ndarray, features: np.ndarray,
                      prefix: str = '') -> dict:
    """Those of ``DISTANCES`` in ``wanted``, named ``prefix`` + name: the Fréchet distance
    between ``real_statistics`` and the generated ``features``' own; KID with its
    standard error over ``KID_SUBSETS`` subsets of ``kid_subset_size``; precision, recall,
    density and coverage with k = ``NEIGHBOURS``, against ``real_features``."""
    values = {}
    if 'fid' in wanted:
        values[f'{prefix}fid'] = metrics.frechet_distance_from_statistics(
            real_statistics, metrics.FeatureStatistics().update(features))
    if 'kid' in wanted:
        kid = metrics.kernel_distance_from_features(
            real_features, features, num_subsets=eval_config_lib.KID_SUBSETS,
            subset_size=kid_subset_size(len(real_features), len(features)))
        values.update({f'{prefix}kid': kid.value, f'{prefix}kid_stderr': kid.stderr})
    if 'precision_recall' in wanted:
        pr = metrics.precision_recall_from_features(real_features, features,
                                                    eval_config_lib.NEIGHBOURS)
        values.update({f'{prefix}{name}': getattr(pr, name)
                       for name in ('precision', 'recall', 'density', 'coverage')})
    return values
