"""Tests for ganjax.models: every registered GAN and the VAEs, through the registry.

Parameter counts are pinned to numbers worked out by hand from the architectures in the
docstrings (the arithmetic is written out below). Behaviour (output shapes, train vs eval,
labels, spectral norm) is checked on random parameters drawn on the host in the models'
own parameter trees: XLA:CPU takes seconds to compile the initialisers' random number
generation for a 4-D kernel, and none of these properties depends on the initial values.
Everything runs under ``jax.jit``; a model is a static argument, so each is compiled once
per mode and batch shape for the whole file.
"""
import dataclasses
import functools
import math

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ganjax import models
from ganjax.models import conditioning as conditioning_lib
from ganjax.models import toy2d

BATCH = 2
NUM_CLASSES = 10
CONDITIONINGS = ('none', 'projection', 'auxiliary')
LABEL_EMBED_DIM = 50  # ganjax.models.conditioning.ConditionalLatent's default
MUTABLE = ('batch_stats', 'spectral')


@dataclasses.dataclass(frozen=True)
class ModelCase:
    """One registered model at one data shape, with its hand-counted parameters."""
    name: str
    data_shape: tuple[int, ...]
    latent_dim: int
    generator_params: int
    discriminator_params: int
    label_params: int  # what class conditioning adds to the generator
    features: int  # width of the discriminator's features φ(x), which its heads read
    dropout: bool  # whether the discriminator has dropout

    @property
    def is_image(self) -> bool:
        return len(self.data_shape) == 3


def _bn(features):
    return 2 * features  # scale and bias (running mean and variance are not params)


