"""Class conditioning shared by every generator and discriminator.

Generators take labels through a learned embedding concatenated with z (Mirza &
Osindero 2014), or, with ``class_factors``, one embedding per factor of the label
(``ConditionalLatent``). Discriminators map an image to a feature vector φ(x) and
finish with ``DiscriminatorHead``, which adds one of two class-conditional heads:

* ``'projection'`` (Miyato & Koyama 2018, "cGANs with Projection Discriminator"):
  ``D(x, y) = wᵀφ(x) + b + embed(y)ᵀφ(x)``.
* ``'auxiliary'`` (Odena et al. 2017, ACGAN): ``D(x) = wᵀφ(x) + b`` plus class logits
  ``Vφ(x) + c`` trained with ``ganjax.losses.auxiliary_classifier_loss``. With
  ``class_factors`` (K_1, …, K_n), a label is read as n factors (its mixed-radix digits,
  e.g. a Stacked MNIST mode's three digits), each by its own K_i logits, trained with
  ``ganjax.losses.factorized_auxiliary_classifier_loss``.
"""
import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax import layers
from ganjax import losses

CONDITIONINGS = ('none', 'projection', 'auxiliary')


def check_labels(labels: jax.Array | None, num_classes: int, batch: int) -> None:
    """Raises a ValueError when labels are missing, unexpected or of the wrong shape."""
    if num_classes and labels is None:
        raise ValueError(f'this model is class-conditional (num_classes={num_classes}): '
                         'pass labels')
    if not num_classes and labels is not None:
        raise ValueError('labels were passed to an unconditional model (num_classes=0)')
    if labels is not None and labels.shape != (batch,):
        raise ValueError(f'labels must have shape ({batch},), got {labels.shape}')


def factors_fit(factors, num_classes: int) -> bool:
    """Whether labels of ``num_classes`` classes can be read as ``factors`` (a generator's
    embedding): () always; otherwise integers >= 1 whose product is ``num_classes``."""
    factors = tuple(factors)
    return not factors or (
        math.prod(factors) == num_classes
        and all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in factors))


def class_factors_fit(factors, conditioning: str, num_classes: int) -> bool:
    """Whether a class head can read labels as ``factors``: () always; otherwise only an
    auxiliary head, with factors that fit (``factors_fit``)."""
    return not tuple(factors) or (conditioning == 'auxiliary'
                                  and factors_fit(factors, num_classes))


class ConditionalLatent(nn.Module):
    """z, or [z, embed(y)] for a class-conditional generator.

    With ``class_factors`` (K_1, …, K_n) a label is embedded factor by factor,
    [z, embed_1(y_1), …, embed_n(y_n)] (``ganjax.losses.label_factors``): each factor's
    embedding then learns from every label with that factor's value, 1/K_i of G's batch,
    where one embedding of K_1·…·K_n labels gives each label 1/(K_1·…·K_n) of it (a
    Stacked MNIST code: each of 1,000 embeddings trains on one sample in 1,000).
    """
    num_classes: int = 0
    embed_dim: int = 50
    class_factors: tuple[int, ...] = ()

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None) -> jax.Array:
        check_labels(labels, self.num_classes, z.shape[0])
        if not self.num_classes:
            return z
        factors = tuple(self.class_factors)
        if not factors_fit(factors, self.num_classes):
            raise ValueError(f'class_factors must be integers >= 1 with product '
                             f'num_classes = {self.num_classes}; got {factors}')
        if not factors:
            embeddings = [nn.Embed(self.num_classes, self.embed_dim,
                                   name='label_embedding')(labels)]
        else:
            embeddings = [nn.Embed(k, self.embed_dim, name=f'factor_{i}_embedding')(value)
                          for i, (k, value) in enumerate(
                              zip(factors, losses.label_factors(labels, factors)))]
        return jnp.concatenate([z, *(e.astype(z.dtype) for e in embeddings)], axis=-1)


class DiscriminatorHead(nn.Module):
    """Maps features φ(x) to ``(logits (B,), class_logits (B, K) or None)``; with
    ``class_factors``, class_logits is (B, K_1 + … + K_n)."""
    num_classes: int = 0
    conditioning: str = 'none'
    spectral_norm: bool = False
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
    class_factors: tuple[int, ...] = ()
    # Features of packs of m samples (PacGAN, ``layers.pack``): an auxiliary head then
    # gives each member's class logits, (B / m, m·K) read as (B, K); a projection head,
    # which reads one label per input, takes m = 1 only.
    packing: int = 1

    @nn.compact
    def __call__(self, features: jax.Array, labels: jax.Array | None, *, train: bool):
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(f'conditioning must be one of {CONDITIONINGS}, '
                             f'got {self.conditioning!r}')
        if (self.conditioning == 'none') != (self.num_classes == 0):
            raise ValueError(f'conditioning={self.conditioning!r} needs num_classes '
                             f'{"= 0" if self.conditioning == "none" else "> 0"}, '
                             f'got num_classes={self.num_classes}')
        factors = tuple(self.class_factors)
        if not class_factors_fit(factors, self.conditioning, self.num_classes):
            raise ValueError(f"class_factors must be positive with product num_classes = "
                             f"{self.num_classes}, and conditioning 'auxiliary'; got "
                             f"{factors} with {self.conditioning!r}")
        # An auxiliary-classifier D predicts the label rather than reading it.
        if self.conditioning != 'auxiliary':
            check_labels(labels, self.num_classes, features.shape[0])
        apply = functools.partial(layers.maybe_spectral_norm,
                                  spectral_norm=self.spectral_norm, train=train)
        logits = apply(nn.Dense(1, kernel_init=self.kernel_init, name='logit'), features)[:, 0]
        class_logits = None
        if self.conditioning == 'projection':
            embed = nn.Embed(self.num_classes, features.shape[-1], name='projection')
            logits = logits + jnp.sum(apply(embed, labels) * features, axis=-1)
        elif self.conditioning == 'auxiliary':
            per_sample = sum(factors) or self.num_classes
            class_logits = apply(nn.Dense(self.packing * per_sample,
                                          kernel_init=self.kernel_init,
                                          name='class_logits'), features)
            class_logits = class_logits.reshape(-1, per_sample)
        return logits, class_logits
