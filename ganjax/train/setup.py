"""From a config to the pieces of a run: networks, optimizers, state, step.

``make_setup(config, ...)`` returns a ``GANSetup`` or, for ``model.name='vae'``, a
``VAESetup``; both have the same interface (``init_state``, ``train_step``,
``sampling_variables``, ``generate``, ``sample``, ``updates_per_step``, ``latent_dim``,
``num_classes``, ``loss_metrics``), so the loop, the benchmark and the sampler build
through it and need no case for VAEs: for a given config they run exactly the same model
and step.

Sampling is two steps so that the BatchNorm statistics of the chosen generator are
computed once, not per chunk of samples: ``variables = setup.sampling_variables(state,
use_ema)``, then ``setup.generate(variables, z, labels)`` for each chunk;
``setup.sample(state, z, labels, use_ema)`` does both.
"""
from collections.abc import Callable, Sequence
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganjax import augment
from ganjax import errors
from ganjax import models
from ganjax.data import datasets
from ganjax.models import conditioning as conditioning_lib
from ganjax.models import standing_statistics
from ganjax.train import code_prior as code_prior_lib
from ganjax.train import gan_step
from ganjax.train import objectives
from ganjax.train import optimizers
from ganjax.train import state as state_lib
from ganjax.train import vae_step


# How a generator with BatchNorm normalises when it samples (``config.sampling.batch_norm``):
# 'standing': statistics recomputed for the sampled parameters (``standing_statistics``);
# 'running': the running averages kept in training (of the raw generator's parameters);
# 'batch': each call's own batch statistics, so a sample depends on its batch.
BATCH_NORM_MODES = ('standing', 'running', 'batch')
# The latents behind standing statistics: fixed, so that sampling stays a function of the
# checkpoint, and distinct from the evaluation's latents (``eval.seed``).
_STANDING_SEED = 20190928


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """``config.sampling``: see ``BATCH_NORM_MODES``; standing statistics pool
    ``standing_batches`` forward passes of ``standing_batch_size`` latents."""
    batch_norm: str = 'standing'
    standing_batches: int = 8
    standing_batch_size: int = 512

    @classmethod
    def from_config(cls, config) -> 'SamplingConfig':
        """The config's section; the defaults for configs without one."""
        return cls(**(config.get('sampling') or {}))


@dataclasses.dataclass(frozen=True)
class GANSetup:
    """Everything built from a config: modules, optimizers, state init and the raw step."""
    generator: nn.Module
    discriminator: nn.Module
    g_tx: optax.GradientTransformation
    d_tx: optax.GradientTransformation
    train_step: Callable
    data_shape: tuple[int, ...]
    num_classes: int
    latent_dim: int
    updates_per_step: int  # the batch's leading axis: one real batch per D update (n_critic)
    loss_metrics: tuple[str, ...] = ('d_loss', 'g_loss')  # the losses plotted over a run
    sampling: SamplingConfig = SamplingConfig()
    code_prior: code_prior_lib.CodePrior = code_prior_lib.CodePrior()

    def init_state(self, key: jax.Array, label_shares=None) -> state_lib.GANState:
        """A fresh state; shapes only depend on the config, never on the batch size.
        ``label_shares``: the training labels' shares, π under ``code_prior.rule='data'``
        (``ganjax.data.pipeline.labelling``)."""
        # One pack of examples for a packing discriminator (PacGAN), else one example.
        rows = getattr(self.discriminator, 'packing', 1)
        labels = jnp.zeros((rows,), jnp.int32) if self.num_classes else None
        state = state_lib.init_gan_state(
            key, self.generator, self.discriminator, self.g_tx, self.d_tx,
            jnp.zeros((rows, self.latent_dim)), jnp.zeros((rows, *self.data_shape)), labels)
        return state.replace(code_prior=self.code_prior.initial(self.num_classes,
                                                                label_shares))

    def sampling_variables(self, state: state_lib.GANState, use_ema: bool = True) -> dict:
        """G's variables to sample with: the EMA parameters (the raw ones unless
        ``use_ema``) and the BatchNorm statistics ``sampling.batch_norm`` gives them.

        Standing statistics are those of G's own distribution: its classes cycled, or
        its codes in proportion to their prior π where it has one (``code_prior.spread``)."""
        params = state.ema_params if use_ema else state.g_params
        if not state.g_state or self.sampling.batch_norm == 'batch':
            return {'params': params}
        if self.sampling.batch_norm == 'running':
            return {'params': params, **state.g_state}
        num = self.sampling.standing_batches * self.sampling.standing_batch_size
        key = jax.random.key(_STANDING_SEED)
        z = jax.random.normal(key, (num, self.latent_dim))
        labels = None
        if self.num_classes:
            # Spread, for each chunk of the standing passes to see all of π (deeper
            # layers normalise by their chunk).
            labels = code_prior_lib.spread(state.code_prior, num, self.num_classes,
                                           jax.random.fold_in(key, 1))
        return {'params': params, **standing_statistics.standing_statistics(
            self.generator, params, z, labels, chunks=self.sampling.standing_batches)}

    def generate(self, variables: dict, z: jax.Array,
                 labels: jax.Array | None = None) -> jax.Array:
        """G's samples for ``sampling_variables``'s variables."""
        if self.sampling.batch_norm == 'batch':
            return self.generator.apply(variables, z, labels, train=True,
                                        mutable=['batch_stats'])[0]
        return self.generator.apply(variables, z, labels, train=False)

    def sample(self, state: state_lib.GANState, z: jax.Array, labels: jax.Array | None = None,
               use_ema: bool = True) -> jax.Array:
        """``generate(sampling_variables(state, use_ema), z, labels)``."""
        return self.generate(self.sampling_variables(state, use_ema), z, labels)


