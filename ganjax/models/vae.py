"""Variational autoencoders for 28×28 images (Kingma & Welling 2014, "Auto-Encoding
Variational Bayes"; the source tutorial "图像生成：深度学习的实践经验", §2.2, §4.2).

The encoder outputs the mean and log-variance of q(z|x) = N(μ, diag σ²); the decoder
outputs Bernoulli logits over pixels in [0, 1]. ``VAE.__call__`` samples z = μ + σ·ε
with ε ~ N(0, I) from the ``'reparam'`` RNG stream (the reparameterisation trick), so
gradients flow to μ and log σ².
"""
from collections.abc import Sequence
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax import layers


class MLPEncoder(nn.Module):
    """The tutorial's encoder: flatten → Dense(hidden) → ReLU → Dense(2·latent_dim)."""
    latent_dim: int
    hidden: int = 400

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = nn.relu(nn.Dense(self.hidden)(x.reshape(x.shape[0], -1)))
        mean, log_var = jnp.split(nn.Dense(2 * self.latent_dim)(h), 2, axis=-1)
        return mean, log_var


class MLPDecoder(nn.Module):
    """The tutorial's decoder: Dense(hidden) → ReLU → Dense(pixels), as logits."""
    image_shape: Sequence[int] = (28, 28, 1)
    hidden: int = 400

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        h = nn.relu(nn.Dense(self.hidden)(z))
        return nn.Dense(math.prod(self.image_shape))(h).reshape(-1, *self.image_shape)


class ConvEncoder(nn.Module):
    """Conv 32 4×4/2 → Conv 64 4×4/2 (ReLU) → Dense(2·latent_dim), for 28×28 inputs."""
    latent_dim: int

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = x
        for features in (32, 64):
            h = nn.relu(nn.Conv(features, (4, 4), (2, 2))(h))
        mean, log_var = jnp.split(nn.Dense(2 * self.latent_dim)(h.reshape(h.shape[0], -1)),
                                  2, axis=-1)
        return mean, log_var


class ConvDecoder(nn.Module):
    """Dense(7·7·64) → ConvT 32 4×4/2 → ConvT C 4×4/2, as logits, for 28×28 outputs."""
    channels: int = 1

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        h = nn.relu(nn.Dense(7 * 7 * 64)(z)).reshape(-1, 7, 7, 64)
        h = nn.relu(layers.ConvTranspose(32, 4, 2)(h))
        return layers.ConvTranspose(self.channels, 4, 2)(h)


class VAE(nn.Module):
    """x → (Bernoulli logits of x̂, μ, log σ²); ``decode`` maps z to logits."""
    encoder: nn.Module
    decoder: nn.Module

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        mean, log_var = self.encoder(x)
        eps = jax.random.normal(self.make_rng('reparam'), mean.shape, mean.dtype)
        z = mean + jnp.exp(0.5 * log_var) * eps
        return self.decoder(z), mean, log_var

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)
