"""DCGAN generators and discriminators (Radford et al. 2016), N(0, 0.02) weight init.

* ``Generator28`` / ``Discriminator28``: the MNIST DCGAN of TensorFlow's DCGAN
  tutorial (tensorflow.org/tutorials/generative/dcgan): G Dense(7·7·256, no bias) → BN
  → LeakyReLU → 7×7×256 → ConvT 128 5×5/1 → ConvT 64 5×5/2 → ConvT C 5×5/2 → tanh, with BN + LeakyReLU between;
  D Conv 64 5×5/2 → LeakyReLU → Dropout 0.3 → Conv 128 5×5/2 → LeakyReLU → Dropout 0.3
  → Dense 1. LeakyReLU slope 0.3 is Keras' default, which that tutorial uses.
* ``Generator`` / ``Discriminator``: the 32×32 / 64×64 RGB DCGAN of the tutorial
  "使用GAN生成逼真的图像和视频" (Generating realistic images and videos with GANs): G projects
  z to 4×4 with ConvT 4×4 (VALID), then ConvT 4×4/2 layers halving the channels, with
  BN + ReLU, and a ConvT 4×4/2 to C channels with tanh; D mirrors it with Conv 4×4/2,
  BN (not on the first layer) and LeakyReLU(0.2), and a final 4×4 → 1 layer (a Dense
  on the flattened 4×4 features, which is the same function). For 64×64 there is one
  more layer on each side (Radford et al.'s 64×64 architecture); that tutorial's code, which
  resizes to 64 but builds the 32×32 stack, is not followed there.

Both discriminators take ProGAN's minibatch standard deviation before their head
(``minibatch_std_group`` > 0; Karras et al. 2018, §3; ``ganjax.layers.minibatch_stddev``).

Upsampling uses ``ganjax.layers.ConvTranspose`` and the discriminators' strided
convolutions ``ganjax.layers.Conv``: the same functions as Flax's layers, faster to
differentiate on XLA:CPU.
"""
import functools
import math

import flax.linen as nn
import jax

from ganjax import layers
from ganjax.models import conditioning

_INIT = layers.dcgan_init()


class Generator28(nn.Module):
    """The DCGAN tutorial's MNIST generator: z [+ labels] → (B, 28, 28, channels) in [−1, 1]."""
    channels: int = 1
    negative_slope: float = 0.3
    num_classes: int = 0
    class_factors: tuple[int, ...] = ()  # see conditioning.ConditionalLatent
    bn_axis_name: str | None = None
    base_features: int = 64  # layer widths 4b, 2b, b: 256, 128, 64 as in the tutorial
    kernel_size: int = 5  # of every transposed convolution, 5 as in the tutorial

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *,
                 train: bool) -> jax.Array:
        batch_norm = functools.partial(nn.BatchNorm, use_running_average=not train,
                                       axis_name=self.bn_axis_name)
        b = self.base_features
        h = conditioning.ConditionalLatent(self.num_classes,
                                           class_factors=self.class_factors)(z, labels)
        h = nn.Dense(7 * 7 * 4 * b, use_bias=False, kernel_init=_INIT)(h)
        h = nn.leaky_relu(batch_norm()(h), self.negative_slope).reshape(-1, 7, 7, 4 * b)
        for features, stride in ((2 * b, 1), (b, 2)):
            h = layers.ConvTranspose(features, self.kernel_size, stride, use_bias=False,
                                     kernel_init=_INIT)(h)
            h = nn.leaky_relu(batch_norm()(h), self.negative_slope)
        return nn.tanh(layers.ConvTranspose(self.channels, self.kernel_size, 2,
                                            kernel_init=_INIT)(h))