def _conv(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


def _dense(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)


MNIST, CIFAR, CELEBA = (28, 28, 1), (32, 32, 3), (64, 64, 3)
MODEL_CASES = {
    # G: 100 → 256 → 512 (BN) → 1024 (BN) → 784. D: 784 → 1024 → 512 → 256 → 1.
    'mlp': ModelCase(
        'mlp', MNIST, 100,
        generator_params=(_dense(100, 256) + _dense(256, 512) + _bn(512)
                          + _dense(512, 1024) + _bn(1024) + _dense(1024, 784)),
        discriminator_params=(_dense(784, 1024) + _dense(1024, 512) + _dense(512, 256)
                              + _dense(256, 1)),
        label_params=NUM_CLASSES * LABEL_EMBED_DIM + LABEL_EMBED_DIM * 256,
        features=256, dropout=True),
    # The TensorFlow DCGAN tutorial's model.summary(): G 2,330,944 (of which 2·12,544 +
    # 2·128 + 2·64 = 25,856 BN moving statistics, not params here), D 212,865; seed
    # 002's copy keeps the bias of G's last layer, which the tutorial drops: one more.
    'dcgan28': ModelCase(
        'dcgan28', MNIST, 100,
        generator_params=(_dense(100, 7 * 7 * 256, bias=False) + _bn(7 * 7 * 256)
                          + _conv(5, 256, 128, bias=False) + _bn(128)
                          + _conv(5, 128, 64, bias=False) + _bn(64) + _conv(5, 64, 1)),
        discriminator_params=_conv(5, 1, 64) + _conv(5, 64, 128) + _dense(7 * 7 * 128, 1),
        label_params=NUM_CLASSES * LABEL_EMBED_DIM + LABEL_EMBED_DIM * 7 * 7 * 256,
        features=7 * 7 * 128, dropout=True),
    # G: 1×1×100 → 4×4×256 → 8×8×128 → 16×16×64 → 32×32×3, no biases.
    # D: 32×32×3 → 16×16×64 → 8×8×128 (BN) → 4×4×256 (BN) → Dense 1.
    'dcgan32': ModelCase(
        'dcgan', CIFAR, 100,
        generator_params=(_conv(4, 100, 256, bias=False) + _bn(256)
                          + _conv(4, 256, 128, bias=False) + _bn(128)
                          + _conv(4, 128, 64, bias=False) + _bn(64)
                          + _conv(4, 64, 3, bias=False)),
        discriminator_params=(_conv(4, 3, 64, bias=False)
                              + _conv(4, 64, 128, bias=False) + _bn(128)
                              + _conv(4, 128, 256, bias=False) + _bn(256)
                              + _dense(4 * 4 * 256, 1)),
        label_params=NUM_CLASSES * LABEL_EMBED_DIM + 4 * 4 * LABEL_EMBED_DIM * 256,
        features=4 * 4 * 256, dropout=False),
    # Radford et al.'s 64×64 DCGAN; the PyTorch DCGAN tutorial counts G 3,576,704 and
    # D 2,765,568 (its last layer, a 4×4 conv to 1, has no bias; our Dense has one).
    'dcgan64': ModelCase(
        'dcgan', CELEBA, 100,
        generator_params=3_576_704,
        discriminator_params=2_765_568 + 1,
        label_params=NUM_CLASSES * LABEL_EMBED_DIM + 4 * 4 * LABEL_EMBED_DIM * 512,
        features=4 * 4 * 512, dropout=False),
    # PacGAN: G 2 → 4 × (400, BN) → 2; D 3 maxout layers of 200 × 5 pieces → 1.
    'toy2d': ModelCase(
        'toy2d', (2,), 2,
        generator_params=(_dense(2, 400) + _bn(400) + 3 * (_dense(400, 400) + _bn(400))
                          + _dense(400, 2)),
        discriminator_params=(_dense(2, 200 * 5) + 2 * _dense(200, 200 * 5)
                              + _dense(200, 1)),
        label_params=NUM_CLASSES * LABEL_EMBED_DIM + LABEL_EMBED_DIM * 400,
        features=200, dropout=False),
}
CASE_IDS = sorted(MODEL_CASES)
DROPOUT_CASE_IDS = [i for i in CASE_IDS if MODEL_CASES[i].dropout]


def _dcgan64_by_hand():
    """The 64×64 DCGAN's counts from its layers, to check the tutorial numbers above."""
    generator = (_conv(4, 100, 512, bias=False) + _bn(512)
                 + _conv(4, 512, 256, bias=False) + _bn(256)
                 + _conv(4, 256, 128, bias=False) + _bn(128)
                 + _conv(4, 128, 64, bias=False) + _bn(64) + _conv(4, 64, 3, bias=False))
    discriminator = (_conv(4, 3, 64, bias=False)
                     + _conv(4, 64, 128, bias=False) + _bn(128)
                     + _conv(4, 128, 256, bias=False) + _bn(256)
                     + _conv(4, 256, 512, bias=False) + _bn(512) + _dense(4 * 4 * 512, 1))
    return generator, discriminator


def test_every_registered_model_is_tested():
    assert {case.name for case in MODEL_CASES.values()} == set(models.GANS)


def test_dcgan64_tutorial_counts_match_its_layers():
    case = MODEL_CASES['dcgan64']
    assert _dcgan64_by_hand() == (case.generator_params, case.discriminator_params)


def test_dcgan28_counts_match_tensorflow_tutorial():
    case = MODEL_CASES['dcgan28']
    assert case.discriminator_params == 212_865
    assert case.generator_params + 2 * (7 * 7 * 256 + 128 + 64) == 2_330_944 + 1


# ----------------------------------------------------------------------------------
# Helpers: configs, abstract and random variables, jitted application.
# ----------------------------------------------------------------------------------


def _model_config(name, conditioning='none', spectral_norm=False, **discriminator):
    return ml_collections.ConfigDict(dict(
        name=name, generator={},
        discriminator=dict(conditioning=conditioning, spectral_norm=spectral_norm,
                           **discriminator)))


def _build(case_id, conditioning='none', spectral_norm=False):
    case = MODEL_CASES[case_id]
    num_classes = 0 if conditioning == 'none' else NUM_CLASSES
    return models.make_gan(_model_config(case.name, conditioning, spectral_norm),
                            case.data_shape, num_classes)


def _inputs(case_id, conditional, seed=0):
    """(z, x, labels) for one batch: latents, data in [−1, 1] and labels or None."""
    case = MODEL_CASES[case_id]
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((BATCH, case.latent_dim)).astype(np.float32)
    x = rng.uniform(-1, 1, (BATCH, *case.data_shape)).astype(np.float32)
    labels = rng.permutation(NUM_CLASSES)[:BATCH].astype(np.int32) if conditional else None
    return z, x, labels


def _abstract_variables(model, inputs, labels=None):
    init = functools.partial(model.init, train=False)
    return jax.eval_shape(init, jax.random.key(0), inputs, labels)


def _count(params) -> int:
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))


def _random_leaf(rng: np.random.Generator, name: str, shape) -> np.ndarray:
    """A plausible value for one Flax variable, by its name."""
    if name == 'kernel':  # LeCun-normal scale
        return rng.standard_normal(shape) / math.sqrt(math.prod(shape[:-1]))
    if name in ('bias', 'mean'):
        return 0.1 * rng.standard_normal(shape)
    if name == 'embedding' or name.endswith('/u'):
        return rng.standard_normal(shape)
    if name == 'scale':
        return 1.0 + 0.1 * rng.standard_normal(shape)
    if name == 'var':
        return rng.uniform(0.5, 1.5, shape)
    if name.endswith('/sigma'):
        return np.ones(shape)
    raise KeyError(f'no random value for a variable named {name!r}')


def _randomise(abstract_variables, seed):
    """Random values in a variable tree (params, batch_stats, spectral) of given shapes."""
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map_with_path(
        lambda path, leaf: _random_leaf(rng, path[-1].key, leaf.shape).astype(leaf.dtype),
        abstract_variables)


