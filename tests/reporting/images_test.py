"""Tests for ganjax.reporting.images: uint8 conversion, grids, PNGs, slerp and loss plots."""

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
import pytest

from ganjax.reporting import images


@pytest.mark.parametrize('value, expected', [
    (-1.0, 0), (1.0, 255), (0.0, 128),  # 0 -> 127.5, rounded half to even.
    (-3.0, 0), (7.0, 255),  # Clipped.
    (-1.0 + 1 / 127.5, 1), (1.0 - 0.4 / 127.5, 255), (1.0 - 0.6 / 127.5, 254),
    (float('nan'), 128),
])
def test_to_uint8(value, expected):
    result = images.to_uint8(jnp.full((2, 1), value))
    assert result.dtype == np.uint8 and result.shape == (2, 1)
    np.testing.assert_array_equal(result, expected)


def test_make_grid_layout_and_padding():
    # Five 2x3 images, image i filled with 10 * (i + 1); channel c adds c.
    tiles = (10 * np.arange(1, 6, dtype=np.uint8)[:, None, None, None]
             + np.arange(3, dtype=np.uint8)) * np.ones((5, 2, 3, 3), np.uint8)
    grid = images.make_grid(tiles, nrow=2, padding=1, pad_value=255)
    # 3 rows of (2 + 1), plus 1; 2 columns of (3 + 1), plus 1.
    assert grid.shape == (10, 9, 3) and grid.dtype == np.uint8
    expected = np.full((10, 9, 3), 255, np.uint8)
    for index, (top, left) in enumerate([(1, 1), (1, 5), (4, 1), (4, 5), (7, 1)]):
        expected[top:top + 2, left:left + 3] = tiles[index]
    np.testing.assert_array_equal(grid, expected)


@pytest.mark.parametrize('num, nrow, expected_shape', [
    (1, None, (4 + 2 * 2, 4 + 2 * 2, 1)),
    (4, None, (2 * 6 + 2, 2 * 6 + 2, 1)),
    (5, None, (2 * 6 + 2, 3 * 6 + 2, 1)),  # ceil(sqrt(5)) = 3 per row, 2 rows.
    (10, None, (3 * 6 + 2, 4 * 6 + 2, 1)),
    (6, 6, (1 * 6 + 2, 6 * 6 + 2, 1)),
    (6, 1, (6 * 6 + 2, 1 * 6 + 2, 1)),
])
def test_make_grid_shape(num, nrow, expected_shape):
    grid = images.make_grid(np.ones((num, 4, 4, 1), np.uint8), nrow=nrow)
    assert grid.shape == expected_shape
    # Each image's 16 pixels of 1 survive; all else is padding 0.
    assert grid.sum() == num * 16


def test_make_grid_converts_floats():
    grid = images.make_grid(jnp.array([[[[-1.0]]], [[[1.0]]]]), nrow=2, padding=0)
    np.testing.assert_array_equal(grid, np.array([[[0], [255]]], np.uint8))


