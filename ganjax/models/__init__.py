"""Model registry: ``config.model.name`` → generator and discriminator (or a VAE).

Every generator is called as ``G(z, labels, train=...)`` and returns images (or points)
in the data's range; every discriminator as ``D(x, labels, train=...)`` and returns
``(logits (B,), class_logits (B, K) or None)``. Extra keyword arguments for a model come
from ``config.model.generator`` and ``config.model.discriminator``.
"""
from collections.abc import Callable, Mapping, Sequence
import dataclasses
from typing import Any

import flax.linen as nn

from ganjax.models import dcgan, mlp, toy2d, vae


def _mlp(image_shape):
    return dict(image_shape=tuple(image_shape)), {}


def _dcgan28(image_shape):
    if tuple(image_shape[:2]) != (28, 28):
        raise ValueError(f"model.name='dcgan28' needs 28×28 images, got {tuple(image_shape)}")
    return dict(channels=image_shape[2]), {}


def _dcgan(image_shape):
    height, width, channels = image_shape
    if height != width or height not in (32, 64):
        raise ValueError("model.name='dcgan' needs 32×32 or 64×64 images (data.image_size), "
                         f'got {tuple(image_shape)}')
    return dict(image_size=height, channels=channels), dict(image_size=height)


def _toy2d(data_shape):
    return dict(output_dim=data_shape[-1]), {}


# name → (generator class, discriminator class, shape-dependent (G kwargs, D kwargs)).
GANS: Mapping[str, tuple[type[nn.Module], type[nn.Module], Callable]] = {
    'mlp': (mlp.Generator, mlp.Discriminator, _mlp),
    'dcgan28': (dcgan.Generator28, dcgan.Discriminator28, _dcgan28),
    'dcgan': (dcgan.Generator, dcgan.Discriminator, _dcgan),
    'toy2d': (toy2d.Generator, toy2d.Discriminator, _toy2d),
}
VAE_ARCHITECTURES = ('mlp', 'conv')


def _construct(cls: type[nn.Module], kwargs: Mapping[str, Any], config_key: str) -> nn.Module:
    """cls(**kwargs), with an unknown keyword reported as the config key that set it."""
    fields = {f.name for f in dataclasses.fields(cls)} - {'parent', 'name'}
    unknown = sorted(set(kwargs) - fields)
    if unknown:
        raise ValueError(f'{config_key} has unknown keys {unknown} for {cls.__module__}.'
                         f'{cls.__name__}; valid keys: {sorted(fields)}')
    return cls(**kwargs)


def make_gan(model_config, data_shape: Sequence[int], num_classes: int = 0,
              bn_axis_name: str | None = None) -> tuple[nn.Module, nn.Module]:
    """Builds (generator, discriminator) from ``config.model``.

    Args:
      model_config: ``config.model`` with ``name``, ``generator`` and ``discriminator``
        (keyword arguments for the two classes).
      data_shape: shape of one example, e.g. (28, 28, 1).
      num_classes: > 0 for a class-conditional model.
      bn_axis_name: the pmap axis name, so BatchNorm averages statistics across devices
        (cross-replica BatchNorm); None under jit, where the batch is already global.
    """
    if model_config.name not in GANS:
        raise ValueError(f'model.name must be one of {sorted(GANS)}, got {model_config.name!r}')
    g_cls, d_cls, shape_kwargs = GANS[model_config.name]
    g_shape, d_shape = shape_kwargs(tuple(data_shape))
    g_kwargs = dict(model_config.generator, **g_shape, num_classes=num_classes)
    d_kwargs = dict(model_config.discriminator, **d_shape, num_classes=num_classes)
    for cls, kwargs in ((g_cls, g_kwargs), (d_cls, d_kwargs)):
        if 'bn_axis_name' in {f.name for f in dataclasses.fields(cls)}:
            kwargs['bn_axis_name'] = bn_axis_name
    return (_construct(g_cls, g_kwargs, 'model.generator'),
            _construct(d_cls, d_kwargs, 'model.discriminator'))


def make_vae(model_config, data_shape: Sequence[int]) -> vae.VAE:
    """Builds a VAE from ``config.model`` (``architecture``: 'mlp' or 'conv'; ``latent_dim``)."""
    if model_config.architecture == 'mlp':
        return vae.VAE(vae.MLPEncoder(model_config.latent_dim),
                       vae.MLPDecoder(tuple(data_shape)))
    if model_config.architecture == 'conv':
        if tuple(data_shape[:2]) != (28, 28):
            raise ValueError("model.architecture='conv' needs 28×28 images, "
                             f'got {tuple(data_shape)}')
        return vae.VAE(vae.ConvEncoder(model_config.latent_dim), vae.ConvDecoder(data_shape[2]))
    raise ValueError(f'model.architecture must be one of {VAE_ARCHITECTURES}, '
                     f'got {model_config.architecture!r}')