def _random_variables(model, inputs, labels=None, seed=0):
    return _randomise(_abstract_variables(model, inputs, labels), seed)


@functools.partial(jax.jit, static_argnames=('model', 'train'))
def _apply(model, variables, inputs, labels=None, dropout_key=None, *, train):
    """model(inputs, labels, train=train) and its batch_stats and spectral collections.

    Both collections are mutable in eval mode too, so that tests can see they are not
    written there.
    """
    rngs = {} if dropout_key is None else {'dropout': dropout_key}
    return model.apply(variables, inputs, labels, train=train, rngs=rngs, mutable=MUTABLE)


@functools.cache
def _setup(case_id, conditioning='none', spectral_norm=False):
    """(generator, discriminator, their variables, z, x, labels) for one model."""
    generator, discriminator = _build(case_id, conditioning, spectral_norm)
    z, x, labels = _inputs(case_id, conditional=conditioning != 'none')
    return (generator, discriminator, _random_variables(generator, z, labels, seed=1),
            _random_variables(discriminator, x, labels, seed=2), z, x, labels)


# ----------------------------------------------------------------------------------
# Parameter counts.
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize('conditioning', CONDITIONINGS)
@pytest.mark.parametrize('case_id', CASE_IDS)
def test_parameter_counts(case_id, conditioning):
    case = MODEL_CASES[case_id]
    generator, discriminator = _build(case_id, conditioning)
    z, x, labels = _inputs(case_id, conditional=conditioning != 'none')
    generator_params = _count(_abstract_variables(generator, z, labels)['params'])
    discriminator_params = _count(_abstract_variables(discriminator, x, labels)['params'])

    expected_generator = case.generator_params
    expected_discriminator = case.discriminator_params
    if conditioning != 'none':
        expected_generator += case.label_params
    if conditioning == 'projection':  # embed(y) ∈ R^features, no bias
        expected_discriminator += NUM_CLASSES * case.features
    elif conditioning == 'auxiliary':  # Dense features → classes
        expected_discriminator += _dense(case.features, NUM_CLASSES)
    assert (generator_params, discriminator_params) == (expected_generator,
                                                        expected_discriminator)


# ----------------------------------------------------------------------------------
# Output shapes, dtypes and ranges.
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize('train', [True, False], ids=['train', 'eval'])
@pytest.mark.parametrize('conditioning', CONDITIONINGS)
@pytest.mark.parametrize('case_id', CASE_IDS)
def test_output_shapes_and_dtypes(case_id, conditioning, train):
    case = MODEL_CASES[case_id]
    generator, discriminator, g_vars, d_vars, z, x, labels = _setup(case_id, conditioning)

    samples, _ = _apply(generator, g_vars, z, labels, train=train)
    chex.assert_shape(samples, (BATCH, *case.data_shape))
    chex.assert_type(samples, jnp.float32)
    chex.assert_tree_all_finite(samples)
    if case.is_image:  # tanh output
        assert np.all(np.abs(samples) <= 1.0)

    (logits, class_logits), _ = _apply(discriminator, d_vars, x, labels,
                                       jax.random.key(0) if train else None, train=train)
    chex.assert_shape(logits, (BATCH,))
    chex.assert_type(logits, jnp.float32)
    chex.assert_tree_all_finite(logits)
    if conditioning == 'auxiliary':
        chex.assert_shape(class_logits, (BATCH, NUM_CLASSES))
        chex.assert_type(class_logits, jnp.float32)
        chex.assert_tree_all_finite(class_logits)
    else:
        assert class_logits is None


# ----------------------------------------------------------------------------------
# Train vs eval: BatchNorm and dropout.
# ----------------------------------------------------------------------------------


def _replace_second_example(batch, seed):
    other = np.random.default_rng(seed).standard_normal(batch.shape[1:]).astype(batch.dtype)
    return np.concatenate([batch[:1], np.clip(other, -1, 1)[None]], axis=0)


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_generator_batchnorm_uses_running_averages_in_eval(case_id):
    generator, _, g_vars, _, z, _, _ = _setup(case_id)
    other_z = _replace_second_example(z, seed=5)

    eval_out, eval_stats = _apply(generator, g_vars, z, train=False)
    eval_other, _ = _apply(generator, g_vars, other_z, train=False)
    # Eval: example 0 does not see its batch-mates, and the averages are not written.
    np.testing.assert_allclose(eval_out[0], eval_other[0], rtol=1e-6, atol=1e-6)
    chex.assert_trees_all_equal(eval_stats['batch_stats'], g_vars['batch_stats'])

    train_out, train_stats = _apply(generator, g_vars, z, train=True)
    train_other, _ = _apply(generator, g_vars, other_z, train=True)
    # Train: batch statistics couple the examples, and the averages move.
    assert not np.allclose(train_out[0], train_other[0], rtol=1e-3, atol=1e-3)
    for before, after in zip(jax.tree.leaves(g_vars['batch_stats']),
                             jax.tree.leaves(train_stats['batch_stats']), strict=True):
        assert not np.allclose(before, after)