class Discriminator28(nn.Module):
    """The DCGAN tutorial's MNIST discriminator: (B, 28, 28, C) → (logits (B / packing,),
    class_logits). ``packing`` = m > 1 is PacDCGAN-m: m samples concatenated along the
    channels (``ganjax.layers.pack``)."""
    negative_slope: float = 0.3
    dropout_rate: float = 0.3
    num_classes: int = 0
    conditioning: str = 'none'
    class_factors: tuple[int, ...] = ()  # see conditioning.DiscriminatorHead
    spectral_norm: bool = False
    packing: int = 1
    base_features: int = 64  # layer widths b, 2b: 64, 128 as in the tutorial
    kernel_size: int = 5  # of both convolutions, 5 as in the tutorial
    # BatchNorm after the second convolution, as Radford et al.'s discriminators have it
    # (not in the tutorial): faster early training, but no per-example gradient penalty.
    batch_norm: bool = False
    # > 0: ProGAN's minibatch standard deviation over groups of this many, before the head.
    minibatch_std_group: int = 0
    bn_axis_name: str | None = None

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool):
        apply = functools.partial(layers.maybe_spectral_norm,
                                  spectral_norm=self.spectral_norm, train=train)
        h = layers.pack(x, self.packing, reads_labels=self.conditioning == 'projection')
        for i, features in enumerate((self.base_features, 2 * self.base_features)):
            h = apply(layers.Conv(features, (self.kernel_size,) * 2, (2, 2),
                                  use_bias=not (self.batch_norm and i), kernel_init=_INIT), h)
            if self.batch_norm and i:
                h = nn.BatchNorm(use_running_average=not train, axis_name=self.bn_axis_name)(h)
            h = nn.leaky_relu(h, self.negative_slope)
            h = nn.Dropout(self.dropout_rate, deterministic=not train)(h)
        if self.minibatch_std_group:
            h = layers.minibatch_stddev(h, self.minibatch_std_group)
        return conditioning.DiscriminatorHead(
            self.num_classes, self.conditioning, self.spectral_norm, _INIT,
            class_factors=self.class_factors, packing=self.packing)(
                h.reshape(h.shape[0], -1), labels, train=train)


def _num_upsamplings(image_size: int) -> int:
    if image_size not in (32, 64):
        raise ValueError(f'image_size must be 32 or 64, got {image_size}')
    return int(math.log2(image_size // 4))


class Generator(nn.Module):
    """The RGB DCGAN generator: z [+ labels] → (B, S, S, channels), S in {32, 64}."""
    image_size: int = 32
    channels: int = 3
    base_features: int = 64
    num_classes: int = 0
    class_factors: tuple[int, ...] = ()  # see conditioning.ConditionalLatent
    bn_axis_name: str | None = None

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *,
                 train: bool) -> jax.Array:
        batch_norm = functools.partial(nn.BatchNorm, use_running_average=not train,
                                       axis_name=self.bn_axis_name)
        n = _num_upsamplings(self.image_size)
        h = conditioning.ConditionalLatent(self.num_classes,
                                           class_factors=self.class_factors)(z, labels)
        h = h.reshape(h.shape[0], 1, 1, h.shape[-1])
        h = layers.ConvTranspose(self.base_features * 2 ** (n - 1), 4, 1, 'VALID',
                                 use_bias=False, kernel_init=_INIT)(h)
        h = nn.relu(batch_norm()(h))
        for i in range(n - 2, -1, -1):
            h = layers.ConvTranspose(self.base_features * 2 ** i, 4, 2, use_bias=False,
                                     kernel_init=_INIT)(h)
            h = nn.relu(batch_norm()(h))
        return nn.tanh(layers.ConvTranspose(self.channels, 4, 2, use_bias=False,
                                            kernel_init=_INIT)(h))


class Discriminator(nn.Module):
    """The RGB DCGAN discriminator: (B, S, S, C) → (logits (B,), class_logits)."""
    image_size: int = 32
    base_features: int = 64
    negative_slope: float = 0.2
    batch_norm: bool = True
    num_classes: int = 0
    conditioning: str = 'none'
    class_factors: tuple[int, ...] = ()  # see conditioning.DiscriminatorHead
    spectral_norm: bool = False
    # > 0: ProGAN's minibatch standard deviation over groups of this many, before the head.
    minibatch_std_group: int = 0
    bn_axis_name: str | None = None

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool):
        apply = functools.partial(layers.maybe_spectral_norm,
                                  spectral_norm=self.spectral_norm, train=train)
        h = x
        for i in range(_num_upsamplings(self.image_size)):
            h = apply(layers.Conv(self.base_features * 2 ** i, (4, 4), (2, 2), use_bias=False,
                                  kernel_init=_INIT), h)
            if self.batch_norm and i > 0:
                h = nn.BatchNorm(use_running_average=not train, axis_name=self.bn_axis_name)(h)
            h = nn.leaky_relu(h, self.negative_slope)
        if self.minibatch_std_group:
            h = layers.minibatch_stddev(h, self.minibatch_std_group)
        return conditioning.DiscriminatorHead(
            self.num_classes, self.conditioning, self.spectral_norm, _INIT,
            class_factors=self.class_factors)(
                h.reshape(h.shape[0], -1), labels, train=train)
