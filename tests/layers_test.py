"""Tests for ganjax.layers: the sub-pixel transposed convolution, spectral norm, packing,
minibatch standard deviation, maxout.

``conv_transpose`` must be the *same function* as ``jax.lax.conv_transpose`` (and the
``ConvTranspose`` module the same as ``flax.linen.ConvTranspose``), only computed
differently, so it is compared with them over a grid of kernels, strides, paddings and
input sizes: in float64 to 1e-10, and in float32 against the float64 result within the
worst-case float32 rounding error of an n-term dot product (Higham 2002, "Accuracy and
Stability of Numerical Algorithms", §3.1):

    |fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γₙ Σ|aᵢbᵢ|,  γₙ = nu / (1 − nu),  u = 2⁻²⁴.

Spectral norm is checked against the exact top singular value from ``np.linalg.svd``,
maxout against a hand computation from its parameters. Calls go through ``jax.jit``.
"""
from collections.abc import Callable
import functools
import itertools
import math

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import layers

DIMENSION_NUMBERS = ('NHWC', 'HWIO', 'NHWC')
FLOAT32_UNIT_ROUNDOFF = 2.0**-24
FLOAT64_TOLERANCE = 1e-10


@pytest.fixture
def x64():
    """Enables float64 for one test and restores the previous setting afterwards."""
    with jax.enable_x64(True):
        yield


def _gamma(num_terms: int) -> float:
    """γₙ: relative worst-case rounding error of an n-term float32 dot product."""
    n_u = num_terms * FLOAT32_UNIT_ROUNDOFF
    return n_u / (1.0 - n_u)


def _reference(x, kernel, strides, padding):
    return jax.lax.conv_transpose(x, kernel, strides, padding,
                                  dimension_numbers=DIMENSION_NUMBERS)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _both_conv_transposes(x, kernel, strides, padding):
    return (layers.conv_transpose(x, kernel, strides, padding),
            _reference(x, kernel, strides, padding))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _exact_and_magnitude(x, kernel, strides, padding):
    """The exact result and Σ|x||k| per output, both in float64."""
    x, kernel = x.astype(jnp.float64), kernel.astype(jnp.float64)
    return (_reference(x, kernel, strides, padding),
            _reference(jnp.abs(x), jnp.abs(kernel), strides, padding))


def _as_pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


# Explicit paddings of the dilated input: asymmetric, zero, negative (a crop) and wider
# than the kernel (zero borders in the output). lo + hi >= 4 = k − 1 for every kernel
# below, so that even a 1-pixel input has a non-empty output.
EXPLICIT_PADDINGS = (((2, 3), (4, 1)), ((0, 4), (-1, 5)))
KERNELS = (1, 2, 3, 4, 5, (5, 3))
STRIDES = (1, 2, 3, (2, 1))
PADDINGS = ('SAME', 'VALID', *EXPLICIT_PADDINGS)
# 1-pixel, odd, even and non-square inputs. Five sizes, cycled through the grid below:
# five is coprime with the four paddings and the four strides, so every padding, stride
# and kernel meets every input size.
INPUT_SIZES = ((1, 1), (1, 5), (4, 4), (5, 6), (7, 2))


def _grid():
    for i, (kernel, strides, padding) in enumerate(
            itertools.product(KERNELS, STRIDES, PADDINGS)):
        kernel, strides = _as_pair(kernel), _as_pair(strides)
        input_size = INPUT_SIZES[i % len(INPUT_SIZES)]
        yield pytest.param(kernel, strides, padding, input_size,
                           id=f'k{kernel}-s{strides}-{padding}-in{input_size}')


CONV_TRANSPOSE_GRID = list(_grid())
# The float32 check is about rounding, not about the index arithmetic the full grid
# covers in float64: a smaller grid with every kernel, stride and padding suffices.
CONV_TRANSPOSE_GRID_FLOAT32 = CONV_TRANSPOSE_GRID[::3]


def _random_conv_inputs(seed, input_size, kernel_size, dtype, c_in=3, c_out=2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, *input_size, c_in)).astype(dtype)
    kernel = rng.standard_normal((*kernel_size, c_in, c_out)).astype(dtype)
    return x, kernel