def _assert_batchnorm_uses_running_averages_in_eval(discriminator, d_vars, x):
    """In eval, example 0's logit ignores the rest of the batch and the statistics stay;
    in train, BatchNorm's batch statistics make it depend on the others."""
    other_x = _replace_second_example(x, seed=6)
    (eval_logits, _), eval_stats = _apply(discriminator, d_vars, x, train=False)
    (eval_other, _), _ = _apply(discriminator, d_vars, other_x, train=False)
    np.testing.assert_allclose(eval_logits[0], eval_other[0], rtol=1e-6, atol=1e-6)
    chex.assert_trees_all_equal(eval_stats['batch_stats'], d_vars['batch_stats'])
    (train_logits, _), _ = _apply(discriminator, d_vars, x, train=True)
    (train_other, _), _ = _apply(discriminator, d_vars, other_x, train=True)
    assert not np.allclose(train_logits[0], train_other[0], rtol=1e-3, atol=1e-3)


def test_dcgan_discriminator_batchnorm_uses_running_averages_in_eval():
    _, discriminator, _, d_vars, _, x, _ = _setup('dcgan32')
    _assert_batchnorm_uses_running_averages_in_eval(discriminator, d_vars, x)


def test_mnist_recipe_networks_count_their_layers_and_d_batchnorm_works():
    """The MNIST recipe's networks (mnist_dcgan.py:infogan, mnist_cgan.py): DCGAN-28 at
    base width 32, BN after D's second conv."""
    config = ml_collections.ConfigDict(dict(
        name='dcgan28', generator=dict(base_features=32),
        discriminator=dict(base_features=32, batch_norm=True, dropout_rate=0.0)))
    generator, discriminator = models.make_gan(config, MNIST)
    z, x, _ = _inputs('dcgan28', conditional=False)
    g_vars = _abstract_variables(generator, z)
    assert _count(g_vars['params']) == (
        _dense(100, 7 * 7 * 128, bias=False) + _bn(7 * 7 * 128) + _conv(5, 128, 64, bias=False)
        + _bn(64) + _conv(5, 64, 32, bias=False) + _bn(32) + _conv(5, 32, 1))
    d_vars = _random_variables(discriminator, x)
    assert _count(d_vars['params']) == (_conv(5, 1, 32) + _conv(5, 32, 64, bias=False)
                                        + _bn(64) + _dense(7 * 7 * 64, 1))
    _assert_batchnorm_uses_running_averages_in_eval(discriminator, d_vars, x)


@pytest.mark.parametrize('kernel_size', [3, 4])
def test_dcgan28_kernel_size_sets_every_convolutions_kernel(kernel_size):
    """G's three transposed convolutions and D's two convolutions take ``kernel_size``;
    the images stay 28×28 (even kernels too) and D still gives one logit per image."""
    config = ml_collections.ConfigDict(dict(
        name='dcgan28', generator=dict(base_features=8, kernel_size=kernel_size),
        discriminator=dict(base_features=8, kernel_size=kernel_size)))
    generator, discriminator = models.make_gan(config, MNIST)
    z, x, _ = _inputs('dcgan28', conditional=False)
    g_vars = _random_variables(generator, z)
    d_vars = _random_variables(discriminator, x)
    k = kernel_size
    assert _count(g_vars['params']) == (
        _dense(100, 7 * 7 * 32, bias=False) + _bn(7 * 7 * 32) + _conv(k, 32, 16, bias=False)
        + _bn(16) + _conv(k, 16, 8, bias=False) + _bn(8) + _conv(k, 8, 1))
    assert _count(d_vars['params']) == (_conv(k, 1, 8) + _conv(k, 8, 16)
                                        + _dense(7 * 7 * 16, 1))
    images, _ = _apply(generator, g_vars, z, train=False)
    chex.assert_shape(images, (BATCH, *MNIST))
    (logits, _), _ = _apply(discriminator, d_vars, images, train=False)
    chex.assert_shape(logits, (BATCH,))


def test_stacked_mnist_recipe_discriminator_reads_each_digit_and_packs():
    """stacked_mnist.py's D: three channels, a class head of 10 + 10 + 10 logits (one
    softmax per channel's code) and, for PacDCGAN2, one logit per pack of two samples."""
    x = np.zeros((4, 28, 28, 3), np.float32)
    for packing, conditioning, factors, logits_shape, class_shape in [
            (1, 'auxiliary', (10, 10, 10), (4,), (4, 30)), (2, 'none', (), (2,), None)]:
        config = _model_config('dcgan28', conditioning=conditioning, class_factors=factors,
                               packing=packing, base_features=32, batch_norm=True)
        _, discriminator = models.make_gan(config, (28, 28, 3), 1000 if factors else 0)
        variables = _random_variables(discriminator, x)
        logits, class_logits = discriminator.apply(variables, x, None, train=False)
        assert logits.shape == logits_shape
        assert (None if class_logits is None else class_logits.shape) == class_shape


