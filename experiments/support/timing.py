"""Timing the compiled train step (and, where PyTorch is installed, its eager twin).

Protocol: build the step exactly as training does (``ganjax.train.setup``), compile it
and run a few warm-up steps, then time ``num_steps`` steps one by one (whole cycles of
lazy penalties, ``lazy_cycle``) with ``jax.block_until_ready`` and report the median.
Steps compared with each other (ganjax against PyTorch, against XLA's default options)
are timed in alternating blocks of five steps, so that a change in the machine's load
weighs on both sides of the ratio. The same batch is fed every step, so input loading is
not timed. ``images_per_sec`` counts generated images per G update, ``batch_size / step
time``; with ``n_critic > 1`` a step also reads ``n_critic`` real batches.
"""
from collections.abc import Callable
import math
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ganjax import errors
from ganjax.data import mixtures
from ganjax.evaluation import mode_collapse
from ganjax.train import multiseed
from ganjax.train import objectives
from ganjax.train import parallel
from ganjax.train import setup as setup_lib

_MATMUL_SIZE = 2048


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


def matmul_gflops(num_steps: int) -> dict:
    """This machine's float32 matrix-product rate: the median of a 2048 × 2048 product,
    XLA's (ganjax's options) and, where installed, PyTorch's ``mm``."""
    a = jax.random.normal(jax.random.key(0), (_MATMUL_SIZE, _MATMUL_SIZE))
    dot = parallel.jit(jnp.dot)
    runners = {'xla': lambda: jax.block_until_ready(dot(a, a))}
    try:
        import torch  # pylint: disable=import-outside-toplevel
        b = torch.randn(_MATMUL_SIZE, _MATMUL_SIZE)
        runners['torch'] = lambda: torch.mm(b, b)
    except ImportError:
        pass
    seconds = interleaved_median_seconds(runners, num_steps, warmup=2)
    flops = 2 * _MATMUL_SIZE ** 3
    return {f'{name}_matmul_gflops': round(flops / s / 1e9, 1) for name, s in seconds.items()}


def report(seconds: float, batch_size: int, prefix: str = '') -> dict:
    return {f'{prefix}step_ms': round(seconds * 1e3, 3),
            f'{prefix}images_per_sec': round(batch_size / seconds, 1)}


def lazy_cycle(loss_config) -> int:
    """Steps in which every lazy penalty (``every`` = k) is due in proportion: the least
    common multiple of the k's (1 without lazy penalties). Timed calls of whole cycles
    measure the mean step, due updates included; on GPU and TPU, where a ``lax.cond``
    skips the penalty (``gan_step.lazy_value``), a median of single steps would be a step
    without it."""
    return math.lcm(*(p.every for p in objectives.make_penalties(loss_config)))


def ganjax_step_runner(config, data_shape, num_classes: int,
                       compiler_options: dict | None = None) -> tuple[Callable, dict]:
    """``config``'s jit-compiled train step on the default device, as a function that
    runs ``steps_per_call`` steps to completion, and a description of it.

    A call is a cycle of the lazy penalties (``lazy_cycle``): one step without them.
    ``compiler_options`` default to ganjax's (``parallel.compiler_options()``); ``{}``
    gives XLA's defaults. Compiles before returning, by running the first step, whose
    seconds (the wait a new user sees before training starts) are ``first_step_s``.
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
    steps_per_call = lazy_cycle(config.loss)

    def run_steps(num_steps):
        for _ in range(num_steps):
            holder[0], metrics = step(holder[0], batch)
        jax.block_until_ready(metrics)
    start = time.perf_counter()
    run_steps(1)  # compiles
    return lambda: run_steps(steps_per_call), {
        'batch_size': config.batch_size, 'devices': 1, 'steps_per_call': steps_per_call,
        'first_step_s': round(time.perf_counter() - start, 2),
        'backend': jax.default_backend(),
        'compiler_options': parallel.compiler_options()
        if compiler_options is None else compiler_options}


def mixture_training_runner(config, steps_per_call: int) -> tuple[Callable, dict]:
    """A 2-D mixture config's training of all its seeds as one vmapped program, exactly
    as ``experiments.toy2d`` compiles it (``ganjax.train.multiseed``), as a function
    that runs ``steps_per_call`` steps of every seed, and a description of it: the
    number of seeds and XLA's count of the FLOPs of one step of one seed (its cost
    analysis of the compiled program, which counts a loop's body once)."""
    mode_collapse.validate(config)
    errors.require(not config.sweep.key, 'sweep.key', config.sweep.key,
                   'be empty for the benchmark (it times the seeds of one setting)')
    setup_of = multiseed.fixed(mode_collapse.make_setup(config))
    keys = multiseed.seed_keys(mode_collapse.config_seeds(config))
    states, train_sets = multiseed.init_runs(setup_of, mixtures.MIXTURES[config.mixture](),
                                             config.num_train, keys, None)
    run_chunk = multiseed.chunk_runner(setup_of, config.batch_size, steps_per_call,
                                       multiseed.state_axes(states))
    start = time.perf_counter()
    compiled = run_chunk.lower(states, train_sets, keys, None, 0).compile()
    compile_s = time.perf_counter() - start
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost  # a list in older jaxlibs
    holder = [states, 0]

    def run_once():
        holder[0], metrics = compiled(holder[0], train_sets, keys, None, holder[1])
        holder[1] += steps_per_call
        jax.block_until_ready(metrics)
    run_once()
    return run_once, {'num_seeds': config.num_seeds, 'batch_size': config.batch_size,
                      'gflop_per_seed_step': round(cost['flops'] / config.num_seeds / 1e9, 4),
                      'compile_s': round(compile_s, 2), 'backend': jax.default_backend()}


def _torch_info(torch) -> dict:
    return {'torch_threads': torch.get_num_threads(), 'torch_version': torch.__version__}


def torch_mixture_runner(config, steps_per_call: int) -> tuple[Callable, dict]:
    """PyTorch eager stepping each seed's pair in turn (``torch_twin.make_mixture_step``),
    ``steps_per_call`` steps of every seed a call, and a description of it."""
    import torch  # pylint: disable=import-outside-toplevel
    from experiments.support import torch_twin  # pylint: disable=import-outside-toplevel
    step = torch_twin.make_mixture_step(config)

    def run_once():
        for _ in range(steps_per_call):
            step()
    return run_once, _torch_info(torch)


def torch_step_runner(config) -> tuple[Callable, dict]:
    """The eager PyTorch twin (``experiments.support.torch_twin``) of the step, as a
    function that runs one step, and a description of it."""
    import torch  # pylint: disable=import-outside-toplevel
    from experiments.support import torch_twin  # pylint: disable=import-outside-toplevel
    step, image_shape = torch_twin.make_step(config)
    real = torch.rand(config.batch_size, *image_shape) * 2 - 1
    return lambda: step(real), _torch_info(torch)


def time_ganjax_step(config, data_shape, num_classes: int, *, num_steps: int = 20,
                     warmup: int = 3, compiler_options: dict | None = None) -> dict:
    """Median time of ``config``'s jit-compiled train step (``ganjax_step_runner``)."""
    run_once, info = ganjax_step_runner(config, data_shape, num_classes, compiler_options)
    seconds = _median_seconds(run_once, num_steps, warmup) / info['steps_per_call']
    return {**report(seconds, config.batch_size), **info}
