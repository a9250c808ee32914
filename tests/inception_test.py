"""Tests of ganjax.inception with random weights (the FID weights are a 91 MB download).

Compared with pytorch-fid's network on the same random weights outside CI (PyTorch is
not a dependency): see the closing note of the change that added this module.
"""
from fractions import Fraction

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import downloads
from ganjax import errors
from ganjax import inception


@pytest.fixture(scope='module')
def variables(random_inception):
    return random_inception[1]


def test_parameter_count_and_every_blocks_output_shape():
    shapes = jax.eval_shape(
        lambda x: inception.FIDInceptionV3().init_with_output(
            jax.random.key(0), x, capture_intermediates=True),
        jnp.zeros((1, 299, 299, 3)))
    (pool3, logits), state = shapes
    params = state['params']
    assert sum(np.prod(x.shape) for x in jax.tree.leaves(params)) == 23_850_960
    assert pool3.shape == (1, 2048) and logits.shape == (1, 1008)
    out = {name: value['__call__'][0].shape
           for name, value in state['intermediates'].items() if name != '__call__'}
    assert out == {
        'Conv2d_1a_3x3': (1, 149, 149, 32), 'Conv2d_2a_3x3': (1, 147, 147, 32),
        'Conv2d_2b_3x3': (1, 147, 147, 64), 'Conv2d_3b_1x1': (1, 73, 73, 80),
        'Conv2d_4a_3x3': (1, 71, 71, 192), 'Mixed_5b': (1, 35, 35, 256),
        'Mixed_5c': (1, 35, 35, 288), 'Mixed_5d': (1, 35, 35, 288),
        'Mixed_6a': (1, 17, 17, 768), 'Mixed_6b': (1, 17, 17, 768),
        'Mixed_6c': (1, 17, 17, 768), 'Mixed_6d': (1, 17, 17, 768),
        'Mixed_6e': (1, 17, 17, 768), 'Mixed_7a': (1, 8, 8, 1280),
        'Mixed_7b': (1, 8, 8, 2048), 'Mixed_7c': (1, 8, 8, 2048), 'fc': (1, 1008)}


