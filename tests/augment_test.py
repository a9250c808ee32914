"""Tests for ganjax.augment: DiffAugment's transforms against independent NumPy derivations.

Expected values come from NumPy transcriptions of the reference implementation's formulas
(mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py), fed with the same random draws as
the library (read back through the private ``_*_draws`` helpers and the documented
``fold_in(key, i)`` scheme), never from the library's own transform code (only the test of a
policy's order composes the private transforms). Calls go through ``jax.jit``, as the library
is used, except where eager execution is the point.
"""
import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import augment

SHAPES = [(4, 28, 28, 1), (3, 32, 32, 3), (2, 17, 9, 5)]
POLICIES = ['', 'color', 'translation', 'cutout', 'color,translation,cutout',
            'cutout,translation,color,color']

# One compiled function per (shape, policy), shared by the tests: most of them use SHAPE.
SHAPE = (3, 17, 9, 3)
_augment = jax.jit(augment.diff_augment, static_argnames='policy')


@functools.partial(jax.jit, static_argnames='policy')
def _grad_of_squares(images, key, policy):
    """d/dx Σ diff_augment(x)², a loss whose gradient is non-zero wherever the output is."""
    return jax.grad(lambda x: jnp.sum(jnp.square(augment.diff_augment(x, key, policy))))(images)


def _images(shape, seed=0, dtype=jnp.float32):
    return jax.random.normal(jax.random.key(seed), shape, dtype)


def _distinct_images(shape):
    """Every pixel of every channel distinct and non-zero, so a shift is identifiable."""
    return jnp.arange(1, np.prod(shape) + 1, dtype=jnp.float32).reshape(shape)


def _step_key(key, index=0):
    """The key the transform at position ``index`` of a policy uses (module docstring)."""
    return jax.random.fold_in(key, index)


def _shifted(image, offset_h, offset_w):
    """NumPy: out[h, w] = image[h + offset_h, w + offset_w], 0 outside the image."""
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    for h in range(height):
        for w in range(width):
            if 0 <= h + offset_h < height and 0 <= w + offset_w < width:
                out[h, w] = image[h + offset_h, w + offset_w]
    return out