@pytest.mark.parametrize('kernel_size, strides, padding, input_size', CONV_TRANSPOSE_GRID)
def test_conv_transpose_equals_lax_in_float64(x64, kernel_size, strides, padding,
                                              input_size):
    x, kernel = _random_conv_inputs(0, input_size, kernel_size, np.float64)
    got, want = _both_conv_transposes(x, kernel, strides, padding)
    chex.assert_type(got, jnp.float64)
    chex.assert_equal_shape((got, want))
    np.testing.assert_allclose(got, want, rtol=FLOAT64_TOLERANCE, atol=FLOAT64_TOLERANCE)


@pytest.mark.parametrize('kernel_size, strides, padding, input_size',
                         CONV_TRANSPOSE_GRID_FLOAT32)
def test_conv_transpose_float32_within_rounding_of_exact(kernel_size, strides, padding,
                                                         input_size):
    x, kernel = _random_conv_inputs(1, input_size, kernel_size, np.float32)
    got, lax_float32 = _both_conv_transposes(x, kernel, strides, padding)
    chex.assert_type(got, jnp.float32)
    with jax.enable_x64(True):
        # float32 inputs are exact in float64, so this is the exact result to ~1e-16.
        exact, magnitude = _exact_and_magnitude(x, kernel, strides, padding)
    # Each output is a dot product of at most k_h·k_w·C_in terms.
    bound = _gamma(math.prod(kernel.shape[:3])) * np.asarray(magnitude)
    chex.assert_equal_shape((got, exact))
    for result in (got, lax_float32):
        error = np.abs(np.asarray(result, np.float64) - np.asarray(exact))
        assert np.all(error <= bound), float(np.max(error - bound))


@pytest.mark.parametrize('padding, message', [
    pytest.param('FULL', 'padding', id='unknown_string'),
    pytest.param(((1, 1),), 'padding', id='one_pair'),
    pytest.param(((1, 1, 1), (0, 0)), 'padding', id='triple'),
])
def test_conv_transpose_rejects_bad_padding(padding, message):
    x, kernel = _random_conv_inputs(0, (3, 3), (2, 2), np.float32)
    with pytest.raises(ValueError, match=message):
        layers.conv_transpose(x, kernel, (2, 2), padding)


# ----------------------------------------------------------------------------------
# ConvTranspose module vs flax.linen.ConvTranspose.
# ----------------------------------------------------------------------------------

# (features, kernel_size, strides, padding, use_bias, input (H, W)); the first four are
# the DCGAN layers of ganjax.models.dcgan.
MODULE_CASES = [
    pytest.param(8, 4, 1, 'VALID', False, (1, 1), id='dcgan_projection'),
    pytest.param(4, 4, 2, 'SAME', False, (4, 4), id='dcgan_upsample'),
    pytest.param(2, 5, 2, 'SAME', True, (7, 7), id='dcgan28_upsample'),
    pytest.param(3, 5, 1, 'SAME', False, (7, 7), id='dcgan28_stride1'),
    pytest.param(1, 5, 2, 'SAME', True, (7, 7), id='dcgan28_to_grey'),
    pytest.param(3, (5, 3), (2, 1), ((1, 3), (2, 0)), True, (3, 6), id='nonsquare_explicit'),
    pytest.param(2, 2, 3, 'VALID', True, (2, 5), id='kernel_below_stride'),
]


def _module_pair(features, kernel_size, strides, padding, use_bias):
    ours = layers.ConvTranspose(features, kernel_size, strides, padding, use_bias=use_bias)
    # Flax reads an int kernel_size as a 1-D kernel; ours as a square one.
    flax_layer = nn.ConvTranspose(features, _as_pair(kernel_size), _as_pair(strides),
                                  padding, use_bias=use_bias)
    return ours, flax_layer


@pytest.mark.parametrize('features, kernel_size, strides, padding, use_bias, input_size',
                         MODULE_CASES)
def test_conv_transpose_module_has_flax_parameter_tree(features, kernel_size, strides,
                                                       padding, use_bias, input_size):
    ours, flax_layer = _module_pair(features, kernel_size, strides, padding, use_bias)
    x = jnp.ones((1, *input_size, 3))
    key = jax.random.key(0)
    ours_params = jax.eval_shape(ours.init, key, x)
    flax_params = jax.eval_shape(flax_layer.init, key, x)
    chex.assert_trees_all_equal_structs(ours_params, flax_params)
    chex.assert_trees_all_equal_shapes_and_dtypes(ours_params, flax_params)


