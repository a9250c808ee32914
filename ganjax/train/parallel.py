"""Compiling the one train step for devices: ``jax.jit`` or ``jax.pmap``.

* ``compile_jit``: one program over the global batch, the state donated so its
  buffers are reused in place. Given a ``data_mesh`` (all devices of all processes on
  one ``DATA_AXIS``), the state is replicated and each batch sharded along its
  per-update batch axis; each process contributes its rows through ``global_batch``
  (``jax.make_array_from_process_local_data``), and XLA inserts the all-reduce of the
  gradients. BatchNorm needs nothing more: the program computes the statistics of the
  global batch, which is cross-replica BatchNorm.
* ``compile_pmap``: one replica per local device along the ``AXIS`` axis; the step
  (built with ``axis_name=AXIS``) averages gradients, BatchNorm statistics and
  metrics with ``lax.pmean`` over the devices of all processes. The state is replicated
  with a leading local-device axis and each process's batch is split along its
  per-update batch axis.

Both return a function with the same signature as the step; neither retraces across
steps, because every step sees the same shapes and dtypes. ``placement(pmap)`` wraps
either way in one object (``JitPlacement`` / ``PmapPlacement``) so that the loop places
states and batches, compiles, samples and reads results back without knowing which.

On CPU, ``compile_jit`` keeps XLA:CPU's own convolution kernels instead of handing
convolutions to YNNPACK, as it does by default, and hands it only the matrix products
(``xla_cpu_experimental_ynn_fusion_type``): XLA:CPU's convolutions were faster than
YNNPACK's for the DCGANs, YNNPACK's matrix products faster than XLA's own
(docs/performance.md; ``python -m experiments.benchmark --config=...
--compare_xla_defaults`` measures it). ``jax.pmap`` takes no compiler options; set
``XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=individual_dot`` for the same there.
"""
from collections.abc import Callable
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

AXIS = 'batch'  # the pmap axis
DATA_AXIS = 'data'  # the mesh axis of the sharded jit
PyTree = Any


_CPU_COMPILER_OPTIONS = {
    'xla_cpu_experimental_ynn_fusion_type': 'LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT'}


@functools.cache
def compiler_options() -> dict[str, str]:
    """XLA options ganjax compiles its steps with on the default backend.

    ``_CPU_COMPILER_OPTIONS`` on CPU where this jaxlib knows them (a probe compiles a
    trivial function with them), none elsewhere.
    """
    if jax.default_backend() != 'cpu':
        return {}
    try:
        jax.jit(jnp.negative, compiler_options=_CPU_COMPILER_OPTIONS)(1.0)
    except Exception:  # pylint: disable=broad-except  # a jaxlib without the option
        return {}
    return dict(_CPU_COMPILER_OPTIONS)


def data_mesh() -> jax.sharding.Mesh:
    """A 1-D mesh over every device of every process, along ``DATA_AXIS``.

    ``jax.devices()`` lists process 0's devices first, so the global batch is the
    processes' local batches concatenated in process order.
    """
    return jax.sharding.Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def replicated(mesh: jax.sharding.Mesh) -> jax.sharding.NamedSharding:
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())


def batch_sharding(mesh: jax.sharding.Mesh) -> jax.sharding.NamedSharding:
    """Shards a (n_critic, B, ...) batch along B."""
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(None, DATA_AXIS))


def global_batch(local_batch: PyTree, mesh: jax.sharding.Mesh) -> PyTree:
    """This process's (n_critic, B / process_count, ...) rows as global arrays of the
    (n_critic, B, ...) batch sharded over ``mesh``."""
    sharding = batch_sharding(mesh)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x),
                        local_batch)


def jit(fn: Callable, **jit_kwargs) -> Callable:
    """``jax.jit(fn, **jit_kwargs)`` compiled with ganjax's options
    (``compiler_options()``), as every ganjax program is."""
    return jax.jit(fn, compiler_options=compiler_options(), **jit_kwargs)


