"""Sample-quality metrics of generative models, from features or logits.

Every function takes arrays of per-sample features (or class logits) computed by a
feature network of your choice, JAX or NumPy, and returns Python floats. The arithmetic
is JAX in float64: the Fréchet distance needs a matrix square root, whose float32 error
alone exceeds the differences papers report. Each public function enables float64 for
its own duration only (``jax.enable_x64`` as a context manager), so callers' arrays and
programs keep their dtypes; on a TPU, whose float64 is not native, it computes on the
host CPU. Reported numbers depend on the feature network, the number of samples and,
for KID, the subsets: store them with the number.

* ``frechet_distance_from_features`` (FID; Heusel et al. 2017, "GANs Trained by a Two
  Time-Scale Update Rule Converge to a Local Nash Equilibrium"):
  ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^½), with unbiased (n − 1) covariances.
  ``FeatureStatistics`` accumulates μ and Σ over batches for large sample counts.
* ``kernel_distance_from_features`` (KID; Bińkowski et al. 2018, "Demystifying MMD
  GANs"): the unbiased estimator of MMD² with k(x, y) = (xᵀy / d + 1)³, averaged over
  random subsets, with its standard error.
* ``inception_score_from_logits`` (IS; Salimans et al. 2016, "Improved Techniques for
  Training GANs"): exp(E_x KL(p(y|x) ‖ p(y))), p(y) the mean of p(y|x) over each split.
* ``precision_recall_from_features`` (Kynkäänniemi et al. 2019, "Improved Precision and
  Recall Metric for Assessing Generative Models") with density and coverage (Naeem et
  al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models"), from
  k-nearest-neighbour balls; ``coverage_by_class`` splits coverage by the reals' class.
* ``kl_to_uniform``: KL of a mode histogram to the uniform (the mode-collapse benchmarks).
"""
import contextlib
import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

_CHUNK = 1024  # rows of a pairwise-distance block: 1024 × M float64s at a time