def test_conv_transpose_module_has_flax_initialisers():
    # Same names, shapes and initialisers, so the same key gives the same values.
    ours, flax_layer = _module_pair(4, 3, 2, 'SAME', use_bias=True)
    x = jnp.ones((1, 3, 3, 2))
    key = jax.random.key(0)
    chex.assert_trees_all_equal(ours.init(key, x), flax_layer.init(key, x))


@pytest.mark.parametrize('features, kernel_size, strides, padding, use_bias, input_size',
                         MODULE_CASES)
def test_conv_transpose_module_is_flax_function_and_gradient(x64, features, kernel_size,
                                                             strides, padding, use_bias,
                                                             input_size):
    ours, flax_layer = _module_pair(features, kernel_size, strides, padding, use_bias)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, *input_size, 3))
    # Random float64 parameters (a non-zero bias too) in the layers' parameter tree.
    params = jax.tree.map(lambda p: rng.standard_normal(p.shape),
                          jax.eval_shape(ours.init, jax.random.key(0), x))

    @jax.jit
    def outputs_and_gradients(params, x):
        def apply(layer):
            y, vjp = jax.vjp(layer.apply, params, x)
            cotangent = jnp.asarray(np.random.default_rng(3).standard_normal(y.shape))
            return y, vjp(cotangent)
        return apply(ours), apply(flax_layer)

    (ours_y, ours_grads), (flax_y, flax_grads) = outputs_and_gradients(params, x)
    chex.assert_type(ours_y, jnp.float64)
    chex.assert_equal_shape((ours_y, flax_y))
    np.testing.assert_allclose(ours_y, flax_y, rtol=FLOAT64_TOLERANCE,
                               atol=FLOAT64_TOLERANCE)
    chex.assert_trees_all_equal_structs(ours_grads, flax_grads)
    chex.assert_trees_all_close(ours_grads, flax_grads, rtol=FLOAT64_TOLERANCE,
                                atol=FLOAT64_TOLERANCE)


@pytest.mark.parametrize('kernel_size, strides, name', [
    pytest.param(0, 2, 'kernel_size', id='zero_kernel'),
    pytest.param((3, 3, 3), 2, 'kernel_size', id='3d_kernel'),
    pytest.param(3, (2, 0), 'strides', id='zero_stride'),
])
def test_conv_transpose_module_rejects_bad_sizes(kernel_size, strides, name):
    layer = layers.ConvTranspose(2, kernel_size, strides)
    with pytest.raises(ValueError, match=name):
        layer.init(jax.random.key(0), jnp.ones((1, 3, 3, 1)))


# ----------------------------------------------------------------------------------
# maybe_spectral_norm.
# ----------------------------------------------------------------------------------

# name → (layer factory, input); all weights of these layers are matrices or conv kernels.
SPECTRAL_LAYERS: dict[str, tuple[Callable[[], nn.Module], np.ndarray]] = {
    'dense': (lambda: nn.Dense(5), np.random.default_rng(4).standard_normal((3, 8))),
    'conv': (lambda: nn.Conv(4, (3, 2)),
             np.random.default_rng(5).standard_normal((2, 5, 4, 3))),
    'maxout': (lambda: layers.Maxout(3, 2), np.random.default_rng(6).standard_normal((3, 7))),
}
POWER_ITERATIONS = 300


class _MaybeSpectral(nn.Module):
    """One ``SPECTRAL_LAYERS`` layer, through ``maybe_spectral_norm``."""
    layer: str
    spectral_norm: bool

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        make_layer, _ = SPECTRAL_LAYERS[self.layer]
        return layers.maybe_spectral_norm(make_layer(), x, spectral_norm=self.spectral_norm,
                                          train=train)


@functools.cache
def _spectral_setup(layer):
    model = _MaybeSpectral(layer, spectral_norm=True)
    x = jnp.asarray(SPECTRAL_LAYERS[layer][1], jnp.float32)
    return model, x, jax.jit(functools.partial(model.init, train=False))(jax.random.key(0), x)