def _gan_setup(config, data_shape: Sequence[int], num_classes: int,
               axis_name: str | None) -> GANSetup:
    num_classes = num_classes if config.model.conditional else 0
    ema = config.get('ema') or {}
    # The step's G averages BatchNorm statistics over the pmap axis; sampling runs
    # outside pmap, so the setup keeps a G without the axis (the same parameters).
    generator, discriminator = models.make_gan(config.model, data_shape, num_classes,
                                               bn_axis_name=axis_name)
    sampling_generator, _ = models.make_gan(config.model, data_shape, num_classes)
    g_tx = optimizers.make_optimizer(config.optimizer.g, config.total_steps)
    # D updates n_critic times a step, so its schedules span that many more updates.
    d_tx = optimizers.make_optimizer(config.optimizer.d,
                                     config.total_steps * config.loss.n_critic)
    code_prior = code_prior_lib.CodePrior.from_config(config)
    train_step = gan_step.make_gan_train_step(
        generator, discriminator, g_tx, d_tx, config.loss,
        latent_dim=config.model.latent_dim, num_classes=num_classes, code_prior=code_prior,
        ema_decay=config.ema_decay, ema_half_life_kimg=ema.get('half_life_kimg'),
        ema_rampup=ema.get('rampup'), total_steps=config.total_steps,
        augment_policy=augment_policy(config), axis_name=axis_name)
    return GANSetup(sampling_generator, discriminator, g_tx, d_tx, train_step,
                    tuple(data_shape), num_classes, config.model.latent_dim,
                    config.loss.n_critic, sampling=SamplingConfig.from_config(config),
                    code_prior=code_prior)


@dataclasses.dataclass(frozen=True)
class VAESetup:
    """The VAE counterpart of ``GANSetup``, with the same interface for the loop."""
    model: nn.Module
    tx: optax.GradientTransformation
    train_step: Callable
    data_shape: tuple[int, ...]
    latent_dim: int
    num_classes: int = 0
    updates_per_step: int = 1
    loss_metrics: tuple[str, ...] = ('loss', 'reconstruction', 'kl')

    def init_state(self, key: jax.Array) -> state_lib.VAEState:
        """A fresh state."""
        return state_lib.init_vae_state(key, self.model, self.tx,
                                        jnp.zeros((1, *self.data_shape)))

    def sampling_variables(self, state: state_lib.VAEState, use_ema: bool = True) -> dict:
        """The VAE's parameters: it has no EMA and no BatchNorm."""
        del use_ema
        return {'params': state.params}

    def generate(self, variables: dict, z: jax.Array,
                 labels: jax.Array | None = None) -> jax.Array:
        """Decoded means p(x|z) mapped to [−1, 1]; a VAE has no labels."""
        del labels
        logits = self.model.apply(variables, z, method=self.model.decode)
        return 2.0 * jax.nn.sigmoid(logits) - 1.0

    def sample(self, state: state_lib.VAEState, z: jax.Array, labels: jax.Array | None = None,
               use_ema: bool = True) -> jax.Array:
        """``generate(sampling_variables(state, use_ema), z, labels)``."""
        return self.generate(self.sampling_variables(state, use_ema), z, labels)


def make_setup(config, data_shape: Sequence[int], num_classes: int,
               axis_name: str | None = None) -> GANSetup | VAESetup:
    """Builds the run ``config`` describes for data of ``data_shape``.

    Args:
      config: a full experiment config (``model``, ``optimizer``, ``loss``, ...); a VAE
        for ``model.name='vae'`` (``model.architecture``, ``model.latent_dim``, trained
        with ``optimizer.vae`` and ``loss.beta``), else a GAN.
      data_shape: shape of one example, e.g. (28, 28, 1).
      num_classes: the dataset's classes; used only if ``config.model.conditional``.
      axis_name: the pmap axis, or None for jit.
    """
    if config.model.name == 'vae':
        return _vae_setup(config, data_shape, axis_name)
    return _gan_setup(config, data_shape, num_classes, axis_name)


