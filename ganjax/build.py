"""From a config to the pieces of a GAN run: networks, optimizers, state, step.

The loop, the benchmark and the sampler all build through ``build_gan`` so that they
run exactly the same model and step for a given config.
"""
from collections.abc import Callable, Sequence
import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganjax import models
from ganjax import state as state_lib
from ganjax import step as step_lib
from ganjax import vae_step


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


def build_gan(config, data_shape: Sequence[int], num_classes: int,
              axis_name: str | None = None) -> GANSetup:
    """Builds the GAN described by ``config`` for data of ``data_shape``.

    Args:
      config: a full experiment config (``model``, ``optimizer``, ``loss``, ...).
      data_shape: shape of one example, e.g. (28, 28, 1).
      num_classes: the dataset's classes; used only if ``config.model.conditional``.
      axis_name: the pmap axis, or None for jit.
    """
    num_classes = num_classes if config.model.conditional else 0
    generator, discriminator = models.build_gan(config.model, data_shape, num_classes,
                                                bn_axis_name=axis_name)
    g_tx = state_lib.make_optimizer(config.optimizer.g, config.total_steps)
    d_tx = state_lib.make_optimizer(config.optimizer.d, config.total_steps)
    train_step = step_lib.make_gan_train_step(
        generator, discriminator, g_tx, d_tx, config.loss,
        latent_dim=config.model.latent_dim, num_classes=num_classes,
        ema_decay=config.ema_decay, axis_name=axis_name)
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

    def init_state(self, key: jax.Array) -> vae_step.VAEState:
        return vae_step.init_vae_state(key, self.model, self.tx,
                                       jnp.zeros((1, *self.data_shape)))

    def sample(self, state: vae_step.VAEState, z: jax.Array, labels: jax.Array | None = None,
               *, use_ema: bool = True) -> jax.Array:
        """Decoded means p(x|z) mapped to [−1, 1]; a VAE has no labels and no EMA."""
        del labels, use_ema
        logits = self.model.apply({'params': state.params}, z, method=self.model.decode)
        return 2.0 * jax.nn.sigmoid(logits) - 1.0


def is_vae(config) -> bool:
    return config.model.name == 'vae'


def build(config, data_shape: Sequence[int], num_classes: int,
          axis_name: str | None = None) -> GANSetup | VAESetup:
    """``build_gan`` or, for ``model.name == 'vae'``, ``build_vae``."""
    if is_vae(config):
        return build_vae(config, data_shape, axis_name)
    return build_gan(config, data_shape, num_classes, axis_name)


def build_vae(config, data_shape: Sequence[int], axis_name: str | None = None) -> VAESetup:
    """Builds the VAE of ``config.model`` (``architecture``, ``latent_dim``) trained with
    ``config.optimizer.vae`` and ``config.loss.beta``."""
    model = models.build_vae(config.model, data_shape)
    tx = state_lib.make_optimizer(config.optimizer.vae, config.total_steps)
    train_step = vae_step.make_vae_train_step(model, tx, config.loss.beta, axis_name)
    return VAESetup(model, tx, train_step, tuple(data_shape), config.model.latent_dim)