@pytest.mark.parametrize('name, data_shape, head_inputs', [
    ('dcgan28', MNIST, 7 * 7 * (16 + 1)),
    ('dcgan', (32, 32, 3), 4 * 4 * (32 + 1)),
])
def test_a_minibatch_stddev_discriminator_reads_its_group_and_only_its_group(
        name, data_shape, head_inputs):
    """ProGAN's minibatch standard deviation (``minibatch_std_group``): one more feature
    map before D's head, and an example's logit depends on the other members of its
    group, not on other groups."""
    x = np.random.default_rng(0).normal(size=(8, *data_shape)).astype(np.float32)
    config = _model_config(name, minibatch_std_group=4, base_features=8)
    _, discriminator = models.make_gan(config, data_shape)
    variables = _random_variables(discriminator, x)
    head = variables['params']['DiscriminatorHead_0']['logit']['kernel']
    assert head.shape == (head_inputs, 1)

    def logits_of(images):  # in eval mode, where BatchNorm does not mix the batch
        return discriminator.apply(variables, images, None, train=False)[0]

    other_member, other_group = x.copy(), x.copy()
    other_member[1] *= 3.0
    other_group[4] *= 3.0
    np.testing.assert_array_equal(logits_of(other_group)[:4], logits_of(x)[:4])
    assert not np.allclose(logits_of(other_member)[0], logits_of(x)[0])


@pytest.mark.parametrize('case_id', DROPOUT_CASE_IDS)
def test_discriminator_dropout_only_in_train(case_id):
    _, discriminator, _, d_vars, _, x, _ = _setup(case_id)
    (logits_a, _), _ = _apply(discriminator, d_vars, x, None, jax.random.key(1), train=True)
    (logits_b, _), _ = _apply(discriminator, d_vars, x, None, jax.random.key(2), train=True)
    (logits_a_again, _), _ = _apply(discriminator, d_vars, x, None, jax.random.key(1), train=True)
    assert not np.allclose(logits_a, logits_b, rtol=1e-3, atol=1e-3)
    chex.assert_trees_all_equal(logits_a, logits_a_again)
    # Eval needs no dropout key and is deterministic.
    (eval_logits, _), _ = _apply(discriminator, d_vars, x, train=False)
    (eval_again, _), _ = _apply(discriminator, d_vars, x, train=False)
    chex.assert_trees_all_equal(eval_logits, eval_again)


# ----------------------------------------------------------------------------------
# Class conditioning.
# ----------------------------------------------------------------------------------


def _trace(model, inputs, labels):
    """Traces init without computing anything: raises what the model raises."""
    return _abstract_variables(model, inputs, labels)


@pytest.mark.parametrize('conditioning', ['projection', 'auxiliary'])
@pytest.mark.parametrize('case_id', CASE_IDS)
def test_conditional_generator_needs_labels(case_id, conditioning):
    generator, _ = _build(case_id, conditioning)
    z, _, _ = _inputs(case_id, conditional=False)
    with pytest.raises(ValueError, match='labels'):
        _trace(generator, z, None)


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_projection_discriminator_needs_labels(case_id):
    _, discriminator = _build(case_id, 'projection')
    _, x, _ = _inputs(case_id, conditional=False)
    with pytest.raises(ValueError, match='labels'):
        _trace(discriminator, x, None)


@pytest.mark.parametrize('case_id', CASE_IDS)
@pytest.mark.parametrize('network', ['generator', 'discriminator'])
def test_unconditional_model_rejects_labels(case_id, network):
    model = dict(zip(('generator', 'discriminator'), _build(case_id)))[network]
    z, x, labels = _inputs(case_id, conditional=True)
    with pytest.raises(ValueError, match='labels'):
        _trace(model, z if network == 'generator' else x, labels)


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_labels_of_wrong_shape_are_rejected(case_id):
    generator, discriminator = _build(case_id, 'projection')
    z, x, labels = _inputs(case_id, conditional=True)
    for model, inputs in ((generator, z), (discriminator, x)):
        with pytest.raises(ValueError, match='labels'):
            _trace(model, inputs, labels[:, None])


