"""Tests for experiments/configs: every config builds and validates, every arg follows
one grammar (name[,variant][,smoke]) and a bad one is an error, and no config imports
TensorFlow."""
import glob
import importlib
import os

import pytest

from experiments.configs import defaults
from experiments.support import classifier_training
from ganjax import errors
from ganjax.evaluation import mode_collapse
from ganjax.harness import validation
import run_helpers

CONFIGS = sorted(os.path.splitext(os.path.basename(path))[0] for path in glob.glob(
    os.path.join(run_helpers.REPO, 'experiments', 'configs', '*.py'))
    if not path.endswith(('__init__.py', 'defaults.py')))
# config → the args it accepts besides '' and 'smoke'.
ARGS = {'cifar10_dcgan': ('32', '64', '64,smoke'), 'mnist_vae': ('mlp', 'conv', 'conv,smoke'),
        'mnist_dcgan': ('infogan', 'clusters', 'clusters,smoke'),
        'stacked_mnist': ('recipe', 'dcgan', 'pacdcgan2', 'pacdcgan2,smoke'),
        'toy2d': ('ring', 'grid', 'grid,pacgan2', 'grid,pacgan3', 'ring,best,smoke',
                  'grid,smoke', 'ring,paper_gan', 'ring,paper_pacgan3',
                  'grid,paper_pacgan4,smoke')}


def load(name, arg):
    return importlib.import_module(f'experiments.configs.{name}').get_config(arg)


@pytest.mark.parametrize('name', CONFIGS)
def test_every_arg_builds_a_valid_config(name):
    for arg in (None, '', 'smoke', *ARGS.get(name, ())):
        config = load(name, arg)
        if name == 'toy2d':
            mode_collapse.validate(config)
        elif name == 'mnist_classifier':  # trains a classifier: no GAN sections
            classifier_training.validate(config)
        else:
            validation.validate(config, num_devices=1)


@pytest.mark.parametrize('name', CONFIGS)
@pytest.mark.parametrize('arg', ['smok', '99', 'smoke,smoke', 'ring,gan,extra'])
def test_a_bad_arg_is_an_error_not_a_default(name, arg):
    with pytest.raises(ValueError, match='config arg'):
        load(name, arg)


def test_smoke_shrinks_the_run():
    assert load('mnist_dcgan', 'smoke').total_steps < load('mnist_dcgan', None).total_steps


@pytest.mark.parametrize('arg,expected', [
    (None, ('ring', 'gan', False)), ('grid', ('grid', 'gan', False)),
    ('grid,smoke', ('grid', 'gan', True)), ('ring,pacgan2,smoke', ('ring', 'pacgan2', True)),
])
def test_parse_arg(arg, expected):
    assert tuple(defaults.parse_arg(arg, names=('ring', 'grid'),
                                    variants=('gan', 'pacgan2'))) == expected


def test_configs_import_no_tensorflow():
    modules = ', '.join(f'experiments.configs.{name}' for name in CONFIGS)
    assert not run_helpers.imports_tensorflow(f'import {modules}')


def test_config_errors_are_user_errors():
    assert issubclass(errors.ConfigError, errors.UserError)


@pytest.mark.parametrize('name,arg,field,value,expected', [
    ('mnist_dcgan', 'smoke', 'generator.base_features', 0, 'be an integer >= 1'),
    ('mnist_dcgan', 'smoke', 'discriminator.kernel_size', 0, 'be an integer >= 1'),
    ('cifar10_dcgan', 'smoke', 'discriminator.base_features', -8, 'be an integer >= 1'),
    ('mnist_mlp_gan', 'smoke', 'generator.hidden', (256, 0), 'be integers >= 1'),
    ('mnist_mlp_gan', 'smoke', 'generator.hidden', 256, 'be integers >= 1'),
    ('mnist_dcgan', 'smoke', 'generator.kernel_size', (3, 3), 'be an integer >= 1'),
    ('mnist_mlp_gan', 'smoke', 'discriminator.negative_slope', float('nan'),
     'be a finite number'),
    ('toy2d', 'ring,smoke', 'discriminator.pieces', 0, 'be an integer >= 1'),
    ('toy2d', 'grid,smoke', 'generator.depth', -1, 'be an integer >= 0'),
])
def test_a_layer_size_that_cannot_be_built_is_a_config_error(name, arg, field, value,
                                                              expected):
    config = load(name, arg)
    network, key = field.split('.')
    # A new section: the key's type, if the config sets it, would refuse another type.
    config.model[network] = {**config.model[network], key: value}
    with pytest.raises(errors.ConfigError, match=f'config.model.{field} must {expected}'):
        if name == 'toy2d':
            mode_collapse.validate(config)
        else:
            validation.validate(config, num_devices=1)
