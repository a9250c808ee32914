"""Pictures of a run: sample grids, latent interpolations, loss curves, 2-D scatters.

Generators here output images in [-1, 1] with layout (N, H, W, C); everything in this
module ends as uint8 arrays or PNG files a person can look at.
"""

from collections.abc import Callable, Mapping, Sequence
import math
from typing import Any

import jax
import jax.numpy as jnp
from matplotlib import figure
from matplotlib import ticker
import numpy as np
from PIL import Image

from ganjax.reporting import files


def to_uint8(images: Any) -> np.ndarray:
    """Maps images from [-1, 1] to uint8 [0, 255].

    Computes `rint((clip(x, -1, 1) + 1) * 127.5)`, rounding half to even, so -1 -> 0,
    0 -> 128 (127.5 rounds to the even 128) and 1 -> 255. NaN becomes 128 (grey).

    Args:
        images: array-like of floats, any shape.

    Returns:
        A uint8 numpy array of the same shape.
    """
    pixels = np.nan_to_num(np.asarray(images, np.float32), nan=0.0)
    return np.rint((np.clip(pixels, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def make_grid(images: Any, nrow: int | None = None, padding: int = 2,
              pad_value: int = 0) -> np.ndarray:
    """Tiles N images into one, row by row, like `torchvision.utils.make_grid`.

    Every image is surrounded by `padding` pixels of `pad_value`, so the grid has
    shape (rows * (H + padding) + padding, nrow * (W + padding) + padding, C) with
    rows = ceil(N / nrow); cells after the last image are left as padding.

    Args:
        images: (N, H, W, C) with C in {1, 3}; uint8, or floats in [-1, 1] (converted
            with `to_uint8`).
        nrow: images per row; default ceil(sqrt(N)), a near-square grid.
        padding: pixels between images and around the border.
        pad_value: uint8 value of the padding.

    Returns:
        The grid, a uint8 (height, width, C) array.

    Raises:
        ValueError: if the shape, `nrow` or `padding` is invalid.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[-1] not in (1, 3):
        raise ValueError(f'images must have shape (N, H, W, C) with N >= 1 and C in 1, 3; '
                         f'got {images.shape}.')
    if images.dtype != np.uint8:
        images = to_uint8(images)
    num, height, width, channels = images.shape
    nrow = math.ceil(math.sqrt(num)) if nrow is None else nrow
    if nrow < 1:
        raise ValueError(f'nrow must be >= 1, got {nrow}.')
    if padding < 0:
        raise ValueError(f'padding must be >= 0, got {padding}.')
    rows = math.ceil(num / nrow)
    cell_h, cell_w = height + padding, width + padding
    grid = np.full((rows * cell_h + padding, nrow * cell_w + padding, channels), pad_value,
                   np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // nrow) * cell_h
        left = padding + (index % nrow) * cell_w
        grid[top:top + height, left:left + width] = image
    return grid


def save_grid(path: str, images: Any, nrow: int | None = None, padding: int = 2) -> None:
    """Writes `make_grid(images, nrow, padding)` as a PNG, creating parent directories.

    Single-channel images are saved as grayscale (PIL mode 'L'), three channels as RGB.

    Args:
        path: the PNG file to write.
        images: as for `make_grid`.
        nrow: images per row, as for `make_grid`.
        padding: as for `make_grid`.
    """
    save_png(path, make_grid(images, nrow=nrow, padding=padding))


def save_png(path: str, image: np.ndarray) -> None:
    """Writes one uint8 (H, W, C) image as a PNG (grayscale if C == 1), creating parents."""
    if image.shape[-1] == 1:
        image = image[..., 0]
    with files.replacing(path) as partial:
        Image.fromarray(image).save(partial, format='PNG')


def slerp(z0: jax.Array, z1: jax.Array, t: jax.Array | float) -> jax.Array:
    """Spherical linear interpolation between latent vectors.

    White (2016), "Sampling Generative Networks", arXiv:1609.04468, Eq. 1:

        slerp(z0, z1; t) = sin((1 - t) θ) / sin θ · z0 + sin(t θ) / sin θ · z1,
        θ = arccos(z0 · z1 / (|z0| |z1|)).

    Unlike a straight line, the path stays at the norms typical of a high-dimensional
    Gaussian prior; for equal-norm endpoints the norm is constant along it. Where the
    endpoints are (anti)parallel, sin θ ≈ 0 and the formula is undefined; the result
    falls back to linear interpolation there.

    Args:
        z0: start points, shape (..., D).
        z1: end points, same shape as `z0`.
        t: interpolation positions in [0, 1], broadcastable to `z0.shape[:-1]`.

    Returns:
        Interpolated points, shape `broadcast(z0.shape[:-1], t.shape) + (D,)`.
    """
    t = jnp.asarray(t, z0.dtype)[..., None]
    cos_theta = jnp.sum(z0 * z1, axis=-1, keepdims=True) / (
        jnp.linalg.norm(z0, axis=-1, keepdims=True) * jnp.linalg.norm(z1, axis=-1, keepdims=True))
    theta = jnp.arccos(jnp.clip(cos_theta, -1.0, 1.0))
    sin_theta = jnp.sin(theta)
    degenerate = sin_theta < 1e-6
    safe_sin = jnp.where(degenerate, 1.0, sin_theta)
    spherical = (jnp.sin((1 - t) * theta) * z0 + jnp.sin(t * theta) * z1) / safe_sin
    linear = (1 - t) * z0 + t * z1
    return jnp.where(degenerate, linear, spherical)


def interpolation_latents(key: jax.Array, num_rows: int, num_steps: int,
                          latent_dim: int) -> jax.Array:
    """Latents for an interpolation grid: one slerp path per row.

    Each row joins two independent N(0, I) endpoints in `num_steps` evenly spaced steps
    (endpoints included). Row r, step c is at index r * num_steps + c, so
    `make_grid(generate(latents), nrow=num_steps)` shows one path per grid row.

    Args:
        key: a PRNG key.
        num_rows: number of paths.
        num_steps: points per path, >= 2.
        latent_dim: dimension of the latent space.

    Returns:
        Latents of shape (num_rows * num_steps, latent_dim).

    Raises:
        ValueError: if a size is too small.
    """
    for name, value, minimum in [('num_rows', num_rows, 1), ('num_steps', num_steps, 2),
                                 ('latent_dim', latent_dim, 1)]:
        if value < minimum:
            raise ValueError(f'{name} must be >= {minimum}, got {value}.')
    start_key, end_key = jax.random.split(key)
    z0 = jax.random.normal(start_key, (num_rows, 1, latent_dim))
    z1 = jax.random.normal(end_key, (num_rows, 1, latent_dim))
    t = jnp.linspace(0.0, 1.0, num_steps)
    return slerp(z0, z1, t).reshape(num_rows * num_steps, latent_dim)


def interpolation_grid(generate: Callable[[jax.Array], Any], key: jax.Array, num_rows: int,
                       num_steps: int, latent_dim: int, padding: int = 2) -> np.ndarray:
    """Generates images along `interpolation_latents` paths and tiles one path per row.

    Args:
        generate: maps latents (N, latent_dim) to images (N, H, W, C) in [-1, 1].
        key: a PRNG key.
        num_rows: number of paths (grid rows).
        num_steps: points per path (grid columns).
        latent_dim: dimension of the latent space.
        padding: as for `make_grid`.

    Returns:
        The uint8 grid.
    """
    latents = interpolation_latents(key, num_rows, num_steps, latent_dim)
    return make_grid(generate(latents), nrow=num_steps, padding=padding)


def plot_losses(metrics: Sequence[dict[str, Any]], path: str,
                keys: Sequence[str] = ('train/d_loss', 'train/g_loss')) -> None:
    """Plots metric curves against step into a PNG, all in one panel.

    Args:
        metrics: records as returned by `ganjax.reporting.writers.read_metrics`, each with a
            `step`; records without a key are skipped for that key.
        path: the PNG file to write; parent directories are created.
        keys: metric names to plot, one line each.

    Raises:
        ValueError: if a key appears in no record.
    """
    plot_panels(metrics, path, {'': keys})


def plot_panels(metrics: Sequence[dict[str, Any]], path: str,
                panels: Mapping[str, Sequence[str]], columns: int = 3) -> None:
    """Plots metric curves against step into a PNG, one panel per entry of ``panels``
    (title → metric names, one line each), for metrics of different scales.

    Uses matplotlib's Figure API directly (no pyplot), so no GUI backend or global
    figure state is involved.

    Raises:
        ValueError: if a key appears in no record.
    """
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    width = 7 if len(panels) == 1 else 3.6 * columns
    fig = figure.Figure(figsize=(width, 4 if len(panels) == 1 else 3 * rows),
                        layout='constrained')
    for index, (title, keys) in enumerate(panels.items()):
        ax = fig.add_subplot(rows, columns, index + 1)
        for key in keys:
            points = [(record['step'], record[key]) for record in metrics if key in record]
            if not points:
                raise ValueError(f'keys: {key!r} is in none of the {len(metrics)} metric '
                                 'records.')
            steps, values = zip(*points)
            ax.plot(steps, values, label=key, marker='.' if len(points) < 20 else None)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel('step')
        # Whole steps, few enough that five-digit ones do not run into each other in a
        # 3.6-inch panel (matplotlib's default gives seven around a single evaluation).
        ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=4, integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    with files.replacing(path) as partial:
        fig.savefig(partial, format='png', dpi=100)


def plot_point_sets(point_sets: Any, path: str, *, reference: Any = None,
                    titles: Sequence[str] | None = None, columns: int = 5) -> None:
    """Scatter plots of S sets of 2-D points side by side, into a PNG.

    Args:
        point_sets: (S, N, 2) points, one panel each.
        path: the PNG file to write; parent directories are created.
        reference: optional (K, 2) points marked with red crosses on every panel (the
            modes of a mixture, say).
        titles: optional S panel titles.
        columns: panels per row.
    """
    point_sets = np.asarray(point_sets)
    rows = -(-len(point_sets) // columns)
    fig = figure.Figure(figsize=(2.6 * min(columns, len(point_sets)), 2.6 * rows),
                        layout='constrained')
    for index, points in enumerate(point_sets):
        ax = fig.add_subplot(rows, columns, index + 1)
        ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.4, color='tab:blue')
        if reference is not None:
            reference = np.asarray(reference)
            ax.scatter(reference[:, 0], reference[:, 1], s=20, marker='x', color='tab:red')
        if titles is not None:
            ax.set_title(titles[index], fontsize=8)
        ax.set_aspect('equal')
        ax.tick_params(labelsize=6)
    with files.replacing(path) as partial:
        fig.savefig(partial, format='png', dpi=100)