def _top_singular_value(weight: np.ndarray) -> float:
    """σ₁ of the weight reshaped to (k_h·k_w·C_in, C_out), with a convergence check."""
    singular_values = np.linalg.svd(np.asarray(weight, np.float64).reshape(
        -1, weight.shape[-1]), compute_uv=False)
    # Power iteration converges like (σ₂/σ₁)^(2t); with this gap it is exact in float32.
    assert (singular_values[1] / singular_values[0])**(2 * POWER_ITERATIONS) < 1e-12
    return float(singular_values[0])


@functools.partial(jax.jit, static_argnums=(0, 3))
def _power_iterate(model, variables, x, steps):
    """Applies the model ``steps`` times in train mode, carrying 'spectral'."""
    def step(_, spectral):
        _, updates = model.apply({**variables, 'spectral': spectral}, x, train=True,
                                 mutable=['spectral'])
        return updates['spectral']
    return {**variables,
            'spectral': jax.lax.fori_loop(0, steps, step, variables['spectral'])}


def _spectral_leaves(spectral, suffix: str) -> list[jax.Array]:
    """The 'spectral' variables named '<layer>/<param>/<suffix>' (u or sigma)."""
    return [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(spectral)
            if path[-1].key.endswith(suffix)]


def _is_weight_matrix(leaf: jax.Array) -> bool:
    return leaf.ndim >= 2


@pytest.mark.parametrize('layer', sorted(SPECTRAL_LAYERS))
def test_spectral_norm_converges_to_weight_over_top_singular_value(layer):
    model, x, variables = _spectral_setup(layer)
    variables = _power_iterate(model, variables, x, POWER_ITERATIONS)
    # Eval mode: one more power-iteration step from the stored, converged u.
    got = jax.jit(functools.partial(model.apply, train=False))(variables, x)

    weights = [p for p in jax.tree.leaves(variables['params']) if _is_weight_matrix(p)]
    true_sigmas = [_top_singular_value(w) for w in weights]
    # Otherwise normalised and raw weights, hence got and want below, would coincide.
    assert all(abs(sigma - 1.0) > 1e-3 for sigma in true_sigmas)
    normalised = jax.tree.map(
        lambda p: p / _top_singular_value(p) if _is_weight_matrix(p) else p,
        variables['params'])
    plain = _MaybeSpectral(layer, spectral_norm=False)
    want = jax.jit(functools.partial(plain.apply, train=False))({'params': normalised}, x)
    # float32 power iteration converges to σ₁ up to a few ulps (~1e-7 relative).
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    stored_sigmas = _spectral_leaves(variables['spectral'], '/sigma')
    np.testing.assert_allclose(stored_sigmas, true_sigmas, rtol=1e-5)


@pytest.mark.parametrize('layer', sorted(SPECTRAL_LAYERS))
def test_spectral_norm_updates_stats_only_in_train_mode(layer):
    model, x, variables = _spectral_setup(layer)

    @functools.partial(jax.jit, static_argnames='train')
    def updated_spectral(variables, *, train):
        _, updates = model.apply(variables, x, train=train, mutable=['spectral'])
        return updates['spectral']

    chex.assert_trees_all_equal(updated_spectral(variables, train=False),
                                variables['spectral'])
    after_train = updated_spectral(variables, train=True)
    chex.assert_trees_all_equal_shapes_and_dtypes(after_train, variables['spectral'])
    # u starts random and takes one power-iteration step. (sigma need not move on the
    # first step: Flax's init stores the kernel divided by its estimate from the same u.)
    for before, after in zip(_spectral_leaves(variables['spectral'], '/u'),
                             _spectral_leaves(after_train, '/u'), strict=True):
        assert not np.allclose(before, after)


@pytest.mark.parametrize('layer', sorted(SPECTRAL_LAYERS))
def test_without_spectral_norm_is_the_plain_layer(layer):
    model = _MaybeSpectral(layer, spectral_norm=False)
    make_layer, x = SPECTRAL_LAYERS[layer]
    x = jnp.asarray(x, jnp.float32)
    variables = jax.jit(functools.partial(model.init, train=True))(jax.random.key(0), x)
    assert set(variables) == {'params'}
    got = jax.jit(functools.partial(model.apply, train=True))(variables, x)
    (layer_params,) = variables['params'].values()  # the one wrapped layer's
    want = jax.jit(make_layer().apply)({'params': layer_params}, x)
    chex.assert_trees_all_equal(got, want)