def _float64(function):
    """Runs ``function`` with JAX's float64 enabled, on the host CPU if the default
    backend is a TPU."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        device = (jax.default_device(jax.devices('cpu')[0])
                  if jax.default_backend() == 'tpu' else contextlib.nullcontext())
        with jax.enable_x64(True), device:
            return function(*args, **kwargs)
    return wrapper


def _matrix(x, name: str, min_rows: int = 1) -> jax.Array:
    """``x`` as a float64 (N, D) array, or a ValueError naming ``name`` (call under
    ``_float64``)."""
    if np.ndim(x) != 2 or np.shape(x)[0] < min_rows or np.shape(x)[1] < 1:
        raise ValueError(f'{name} must be a (num_samples >= {min_rows}, num_features) '
                         f'array, got shape {np.shape(x)}')
    # Through the host: on a TPU the arithmetic runs on the CPU, not where x lives.
    array = jnp.asarray(np.asarray(x), dtype=jnp.float64)
    if not jnp.all(jnp.isfinite(array)):
        raise ValueError(f'{name} contains NaN or infinite values')
    return array


def _same_width(a: jax.Array, b: jax.Array, names: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f'{names} must have the same number of features, got '
                         f'{a.shape[1]} and {b.shape[1]}')


# ----------------------------------------------------------------------------------
# Fréchet distance.
# ----------------------------------------------------------------------------------


@dataclasses.dataclass
class FeatureStatistics:
    """Running mean and covariance of feature batches, for the Fréchet distance.

    Merges batches with Chan et al.'s pairwise update of the mean and the centred
    scatter matrix (1979, "Updating formulae and a pairwise algorithm for computing
    sample variances"), in float64: unlike Σx and Σxxᵀ it loses no precision when the
    features' mean is large next to their spread.
    """
    count: int = 0
    mean: jax.Array | None = None  # float64
    scatter: jax.Array | None = None  # Σ (x − mean)(x − mean)ᵀ, float64

    @_float64
    def update(self, features) -> 'FeatureStatistics':
        """Adds a (B, D) batch; returns self."""
        batch = _matrix(features, 'features')
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        batch_scatter = centred.T @ centred
        if self.count == 0:
            self.count, self.mean, self.scatter = len(batch), batch_mean, batch_scatter
            return self
        _same_width(self.mean[None], batch, 'features and the earlier batches')
        total = self.count + len(batch)
        delta = batch_mean - self.mean
        self.scatter = (self.scatter + batch_scatter
                        + jnp.outer(delta, delta) * (self.count * len(batch) / total))
        self.mean = self.mean + delta * (len(batch) / total)
        self.count = total
        return self

    @_float64
    def covariance(self) -> jax.Array:
        """The unbiased covariance, scatter / (n − 1)."""
        if self.count < 2:
            raise ValueError(f'a covariance needs at least 2 samples, got {self.count}')
        return self.scatter / (self.count - 1)


@jax.jit
def _trace_sqrt_product(sigma_a: jax.Array, sigma_b: jax.Array) -> jax.Array:
    """Tr((Σ_a Σ_b)^½) for symmetric positive semi-definite Σ_a, Σ_b.

    Σ_a Σ_b is similar to the symmetric PSD matrix A Σ_b A with A = Σ_a^½
    (A⁻¹ (A Σ_b A) A = Σ_a Σ_b where A is invertible, and by continuity elsewhere), so
    the trace is Σ √λ_i over A Σ_b A's eigenvalues: two symmetric eigendecompositions,
    no non-symmetric matrix square root and no complex round-off to discard. Eigenvalues
    that rounding makes slightly negative are clipped to 0.
    """
    precision = jax.lax.Precision.HIGHEST
    eigenvalues, eigenvectors = jnp.linalg.eigh(sigma_a)
    root_a = jnp.matmul(eigenvectors * jnp.sqrt(jnp.clip(eigenvalues, 0.0)), eigenvectors.T,
                        precision=precision)
    product = jnp.matmul(jnp.matmul(root_a, sigma_b, precision=precision), root_a,
                         precision=precision)
    return jnp.sum(jnp.sqrt(jnp.clip(jnp.linalg.eigvalsh((product + product.T) / 2), 0.0)))


@_float64
def frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float:
    """d² = ‖μ_a − μ_b‖² + Tr(Σ_a) + Tr(Σ_b) − 2 Tr((Σ_a Σ_b)^½): the squared Fréchet
    (2-Wasserstein) distance between N(μ_a, Σ_a) and N(μ_b, Σ_b) (Dowson & Landau 1982)."""
    mean_a, mean_b = jnp.asarray(mean_a, jnp.float64), jnp.asarray(mean_b, jnp.float64)
    cov_a, cov_b = jnp.asarray(cov_a, jnp.float64), jnp.asarray(cov_b, jnp.float64)
    d = mean_a.shape[-1]
    for name, value, shape in (('mean_a', mean_a, (d,)), ('mean_b', mean_b, (d,)),
                               ('cov_a', cov_a, (d, d)), ('cov_b', cov_b, (d, d))):
        if value.shape != shape:
            raise ValueError(f'{name} must have shape {shape}, got {value.shape}')
    distance = (jnp.sum((mean_a - mean_b) ** 2) + jnp.trace(cov_a) + jnp.trace(cov_b)
                - 2.0 * _trace_sqrt_product(cov_a, cov_b))
    return max(float(distance), 0.0)  # ≥ 0 exactly; rounding can leave −1e-12


def frechet_distance_from_statistics(real: FeatureStatistics,
                                     fake: FeatureStatistics) -> float:
    """FID from two accumulated ``FeatureStatistics``."""
    return frechet_distance(real.mean, real.covariance(), fake.mean, fake.covariance())


@_float64
def frechet_distance_from_features(real, fake) -> float:
    """FID (Heusel et al. 2017) between two (N, D) feature sets; see ``frechet_distance``.

    Means and unbiased covariances of each set; each needs at least 2 samples (and, for
    a covariance of full rank, more samples than features).
    """
    real, fake = _matrix(real, 'real', 2), _matrix(fake, 'fake', 2)
    _same_width(real, fake, 'real and fake')
    return frechet_distance_from_statistics(FeatureStatistics().update(real),
                                            FeatureStatistics().update(fake))


# ----------------------------------------------------------------------------------
# Kernel distance.
# ----------------------------------------------------------------------------------


def _polynomial_kernel(a: jax.Array, b: jax.Array) -> jax.Array:
    return (jnp.matmul(a, b.T, precision=jax.lax.Precision.HIGHEST) / a.shape[1] + 1.0) ** 3


@jax.jit
def _unbiased_mmd2(real: jax.Array, fake: jax.Array) -> jax.Array:
    m, n = len(real), len(fake)
    k_rr, k_ff = _polynomial_kernel(real, real), _polynomial_kernel(fake, fake)
    return ((k_rr.sum() - jnp.trace(k_rr)) / (m * (m - 1))
            + (k_ff.sum() - jnp.trace(k_ff)) / (n * (n - 1))
            - 2.0 * _polynomial_kernel(real, fake).mean())


@_float64
def unbiased_mmd2(real, fake) -> float:
    """MMD²_u = Σ_{i≠j} k(x_i, x_j)/(m(m−1)) + Σ_{i≠j} k(y_i, y_j)/(n(n−1))
    − 2 Σ_{i,j} k(x_i, y_j)/(mn), with the cubic polynomial kernel (Gretton et al. 2012,
    Lemma 6), of two (N, D) feature sets of at least 2 samples each."""
    real, fake = _matrix(real, 'real', 2), _matrix(fake, 'fake', 2)
    _same_width(real, fake, 'real and fake')
    return float(_unbiased_mmd2(real, fake))


@dataclasses.dataclass(frozen=True)
class KernelDistance:
    """KID: the mean of ``MMD²_u`` over subsets, and its standard error.

    ``std`` is the standard deviation over subsets (ddof=1; 0 for one subset) and
    ``stderr`` = std / √num_subsets, the error of the mean as an estimate of the
    expected subset MMD². ``subset_size`` is None where both whole sets were used once
    (their sizes may differ).
    """
    value: float
    std: float
    stderr: float
    num_subsets: int
    subset_size: int | None


@_float64
def kernel_distance_from_features(real, fake, *, num_subsets: int = 1,
                                  subset_size: int | None = None,
                                  seed: int = 0) -> KernelDistance:
    """KID (Bińkowski et al. 2018) between two (N, D) feature sets.

    Args:
      real, fake: features, each at least 2 samples.
      num_subsets: subsets drawn (each of ``subset_size`` real and fake samples, without
        replacement within a subset); 1 with ``subset_size`` None uses all samples of
        both sets once, whatever their sizes.
      subset_size: samples per subset; None for min(len(real), len(fake)). Bińkowski et
        al.'s code and common FID toolkits use 100 subsets of 1,000.
      seed: of the subset draws.
    """
    real, fake = _matrix(real, 'real', 2), _matrix(fake, 'fake', 2)
    _same_width(real, fake, 'real and fake')
    size = min(len(real), len(fake)) if subset_size is None else subset_size
    if not 2 <= size <= min(len(real), len(fake)):
        raise ValueError(f'subset_size must be in [2, {min(len(real), len(fake))}] '
                         f'(the smaller set), got {subset_size}')
    if num_subsets < 1:
        raise ValueError(f'num_subsets must be >= 1, got {num_subsets}')
    rng = np.random.default_rng(seed)
    whole = num_subsets == 1 and subset_size is None
    values = np.array([
        _unbiased_mmd2(real, fake) if whole else _unbiased_mmd2(
            real[rng.choice(len(real), size, replace=False)],
            fake[rng.choice(len(fake), size, replace=False)])
        for _ in range(num_subsets)])
    std = float(values.std(ddof=1)) if num_subsets > 1 else 0.0
    return KernelDistance(float(values.mean()), std, std / math.sqrt(num_subsets),
                          num_subsets, None if whole else size)


# ----------------------------------------------------------------------------------
# Inception score.
# ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InceptionScore:
    """IS: the mean over splits, and the standard deviation over splits (ddof=0, as in
    Salimans et al.'s code; 0 for one split)."""
    mean: float
    std: float
    num_splits: int


@jax.jit
def _inception_score(logits: jax.Array) -> jax.Array:
    log_p = jax.nn.log_softmax(logits, axis=1)
    p = jnp.exp(log_p)
    log_marginal = jnp.log(p.mean(axis=0))
    # KL(p(y|x) ‖ p(y)) = Σ_y p log p − p log p(y); 0·log 0 = 0 where p underflows.
    kl = jnp.sum(jnp.where(p > 0, p * (log_p - log_marginal), 0.0), axis=1)
    return jnp.exp(kl.mean())


@_float64
def inception_score_from_logits(logits, num_splits: int = 1) -> InceptionScore:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) (Salimans et al. 2016) of (N, K) class logits.

    p(y|x) = softmax(logits); p(y) is the mean of p(y|x) over the split. The samples are
    cut into ``num_splits`` contiguous splits, split i from sample i·N // num_splits to
    (i + 1)·N // num_splits (as Salimans et al.'s code cuts them: every sample counts,
    and splits differ by at most one sample), each scored separately. Ranges from 1
    (every p(y|x) equal) to K (each sample sure of one class, all classes equally often).
    """
    logits = _matrix(logits, 'logits', 1)
    num = len(logits)
    if not 1 <= num_splits <= num:
        raise ValueError(f'num_splits must be in [1, {num}], got {num_splits}')
    scores = np.array([
        _inception_score(logits[split * num // num_splits:(split + 1) * num // num_splits])
        for split in range(num_splits)])
    return InceptionScore(float(np.mean(scores)), float(np.std(scores)), num_splits)


# ----------------------------------------------------------------------------------
# Precision, recall, density, coverage.
# ----------------------------------------------------------------------------------


def _pairwise_distances(a: jax.Array, b: jax.Array) -> jax.Array:
    """Euclidean distances (len(a), len(b)), from ‖a‖² + ‖b‖² − 2abᵀ clipped at 0."""
    squared = (jnp.sum(a ** 2, axis=1)[:, None] + jnp.sum(b ** 2, axis=1)[None, :]
               - 2.0 * jnp.matmul(a, b.T, precision=jax.lax.Precision.HIGHEST))
    return jnp.sqrt(jnp.clip(squared, 0.0))


def _centred(real: jax.Array, fake: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Both sets moved by the mean of ``real``: the same distances, but
    ``_pairwise_distances``' ‖a‖² + ‖b‖² − 2abᵀ then cancels no large common offset (sets far
    from the origin against their spread would lose the digits that tell neighbours
    apart)."""
    centre = jnp.mean(real, axis=0)
    return real - centre, fake - centre


