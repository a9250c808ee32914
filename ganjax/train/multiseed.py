"""One GAN config trained under S seeds at once: a single compiled program, ``jax.vmap``
over the seed, for benchmarks that report a mean over seeds.

Seed s's run is a function of s alone, whatever the other seeds: from k = key(s) come
its training set (``mixture.sample(fold_in(k, 0), num_train)``), its initial state
(``fold_in(k, 1)``), the indices of its batch at step t (``fold_in(fold_in(k, 2), t)``,
drawn uniformly with replacement from its training set), its evaluation latents
(``fold_in(k, 3)``) and, for a G with an InfoGAN code, its evaluation codes (``fold_in(k,
4)``, drawn from G's prior, ``ganjax.train.code_prior``: samples of the generator's own
distribution, codes not cycled).
Whatever the other seeds, the program computes the same run for s, bit for bit, among
programs of two or more runs (tested for a seed among 2 and among 3). Trained alone,
a seed's run agrees with those to float32 rounding only: with nothing to vmap over, XLA
picks other matrix-product kernels (as it does for a plain unvmapped loop), and a GAN
amplifies the difference over training.
``run_step`` is one step of one seed; ``train`` scans it over chunks of steps and vmaps
it over the seeds. Every program compiles with ganjax's options (``parallel.jit``), as
the train steps do: YNNPACK's matrix products ran the vmapped training 1.36× faster on
a 2-core CPU (docs/performance.md).

``train`` can save every run in one checkpoint (``ganjax.train.checkpoint``) and resume from
it: since a run's batches and randomness are functions of its seed and the step, and
its state holds everything else, a run stopped and resumed computes what one uninterrupted
run computes, bit for bit.

A sweep (``ganjax.train.sweep``) adds a value to each run: ``train`` and ``samples``
take ``setup_of(value)``, the setup of the config at that value, and the runs' values
beside their seeds, and vmap over both, so run i is seed ``seeds[i]`` at
``values[i]``. Without a sweep, ``values`` is None and ``setup_of`` ignores it.
"""
from collections.abc import Callable
import time

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from ganjax.data import mixtures
from ganjax.train import checkpoint
from ganjax.train import code_prior
from ganjax.train import parallel
from ganjax.train import preemption
from ganjax.train import setup as setup_lib
from ganjax.train import state as state_lib

SetupOf = Callable[[jax.Array | None], setup_lib.GANSetup]


def seed_keys(seeds) -> jax.Array:
    return jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))


def init_run(setup: setup_lib.GANSetup, mixture: mixtures.Mixture, num_train: int,
             key: jax.Array):
    """Seed ``key``'s initial state and training set (num_train, 2)."""
    return (setup.init_state(jax.random.fold_in(key, 1)),
            mixture.sample(jax.random.fold_in(key, 0), num_train))


def run_step(setup: setup_lib.GANSetup, batch_size: int, state, train_set: jax.Array,
             key: jax.Array, step: jax.Array):
    """One train step of one seed at ``step``: its batch, then ``setup.train_step``."""
    shape = (setup.updates_per_step, batch_size)
    index = jax.random.randint(jax.random.fold_in(jax.random.fold_in(key, 2), step), shape,
                               0, train_set.shape[0])
    return setup.train_step(state, {'image': train_set[index]})


def state_axes(states) -> state_lib.GANState:
    """The runs' vmap axes: axis 0 of every leaf but the step, which the runs share (one
    scalar), so that what depends on the step alone stays unbatched: a lazy penalty's
    ``lax.cond`` then stays a branch instead of becoming a select that computes both.
    (Measured on the grid recipe: lazy R1 every 4th update ran no faster than R1 on
    every update, 166 vs 179 seed-steps/s; the penalty is a small part of that step.)"""
    return jax.tree.map(lambda _: 0, states).replace(step=None)


def sample_run(setup: setup_lib.GANSetup, state, key: jax.Array, num: int, *,
               use_ema: bool) -> jax.Array:
    """(num, 2) samples of one run's G (eval mode) from its seed's evaluation latents
    (and codes)."""
    z = jax.random.normal(jax.random.fold_in(key, 3), (num, setup.latent_dim))
    codes = (code_prior.sample(jax.random.fold_in(key, 4), state.code_prior, (num,),
                               setup.num_classes) if setup.num_classes else None)
    return setup.sample(state, z, codes, use_ema=use_ema)


def fixed(setup: setup_lib.GANSetup) -> SetupOf:
    """``setup_of`` for runs without a sweep."""
    return lambda value: setup


def init_runs(setup_of: SetupOf, mixture: mixtures.Mixture, num_train: int, keys: jax.Array,
              values: jax.Array | None):
    """Every run's initial state (one shared step: ``state_axes``) and training set."""
    states, train_sets = parallel.jit(jax.vmap(
        lambda key, value: init_run(setup_of(value), mixture, num_train, key)))(keys, values)
    return states.replace(step=states.step[0]), train_sets