# ----------------------------------------------------------------------------------
# Maxout.
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize('features, pieces, input_shape', [
    pytest.param(4, 3, (5, 6), id='batch'),
    pytest.param(3, 5, (2, 3, 7), id='leading_dims'),
    pytest.param(2, 1, (4, 3), id='one_piece_is_dense'),
])
def test_maxout_is_max_over_pieces_of_affine_maps(features, pieces, input_shape):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(input_shape).astype(np.float32)
    layer = layers.Maxout(features, pieces)
    # Random parameters, a non-zero bias included, in the layer's parameter tree.
    params = jax.tree.map(lambda p: rng.standard_normal(p.shape).astype(np.float32),
                          jax.eval_shape(layer.init, jax.random.key(0), x))
    got = jax.jit(layer.apply)(params, x)

    kernel = np.asarray(params['params']['Dense_0']['kernel'], np.float64)
    bias = np.asarray(params['params']['Dense_0']['bias'], np.float64)
    chex.assert_shape(kernel, (input_shape[-1], features * pieces))
    # Unit i owns the contiguous columns i·pieces … i·pieces + pieces − 1.
    want = np.full((*input_shape[:-1], features), -np.inf)
    magnitude = np.zeros_like(want)
    for i in range(features):
        for j in range(pieces):
            column = i * pieces + j
            piece = x @ kernel[:, column] + bias[column]
            want[..., i] = np.maximum(want[..., i], piece)
            magnitude[..., i] = np.maximum(
                magnitude[..., i], np.abs(x) @ np.abs(kernel[:, column]) + abs(bias[column]))

    chex.assert_shape(got, want.shape)
    chex.assert_type(got, jnp.float32)
    # max is 1-Lipschitz, so each piece's float32 dot-product error bound carries over.
    error = np.abs(np.asarray(got, np.float64) - want)
    assert np.all(error <= _gamma(input_shape[-1] + 1) * magnitude)


# ----------------------------------------------------------------------------------
# Conv: flax.linen.Conv with a sub-pixel input gradient when strided.
# ----------------------------------------------------------------------------------

CONV_CASES = [
    # features, kernel_size, strides, padding, use_bias, input (H, W, C)
    (64, 5, 2, 'SAME', True, (28, 28, 1)),     # DCGAN-28's first D layer
    (64, 5, 2, 'SAME', True, (28, 28, 3)),     # the same on RGB (Stacked MNIST)
    (8, 5, 2, 'SAME', True, (14, 14, 3)),
    (6, 4, 2, 'SAME', False, (16, 16, 3)),     # DCGAN 32/64's D layers
    (5, 3, 3, 'VALID', True, (13, 11, 3)),
    (4, (4, 3), (2, 3), ((1, 2), (0, 3)), True, (9, 10, 3)),
    (3, 2, 2, 'SAME', True, (7, 7, 3)),        # kernel no larger than the stride
    (5, 3, 1, 'SAME', True, (8, 8, 3)),        # unstrided: XLA's own throughout
]


@pytest.mark.parametrize('features, kernel_size, strides, padding, use_bias, input_shape',
                         CONV_CASES)
def test_conv_module_is_flax_function_gradient_and_second_gradient(
        x64, features, kernel_size, strides, padding, use_bias, input_shape):
    ours = layers.Conv(features, kernel_size, strides, padding, use_bias)
    # Flax reads an int kernel size as a 1-D convolution; ours as the same on both axes.
    as_pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    flax_layer = nn.Conv(features, as_pair(kernel_size), as_pair(strides), padding,
                         use_bias=use_bias)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, *input_shape))
    key = jax.random.key(0)
    chex.assert_trees_all_equal(ours.init(key, x), flax_layer.init(key, x))
    params = jax.tree.map(lambda p: rng.standard_normal(p.shape),
                          jax.eval_shape(ours.init, key, x))

    @jax.jit
    def compare(params, x):
        def apply(layer):
            y, vjp = jax.vjp(layer.apply, params, x)
            cotangent = jnp.asarray(np.random.default_rng(5).standard_normal(y.shape))

            def input_gradient_norm(params):  # what a gradient penalty differentiates
                return jnp.sum(jax.grad(lambda x: jnp.sum(jnp.sin(layer.apply(params, x))))(
                    x) ** 2)
            return y, vjp(cotangent), jax.grad(input_gradient_norm)(params)
        return apply(ours), apply(flax_layer)

    ours_out, flax_out = compare(params, x)
    chex.assert_trees_all_equal_structs(ours_out, flax_out)
    chex.assert_trees_all_close(ours_out, flax_out, rtol=FLOAT64_TOLERANCE,
                                atol=FLOAT64_TOLERANCE)