def _reference_cutout_mask(height, width, position_h, position_w):
    """NumPy transcription of the reference's cutout: clamped square indices, zeros scattered."""
    size_h, size_w = int(height * 0.5 + 0.5), int(width * 0.5 + 0.5)
    rows = np.clip(np.arange(size_h) + position_h - size_h // 2, 0, height - 1)
    columns = np.clip(np.arange(size_w) + position_w - size_w // 2, 0, width - 1)
    keep = np.ones((height, width), bool)
    keep[np.ix_(rows, columns)] = False
    return ~keep


# ----------------------------------------------------------------------------------------------
# Shapes, dtypes, validation
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize('policy', POLICIES[:-1])
@pytest.mark.parametrize('shape', SHAPES, ids=str)
def test_shape_and_dtype_are_preserved(shape, policy):
    out = _augment(_images(shape), jax.random.key(1), policy=policy)
    assert out.shape == shape
    assert out.dtype == jnp.float32
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize('dtype', [jnp.bfloat16, jnp.float16])
def test_low_precision_dtypes_are_kept(dtype):
    out = _augment(_images((3, 16, 12, 3), dtype=dtype), jax.random.key(1),
                   policy='color,translation,cutout')
    assert out.dtype == dtype
    assert np.all(np.isfinite(np.asarray(out, np.float32)))


def test_integer_images_translate_and_cut_out_but_do_not_take_color():
    images = jnp.arange(2 * 8 * 8 * 3, dtype=jnp.int32).reshape(2, 8, 8, 3)
    out = _augment(images, jax.random.key(1), policy='translation,cutout')
    assert out.dtype == jnp.int32
    with pytest.raises(ValueError, match=r"images.*floating.*'color'.*int32"):
        augment.diff_augment(images, jax.random.key(1), policy='color')


@pytest.mark.parametrize('shape', [(4, 28, 28, 1), (5, 2), (7,)], ids=str)
def test_empty_policy_is_the_identity(shape):
    images = _images(shape)
    assert augment.diff_augment(images, jax.random.key(1), policy='') is images
    np.testing.assert_array_equal(_augment(images, jax.random.key(1), policy=''), images)


def test_non_4d_images_with_a_policy_raise():
    with pytest.raises(ValueError, match=re.escape('images must have shape (B, H, W, C)') +
                       r".*'color'.*" + re.escape('(5, 2)')):
        augment.diff_augment(jnp.zeros((5, 2)), jax.random.key(1), policy='color')
    with pytest.raises(ValueError, match=re.escape('(3, 28, 28)')):
        augment.diff_augment(jnp.zeros((3, 28, 28)), jax.random.key(1), policy='translation')


@pytest.mark.parametrize('policy', ['colour', 'color,zoom', 'color,', 'translation,,cutout'])
def test_unknown_policy_names_raise(policy):
    with pytest.raises(ValueError, match=r'policy .*unknown names') as error:
        augment.diff_augment(jnp.zeros((2, 8, 8, 3)), jax.random.key(1), policy=policy)
    for name in augment.POLICIES:
        assert name in str(error.value)


def test_policy_must_be_a_string():
    with pytest.raises(TypeError, match='policy'):
        augment.diff_augment(jnp.zeros((2, 8, 8, 3)), jax.random.key(1), policy=['color'])


def test_spaces_around_names_are_forgiven():
    images, key = _images(SHAPE), jax.random.key(1)
    np.testing.assert_array_equal(
        _augment(images, key, policy=' color , translation , cutout '),
        _augment(images, key, policy='color,translation,cutout'))


def test_policies_constant():
    assert augment.POLICIES == ('color', 'translation', 'cutout')


# ----------------------------------------------------------------------------------------------
# Randomness
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize('policy', POLICIES[1:])
def test_a_pure_function_of_the_key(policy):
    images = _images(SHAPE)
    first = _augment(images, jax.random.key(7), policy=policy)
    np.testing.assert_array_equal(first, _augment(images, jax.random.key(7), policy=policy))
    assert not np.array_equal(first, _augment(images, jax.random.key(8), policy=policy))


def test_each_example_gets_its_own_draws():
    # One batch of identical images: per-batch draws would give identical outputs.
    images = jnp.broadcast_to(_images((1,) + SHAPE[1:]), SHAPE)
    for policy in augment.POLICIES:
        out = np.asarray(_augment(images, jax.random.key(3), policy=policy))
        assert len({example.tobytes() for example in out}) > 1, policy


def test_transforms_apply_in_order_with_their_own_keys():
    images, key = _images(SHAPE), jax.random.key(5)

    @jax.jit
    def by_hand(images, key):
        translated_then_cut = augment._cutout(augment._translation(images, _step_key(key, 0)),
                                              _step_key(key, 1))
        cut_then_translated = augment._translation(augment._cutout(images, _step_key(key, 0)),
                                                   _step_key(key, 1))
        return translated_then_cut, cut_then_translated

    translated_then_cut, cut_then_translated = by_hand(images, key)
    np.testing.assert_array_equal(_augment(images, key, policy='translation,cutout'),
                                  translated_then_cut)
    np.testing.assert_array_equal(_augment(images, key, policy='cutout,translation'),
                                  cut_then_translated)
    assert not np.array_equal(translated_then_cut, cut_then_translated)


# ----------------------------------------------------------------------------------------------
# Color
# ----------------------------------------------------------------------------------------------


def test_color_draws_have_the_reference_ranges():
    brightness, saturation, contrast = jax.jit(
        augment._color_draws, static_argnums=(1, 2))(jax.random.key(2), 4096, jnp.float32)
    for draws, low, high in ((brightness, -0.5, 0.5), (saturation, 0.0, 2.0),
                             (contrast, 0.5, 1.5)):
        draws = np.asarray(draws)
        assert draws.shape == (4096, 1, 1, 1)
        assert draws.min() >= low and draws.max() < high
        # Uniform over the whole range, not a sub-range: both ends are approached.
        width = high - low
        assert draws.min() < low + 0.01 * width and draws.max() > high - 0.01 * width
        assert abs(draws.mean() - (low + high) / 2) < 0.03 * width
    # Independent draws for the three steps.
    assert abs(np.corrcoef(np.ravel(brightness), np.ravel(saturation))[0, 1]) < 0.1


@pytest.mark.parametrize('shape', SHAPES, ids=str)
def test_color_matches_numpy(shape):
    images, key = _images(shape), jax.random.key(11)
    out = _augment(images, key, policy='color')
    brightness, saturation, contrast = (
        np.asarray(d, np.float64)
        for d in augment._color_draws(_step_key(key), shape[0], jnp.float32))

    x = np.asarray(images, np.float64)
    x = x + brightness
    channel_mean = x.mean(axis=3, keepdims=True)
    x = (x - channel_mean) * saturation + channel_mean
    example_mean = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - example_mean) * contrast + example_mean
    np.testing.assert_allclose(out, x, rtol=1e-5, atol=1e-5)


def test_color_steps_match_their_formulas():
    images = np.asarray(_images((3, 8, 6, 4)), np.float64)
    factors = np.array([0.3, 1.0, 1.7]).reshape(3, 1, 1, 1)
    as_jax = functools.partial(jnp.asarray, dtype=jnp.float32)

    np.testing.assert_allclose(augment._brightness(as_jax(images), as_jax(factors - 1)),
                               images + factors - 1, rtol=1e-6, atol=1e-6)
    pixel_mean = images.mean(axis=3, keepdims=True)
    np.testing.assert_allclose(augment._saturation(as_jax(images), as_jax(factors)),
                               (images - pixel_mean) * factors + pixel_mean,
                               rtol=1e-5, atol=1e-5)
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(augment._contrast(as_jax(images), as_jax(factors)),
                               (images - mean) * factors + mean, rtol=1e-5, atol=1e-5)


def test_saturation_of_a_single_channel_is_the_identity():
    images = _images((3, 8, 8, 1))
    np.testing.assert_allclose(augment._saturation(images, jnp.full((3, 1, 1, 1), 1.7)),
                               images, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Translation
# ----------------------------------------------------------------------------------------------


# (2, 20, 4, 1): 20/8 = 2.5 and 4/8 = 0.5 round half up to 3 and 1 (round() would give 2, 0).
@pytest.mark.parametrize('shape', SHAPES + [(2, 20, 4, 1)], ids=str)
def test_translation_is_a_zero_filled_integer_shift(shape):
    _, height, width, _ = shape
    shift_h, shift_w = int(height / 8 + 0.5), int(width / 8 + 0.5)
    images, key = _distinct_images(shape), jax.random.key(13)
    out = np.asarray(_augment(images, key, policy='translation'))
    offsets = np.asarray(augment._translation_draws(_step_key(key), shape[0], height, width))
    for example, image, offset in zip(out, np.asarray(images), offsets):
        matches = [(t_h, t_w)
                   for t_h in range(-shift_h, shift_h + 1)
                   for t_w in range(-shift_w, shift_w + 1)
                   if np.array_equal(example, _shifted(image, t_h, t_w))]
        # Distinct non-zero pixels: exactly one shift in range explains the output, and it is
        # the one drawn.
        assert matches == [tuple(offset)]


def test_translation_offsets_cover_the_range():
    height, width = 17, 9  # shifts int(2.625) = 2 and int(1.625) = 1
    keys = jax.random.split(jax.random.key(17), 64)
    draws = jax.vmap(augment._translation_draws, in_axes=(0, None, None, None))
    offsets = np.asarray(jax.jit(draws, static_argnums=(1, 2, 3))(keys, 8, height, width))
    assert set(offsets[..., 0].ravel()) == {-2, -1, 0, 1, 2}
    assert set(offsets[..., 1].ravel()) == {-1, 0, 1}


def test_translation_at_the_largest_offsets():
    images = _distinct_images((2, 17, 9, 2))
    offsets = jnp.array([[2, 1], [-2, -1]])
    out = np.asarray(jax.jit(augment._translate)(images, offsets))
    for example, image, (t_h, t_w) in zip(out, np.asarray(images), offsets.tolist()):
        np.testing.assert_array_equal(example, _shifted(image, t_h, t_w))


# ----------------------------------------------------------------------------------------------
# Cutout
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize('shape', SHAPES + [(64, 9, 8, 2), (16, 1, 3, 1)], ids=str)
def test_cutout_zeroes_one_clipped_rectangle(shape):
    batch_size, height, width, channels = shape
    key = jax.random.key(19)
    out = np.asarray(_augment(jnp.ones(shape), key, policy='cutout'))
    positions = np.asarray(augment._cutout_draws(_step_key(key), batch_size, height, width))
    size_h, size_w = int(height * 0.5 + 0.5), int(width * 0.5 + 0.5)
    for example, (position_h, position_w) in zip(out, positions):
        assert 0 <= position_h < height + 1 - size_h % 2
        assert 0 <= position_w < width + 1 - size_w % 2
        zeroed = example == 0
        # The same pixels in every channel, and only zeros and untouched ones.
        assert np.all(zeroed == zeroed[..., :1])
        assert np.all((example == 0) | (example == 1))
        zeroed = zeroed[..., 0]
        np.testing.assert_array_equal(
            zeroed, _reference_cutout_mask(height, width, position_h, position_w))
        # One axis-aligned rectangle: its bounding box is entirely zero.
        rows, columns = np.nonzero(zeroed)
        top, bottom, left, right = rows.min(), rows.max(), columns.min(), columns.max()
        assert zeroed[top:bottom + 1, left:right + 1].all()
        # Its area is the square's, clipped to the image.
        first_row, first_column = position_h - size_h // 2, position_w - size_w // 2
        area = ((min(height, first_row + size_h) - max(0, first_row))
                * (min(width, first_column + size_w) - max(0, first_column)))
        assert zeroed.sum() == area > 0


# Sides 5 (odd: positions 0..8, one per pixel) and 4 (even: 0..8, one past the last pixel too),
# each on either axis.
@pytest.mark.parametrize('height, width', [(9, 8), (8, 9)])
def test_cutout_positions_cover_the_image(height, width):
    keys = jax.random.split(jax.random.key(23), 64)
    cut = jax.jit(jax.vmap(functools.partial(augment.diff_augment, policy='cutout'),
                           in_axes=(None, 0)))
    out = np.asarray(cut(jnp.ones((8, height, width, 1)), keys))
    assert np.all((out == 0).any(axis=(0, 1)))  # every pixel is cut out by some draw
    positions = np.asarray(jax.vmap(augment._cutout_draws, in_axes=(0, None, None, None))(
        jax.vmap(_step_key)(keys), 8, height, width))
    assert set(positions[..., 0].ravel()) == set(range(9))
    assert set(positions[..., 1].ravel()) == set(range(9))


def test_cutout_zeroes_non_finite_pixels():
    # Eager: under jit XLA already rewrites a multiplication by a 0/1 mask into a select, so only
    # the op-by-op path can tell a select from the reference's multiplication (inf · 0 = NaN).
    images = jnp.full((4, 8, 8, 1), jnp.inf)
    out = np.asarray(augment.diff_augment(images, jax.random.key(29), policy='cutout'))
    assert np.all((out == 0) | np.isinf(out)) and np.any(out == 0)


# ----------------------------------------------------------------------------------------------
# Transformations: grad, jit, vmap
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize('policy', POLICIES[1:])
def test_gradients_are_finite_and_non_zero(policy):
    images = _images(SHAPE)
    grad = _grad_of_squares(images, jax.random.key(31), policy=policy)
    assert grad.shape == images.shape
    assert np.all(np.isfinite(grad))
    assert np.any(grad != 0)


def test_cutout_and_translation_gradients_route_to_the_kept_pixels():
    images, key = _images(SHAPE), jax.random.key(37)
    distinct = _distinct_images(SHAPE)
    # d/dx Σ out²: 2x on each pixel that reaches the output, 0 on the others.
    for policy in ('cutout', 'translation'):
        grad = _grad_of_squares(images, key, policy=policy)
        out = _augment(images, key, policy=policy)
        kept = np.isin(np.asarray(distinct), np.asarray(_augment(distinct, key, policy=policy)))
        np.testing.assert_allclose(grad, np.where(kept, 2 * np.asarray(images), 0), rtol=1e-6)
        np.testing.assert_allclose(np.sum(np.square(grad)) / 4, np.sum(np.square(out)),
                                   rtol=1e-5)


@pytest.mark.parametrize('policy', POLICIES)
def test_jit_equals_eager(policy):
    images, key = _images(SHAPE), jax.random.key(41)
    np.testing.assert_allclose(_augment(images, key, policy=policy),
                               augment.diff_augment(images, key, policy),
                               rtol=1e-6, atol=1e-6)


def test_vmap_over_groups_equals_a_loop():
    images = _images((2,) + SHAPE)
    keys = jax.random.split(jax.random.key(43), 2)
    batched = jax.jit(jax.vmap(augment.diff_augment))(images, keys)
    for group, key, out in zip(images, keys, batched):
        np.testing.assert_allclose(out, _augment(group, key, policy='color,translation,cutout'),
                                   rtol=1e-6, atol=1e-6)
