"""Standing statistics: the BatchNorm statistics that belong to the parameters one samples with.

A generator with BatchNorm normalises by batch statistics while it trains and, in eval
mode, by running averages of those statistics. The running averages are taken over the
*raw* generator's recent parameters, at the training batch size: the EMA generator's
parameters never produced them, and even the raw generator's lag its last updates.
Standing statistics (Brock et al. 2019, "Large Scale GAN Training for High Fidelity
Natural Image Synthesis", §3.1 and Appendix C) replace them by the statistics of many
forward passes of the parameters themselves.

``standing_statistics`` returns, for every BatchNorm layer, the mean and the variance of
its inputs over all ``chunks × chunk_size`` latents, E[x] and E[x²] − E[x]² pooled over
the chunks, in the layout of the model's ``batch_stats`` collection. Within a pass each
layer normalises by its chunk's statistics (as in training), so deeper layers see
inputs normalised by chunk rather than population statistics: the gap shrinks with the
chunk size.

Measured (``config.sampling.batch_norm``, 8 × 512 latents; 2-core AMD EPYC): the 2-D
ring's raw generators (``experiments/configs/toy2d.py:ring``, 10 seeds) put 36.8 % of
their samples near a mode with standing statistics, 33.4 % with running averages and
37.7 % with each batch's own (docs/benchmarks.md); the grid's EMA generators 10.8 %,
10.7 % and 10.8 %. On MNIST (``python -m experiments.evaluate --workdir=DIR
--batch_norm=MODE`` on the step-3000 checkpoint, 10,000 samples) FID, standing /
running / batch: mnist_dcgan_tutorial EMA 59.6 / 60.3 / 59.5, raw 51.9 / 52.1 / 51.0;
mnist_rpgan EMA 70.8 / 72.3 / 71.3, raw 73.8 / 73.5 / 74.5. Standing statistics are the
default: as good as batch statistics where either helps, and a sample stays a function
of its latent alone.
"""
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

PyTree = Any


def _input_moments(apply: Callable[[], object]) -> dict:
    """Calls ``apply()`` and returns {module path: (E[x], E[x²])} of the input of every
    BatchNorm call, reduced over all axes but the layer's feature axes."""
    moments = {}

    def record(next_fun, args, kwargs, context):
        module = context.module
        if isinstance(module, nn.BatchNorm) and context.method_name == '__call__':
            x = jnp.asarray(args[0], jnp.float32)
            features = {a % x.ndim for a in (module.axis if isinstance(module.axis, tuple)
                                             else (module.axis,))}
            axes = tuple(a for a in range(x.ndim) if a not in features)
            moments[module.scope.path] = (x.mean(axes), jnp.square(x).mean(axes))
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(record):
        apply()
    return moments


def standing_statistics(generator: nn.Module, params: PyTree, z: jax.Array,
                        labels: jax.Array | None = None, *, chunks: int) -> PyTree:
    """The ``batch_stats`` collection of ``generator`` for ``params``: per BatchNorm layer,
    the mean and variance of its inputs over the latents ``z`` (and ``labels``).

    Args:
      generator: a module called as ``generator(z, labels, train=True)``, whose BatchNorm
        layers normalise by batch statistics when ``train`` (and need no collective: no
        ``axis_name``).
      params: its parameters, e.g. the EMA parameters.
      z: (chunks × chunk_size, latent_dim) latents; ``labels`` alike, or None.
      chunks: forward passes; the latents are split evenly between them.

    Returns:
      ``{'batch_stats': {...: {'mean': ..., 'var': ...}}}``, the structure of the model's
      collection; ``{}`` for a generator without BatchNorm.
    """
    if z.shape[0] % chunks:
        raise ValueError(f'{z.shape[0]} latents do not split into {chunks} chunks')
    z = z.reshape(chunks, -1, *z.shape[1:])
    labels = None if labels is None else labels.reshape(chunks, -1, *labels.shape[1:])

    def chunk_moments(inputs):
        z_chunk, labels_chunk = inputs
        return _input_moments(lambda: generator.apply(
            {'params': params}, z_chunk, labels_chunk, train=True, mutable=['batch_stats']))

    per_chunk = jax.lax.map(chunk_moments, (z, labels))
    if not per_chunk:
        return {}
    batch_stats = {}
    for path, (mean, mean_square) in per_chunk.items():
        mean, mean_square = mean.mean(0), mean_square.mean(0)
        layer = batch_stats
        for name in path:
            layer = layer.setdefault(name, {})
        layer.update(mean=mean, var=jnp.maximum(mean_square - jnp.square(mean), 0.0))
    return {'batch_stats': batch_stats}