def test_resize_is_bilinear_without_antialiasing_or_corner_alignment():
    # Upsampling 2 → 4: source positions −0.25 (clamped to 0), 0.25, 0.75, 1.25 (the edge).
    np.testing.assert_allclose(inception.resize_matrix(2, 4),
                               [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
    # Shrinking 4 → 2 reads positions 0.5 and 2.5: two neighbours each, no wider filter.
    np.testing.assert_allclose(inception.resize_matrix(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    # 3 → 2: position 0.25 and 1.75.
    np.testing.assert_allclose(inception.resize_matrix(3, 2), [[0.75, 0.25, 0], [0, 0.25, 0.75]])
    image = np.arange(2 * 3 * 2, dtype=np.float32).reshape(1, 2, 3, 2)
    resized = np.asarray(inception.resize(jnp.asarray(image), size=4))
    expected = np.einsum('ih,nhwc,jw->nijc', inception.resize_matrix(2, 4), image,
                         inception.resize_matrix(3, 4))
    np.testing.assert_allclose(resized, expected, rtol=1e-6)
    assert resized[0, 0, 0, 1] == image[0, 0, 0, 1]  # the corner stays


def _fused_multiply_add_weights(in_size, out_size):
    """The float32 resize weights from each source position (i + 0.5)·scale − 0.5 taken
    exactly (rationals) and rounded once to float32, as a fused multiply-add gives it."""
    scale = Fraction(float(np.float32(in_size) / np.float32(out_size)))
    matrix = np.zeros((out_size, in_size), np.float32)
    for i in range(out_size):
        position = max(np.float32(float(scale * Fraction(2 * i + 1, 2) - Fraction(1, 2))),
                       np.float32(0))
        low = int(position)
        high_weight = position - np.float32(low)
        matrix[i, low] += np.float32(1) - high_weight
        matrix[i, min(low + 1, in_size - 1)] += high_weight
    return matrix


@pytest.mark.parametrize('in_size,out_size', [(28, 299), (32, 299), (64, 299), (512, 299),
                                              (7, 1000)])
def test_resize_weights_round_the_source_position_once(in_size, out_size):
    # Rounding scale·(i + 0.5) in float32 before subtracting 0.5 moved weights of 32 → 299
    # by up to 9.5e-7 (row 153: 0.07190704 instead of PyTorch's 0.07190609).
    np.testing.assert_array_equal(inception.resize_matrix(in_size, out_size),
                                  _fused_multiply_add_weights(in_size, out_size))


@pytest.mark.parametrize('in_size', [1, 3, 28, 32, 64, 299, 512])
def test_resize_weights_are_pytorchs_to_the_last_bit(in_size):
    torch = pytest.importorskip('torch')
    impulses = torch.eye(in_size).reshape(in_size, 1, in_size, 1)
    resized = torch.nn.functional.interpolate(impulses, size=(inception.INPUT_SIZE, 1),
                                              mode='bilinear', align_corners=False)
    np.testing.assert_array_equal(inception.resize_matrix(in_size, inception.INPUT_SIZE),
                                  resized.reshape(in_size, inception.INPUT_SIZE).T.numpy())


def test_average_pools_do_not_count_padding():
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    pooled = np.asarray(inception._average_pool(x))[0, :, :, 0]  # pylint: disable=protected-access
    assert pooled[0, 0] == np.mean([0, 1, 4, 5])  # a corner averages 4 entries, not 9
    assert pooled[1, 1] == np.mean([0, 1, 2, 4, 5, 6, 8, 9, 10])


def test_features_are_finite_deterministic_and_per_image(variables):
    images = jax.random.uniform(jax.random.key(1), (3, 32, 32, 3), minval=-1, maxval=1)
    pool3, logits = inception.features(variables, images)
    assert pool3.shape == (3, 2048) and logits.shape == (3, 1008)
    assert np.all(np.isfinite(pool3)) and np.all(np.isfinite(logits))
    assert np.all(pool3 >= 0)  # an average of ReLU outputs
    # init_variables measures BatchNorm statistics: the features depend on the image.
    assert np.mean(np.std(pool3, axis=0)) > 0.01 * np.mean(pool3)
    again, _ = inception.features(variables, images)
    np.testing.assert_array_equal(pool3, again)
    alone, _ = inception.features(variables, images[1:2])
    np.testing.assert_allclose(alone[0], pool3[1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r'\(N, H, W, 3\)'):
        inception.features(variables, images[..., :1])


def _as_torch_state_dict(variables):
    """The inverse of ``from_state_dict``'s renaming: torch names, OIHW kernels."""
    state = {}
    for path, value in flax.traverse_util.flatten_dict(variables, sep='/').items():
        collection, *module, leaf = path.split('/')
        name = '.'.join(module)
        value = np.asarray(value)
        if leaf == 'kernel':
            state[f'{name}.weight'] = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
        else:
            torch_leaf = {('params', 'scale'): 'weight', ('params', 'bias'): 'bias',
                          ('batch_stats', 'mean'): 'running_mean',
                          ('batch_stats', 'var'): 'running_var'}[collection, leaf]
            state[f'{name}.{torch_leaf}'] = value
            if torch_leaf == 'running_var':
                state[f'{name}.num_batches_tracked'] = np.array(0, np.int64)
    return state


def test_torch_state_dicts_and_npz_files_round_trip(variables, tmp_path):
    state = _as_torch_state_dict(variables)
    assert 'Mixed_7c.branch_pool.conv.weight' in state and 'fc.weight' in state
    converted = inception.from_state_dict(state)
    jax.tree.map(np.testing.assert_array_equal, converted, jax.device_get(variables))
    inception.save_weights(tmp_path / 'w.npz', converted)
    jax.tree.map(np.testing.assert_array_equal, inception.load_weights(tmp_path / 'w.npz'),
                 converted)
    with pytest.raises(errors.ConfigError, match="missing.*Mixed_5b/branch1x1/bn/mean"):
        inception.from_state_dict({k: v for k, v in state.items()
                                   if k != 'Mixed_5b.branch1x1.bn.running_mean'})
    with pytest.raises(errors.ConfigError, match=r"unexpected \['AuxLogits.fc.weight'\]"):
        inception.from_state_dict({**state, 'AuxLogits.fc.weight': np.zeros((1000, 768))})
    with pytest.raises(errors.ConfigError, match='fc.weight has shape'):
        inception.from_state_dict({**state, 'fc.weight': np.zeros((1000, 2048))})


def test_without_weights_or_internet_the_error_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv('GANJAX_CACHE_DIR', str(tmp_path))
    monkeypatch.setattr(inception, 'FID_WEIGHTS_URL', 'http://127.0.0.1:9/' +
                        inception.FID_WEIGHTS_URL.rsplit('/', 1)[-1])
    expected = tmp_path / 'inception' / 'pt_inception-2015-12-05-6726825d.pth'
    with pytest.raises(downloads.WeightsUnavailableError, match=f'put it at {expected}'):
        inception.load_weights()

    class WrongFile:  # a download that is not the weights is not kept
        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            pass

        def read(self):
            return b'something else'

    monkeypatch.setattr(downloads.urllib.request, 'urlopen', lambda *a, **k: WrongFile())
    with pytest.raises(downloads.WeightsUnavailableError, match='not the expected weights'):
        inception.load_weights()
    assert not expected.exists()
    expected.parent.mkdir(parents=True)
    expected.write_bytes(b'something else')  # a file put there that is not the weights
    with pytest.raises(downloads.WeightsUnavailableError, match='not the expected weights'):
        inception.load_weights()
