"""Tests of ganjax.lpips with random weights (the ImageNet backbones are downloads).

Compared with the ``lpips`` package on the same weights outside CI (PyTorch is not a
dependency): ``python -m experiments.compare_lpips``.
"""
import flax
import jax
import numpy as np
import pytest

from ganjax import downloads
from ganjax import errors
from ganjax import lpips
from ganjax.reporting import files


@pytest.fixture(scope='module', params=lpips.NETS)
def net_and_variables(request):
    return request.param, lpips.init_variables(request.param)


def _images(seed, shape=(3, 40, 36, 3)):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def test_parameter_counts_and_the_layers_it_reads():
    counts = {net: sum(np.prod(v.shape) for v in jax.tree.leaves(lpips.init_variables(net)))
              for net in lpips.NETS}
    # torchvision's `features` (AlexNet 2,469,696, VGG-16 14,714,688) and one weight per
    # channel of each read layer.
    assert counts == {'alex': 2_469_696 + 1152, 'vgg': 14_714_688 + 1472}
    taps = {net: [t.shape for t in jax.eval_shape(
        lambda x, net=net: lpips.Backbone(net).init_with_output(jax.random.key(0), x)[0],
        np.zeros((1, 64, 64, 3), np.float32))] for net in lpips.NETS}
    assert taps['alex'] == [(1, 15, 15, 64), (1, 7, 7, 192), (1, 3, 3, 384), (1, 3, 3, 256),
                            (1, 3, 3, 256)]
    assert taps['vgg'] == [(1, 64, 64, 64), (1, 32, 32, 128), (1, 16, 16, 256),
                           (1, 8, 8, 512), (1, 4, 4, 512)]


def test_distance_is_the_weighted_distance_of_unit_normalised_features(net_and_variables):
    net, variables = net_and_variables
    x, y = _images(0), _images(1)
    d = np.asarray(lpips.distance(variables, x, y, net))
    # The formula, in NumPy float64, on the backbone's outputs for the scaled images.
    shift, scale = np.array([-0.030, -0.088, -0.188]), np.array([0.458, 0.448, 0.450])
    taps = lpips.Backbone(net).apply(
        {'params': variables['params']['backbone']},
        ((np.concatenate([x, y]) - shift) / scale).astype(np.float32))
    expected = np.zeros(len(x))
    for layer, features in enumerate(taps):
        features = np.asarray(features, np.float64)
        unit = features / (np.sqrt((features ** 2).sum(-1, keepdims=True)) + 1e-10)
        w = np.asarray(variables['params'][f'lin{layer}']['kernel'], np.float64)[:, 0]
        expected += (((unit[:len(x)] - unit[len(x):]) ** 2) @ w).mean(axis=(1, 2))
    np.testing.assert_allclose(d, expected, rtol=1e-5)
    assert np.all(d > 0)
    np.testing.assert_allclose(lpips.distance(variables, y, x, net), d, rtol=1e-6)
    # An image and itself: 0 up to the rounding of its two places in the batch.
    assert np.all(np.abs(lpips.distance(variables, x, x, net)) < 1e-12)


def test_bad_images_are_refused():
    variables = lpips.init_variables('alex')
    with pytest.raises(ValueError, match='at least 31 x 31'):
        lpips.distance(variables, _images(0, (2, 28, 28, 3)), _images(1, (2, 28, 28, 3)))
    with pytest.raises(ValueError, match=r'\(N, H, W, 3\)'):
        lpips.distance(variables, _images(0), _images(1, (3, 40, 36, 1)))
    with pytest.raises(ValueError, match='net must be one of'):
        lpips.distance(variables, _images(0), _images(1), 'squeeze')


def _as_torch_state_dicts(variables):
    """The inverse of ``from_state_dicts``: torchvision's and lpips' names and layouts."""
    backbone, heads = {}, {}
    for path, value in flax.traverse_util.flatten_dict(variables).items():
        value = np.asarray(value)
        if path[1].startswith('lin'):
            heads[f'{path[1]}.model.1.weight'] = value.reshape(1, -1, 1, 1)
        else:
            index = path[2].split('_')[1]
            backbone[f'features.{index}.weight' if path[3] == 'kernel'
                     else f'features.{index}.bias'] = (value.transpose(3, 2, 0, 1)
                                                       if value.ndim == 4 else value)
    backbone['classifier.1.weight'] = np.zeros((4, 9216), np.float32)  # not used
    return backbone, heads


def test_torch_state_dicts_convert_and_bad_ones_are_refused(net_and_variables):
    net, variables = net_and_variables
    backbone, heads = _as_torch_state_dicts(variables)
    converted = lpips.from_state_dicts(backbone, heads, net)
    jax.tree.map(np.testing.assert_array_equal, converted, jax.device_get(variables))
    with pytest.raises(errors.ConfigError, match='lin2.model.1.weight is missing'):
        lpips.from_state_dicts(backbone, {k: v for k, v in heads.items() if 'lin2' not in k},
                               net)
    wrong = dict(backbone, **{'features.0.weight': np.zeros((64, 3, 5, 5), np.float32)})
    with pytest.raises(errors.ConfigError, match='features.0.weight has shape'):
        lpips.from_state_dicts(wrong, heads, net)


def test_weights_come_from_the_cache_checked_or_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv('GANJAX_CACHE_DIR', str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError('no internet (simulated)')
    monkeypatch.setattr(downloads.urllib.request, 'urlopen', offline)
    expected = files.cache_dir() / 'lpips' / 'alexnet-owt-7be5be79.pth'
    with pytest.raises(downloads.WeightsUnavailableError, match=f'put it at {expected}'):
        lpips.load_weights('alex')
    expected.parent.mkdir(parents=True)
    expected.write_bytes(b'not the weights')
    with pytest.raises(downloads.WeightsUnavailableError, match='not the expected weights'):
        lpips.load_weights('alex')
