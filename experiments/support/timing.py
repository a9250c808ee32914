"""Timing the compiled train step (and, where PyTorch is installed, its eager twin).

Protocol: build the step exactly as training does (``ganjax.train.setup``), compile it and run
a few warm-up steps, then time ``num_steps`` steps one by one with
``jax.block_until_ready`` and report the median. Steps compared with each other (ganjax
against PyTorch, against XLA's default options) are timed in alternating blocks of five
steps, so that a change in the machine's load weighs on both sides of the ratio. The
same batch is fed every step, so input loading is not timed. ``images_per_sec`` counts generated images per G update,
``batch_size / step time``; with ``n_critic > 1`` a step also reads ``n_critic`` real
batches.
"""
from collections.abc import Callable
import functools
import statistics
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganjax import layers
from ganjax.train import parallel
from ganjax.train import setup as setup_lib


def _median_seconds(run_once, num_steps: int, warmup: int) -> float:
    return interleaved_median_seconds({'only': run_once}, num_steps, warmup)['only']


def interleaved_median_seconds(runners: dict[str, Callable[[], Any]], num_steps: int,
                               warmup: int, block: int = 5) -> dict[str, float]:
    """Median seconds per call of each runner over ``num_steps`` calls, timed in
    alternating blocks of ``block`` calls, so that a change in the machine's load weighs
    on all of them alike while each block still runs with warm caches."""
    for run_once in runners.values():
        for _ in range(warmup):
            run_once()
    times = {name: [] for name in runners}
    while len(times[next(iter(runners))]) < num_steps:
        for name, run_once in runners.items():
            for _ in range(min(block, num_steps - len(times[name]))):
                start = time.perf_counter()
                run_once()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def report(seconds: float, batch_size: int, prefix: str = '') -> dict:
    return {f'{prefix}step_ms': round(seconds * 1e3, 3),
            f'{prefix}images_per_sec': round(batch_size / seconds, 1)}


def ganjax_step_runner(config, data_shape, num_classes: int,
                       compiler_options: dict | None = None) -> tuple[Callable, dict]:
    """``config``'s jit-compiled train step on the default device, as a function that
    runs one step to completion, and a description of it.

    ``compiler_options`` default to ganjax's (``parallel.compiler_options()``); ``{}``
    gives XLA's defaults. Compiles before returning.
    """
    setup = setup_lib.make_setup(config, data_shape, num_classes)
    state = setup.init_state(jax.random.key(config.seed))
    rng = np.random.default_rng(config.seed)
    shape = (setup.updates_per_step, config.batch_size)
    batch = {'image': jnp.asarray(rng.uniform(-1, 1, (*shape, *data_shape)), jnp.float32)}
    if setup.num_classes:
        batch['label'] = jnp.asarray(rng.integers(0, setup.num_classes, shape), jnp.int32)
    step = parallel.compile_jit(setup.train_step, options=compiler_options)
    holder = [state]

    def run_once():
        holder[0], metrics = step(holder[0], batch)
        jax.block_until_ready(metrics)
    run_once()
    return run_once, {'batch_size': config.batch_size, 'devices': 1,
                      'backend': jax.default_backend(),
                      'compiler_options': parallel.compiler_options()
                      if compiler_options is None else compiler_options}


def torch_step_runner(config) -> tuple[Callable, dict]:
    """The eager PyTorch twin (``experiments.support.torch_twin``) of the step, as a
    function that runs one step, and a description of it."""
    import torch  # pylint: disable=import-outside-toplevel
    from experiments.support import torch_twin  # pylint: disable=import-outside-toplevel
    step, image_shape = torch_twin.make_step(config)
    real = torch.rand(config.batch_size, *image_shape) * 2 - 1
    return lambda: step(real), {'torch_threads': torch.get_num_threads(),
                                'torch_version': torch.__version__}


def time_ganjax_step(config, data_shape, num_classes: int, *, num_steps: int = 20,
                     warmup: int = 3, compiler_options: dict | None = None) -> dict:
    """Median time of ``config``'s jit-compiled train step (``ganjax_step_runner``)."""
    run_once, info = ganjax_step_runner(config, data_shape, num_classes, compiler_options)
    return {**report(_median_seconds(run_once, num_steps, warmup), config.batch_size),
            **info}


def time_conv_transpose_layers(batch_size: int = 64, num_steps: int = 20) -> list[dict]:
    """Forward, kernel-gradient and input-gradient times of DCGAN-28's upsampling layers,
    ``flax.linen.ConvTranspose`` against ``ganjax.layers.ConvTranspose``."""
    shapes = (((7, 7, 256), 128, 1), ((7, 7, 128), 64, 2), ((14, 14, 64), 1, 2))
    rows = []
    for in_shape, features, stride in shapes:
        x = jax.random.normal(jax.random.key(0), (batch_size, *in_shape))
        row = {'layer': f'{in_shape} -> {features} ch, 5x5, stride {stride}'}
        for label, cls in (('flax', nn.ConvTranspose), ('ganjax', layers.ConvTranspose)):
            module = cls(features, (5, 5), (stride, stride), 'SAME')
            params = module.init(jax.random.key(1), x)

            def loss(p, inputs, module=module):
                return jnp.sum(module.apply(p, inputs) ** 2)
            jit = functools.partial(jax.jit, compiler_options=parallel.compiler_options())
            fns = {'forward': (jit(module.apply), (params, x)),
                   'd_kernel': (jit(jax.grad(loss)), (params, x)),
                   'd_input': (jit(jax.grad(loss, argnums=1)), (params, x))}
            for what, (fn, args) in fns.items():
                seconds = _median_seconds(
                    lambda fn=fn, args=args: jax.block_until_ready(fn(*args)), num_steps, 2)
                row[f'{label}_{what}_ms'] = round(seconds * 1e3, 2)
        rows.append(row)
    return rows
