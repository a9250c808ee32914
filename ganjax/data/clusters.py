"""k-means clusters of the training images, as labels for a GAN that has no labels.

A class-conditional GAN (a projection D, Miyato & Koyama 2018) given the k-means
clusters of its data in place of classes: Lucic et al. 2019 ("High-Fidelity Image
Generation With Fewer Labels", their clustering method) cluster self-supervised
features, Liu et al. 2020 ("Diverse Image Generation via Self-Conditioned GANs") D's
features. Here the clusters are of the pixels, computed once from the whole 'train'
split before training (``data.clusters``, ``ganjax.data.pipeline``). Through each
cluster's embedding, D judges G's samples of that cluster against the cluster's reals,
and G is asked for every cluster as often (fake labels are uniform), or as often as the
data holds it (``code_prior.rule='data'``): a part of the data that k-means sets apart
is drawn on its own, where an unconditional D lets G neglect a small part at little
cost.

The clustering is Lloyd's algorithm (squared Euclidean distance) from k-means++ seeds
(Arthur & Vassilvitskii 2007) drawn with a fixed seed, so every process and every
resumed run computes the same clusters of the same data (on the same kind of CPU: the
distances are float32 matrix products).
"""
import numpy as np

# The seed of the k-means++ draws: the clusters are a property of the data, the same
# for every run seed.
SEED = 0
MAX_ITERATIONS = 100


def flat_pixels(images) -> np.ndarray:
    """(N, H, W, C) images of any dtype → (N, H·W·C) float32."""
    images = np.asarray(images)
    return images.reshape(len(images), -1).astype(np.float32)


def nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The index of each point's nearest centre, (N,) int32 (the lowest index on a tie)."""
    # ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖²; ‖x‖² is the same for every centre of a point.
    distances = (centres ** 2).sum(axis=1)[None, :] - 2 * points @ centres.T
    return distances.argmin(axis=1).astype(np.int32)


def kmeans(points: np.ndarray, num_clusters: int, seed: int = SEED,
           max_iterations: int = MAX_ITERATIONS) -> np.ndarray:
    """The (num_clusters, D) centres of k-means on (N, D) points.

    k-means++ seeds, then Lloyd's iterations until no point changes cluster (or
    ``max_iterations``). A cluster left empty by an iteration keeps its centre.

    Raises:
        ValueError: if ``num_clusters`` is not in [1, N].
    """
    points = np.asarray(points, np.float32)
    if not 1 <= num_clusters <= len(points):
        raise ValueError(f'num_clusters must be in [1, {len(points)}] (the number of '
                         f'points), got {num_clusters}')
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(len(points))]]
    squared = ((points - centres[0]) ** 2).sum(axis=1)
    for _ in range(num_clusters - 1):  # each next seed with probability ∝ D(x)²
        total = squared.sum()
        index = rng.choice(len(points), p=squared / total) if total > 0 else rng.integers(
            len(points))
        centres.append(points[index])
        squared = np.minimum(squared, ((points - centres[-1]) ** 2).sum(axis=1))
    centres = np.stack(centres)
    assignment = nearest(points, centres)
    for _ in range(max_iterations):
        members = np.zeros((len(points), num_clusters), np.float32)
        members[np.arange(len(points)), assignment] = 1
        sums, counts = members.T @ points, np.bincount(assignment, minlength=num_clusters)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
        updated = nearest(points, centres)
        if np.array_equal(updated, assignment):
            break
        assignment = updated
    return centres