def test_pack_concatenates_consecutive_samples_along_the_last_axis():
    images = jnp.arange(4 * 2 * 2 * 3, dtype=jnp.float32).reshape(4, 2, 2, 3)
    packed = layers.pack(images, 2)
    assert packed.shape == (2, 2, 2, 6)
    for pack_index in range(2):
        np.testing.assert_array_equal(
            packed[pack_index], jnp.concatenate([images[2 * pack_index],
                                                 images[2 * pack_index + 1]], axis=-1))
    points = jnp.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(layers.pack(points, 3), points.reshape(2, 6))
    assert layers.pack(points, 1) is points


@pytest.mark.parametrize('packing, reads_labels, batch, match', [
    (0, False, 4, 'packing must be >= 1'),
    (2, True, 4, 'and 1 for a discriminator that reads labels'),
    (3, False, 4, 'a batch of 4 does not split into packs of 3'),
])
def test_pack_rejects_what_cannot_be_packed(packing, reads_labels, batch, match):
    with pytest.raises(ValueError, match=match):
        layers.pack(jnp.zeros((batch, 2)), packing, reads_labels)


def test_minibatch_stddev_appends_each_groups_mean_standard_deviation():
    x = np.random.default_rng(0).normal(size=(6, 3, 2, 4)).astype(np.float32)
    out = layers.minibatch_stddev(jnp.asarray(x), group_size=3)
    assert out.shape == (6, 3, 2, 5)
    np.testing.assert_array_equal(out[..., :4], x)
    for group in range(2):
        members = x[3 * group:3 * group + 3].astype(np.float64)
        # Karras et al. 2018, §3: the biased standard deviation of each feature at each
        # location over the group, averaged over features and locations.
        expected = np.mean(np.sqrt(np.mean((members - members.mean(0)) ** 2, 0) + 1e-8))
        for member in range(3 * group, 3 * group + 3):
            np.testing.assert_allclose(out[member, ..., 4], expected, rtol=1e-6)


def test_minibatch_stddev_of_a_batch_smaller_than_a_group_uses_the_whole_batch():
    x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    out = layers.minibatch_stddev(jnp.asarray(x), group_size=4)
    np.testing.assert_allclose(out[:, 4], np.mean(np.std(x.astype(np.float64), axis=0)),
                               rtol=1e-5)
    # One example has no spread: sqrt(ε).
    np.testing.assert_allclose(layers.minibatch_stddev(jnp.asarray(x[:1]), 4)[0, 4], 1e-4,
                               rtol=1e-3)


@pytest.mark.parametrize('dtype', [jnp.float16, jnp.bfloat16])
def test_minibatch_stddev_in_half_precision_has_finite_gradients(dtype):
    # Members that agree everywhere (a collapsed G): the spread is sqrt(ε), which in
    # float16 would be sqrt(0), with an infinite gradient.
    x = jnp.ones((4, 3, 3, 2), dtype)
    out = layers.minibatch_stddev(x, group_size=4)
    assert out.dtype == dtype
    np.testing.assert_allclose(np.float32(out[0, 0, 0, 2]), 1e-4, rtol=1e-2)
    grad = jax.grad(lambda x: jnp.sum(layers.minibatch_stddev(x, 4)[..., 2]
                                      .astype(jnp.float32)))(x)
    assert np.isfinite(np.asarray(grad, np.float32)).all()


@pytest.mark.parametrize('group_size, batch, match', [
    (0, 4, 'group_size must be >= 1'),
    (3, 4, 'a batch of 4 does not split into groups of 3'),
])
def test_minibatch_stddev_rejects_what_cannot_be_grouped(group_size, batch, match):
    with pytest.raises(ValueError, match=match):
        layers.minibatch_stddev(jnp.zeros((batch, 2)), group_size)
