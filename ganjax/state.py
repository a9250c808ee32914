"""The GAN train state (one plain pytree) and the optimizers that update it.

``GANState`` is everything a run needs to continue and nothing else: it is what gets
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

OPTIMIZERS = ('adam', 'rmsprop', 'sgd')
SCHEDULES = ('constant', 'linear_decay', 'cosine')


@flax.struct.dataclass
class GANState:
    """Step, both networks with their optimizer states, G's EMA and the base RNG key.

    ``g_state`` / ``d_state`` hold the non-trainable collections ({'batch_stats': …},
    {'spectral': …}); they are empty dicts for models without any.
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


def learning_rate_schedule(opt_config, total_steps: int) -> optax.Schedule:
    """``optimizer.{g,d}.schedule``: 'constant', 'linear_decay' (to 0) or 'cosine' (to 0)."""
    lr = opt_config.learning_rate
    if opt_config.schedule == 'constant':
        return optax.constant_schedule(lr)
    if opt_config.schedule == 'linear_decay':
        return optax.linear_schedule(lr, 0.0, total_steps)
    if opt_config.schedule == 'cosine':
        return optax.cosine_decay_schedule(lr, total_steps)
    raise ValueError(f'schedule must be one of {SCHEDULES}, got {opt_config.schedule!r}')


def make_optimizer(opt_config, total_steps: int) -> optax.GradientTransformation:
    """One network's optimizer from ``config.optimizer.g`` or ``config.optimizer.d``.

    Separate learning rates for G and D give the two time-scale update rule (TTUR;
    Heusel et al. 2017). Adam's β1/β2 are ``b1``/``b2``.
    """
    schedule = learning_rate_schedule(opt_config, total_steps)
    if opt_config.name == 'adam':
        return optax.adam(schedule, b1=opt_config.b1, b2=opt_config.b2)
    if opt_config.name == 'rmsprop':
        return optax.rmsprop(schedule)
    if opt_config.name == 'sgd':
        return optax.sgd(schedule)
    raise ValueError(f'optimizer name must be one of {OPTIMIZERS}, got {opt_config.name!r}')


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
