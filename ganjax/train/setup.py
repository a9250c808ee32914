"""From a config to the pieces of a run: networks, optimizers, state, step.

``make_setup(config, ...)`` returns a ``GANSetup`` or, for ``model.name='vae'``, a
``VAESetup``; both have the same interface (``init_state``, ``train_step``, ``sample``,
``updates_per_step``, ``latent_dim``, ``num_classes``, ``loss_metrics``), so the loop, the
benchmark and the sampler build through it and need no case for VAEs: for a given config
they run exactly the same model and step.
"""
from collections.abc import Callable, Sequence
import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganjax import augment
from ganjax import errors
from ganjax import models
from ganjax.train import gan_step
from ganjax.train import objectives
from ganjax.train import optimizers
from ganjax.train import state as state_lib
from ganjax.train import vae_step


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

    def init_state(self, key: jax.Array) -> state_lib.GANState:
        """A fresh state; shapes only depend on the config, never on the batch size."""
        # One pack of examples for a packing discriminator (PacGAN), else one example.
        rows = getattr(self.discriminator, 'packing', 1)
        labels = jnp.zeros((rows,), jnp.int32) if self.num_classes else None
        return state_lib.init_gan_state(
            key, self.generator, self.discriminator, self.g_tx, self.d_tx,
            jnp.zeros((rows, self.latent_dim)), jnp.zeros((rows, *self.data_shape)), labels)

    def sample(self, state: state_lib.GANState, z: jax.Array, labels: jax.Array | None = None,
               *, use_ema: bool = True) -> jax.Array:
        """G's samples in eval mode (BatchNorm running averages), from the EMA params
        unless ``use_ema`` is false."""
        params = state.ema_params if use_ema else state.g_params
        return self.generator.apply({'params': params, **state.g_state}, z, labels, train=False)


def _gan_setup(config, data_shape: Sequence[int], num_classes: int,
               axis_name: str | None) -> GANSetup:
    num_classes = num_classes if config.model.conditional else 0
    ema = config.get('ema') or {}
    generator, discriminator = models.make_gan(config.model, data_shape, num_classes,
                                               bn_axis_name=axis_name)
    g_tx = optimizers.make_optimizer(config.optimizer.g, config.total_steps)
    # D updates n_critic times a step, so its schedules span that many more updates.
    d_tx = optimizers.make_optimizer(config.optimizer.d,
                                     config.total_steps * config.loss.n_critic)
    train_step = gan_step.make_gan_train_step(
        generator, discriminator, g_tx, d_tx, config.loss,
        latent_dim=config.model.latent_dim, num_classes=num_classes,
        ema_decay=config.ema_decay, ema_half_life_kimg=ema.get('half_life_kimg'),
        ema_rampup=ema.get('rampup'), total_steps=config.total_steps,
        augment_policy=augment_policy(config), axis_name=axis_name)
    return GANSetup(generator, discriminator, g_tx, d_tx, train_step, tuple(data_shape),
                    num_classes, config.model.latent_dim, config.loss.n_critic)


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

    def sample(self, state: state_lib.VAEState, z: jax.Array, labels: jax.Array | None = None,
               *, use_ema: bool = True) -> jax.Array:
        """Decoded means p(x|z) mapped to [−1, 1]; a VAE has no labels and no EMA."""
        del labels, use_ema
        logits = self.model.apply({'params': state.params}, z, method=self.model.decode)
        return 2.0 * jax.nn.sigmoid(logits) - 1.0


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
    try:
        if errors.config_value(config, 'model.name') == 'vae':
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
            errors.require(value is None or (isinstance(value, (int, float))
                                             and math.isfinite(value) and value > 0),
                           f'ema.{key}', value, 'be None or a finite number > 0')
        optimizers.validate(config, 'optimizer.g')
        optimizers.validate(config, 'optimizer.d')
        _validate_augment(config, data_shape)
        _, discriminator = models.make_gan(
            config.model, data_shape, num_classes if config.model.conditional else 0)
        _discriminator_fits_loss(config, discriminator)
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


def _discriminator_fits_loss(config, discriminator) -> None:
    conditioning = discriminator.conditioning
    errors.require((conditioning == 'none') != bool(config.model.conditional),
                   'model.discriminator.conditioning', conditioning,
                   "be 'none' when model.conditional is False and 'projection' or "
                   "'auxiliary' when it is True")
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
    errors.require(not penalties or packing == 1, 'model.discriminator.packing', packing,
                   f'be 1 with the penalties {penalties} (loss.penalty, loss.penalties)')
    errors.require(config.batch_size % packing == 0, 'batch_size', config.batch_size,
                   f'be divisible by model.discriminator.packing={packing}')
