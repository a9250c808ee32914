"""k-means clusters as labels (``ganjax.data.clusters``)."""
import numpy as np
import pytest

from ganjax.data import clusters


def _blobs(num_per_blob=40, seed=0):
    """Three tight, well-separated blobs in 5-D and each point's blob."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0] * 5, [10.0] * 5, [0.0, 10.0, 0.0, -10.0, 0.0]])
    blob = np.repeat(np.arange(3), num_per_blob)
    return (means[blob] + 0.1 * rng.standard_normal((len(blob), 5))).astype(np.float32), blob


def test_kmeans_finds_separated_blobs_and_their_means():
    points, blob = _blobs()
    centres = clusters.kmeans(points, 3)
    assignment = clusters.nearest(points, centres)
    # One cluster per blob (a bijection between clusters and blobs) ...
    pairs = set(zip(assignment.tolist(), blob.tolist()))
    assert len(pairs) == 3 and len({c for c, _ in pairs}) == 3
    # ... whose centre is its points' mean (Lloyd's fixed point).
    for cluster in range(3):
        np.testing.assert_allclose(centres[cluster], points[assignment == cluster].mean(0),
                                   rtol=1e-6, atol=1e-6)


def test_kmeans_is_a_function_of_points_and_seed():
    points, _ = _blobs(num_per_blob=30, seed=1)
    np.testing.assert_array_equal(clusters.kmeans(points, 5), clusters.kmeans(points, 5))
    assert not np.array_equal(clusters.kmeans(points, 5, seed=0),
                              clusters.kmeans(points, 5, seed=1))


def test_nearest_is_the_closest_centre_by_euclidean_distance():
    rng = np.random.default_rng(2)
    points, centres = rng.standard_normal((50, 4)), rng.standard_normal((6, 4))
    brute = np.argmin(((points[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(clusters.nearest(points, centres), brute)


def test_kmeans_of_duplicates_gives_every_point_a_centre_at_zero_distance():
    points = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0)  # 3 distinct points, 4 each
    centres = clusters.kmeans(points, 3)
    assert sorted(map(tuple, centres)) == sorted(map(tuple, np.eye(3)))


@pytest.mark.parametrize('num_clusters', [0, 13])
def test_kmeans_refuses_more_clusters_than_points(num_clusters):
    with pytest.raises(ValueError, match=r'num_clusters must be in \[1, 12\]'):
        clusters.kmeans(np.zeros((12, 2)), num_clusters)