def _by_row_blocks(function, rows: jax.Array, *args) -> jax.Array:
    """``function(block, *args)`` over blocks of ``_CHUNK`` rows, concatenated: bounds
    the pairwise-distance matrices held at once to _CHUNK × M."""
    return jnp.concatenate([function(rows[start:start + _CHUNK], *args)
                            for start in range(0, len(rows), _CHUNK)])


@functools.partial(jax.jit, static_argnums=2)
def _kth_neighbour_block(block: jax.Array, points: jax.Array, k: int) -> jax.Array:
    # The (k + 1)-th smallest distance of each row (the smallest is the point itself):
    # k times drop one smallest entry, then take the minimum; ties count with their
    # multiplicity. Equal to lax.top_k's, and much faster on XLA:CPU
    # (docs/performance.md).
    distances = _pairwise_distances(block, points)
    rows = jnp.arange(distances.shape[0])
    for _ in range(k):
        distances = distances.at[rows, jnp.argmin(distances, axis=1)].set(jnp.inf)
    return distances.min(axis=1)


@jax.jit
def _ball_count_block(queries: jax.Array, centres: jax.Array, radii: jax.Array) -> jax.Array:
    return jnp.sum(_pairwise_distances(queries, centres) <= radii[None, :], axis=1)


@jax.jit
def _nearest_block(queries: jax.Array, points: jax.Array) -> jax.Array:
    return _pairwise_distances(queries, points).min(axis=1)


