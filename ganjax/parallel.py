"""Compiling the one train step for devices: ``jax.jit`` or ``jax.pmap``.

* ``compile_jit``: one program over the global batch, the state donated so its
  buffers are reused in place.
* ``compile_pmap``: one replica per local device along the ``AXIS`` axis; the step
  (built with ``axis_name=AXIS``) averages gradients, BatchNorm statistics and
  metrics with ``lax.pmean``. The state is replicated with a leading device axis and
  each batch is split along its per-update batch axis.

Both return a function with the same signature as the step; neither retraces across
steps, because every step sees the same shapes and dtypes.
"""
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

AXIS = 'batch'
PyTree = Any


def compile_jit(train_step: Callable) -> Callable:
    """``jax.jit`` with the state (argument 0) donated."""
    return jax.jit(train_step, donate_argnums=0)


def compile_pmap(train_step: Callable) -> Callable:
    """``jax.pmap`` over all local devices along ``AXIS``, state donated."""
    return jax.pmap(train_step, axis_name=AXIS, donate_argnums=0)


def maybe_pmean(tree: PyTree, axis_name: str | None) -> PyTree:
    """``lax.pmean`` over ``axis_name`` inside a pmapped step; the identity under jit."""
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)


def per_device_key(key: jax.Array, axis_name: str | None) -> jax.Array:
    """``key`` folded with the device index inside a pmapped step; ``key`` under jit.

    For randomness that must differ between devices (dropout masks, per-example noise).
    """
    return key if axis_name is None else jax.random.fold_in(key, jax.lax.axis_index(axis_name))


def replicate(tree: PyTree, num_devices: int | None = None) -> PyTree:
    """Adds a leading device axis (a copy per local device) for ``compile_pmap``."""
    num_devices = num_devices or jax.local_device_count()
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (num_devices, *jnp.shape(x))), tree)


def unreplicate(tree: PyTree) -> PyTree:
    """The first replica of a pmapped pytree (all replicas are equal)."""
    return jax.tree.map(lambda x: x[0], tree)


def split_batch(batch: PyTree, num_devices: int | None = None, axis: int = 1) -> PyTree:
    """Splits each array's ``axis`` into devices and moves the device axis first.

    The train step's batch is (n_critic, B, ...); device d gets (n_critic, B/n, ...),
    the d-th contiguous slice of every critic iteration's batch, which is what the jit
    step sees at those rows.
    """
    num_devices = num_devices or jax.local_device_count()

    def split(x):
        x = np.asarray(x)
        if x.shape[axis] % num_devices:
            raise ValueError(f'batch axis of size {x.shape[axis]} does not divide over '
                             f'{num_devices} devices')
        x = x.reshape(*x.shape[:axis], num_devices, x.shape[axis] // num_devices,
                      *x.shape[axis + 1:])
        return np.moveaxis(x, axis, 0)
    return jax.tree.map(split, batch)