def chunk_runner(setup_of: SetupOf, batch_size: int, chunk_steps: int, axes):
    """``run_chunk(states, train_sets, keys, values, first_step) -> (states, metrics)``:
    ``chunk_steps`` steps of every run in one compiled ``lax.scan``, vmapped over the
    runs (``axes``: ``state_axes`` of the states); the states passed in are donated."""
    def chunk(state, train_set, key, value, first_step):
        setup = setup_of(value)

        def body(state, step):
            return run_step(setup, batch_size, state, train_set, key, step)
        return jax.lax.scan(body, state, first_step + jnp.arange(chunk_steps))
    return parallel.jit(jax.vmap(chunk, in_axes=(axes, 0, 0, 0, None), out_axes=(axes, 0)),
                        donate_argnums=0)


def train(setup_of: SetupOf, mixture: mixtures.Mixture, seeds, *, batch_size: int,
          total_steps: int, num_train: int, chunk_steps: int, log_every_steps: int = 0,
          values=None, checkpoints: checkpoint.Checkpointer | None = None,
          ckpt_every_steps: int = 0, after_save: Callable[[], None] = lambda: None):
    """Trains one run per seed (per seed and value: ``values[i]`` beside ``seeds[i]``),
    all in one vmapped program; returns the final states (a leading run axis on every
    leaf but the shared step: ``state_axes``), the last chunk's per-run metrics (None
    if no step was left to train) and the seconds spent training (the checkpoints saved
    before the last step included), summed over every resumption.

    ``chunk_steps`` steps run inside one compiled ``lax.scan`` between host round trips;
    it must divide ``total_steps``. Progress (step, losses averaged over seeds,
    seed-steps per second, ETA) is logged every ``log_every_steps`` steps (0: never).
    With ``checkpoints``, training resumes from their newest checkpoint, if any, and
    saves one (every run's state and the seconds so far) every ``ckpt_every_steps``
    steps (a multiple of ``chunk_steps``; 0: only after the last step), calling
    ``after_save`` after each; a SIGTERM then saves the chunk it arrives in and raises
    ``preemption.Preempted``.
    """
    for name, steps in (('total_steps', total_steps), ('ckpt_every_steps', ckpt_every_steps)):
        if steps % chunk_steps:
            raise ValueError(f'chunk_steps={chunk_steps} must divide {name}={steps}')
    keys, values = seed_keys(seeds), _as_array(values)
    states, train_sets = init_runs(setup_of, mixture, num_train, keys, values)
    saved = dict(states=states, train_seconds=np.zeros((), np.float32))
    if checkpoints is not None:
        restored, step = checkpoints.restore_latest(saved)
        if restored is not None:
            saved = restored
            logging.info('Resuming the %d runs from their checkpoint at step %d.',
                         len(seeds), step)
    states, seconds_before = saved['states'], float(saved['train_seconds'])
    run_chunk = chunk_runner(setup_of, batch_size, chunk_steps, state_axes(states))
    first_step = int(states.step)
    start, metrics, seconds = time.perf_counter(), None, seconds_before
    # Only a run that checkpoints can stop on SIGTERM without losing its work.
    with preemption.watch(enabled=checkpoints is not None) as preempted:
        for first in range(first_step, total_steps, chunk_steps):
            states, metrics = run_chunk(states, train_sets, keys, values, first)
            done = first + chunk_steps
            # (The runs are one process: the step ids need not go up by one.)
            stop = preempted(done) and done < total_steps
            if log_every_steps and (done % log_every_steps == 0 or done == total_steps):
                mean = {k: float(np.mean(v[:, -1])) for k, v in jax.device_get(metrics).items()}
                elapsed = time.perf_counter() - start
                logging.info('step %d/%d | d_loss %.4g g_loss %.4g | %.0f seed-steps/s | '
                             'ETA %.0fs', done, total_steps, mean['d_loss'], mean['g_loss'],
                             (done - first_step) * len(seeds) / elapsed,
                             elapsed * (total_steps - done) / (done - first_step))
            jax.block_until_ready(states)
            seconds = seconds_before + time.perf_counter() - start
            due = (done == total_steps or stop
                   or (ckpt_every_steps and done % ckpt_every_steps == 0))
            if checkpoints is not None and due:
                checkpoints.save(done, dict(states=states,
                                            train_seconds=np.asarray(seconds, np.float32)))
                after_save()
            if stop:
                raise preemption.Preempted(done)
    return (states, None if metrics is None else jax.tree.map(lambda v: v[:, -1], metrics),
            seconds)


def samples(setup_of: SetupOf, states, seeds, num: int, *, use_ema: bool,
            values=None) -> np.ndarray:
    """(runs, num, 2) samples of each run's G (eval mode) from its seed's evaluation
    latents."""
    def one(state, key, value):
        return sample_run(setup_of(value), state, key, num, use_ema=use_ema)
    return np.asarray(parallel.jit(jax.vmap(one, in_axes=(state_axes(states), 0, 0)))(
        states, seed_keys(seeds), _as_array(values)))


def _as_array(values) -> jax.Array | None:
    return None if values is None else jnp.asarray(values, jnp.float32)
