"""'lpips_diversity' on random LPIPS weights (``lpips.init_variables``: no download): the
pairs it compares, its value against ``ganjax.lpips``, and the checks of its config."""
import numpy as np
import pytest

from experiments.configs import cifar10_dcgan
from experiments.configs import mnist_cgan
from ganjax import errors
from ganjax import lpips
from ganjax.evaluation import eval_config
from ganjax.evaluation import evaluators
from ganjax.evaluation import lpips_diversity


def _network(net):
    variables = lpips.init_variables(net)
    return lpips_diversity.LpipsNetwork(net, variables, 'sha', dict(backbone='random'))


def _config(module, num_samples=8, num_pairs=3, net='alex'):
    config = module.get_config()
    config.eval.update(metrics=('lpips_diversity',), num_samples=num_samples, num_splits=2,
                       generators=('ema',))
    config.eval.lpips.update(num_pairs=num_pairs, net=net)
    return config


def test_diversity_is_the_mean_distance_of_sample_i_and_i_plus_p():
    network = _network('alex')
    samples = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
    evaluator = evaluators.Evaluator(_config(cifar10_dcgan), lpips_network=network)
    result = evaluator.evaluate(lambda use_ema: lambda z, labels: samples[:len(z)], 100, 0,
                                step=1)[0]
    expected = np.asarray(lpips.distance(network.variables, samples[:3], samples[3:6]))
    assert result['metrics']['lpips_diversity'] == pytest.approx(expected.mean(), rel=1e-5)
    assert result['metrics']['lpips_diversity_stderr'] == pytest.approx(
        expected.std(ddof=1) / np.sqrt(3), rel=1e-4)
    assert result['protocol']['lpips'] == dict(
        net='alex', version='0.1', weights=dict(backbone='random'), sha256='sha',
        num_pairs=3, pairs='sample i with sample i + num_pairs')
    # A generator that draws one image has no diversity.
    same = evaluator.evaluate(lambda use_ema: lambda z, labels: np.repeat(
        samples[:1], len(z), axis=0), 100, 0, step=1)[0]
    assert abs(same['metrics']['lpips_diversity']) < 1e-12


def test_a_conditional_generators_pairs_share_their_label():
    # 50 samples, labels 0..9 cycled, 25 pairs asked: 20 pairs (i, i + 20), a multiple of
    # the 10 classes, so both of each pair have label i mod 10, and a generator whose
    # image depends on the label only has no diversity.
    images = np.random.default_rng(1).uniform(-1, 1, (10, 28, 28, 1)).astype(np.float32)
    evaluator = evaluators.Evaluator(_config(mnist_cgan, 50, 25, net='vgg'),
                                     lpips_network=_network('vgg'))
    result = evaluator.evaluate(lambda use_ema: lambda z, labels: images[labels], 100, 10,
                                step=1)[0]
    assert abs(result['metrics']['lpips_diversity']) < 1e-12
    assert result['protocol']['lpips']['num_pairs'] == 20


def test_bad_lpips_configs_name_their_key(tmp_path):
    eval_config.validate(_config(cifar10_dcgan))
    eval_config.validate(_config(mnist_cgan, net='vgg'))
    with pytest.raises(errors.ConfigError, match=r'eval\.lpips\.net.*at least 31 pixels'):
        eval_config.validate(_config(mnist_cgan))  # MNIST's 28 pixels for AlexNet
    for key, value, message in (
            ('num_pairs', 1, 'at least 2'), ('net', 'squeeze', "one of .'alex', 'vgg'."),
            ('backbone', str(tmp_path / 'absent.pth'), 'an existing .pth')):
        bad = _config(cifar10_dcgan)
        bad.eval.lpips[key] = value
        with pytest.raises(errors.ConfigError, match=rf'eval\.lpips\.{key} must be {message}'):
            eval_config.validate(bad)
