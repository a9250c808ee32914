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

    def init_state(self, key: jax.Array) -> state_lib.GANState:
        """A fresh state; shapes only depend on the config, never on the batch size."""
        labels = jnp.zeros((1,), jnp.int32) if self.num_classes else None
        return state_lib.init_gan_state(
            key, self.generator, self.discriminator, self.g_tx, self.d_tx,
            jnp.zeros((1, self.latent_dim)), jnp.zeros((1, *self.data_shape)), labels)

    def generate(self, g_params, g_state, z: jax.Array,
                 labels: jax.Array | None = None) -> jax.Array:
        """Samples in eval mode (BatchNorm running averages)."""
        return self.generator.apply({'params': g_params, **g_state}, z, labels, train=False)


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
                    num_classes, config.model.latent_dim)