def _vae_setup(config, data_shape: Sequence[int], axis_name: str | None) -> VAESetup:
    model = models.make_vae(config.model, data_shape)
    tx = optimizers.make_optimizer(config.optimizer.vae, config.total_steps)
    train_step = vae_step.make_vae_train_step(model, tx, config.loss.beta, axis_name)
    return VAESetup(model, tx, train_step, tuple(data_shape), config.model.latent_dim)


def augment_policy(config) -> str:
    """``config.augment.policy``; '' for configs without an ``augment`` section."""
    return (config.get('augment') or {}).get('policy', '')


def validate(config, data_shape: Sequence[int], num_classes: int) -> None:
    """Raises ``errors.ConfigError`` for a bad ``model``, ``optimizer`` or ``loss`` section
    (or ``ema_decay``), or a discriminator that does not fit the loss. Builds modules but
    no parameters."""
    # A 2-D mixture config has no data section.
    clusters = datasets.num_clusters(config.get('data') or {})
    try:
        errors.positive_int(config, 'model.latent_dim')
        if errors.config_value(config, 'model.name') == 'vae':
            errors.require(clusters is None, 'data.clusters', clusters,
                           'be None for a VAE, which reads no labels')
            optimizers.validate(config, 'optimizer.vae')
            errors.require(errors.config_value(config, 'loss.beta') >= 0, 'loss.beta',
                           config.loss.beta, 'be >= 0')
            models.make_vae(config.model, data_shape)
            return
        objectives.validate(config)
        errors.require(0 <= config.ema_decay < 1, 'ema_decay', config.ema_decay,
                       'be in [0, 1)')
        for key in ('half_life_kimg', 'rampup'):
            value = (config.get('ema') or {}).get(key)
            errors.require(value is None or (errors.is_finite_number(value) and value > 0),
                           f'ema.{key}', value, 'be None or a finite number > 0')
        optimizers.validate(config, 'optimizer.g')
        optimizers.validate(config, 'optimizer.d')
        _validate_augment(config, data_shape)
        _validate_sampling(config)
        code_prior_lib.validate(config)
        dropout = (config.model.get('discriminator') or {}).get('dropout_rate', 0.0)
        errors.require(errors.is_finite_number(dropout) and 0 <= dropout < 1,
                       'model.discriminator.dropout_rate', dropout, 'be in [0, 1)')
        generator, discriminator = models.make_gan(
            config.model, data_shape, num_classes if config.model.conditional else 0)
        for network, key in ((generator, 'model.generator'),
                             (discriminator, 'model.discriminator')):
            _validate_layer_sizes(network, key)
        factors = _class_factors(generator, 'model.generator.class_factors')
        errors.require(conditioning_lib.factors_fit(factors, generator.num_classes),
                       'model.generator.class_factors', factors,
                       'be (), or integers >= 1 whose product is the number of classes '
                       f'({generator.num_classes}) of a class-conditional model')
        _discriminator_fits_loss(config, discriminator)
        errors.require(clusters is None or bool(config.model.conditional), 'data.clusters',
                       clusters, 'be None unless model.conditional is True (the clusters '
                       'are labels for a class-conditional model)')
        errors.require(clusters is None or not code_prior_lib.has_infogan_code(config),
                       'data.clusters', clusters, 'be None for an InfoGAN code, which D '
                       'learns from G alone (loss.auxiliary_on_real=False)')
    except errors.ConfigError:
        raise
    except (ValueError, KeyError, AttributeError) as e:  # from the model registry
        raise errors.ConfigError(str(e).strip('"')) from e


def _validate_augment(config, data_shape: Sequence[int]) -> None:
    policy = augment_policy(config)
    errors.require(isinstance(policy, str), 'augment.policy', policy, 'be a string')
    try:
        augment.parse_policy(policy)
    except ValueError as e:
        raise errors.ConfigError(f'config.augment.policy: {e}') from e
    errors.require(not policy.strip() or len(data_shape) == 3, 'augment.policy', policy,
                   f"be '' for data of shape {tuple(data_shape)} (DiffAugment needs images)")


