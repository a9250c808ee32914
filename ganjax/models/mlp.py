"""The fully connected GAN of the source tutorials (their MNIST MLP GAN code).

G: z (100) → 256 → 512 → 1024 → 784, LeakyReLU(0.2), BatchNorm after the 512 and 1024
layers, tanh, reshaped to the image. D: 784 → 1024 → 512 → 256 → 1,
LeakyReLU(0.2) and Dropout(0.3), returning a logit (no sigmoid: losses take logits).
"""
from collections.abc import Sequence
import functools
import math

import flax.linen as nn
import jax

from ganjax import layers
from ganjax.models import conditioning


class Generator(nn.Module):
    """MLP generator: z (B, latent_dim) [+ labels] → images (B, *image_shape) in [−1, 1]."""
    image_shape: Sequence[int] = (28, 28, 1)
    hidden: Sequence[int] = (256, 512, 1024)
    batch_norm_from: int = 1  # index of the first hidden layer followed by BatchNorm
    negative_slope: float = 0.2
    num_classes: int = 0
    class_factors: tuple[int, ...] = ()  # see conditioning.ConditionalLatent
    bn_axis_name: str | None = None

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *,
                 train: bool) -> jax.Array:
        h = conditioning.ConditionalLatent(self.num_classes,
                                           class_factors=self.class_factors)(z, labels)
        for i, width in enumerate(self.hidden):
            h = nn.Dense(width)(h)
            if i >= self.batch_norm_from:
                h = nn.BatchNorm(use_running_average=not train, axis_name=self.bn_axis_name)(h)
            h = nn.leaky_relu(h, self.negative_slope)
        h = nn.Dense(math.prod(self.image_shape))(h)
        return nn.tanh(h).reshape(-1, *self.image_shape)


class Discriminator(nn.Module):
    """MLP discriminator: images (B, H, W, C) [+ labels] → (logits (B,), class_logits)."""
    hidden: Sequence[int] = (1024, 512, 256)
    negative_slope: float = 0.2
    dropout_rate: float = 0.3
    num_classes: int = 0
    conditioning: str = 'none'
    class_factors: tuple[int, ...] = ()  # see conditioning.DiscriminatorHead
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool):
        apply = functools.partial(layers.maybe_spectral_norm,
                                  spectral_norm=self.spectral_norm, train=train)
        h = x.reshape(x.shape[0], -1)
        for width in self.hidden:
            h = nn.leaky_relu(apply(nn.Dense(width), h), self.negative_slope)
            h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
        return conditioning.DiscriminatorHead(
            self.num_classes, self.conditioning, self.spectral_norm,
            class_factors=self.class_factors)(h, labels, train=train)