def compile_jit(train_step: Callable, mesh: jax.sharding.Mesh | None = None,
                options: dict[str, str] | None = None) -> Callable:
    """``jax.jit`` with the state (argument 0) donated, compiled with ``options``
    (default: ``compiler_options()``); with ``mesh``, the state and metrics replicated
    over it and the batch sharded (``batch_sharding``)."""
    options = compiler_options() if options is None else options
    shardings = {}
    if mesh is not None:
        shardings = dict(in_shardings=(replicated(mesh), batch_sharding(mesh)),
                         out_shardings=replicated(mesh))
    return jax.jit(train_step, donate_argnums=0, compiler_options=options, **shardings)


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
    """Adds a leading device axis (a copy per local device) for ``compile_pmap``, with
    each copy placed on its device.

    Placing them matters for arrays committed to one device (a restored checkpoint's):
    pmap reshards only uncommitted inputs and rejects committed ones.
    """
    devices = jax.local_devices()[:num_devices or jax.local_device_count()]
    sharding = jax.sharding.NamedSharding(jax.sharding.Mesh(devices, (AXIS,)),
                                          jax.sharding.PartitionSpec(AXIS))
    return jax.tree.map(
        lambda x: jax.device_put(jnp.broadcast_to(x, (len(devices), *jnp.shape(x))), sharding),
        tree)


def unreplicate(tree: PyTree) -> PyTree:
    """The first replica of a pmapped pytree (all replicas are equal).

    Read from the shard that holds it: indexing the sharded array instead runs a
    program over every device, whose collectives XLA's CPU runtime aborts after a
    40-second rendezvous timeout when the machine is busy.
    """
    def first(x):
        shards = getattr(x, 'addressable_shards', ())
        if len(shards) > 1:
            x = next(s for s in shards if (s.index[0].start or 0) == 0).data
        return x[0]
    return jax.tree.map(first, tree)


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


class JitPlacement:
    """One program over every device of every process (``compile_jit`` on ``data_mesh``):
    states replicated over the mesh, batches sharded along their batch axis."""
    axis_name = None  # the step needs no collectives of its own

    def __init__(self):
        self.mesh = data_mesh()

    def init_state(self, init: Callable[[jax.Array], PyTree], key: jax.Array) -> PyTree:
        """``init(key)`` computed with every array replicated over the mesh."""
        return jax.jit(init, out_shardings=replicated(self.mesh))(key)

    def replicate(self, state: PyTree) -> PyTree:
        """A state as the compiled step takes it: already so."""
        return state

    def host_state(self, state: PyTree) -> PyTree:
        """One copy of the state, to checkpoint or sample from: the state itself."""
        return state

    def compile_step(self, train_step: Callable) -> Callable:
        return compile_jit(train_step, self.mesh)

    def batch(self, local_batch: PyTree) -> PyTree:
        """This process's rows of a batch as the compiled step takes them."""
        return global_batch(local_batch, self.mesh)

    def metrics(self, metrics: PyTree) -> PyTree:
        """The step's metrics, one value each."""
        return metrics

    def compile_sample(self, fn: Callable, static_argnums: tuple[int, ...] = ()) -> Callable:
        """A sampling function (``setup.sampling_variables``, ``setup.generate``) of
        ``host_state``'s state compiled over the mesh, inputs and outputs replicated,
        with ganjax's compiler options; call it with positional arguments only."""
        everywhere = replicated(self.mesh)
        return jit(fn, in_shardings=everywhere, out_shardings=everywhere,
                   static_argnums=static_argnums)


class PmapPlacement:
    """One replica per local device (``compile_pmap`` along ``AXIS``): states carry a
    leading device axis, batches are split over it."""
    axis_name = AXIS  # the step averages gradients, statistics and metrics over it

    def init_state(self, init: Callable[[jax.Array], PyTree], key: jax.Array) -> PyTree:
        """``init(key)`` on the default device; ``replicate`` copies it to the others."""
        return init(key)

    def replicate(self, state: PyTree) -> PyTree:
        return replicate(state)

    def host_state(self, state: PyTree) -> PyTree:
        return unreplicate(state)

    def compile_step(self, train_step: Callable) -> Callable:
        return compile_pmap(train_step)

    def batch(self, local_batch: PyTree) -> PyTree:
        return split_batch(local_batch)

    def metrics(self, metrics: PyTree) -> PyTree:
        return unreplicate(metrics)

    def compile_sample(self, fn: Callable, static_argnums: tuple[int, ...] = ()) -> Callable:
        """A sampling function of ``host_state``'s state, compiled for one device."""
        return jit(fn, static_argnums=static_argnums)


def placement(pmap: bool) -> JitPlacement | PmapPlacement:
    """``PmapPlacement()`` for ``config.parallel='pmap'``, else ``JitPlacement()``."""
    return PmapPlacement() if pmap else JitPlacement()