def _other_labels(labels):
    return (labels + 1) % NUM_CLASSES


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_generator_output_depends_on_labels(case_id):
    generator, _, g_vars, _, z, _, labels = _setup(case_id, 'projection')
    samples, _ = _apply(generator, g_vars, z, labels, train=False)
    other_samples, _ = _apply(generator, g_vars, z, _other_labels(labels), train=False)
    for i in range(BATCH):
        assert not np.allclose(samples[i], other_samples[i], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_projection_discriminator_depends_on_labels(case_id):
    _, discriminator, _, d_vars, _, x, labels = _setup(case_id, 'projection')
    (logits, _), _ = _apply(discriminator, d_vars, x, labels, train=False)
    (other_logits, _), _ = _apply(discriminator, d_vars, x, _other_labels(labels),
                                  train=False)
    assert np.all(np.abs(logits - other_logits) > 1e-3)


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_auxiliary_discriminator_ignores_labels(case_id):
    _, discriminator, _, d_vars, _, x, labels = _setup(case_id, 'auxiliary')
    outputs, _ = _apply(discriminator, d_vars, x, labels, train=False)
    other_outputs, _ = _apply(discriminator, d_vars, x, _other_labels(labels), train=False)
    chex.assert_trees_all_equal(outputs, other_outputs)


def test_a_factorised_label_embedding_embeds_each_factor_on_its_own():
    """``class_factors`` (10, 10) on 100 classes: [z, embed_1(y_1), embed_2(y_2)], so labels
    with the same first digit share the first embedding and differ in the second."""
    z = np.zeros((4, 3), np.float32)
    labels = np.array([23, 27, 43, 23], np.int32)  # digits (2, 3), (2, 7), (4, 3), (2, 3)
    latent = conditioning_lib.ConditionalLatent(100, embed_dim=5, class_factors=(10, 10))
    variables = latent.init(jax.random.key(0), z, labels)
    assert jax.tree.map(np.shape, variables['params']) == {
        'factor_0_embedding': {'embedding': (10, 5)}, 'factor_1_embedding': {'embedding': (10, 5)}}
    h = np.asarray(latent.apply(variables, z, labels))
    first, second = h[:, 3:8], h[:, 8:13]
    assert h.shape == (4, 13) and not np.any(h[:, :3])
    np.testing.assert_array_equal(first[0], first[1])
    np.testing.assert_array_equal(second[0], second[2])
    np.testing.assert_array_equal(h[0], h[3])
    assert not np.allclose(first[0], first[2]) and not np.allclose(second[0], second[1])


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_every_generator_can_embed_its_labels_by_factors(case_id):
    case = MODEL_CASES[case_id]
    config = _model_config(case.name, conditioning='auxiliary')
    config.generator.class_factors = (4, 25)
    generator, _ = models.make_gan(config, case.data_shape, 100)
    z = np.zeros((BATCH, case.latent_dim), np.float32)
    variables = _abstract_variables(generator, z, np.array([0, 99], np.int32))
    embeddings = {name: leaf.shape for name, leaf in jax.tree_util.tree_leaves_with_path(
        variables['params']) if 'embedding' in jax.tree_util.keystr(name)}
    assert sorted(embeddings.values()) == [(4, LABEL_EMBED_DIM), (25, LABEL_EMBED_DIM)]


# ----------------------------------------------------------------------------------
# Spectral norm.
# ----------------------------------------------------------------------------------


def _spectral_us(spectral) -> list[jax.Array]:
    return [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(spectral)
            if path[-1].key.endswith('/u')]


@pytest.mark.parametrize('conditioning', CONDITIONINGS)
@pytest.mark.parametrize('case_id', CASE_IDS)
def test_spectral_norm_on_every_discriminator_weight(case_id, conditioning):
    _, discriminator = _build(case_id, conditioning, spectral_norm=True)
    _, x, labels = _inputs(case_id, conditional=conditioning != 'none')
    variables = _abstract_variables(discriminator, x, labels)
    weights = [p for p in jax.tree.leaves(variables['params']) if p.ndim >= 2]
    # One power-iteration vector per kernel and embedding: every layer is normalised.
    assert len(_spectral_us(variables['spectral'])) == len(weights)


@pytest.mark.parametrize('case_id', CASE_IDS)
def test_spectral_norm_stats_update_only_in_train(case_id):
    _, discriminator, _, d_vars, _, x, _ = _setup(case_id, spectral_norm=True)
    _, eval_state = _apply(discriminator, d_vars, x, train=False)
    chex.assert_trees_all_equal(eval_state['spectral'], d_vars['spectral'])
    _, train_state = _apply(discriminator, d_vars, x, None, jax.random.key(0), train=True)
    chex.assert_trees_all_equal_shapes_and_dtypes(train_state['spectral'],
                                                  d_vars['spectral'])
    for before, after in zip(_spectral_us(d_vars['spectral']),
                             _spectral_us(train_state['spectral']), strict=True):
        assert not np.allclose(before, after)


# ----------------------------------------------------------------------------------
# build_gan errors.
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize('config, data_shape, num_classes, message', [
    pytest.param(_model_config('resnet'), MNIST, 0, r'model\.name.*resnet', id='unknown_name'),
    pytest.param(ml_collections.ConfigDict(dict(
        name='mlp', generator=dict(widths=(8,)), discriminator={})), MNIST, 0,
        r'model\.generator.*widths', id='unknown_generator_key'),
    pytest.param(_model_config('dcgan28', depth=3), MNIST, 0,
                 r'model\.discriminator.*depth', id='unknown_discriminator_key'),
    pytest.param(_model_config('dcgan28'), CIFAR, 0, r'dcgan28.*28', id='dcgan28_on_32x32'),
    pytest.param(_model_config('dcgan'), (32, 16, 3), 0, r'dcgan.*32×32 or 64×64',
                 id='dcgan_non_square'),
])
def test_build_gan_rejects_bad_config(config, data_shape, num_classes, message):
    with pytest.raises(ValueError, match=message):
        models.make_gan(config, data_shape, num_classes)


@pytest.mark.parametrize('config, data_shape, num_classes, message', [
    pytest.param(_model_config('dcgan'), (48, 48, 3), 0, r'image_size.*48',
                 id='dcgan_unsupported_size'),
    pytest.param(_model_config('mlp', conditioning='projection'), MNIST, 0,
                 r'conditioning.*num_classes', id='projection_without_classes'),
    pytest.param(_model_config('mlp'), MNIST, NUM_CLASSES, r'conditioning.*num_classes',
                 id='classes_without_conditioning'),
    pytest.param(_model_config('mlp', conditioning='acgan'), MNIST, NUM_CLASSES,
                 r'conditioning.*acgan', id='unknown_conditioning'),
    pytest.param(_model_config('mlp', conditioning='projection', class_factors=(2, 5)), MNIST,
                 NUM_CLASSES, r'class_factors', id='class_factors_without_auxiliary_head'),
    pytest.param(_model_config('mlp', conditioning='auxiliary', class_factors=(3, 5)), MNIST,
                 NUM_CLASSES, r'class_factors.*num_classes = 10', id='class_factors_not_classes'),
    pytest.param(ml_collections.ConfigDict(dict(
        name='mlp', generator=dict(class_factors=(2, 4)),
        discriminator=dict(conditioning='projection', spectral_norm=False))), MNIST,
                 NUM_CLASSES, r'class_factors.*num_classes = 10',
                 id='generator_class_factors_not_classes'),
])
def test_bad_config_fails_by_first_trace(config, data_shape, num_classes, message):
    """Errors that build_gan may leave to the models' first call (here: init)."""
    z = np.zeros((BATCH, 100), np.float32)
    x = np.zeros((BATCH, *data_shape), np.float32)
    labels = np.zeros((BATCH,), np.int32) if num_classes else None
    with pytest.raises(ValueError, match=message):
        generator, discriminator = models.make_gan(config, data_shape, num_classes)
        _trace(generator, z, labels)
        _trace(discriminator, x, labels)


# ----------------------------------------------------------------------------------
# VAE.
# ----------------------------------------------------------------------------------

VAE_LATENT_DIM = 8


def _vae(architecture):
    config = ml_collections.ConfigDict(dict(architecture=architecture,
                                            latent_dim=VAE_LATENT_DIM))
    model = models.make_vae(config, MNIST)
    x = np.random.default_rng(3).uniform(0, 1, (BATCH, *MNIST)).astype(np.float32)
    params = _randomise(
        jax.eval_shape(model.init, {'params': jax.random.key(0), 'reparam': jax.random.key(1)}, x), seed=4)
    return model, params, x


@functools.partial(jax.jit, static_argnames='model')
def _vae_apply(model, params, x, reparam_key):
    return model.apply(params, x, rngs={'reparam': reparam_key})


@pytest.mark.parametrize('architecture', models.VAE_ARCHITECTURES)
def test_vae_shapes(architecture):
    model, params, x = _vae(architecture)
    logits, mean, log_var = _vae_apply(model, params, x, jax.random.key(0))
    chex.assert_shape(logits, (BATCH, *MNIST))
    chex.assert_shape([mean, log_var], (BATCH, VAE_LATENT_DIM))
    chex.assert_type([logits, mean, log_var], jnp.float32)
    chex.assert_tree_all_finite((logits, mean, log_var))
    z = np.zeros((3, VAE_LATENT_DIM), np.float32)
    decoded = jax.jit(functools.partial(model.apply, method='decode'))(params, z)
    chex.assert_shape(decoded, (3, *MNIST))


@pytest.mark.parametrize('architecture', models.VAE_ARCHITECTURES)
def test_vae_samples_latent_from_reparam_rng(architecture):
    model, params, x = _vae(architecture)
    logits_a, mean_a, log_var_a = _vae_apply(model, params, x, jax.random.key(0))
    logits_b, mean_b, log_var_b = _vae_apply(model, params, x, jax.random.key(1))
    logits_a_again, _, _ = _vae_apply(model, params, x, jax.random.key(0))
    # The encoder is deterministic; only the sample z = μ + σ·ε changes.
    chex.assert_trees_all_equal((mean_a, log_var_a), (mean_b, log_var_b))
    assert not np.allclose(logits_a, logits_b, rtol=1e-3, atol=1e-3)
    chex.assert_trees_all_equal(logits_a, logits_a_again)


@pytest.mark.parametrize('architecture', models.VAE_ARCHITECTURES)
def test_vae_reconstruction_gradient_reaches_encoder(architecture):
    model, params, x = _vae(architecture)

    @jax.jit
    def reconstruction_grads(params):
        # The decoder's logits alone: their gradient reaches the encoder only through
        # the reparameterised sample z = μ + σ·ε.
        return jax.grad(lambda p: jnp.sum(_vae_apply(model, p, x, jax.random.key(0))[0]))(params)

    grads = reconstruction_grads(params)
    encoder_grads = grads['params']['encoder']
    chex.assert_trees_all_equal_structs(encoder_grads, params['params']['encoder'])
    chex.assert_tree_all_finite(encoder_grads)
    for leaf in jax.tree.leaves(encoder_grads):
        assert np.any(np.abs(leaf) > 0)


@pytest.mark.parametrize('architecture, data_shape, message', [
    pytest.param('resnet', MNIST, r'model\.architecture.*resnet', id='unknown'),
    pytest.param('conv', (32, 32, 3), r'model\.architecture.*28', id='conv_on_32x32'),
])
def test_build_vae_rejects_bad_config(architecture, data_shape, message):
    config = ml_collections.ConfigDict(dict(architecture=architecture, latent_dim=2))
    with pytest.raises(ValueError, match=message):
        models.make_vae(config, data_shape)


@pytest.mark.parametrize('bias_range', [0.0, 3.0])
def test_toy2d_input_bias_range_spreads_only_the_first_layers_biases(bias_range):
    discriminator = toy2d.Discriminator(input_bias_range=bias_range)
    params = discriminator.init(jax.random.key(0), jnp.zeros((4, 2)), train=False)['params']
    first = np.asarray(params['Maxout_0']['Dense_0']['bias'])
    assert first.shape == (200 * 5,)
    if bias_range:
        # U(−r, r): inside the range, and spread over it.
        assert np.abs(first).max() <= bias_range and np.abs(first).max() > 0.9 * bias_range
        assert abs(first.mean()) < 0.3 and first.std() == pytest.approx(
            bias_range / np.sqrt(3), rel=0.1)
    else:
        assert not first.any()  # PacGAN's zeros
    for layer in ('Maxout_1', 'Maxout_2'):
        assert not np.asarray(params[layer]['Dense_0']['bias']).any()


@pytest.mark.parametrize('factors', [(), (2, 3)])
def test_a_packed_auxiliary_head_gives_each_member_its_class_logits(factors):
    # Packs of m = 3 samples: the head's (B / m, m·K) outputs are read as member j of
    # pack i at row m·i + j, its K logits from columns j·K … (j + 1)·K − 1.
    features = jax.random.normal(jax.random.key(0), (2, 7))
    head = conditioning_lib.DiscriminatorHead(6, 'auxiliary', class_factors=factors, packing=3)
    variables = head.init(jax.random.key(1), features, None, train=False)
    logits, class_logits = head.apply(variables, features, None, train=False)
    per_sample = sum(factors) or 6
    assert logits.shape == (2,) and class_logits.shape == (6, per_sample)
    dense = variables['params']['class_logits']
    by_hand = features @ dense['kernel'] + dense['bias']
    for pack in range(2):
        for member in range(3):
            np.testing.assert_allclose(
                class_logits[3 * pack + member],
                by_hand[pack, member * per_sample:(member + 1) * per_sample], rtol=1e-6)


def test_a_packed_coded_toy2d_discriminator_reads_every_members_code():
    discriminator = toy2d.Discriminator(num_classes=4, conditioning='auxiliary', packing=2)
    points = jax.random.normal(jax.random.key(0), (6, 2))
    variables = discriminator.init(jax.random.key(1), points, train=False)
    logits, class_logits = discriminator.apply(variables, points, train=False)
    assert logits.shape == (3,) and class_logits.shape == (6, 4)
    # Changing one sample changes the logits of its pack's members only.
    moved = points.at[3].add(1.0)
    _, moved_logits = discriminator.apply(variables, moved, train=False)
    changed = np.abs(np.asarray(moved_logits - class_logits)).max(axis=1) > 0
    assert changed.tolist() == [False, False, True, True, False, False]