def _validate_sampling(config) -> None:
    errors.known_keys(config, 'sampling', SamplingConfig)
    sampling = SamplingConfig.from_config(config)
    errors.require(sampling.batch_norm in BATCH_NORM_MODES, 'sampling.batch_norm',
                   sampling.batch_norm, f'be one of {BATCH_NORM_MODES}')
    for key in ('standing_batches', 'standing_batch_size'):
        value = getattr(sampling, key)
        errors.require(errors.is_int_at_least(value, 1), f'sampling.{key}', value,
                       'be a positive integer')


# Fields of ganjax.models' networks that size their layers, and their least values:
# widths, maxout pieces and kernels at least 1, a depth or a layer index at least 0.
_LAYER_SIZES = {'base_features': 1, 'hidden': 1, 'pieces': 1, 'kernel_size': 1,
                'depth': 0, 'batch_norm_from': 0}


def _validate_layer_sizes(network, key: str) -> None:
    """Raises ``errors.ConfigError`` naming ``key``'s field for a layer size that is not an
    integer of at least its least value (a sequence of them where the field's default is
    one, one per layer: the MLPs' ``hidden``), or a leaky ReLU's ``negative_slope`` that
    is not a finite number; a width of 0 would otherwise fail deep inside the first
    trace."""
    defaults = {field.name: field.default for field in dataclasses.fields(network)}
    for field, least in _LAYER_SIZES.items():
        if field not in defaults:
            continue
        value = getattr(network, field)
        per_layer = isinstance(defaults[field], tuple)
        fits = (isinstance(value, (tuple, list)) == per_layer
                and all(errors.is_int_at_least(v, least)
                        for v in (value if per_layer else (value,))))
        errors.require(fits, f'{key}.{field}', value,
                       f'be {"integers" if per_layer else "an integer"} >= {least}')
    slope = getattr(network, 'negative_slope', 0.0)
    errors.require(errors.is_finite_number(slope), f'{key}.negative_slope', slope,
                   'be a finite number')


def _class_factors(network, key: str) -> tuple:
    """A network's ``class_factors`` as a tuple; a value that is not a sequence is a
    config error naming ``key``."""
    factors = getattr(network, 'class_factors', ())
    errors.require(isinstance(factors, (tuple, list)), key, factors,
                   'be a tuple of integers, such as (10, 10, 10)')
    return tuple(factors)


def _discriminator_fits_loss(config, discriminator) -> None:
    conditioning = discriminator.conditioning
    errors.require((conditioning == 'none') != bool(config.model.conditional),
                   'model.discriminator.conditioning', conditioning,
                   "be 'none' when model.conditional is False and 'projection' or "
                   "'auxiliary' when it is True")
    # Without the data's labels in D's loss only an auxiliary head, which reads G's code
    # back, is an unsupervised model; a projection D reads the data's labels itself.
    errors.require(config.loss.get('auxiliary_on_real', True) or conditioning == 'auxiliary',
                   'loss.auxiliary_on_real', False,
                   "be True unless model.discriminator.conditioning is 'auxiliary' "
                   "(InfoGAN's categorical code)")
    factors = _class_factors(discriminator, 'model.discriminator.class_factors')
    errors.require(conditioning_lib.class_factors_fit(factors, conditioning,
                                                      discriminator.num_classes),
                   'model.discriminator.class_factors', factors,
                   "be () unless model.discriminator.conditioning is 'auxiliary', and then "
                   f'integers >= 1 whose product is the number of classes '
                   f'({discriminator.num_classes})')
    penalties = [p.name for p in objectives.make_penalties(config.loss)]
    # Gradient penalties are per-example gradients; BatchNorm in train mode mixes the
    # examples of a batch, which makes them wrong (Gulrajani et al. 2017, §4).
    errors.require(not penalties or not getattr(discriminator, 'batch_norm', False),
                   'model.discriminator.batch_norm', True,
                   f'be False with the penalties {penalties} (loss.penalty, loss.penalties)')
    # Likewise a packed input's gradient spans several examples (PacGAN).
    packing = getattr(discriminator, 'packing', 1)
    errors.require(isinstance(packing, int) and packing >= 1, 'model.discriminator.packing',
                   packing, 'be a positive integer')
    errors.require(packing == 1 or conditioning != 'projection',
                   'model.discriminator.packing', packing,
                   "be 1 for a projection discriminator (a pack has no single label)")
    errors.require(not penalties or packing == 1, 'model.discriminator.packing', packing,
                   f'be 1 with the penalties {penalties} (loss.penalty, loss.penalties)')
    errors.require(config.batch_size % packing == 0, 'batch_size', config.batch_size,
                   f'be divisible by model.discriminator.packing={packing}')
    group = getattr(discriminator, 'minibatch_std_group', 0)
    errors.require(isinstance(group, int) and group >= 0,
                   'model.discriminator.minibatch_std_group', group,
                   'be a non-negative integer (0: no minibatch standard deviation)')
