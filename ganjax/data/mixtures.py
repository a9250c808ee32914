"""The 2-D Gaussian mixtures of the mode-collapse benchmarks, and their metrics.

Protocol of PacGAN (Lin et al. 2018, "PacGAN: The power of two samples in generative
adversarial networks", §5.1 and Table 1), after VEEGAN (Srivastava et al. 2017):

* ring: 8 modes at (cos 2πi/8, sin 2πi/8), i = 0..7 (radius 1; not ``linspace`` over
  [0, 2π], whose last angle repeats the first), standard deviation 0.01;
* grid: 25 modes at {−4, −2, 0, 2, 4}², standard deviation 0.05;
* 100,000 training points, 2,500 generated samples evaluated;
* a sample is *high quality* if its distance to the nearest mode, divided by the
  mixture's standard deviation, is below 3;
* a mode is *captured* if at least one high-quality sample is nearest to it;
* KL(h ‖ u): h the histogram of the high-quality samples over their nearest modes
  (normalised), u uniform over the K modes; Σ_k h_k log(K·h_k) with 0·log 0 = 0.
"""
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ganjax import metrics

HIGH_QUALITY_STDS = 3.0


@dataclasses.dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians."""
    name: str
    modes: np.ndarray  # (K, 2)
    std: float

    def sample(self, key: jax.Array, num: int) -> jax.Array:
        """``num`` points: a uniformly chosen mode plus N(0, std² I) noise."""
        mode_key, noise_key = jax.random.split(key)
        index = jax.random.randint(mode_key, (num,), 0, len(self.modes))
        noise = self.std * jax.random.normal(noise_key, (num, self.modes.shape[1]))
        return jnp.asarray(self.modes, jnp.float32)[index] + noise


def ring() -> Mixture:
    angles = 2 * np.pi * np.arange(8) / 8
    return Mixture('ring', np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


def grid() -> Mixture:
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return Mixture('grid', np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2), 0.05)


MIXTURES = {'ring': ring, 'grid': grid}


@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    """The benchmark's three numbers for one set of samples."""
    modes: int  # captured modes
    high_quality: float  # fraction of high-quality samples, in [0, 1]
    kl: float  # KL(h ‖ uniform) in nats; NaN when no sample is high quality
    num_modes: int
    num_samples: int


def mode_coverage(samples, mixture: Mixture) -> ModeCoverage:
    """Captured modes, high-quality fraction and KL of ``samples`` (N, 2); float64.

    Ties in the nearest mode (a sample exactly between two) go to the lower mode index;
    such a sample is at least half the mode spacing from both, far from high quality.
    """
    points = np.asarray(samples, np.float64)
    if points.ndim != 2 or points.shape[1] != mixture.modes.shape[1] or not len(points):
        raise ValueError(f'samples must have shape (N > 0, {mixture.modes.shape[1]}), '
                         f'got {np.shape(samples)}')
    distances = np.linalg.norm(points[:, None, :] - mixture.modes[None], axis=-1)
    nearest = np.argmin(distances, axis=1)
    high_quality = distances[np.arange(len(points)), nearest] / mixture.std < HIGH_QUALITY_STDS
    counts = np.bincount(nearest[high_quality], minlength=len(mixture.modes))
    kl = metrics.kl_to_uniform(counts) if counts.sum() else math.nan
    return ModeCoverage(int(np.sum(counts > 0)), float(np.mean(high_quality)), kl,
                        len(mixture.modes), len(points))