def _kth_neighbour_radii(points: jax.Array, k: int) -> jax.Array:
    """Distance from each point to its k-th nearest other point of the same set."""
    return _by_row_blocks(_kth_neighbour_block, points, points, k)


def _ball_counts(queries: jax.Array, centres: jax.Array, radii: jax.Array) -> jax.Array:
    """For each query, the number of balls B(centre_i, radius_i) that contain it."""
    return _by_row_blocks(_ball_count_block, queries, centres, radii)


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision/recall (Kynkäänniemi et al. 2019) and density/coverage
    (Naeem et al. 2020) at ``k`` nearest neighbours."""
    precision: float
    recall: float
    density: float
    coverage: float
    k: int


@_float64
def precision_recall_from_features(real, fake, k: int = 3) -> PrecisionRecall:
    """Precision, recall, density and coverage of ``fake`` against ``real`` features.

    With r_k(x) the distance from x to its k-th nearest neighbour in its own set and
    B(x, r) the closed ball:

    * precision = fraction of fakes in ⋃_reals B(x, r_k(x));
    * recall = fraction of reals in ⋃_fakes B(y, r_k(y));
    * density = (1 / (k·M)) Σ_fakes #{reals x: y ∈ B(x, r_k(x))} (can exceed 1);
    * coverage = fraction of reals x whose ball B(x, r_k(x)) holds at least one fake.

    Exact (all pairwise distances, in blocks of ``_CHUNK`` rows); both sets need more
    than k samples. Balls are closed (≤), as in Kynkäänniemi et al.'s code; Naeem et al.
    recommend k = 5 for density and coverage, Kynkäänniemi et al. k = 3 for precision
    and recall (the default here): pass k and report it.
    """
    real, fake = _matrix(real, 'real', k + 1), _matrix(fake, 'fake', k + 1)
    _same_width(real, fake, 'real and fake')
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    real, fake = _centred(real, fake)
    real_radii, fake_radii = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
    fakes_in_real_balls = _ball_counts(fake, real, real_radii)
    reals_in_fake_balls = _ball_counts(real, fake, fake_radii)
    # Fractions in NumPy's float64: jnp.mean of booleans is float32 even under x64.
    return PrecisionRecall(
        precision=float(np.mean(np.asarray(fakes_in_real_balls) > 0)),
        recall=float(np.mean(np.asarray(reals_in_fake_balls) > 0)),
        density=float(fakes_in_real_balls.sum() / (k * len(fake))),
        coverage=float(np.mean(_covered_reals(real, fake, real_radii))),
        k=k)


def _covered_reals(real: jax.Array, fake: jax.Array, real_radii: jax.Array) -> np.ndarray:
    """For each real x, whether B(x, r_k(x)) holds at least one fake."""
    return np.asarray(_by_row_blocks(_nearest_block, real, fake) <= real_radii)


@_float64
def coverage_by_class(real, real_labels, fake, num_classes: int, k: int = 3) -> np.ndarray:
    """Coverage (Naeem et al. 2020) of each class's reals: (num_classes,) fractions.

    Entry c is the fraction of reals of class c whose ball B(x, r_k(x)) (r_k over all
    reals, as in ``precision_recall_from_features``) holds at least one fake; their mean
    weighted by class size is the overall coverage. A class with no reals gets NaN. A
    generator that drops a class leaves that class's entry near 0.
    """
    real, fake = _matrix(real, 'real', k + 1), _matrix(fake, 'fake', 1)
    _same_width(real, fake, 'real and fake')
    labels = np.asarray(real_labels)
    if labels.shape != (len(real),):
        raise ValueError(f'real_labels must have shape ({len(real)},), got {labels.shape}')
    real, fake = _centred(real, fake)
    covered = _covered_reals(real, fake, _kth_neighbour_radii(real, k))
    return np.array([covered[labels == c].mean() if np.any(labels == c) else np.nan
                     for c in range(num_classes)])


# ----------------------------------------------------------------------------------
# Mode histograms.
# ----------------------------------------------------------------------------------


@_float64
def kl_to_uniform(counts) -> float:
    """KL(h ‖ u) in nats of the normalised histogram h = counts / Σ counts against the
    uniform distribution u over its K bins: Σ_k h_k log(K·h_k), with 0·log 0 = 0.

    The mode-collapse benchmarks' KL (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al.
    2018): 0 when every mode is equally frequent, log K when one mode takes everything.
    """
    counts = jnp.asarray(counts, jnp.float64)
    if counts.ndim != 1 or not len(counts) or jnp.any(counts < 0) or not counts.sum():
        raise ValueError(f'counts must be a non-empty, non-negative histogram with a '
                         f'positive total, got {counts}')
    h = counts / counts.sum()
    return float(jnp.sum(jnp.where(h > 0, h * jnp.log(len(h) * jnp.where(h > 0, h, 1.0)),
                                   0.0)))