@pytest.mark.parametrize('shape, kwargs, match', [
    ((4, 4, 3), {}, 'images'),
    ((2, 4, 4, 2), {}, 'images'),
    ((0, 4, 4, 3), {}, 'images'),
    ((2, 4, 4, 3), {'nrow': 0}, 'nrow'),
    ((2, 4, 4, 3), {'padding': -1}, 'padding'),
])
def test_make_grid_rejects_bad_input(shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        images.make_grid(np.zeros(shape, np.uint8), **kwargs)


@pytest.mark.parametrize('channels, mode', [(1, 'L'), (3, 'RGB')])
def test_save_grid_writes_readable_png(tmp_path, channels, mode):
    tiles = np.random.default_rng(0).uniform(-1, 1, (6, 5, 7, channels)).astype(np.float32)
    path = tmp_path / 'nested' / 'dir' / 'samples.png'
    images.save_grid(str(path), tiles, nrow=3)
    with Image.open(path) as png:
        assert png.format == 'PNG' and png.mode == mode
        # 3 per row, 2 rows, padding 2: width 3 * 9 + 2, height 2 * 7 + 2.
        assert png.size == (29, 16)
        pixels = np.asarray(png)
    expected = images.make_grid(tiles, nrow=3)
    np.testing.assert_array_equal(pixels, expected.reshape(pixels.shape))


slerp = jax.jit(images.slerp)


def test_slerp_endpoints():
    z0, z1 = jax.random.normal(jax.random.key(0), (2, 2, 16))
    np.testing.assert_allclose(slerp(z0, z1, 0.0), z0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(slerp(z0, z1, 1.0), z1, rtol=1e-5, atol=1e-6)


def test_slerp_keeps_norm_of_equal_norm_endpoints():
    z0, z1 = jax.random.normal(jax.random.key(1), (2, 64))
    z1 = z1 * jnp.linalg.norm(z0) / jnp.linalg.norm(z1)
    path = slerp(z0, z1, jnp.linspace(0.0, 1.0, 9))
    assert path.shape == (9, 64)
    np.testing.assert_allclose(jnp.linalg.norm(path, axis=-1), jnp.linalg.norm(z0), rtol=1e-5)


def test_slerp_of_orthogonal_unit_vectors_is_the_circle():
    e0, e1 = jnp.eye(2)
    t = jnp.array([0.0, 1 / 3, 0.5, 1.0])
    angles = t * jnp.pi / 2
    expected = jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1)
    np.testing.assert_allclose(slerp(e0, e1, t), expected, atol=1e-6)


def test_slerp_of_parallel_vectors_is_linear():
    z = jnp.array([1.0, 2.0, 2.0])
    result = slerp(z, 3 * z, 0.5)
    assert np.all(np.isfinite(result))
    np.testing.assert_allclose(result, 2 * z, rtol=1e-6)


def test_interpolation_latents_rows_are_paths():
    num_rows, num_steps, dim = 3, 5, 8
    latents = images.interpolation_latents(jax.random.key(0), num_rows, num_steps, dim)
    assert latents.shape == (num_rows * num_steps, dim)
    paths = latents.reshape(num_rows, num_steps, dim)
    for start, end, path in zip(paths[:, 0], paths[:, -1], paths, strict=True):
        np.testing.assert_allclose(path, slerp(start, end, jnp.linspace(0, 1, num_steps)),
                                   rtol=1e-5, atol=1e-5)
    # Rows have different endpoints.
    assert not np.allclose(paths[0, 0], paths[1, 0])


@pytest.mark.parametrize('kwargs, match', [
    ({'num_rows': 0}, 'num_rows'),
    ({'num_steps': 1}, 'num_steps'),
    ({'latent_dim': 0}, 'latent_dim'),
])
def test_interpolation_latents_rejects_bad_sizes(kwargs, match):
    sizes = {'num_rows': 2, 'num_steps': 3, 'latent_dim': 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        images.interpolation_latents(jax.random.key(0), **sizes)


def test_interpolation_grid_puts_one_path_per_row():
    def generate(latents):
        # 1x1 grey image whose value is the latent's first coordinate.
        return jnp.tanh(latents[:, :1, None, None])
    grid = images.interpolation_grid(generate, jax.random.key(0), num_rows=2, num_steps=4,
                                     latent_dim=3, padding=0)
    latents = images.interpolation_latents(jax.random.key(0), 2, 4, 3)
    assert grid.shape == (2, 4, 1)
    expected = images.to_uint8(jnp.tanh(latents[:, 0])).reshape(2, 4)
    np.testing.assert_array_equal(grid[..., 0], expected)


def test_plot_losses_writes_png(tmp_path):
    metrics = [{'step': s, 'train/d_loss': 1.0 / s, 'train/g_loss': float(s)} for s in range(1, 20)]
    metrics.append({'step': 20, 'eval/fid': 3.0})  # Records without the keys are skipped.
    path = tmp_path / 'plots' / 'losses.png'
    images.plot_losses(metrics, str(path))
    with Image.open(path) as png:
        assert png.format == 'PNG'
        assert png.size == (700, 400)
        png.verify()


def test_plot_losses_rejects_missing_key(tmp_path):
    with pytest.raises(ValueError, match='train/typo'):
        images.plot_losses([{'step': 1, 'train/d_loss': 1.0}], str(tmp_path / 'x.png'),
                           keys=('train/d_loss', 'train/typo'))


def test_plot_panels_draws_one_panel_per_metric(tmp_path):
    records = [{'step': s, 'eval/ema/fid': 10.0 / s, 'eval/raw/fid': 12.0 / s,
                'eval/ema/kid': 0.1 / s} for s in (1, 2, 3)]
    path = tmp_path / 'eval.png'
    images.plot_panels(records, str(path), {'fid': ['eval/ema/fid', 'eval/raw/fid'],
                                            'kid': ['eval/ema/kid']})
    with Image.open(path) as image:
        assert image.size == (720, 300)  # two 3.6-inch panels side by side at 100 dpi
    with pytest.raises(ValueError, match='eval/raw/kid'):
        images.plot_panels(records, str(path), {'kid': ['eval/raw/kid']})


def test_plot_panels_labels_few_whole_steps_around_a_single_evaluation(tmp_path,
                                                                       monkeypatch):
    # A default MNIST run evaluates once, at step 12000: its eval.png has one point a panel.
    drawn = []
    savefig = images.figure.Figure.savefig
    monkeypatch.setattr(images.figure.Figure, 'savefig',
                        lambda fig, *args, **kwargs: (drawn.append(fig),
                                                      savefig(fig, *args, **kwargs)))
    images.plot_panels([{'step': 12000, 'eval/ema/fid': 9.0, 'eval/ema/kid': 0.1}],
                       str(tmp_path / 'eval.png'),
                       {'fid': ['eval/ema/fid'], 'kid': ['eval/ema/kid']})
    for ax in drawn[0].axes:
        low, high = ax.get_xlim()
        shown = [tick for tick in ax.get_xticks() if low <= tick <= high]
        assert 2 <= len(shown) <= 5, shown
        assert all(tick == int(tick) for tick in shown), shown
