"""The train states: ``GANState`` and ``VAEState``, each one plain pytree.

A state is everything a run needs to continue and nothing else: it is what gets
checkpointed. Its randomness is a base key; each step derives its own keys with
``fold_in(rng, step)``, so a resumed run draws exactly what an uninterrupted one would.
"""
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

PyTree = Any


@flax.struct.dataclass
class GANState:
    """Step, both networks with their optimizer states, G's EMA, the base RNG key and
    the prior of G's code.

    ``g_state`` / ``d_state`` hold the non-trainable collections ({'batch_stats': …},
    {'spectral': …}); they are empty dicts for models without any. ``code_prior`` is the
    probabilities of G's prior over its codes or labels, learned or the data's
    (``ganjax.train.code_prior``); None for a uniform prior or a G without a code.
    """
    step: jax.Array
    g_params: PyTree
    g_state: PyTree
    d_params: PyTree
    d_state: PyTree
    g_opt_state: optax.OptState
    d_opt_state: optax.OptState
    ema_params: PyTree
    rng: jax.Array
    code_prior: jax.Array | None = None


def _split_variables(variables: PyTree) -> tuple[PyTree, dict]:
    variables = dict(variables)
    return variables.pop('params'), variables


def init_gan_state(key: jax.Array, generator: nn.Module, discriminator: nn.Module,
                   g_tx: optax.GradientTransformation, d_tx: optax.GradientTransformation,
                   example_z: jax.Array, example_x: jax.Array,
                   example_labels: jax.Array | None = None) -> GANState:
    """Initialises both networks (in eval mode: no dropout) and their optimizers.

    Args:
      key: the run's root key; the state keeps a child of it as its base RNG.
      generator, discriminator: the Flax modules.
      g_tx, d_tx: their optimizers.
      example_z, example_x, example_labels: example inputs fixing the shapes (any batch).
    """
    g_key, d_key, rng = jax.random.split(key, 3)
    g_params, g_state = _split_variables(
        generator.init(g_key, example_z, example_labels, train=False))
    d_params, d_state = _split_variables(
        discriminator.init(d_key, example_x, example_labels, train=False))
    return GANState(
        step=jnp.zeros((), jnp.int32),
        g_params=g_params, g_state=g_state, d_params=d_params, d_state=d_state,
        g_opt_state=g_tx.init(g_params), d_opt_state=d_tx.init(d_params),
        # Its own buffers: the compiled step donates the state, and a buffer may not be
        # donated twice.
        ema_params=jax.tree.map(jnp.copy, g_params), rng=rng)


@flax.struct.dataclass
class VAEState:
    """Step, the VAE's parameters and optimizer state, and the base RNG key."""
    step: jax.Array
    params: PyTree
    opt_state: optax.OptState
    rng: jax.Array
    # Not a field: a VAE draws no labels, and its state answers as a uniform GAN's does
    # to code that samples either.
    code_prior = None


def init_vae_state(key: jax.Array, model: nn.Module, tx: optax.GradientTransformation,
                   example_x: jax.Array) -> VAEState:
    """Initialises the VAE (its reparameterisation draws from a child of ``key``) and
    its optimizer."""
    init_key, reparam_key, rng = jax.random.split(key, 3)
    params = model.init({'params': init_key, 'reparam': reparam_key}, example_x)['params']
    return VAEState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                    rng=rng)
