"""``train_and_evaluate(config, workdir)``: the trainer, top to bottom.

Sections: validate and prepare the workdir → devices → model, optimizers, state →
resume from the newest readable checkpoint → data from (seed, step) → compiled step →
loop (log, sample, evaluate, checkpoint) → final pictures.

Multi-process runs (``ganjax.distributed``): every process runs this same function; each
reads only its own data shards, all of them run every compiled computation (train step,
samples) and take part in every checkpoint save and restore, and only process 0 writes
metrics, TensorBoard events and images.

Exact resume: the state holds everything that changes (parameters, optimizer states,
EMA, step, base RNG key); step keys are ``fold_in(rng, step)`` and batch ``s`` depends
only on (seed, s) (``ganjax.data``). A run killed at any moment and started again with
the same command restores the newest checkpoint and writes the same metrics after it as
an uninterrupted run.
"""
import contextlib
import json
import os

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganjax import build
from ganjax import checkpoint
from ganjax import data
from ganjax import distributed
from ganjax import evaluation
from ganjax import images
from ganjax import parallel
from ganjax import validation
from ganjax import writers

SAMPLE_GRID = 8  # an 8×8 grid of samples


class WorkdirError(OSError):
    """The workdir cannot be created or written."""


def prepare_workdir(workdir: str) -> None:
    """Creates ``workdir`` and checks it is writable, or raises ``WorkdirError``."""
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = os.path.join(workdir, f'.write_test-{jax.process_index()}')
        with open(probe, 'w', encoding='utf-8') as f:
            f.write('ok')
        os.remove(probe)
    except OSError as e:
        raise WorkdirError(f'--workdir={workdir} cannot be used: {e.strerror or e}') from e


def is_time(step: int, every: int, total: int) -> bool:
    """True every ``every`` steps and at the last step."""
    return step % every == 0 or step == total


def fixed_latents(config, setup, key: jax.Array):
    """The fixed noise (and labels) behind every sample grid of a run.

    Unconditional: 8×8 samples. Class-conditional: one row per class, 8 samples each,
    the same 8 latents in every row.
    """
    if setup.num_classes:
        z = jax.random.normal(key, (SAMPLE_GRID, setup.latent_dim))
        z = jnp.tile(z, (setup.num_classes, 1))
        labels = jnp.repeat(jnp.arange(setup.num_classes), SAMPLE_GRID)
        return z, labels
    return jax.random.normal(key, (SAMPLE_GRID * SAMPLE_GRID, setup.latent_dim)), None


def _to_host_metrics(metrics, replicated: bool) -> dict[str, float]:
    if replicated:
        metrics = parallel.unreplicate(metrics)
    return {name: float(value) for name, value in jax.device_get(metrics).items()}


def _positional_sample(setup):
    """``setup.sample`` with ``use_ema`` positional: jit with in_shardings takes no
    keyword arguments, and ``use_ema`` must be static."""
    def sample(state, z, labels, use_ema=True):
        return setup.sample(state, z, labels, use_ema=use_ema)
    return sample


def _save_config(config, workdir: str, info: data.DatasetInfo) -> None:
    with open(os.path.join(workdir, 'config.json'), 'w', encoding='utf-8') as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    with open(os.path.join(workdir, 'data.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(name=info.name, source=info.source, num_examples=info.num_examples,
                       image_shape=list(info.image_shape), num_classes=info.num_classes),
                  f, indent=2)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains ``config`` in ``workdir``, resuming from its newest checkpoint if any.

    Returns:
      The last logged metrics.

    Raises:
      validation.ConfigError, WorkdirError, data.DataUnavailableError: user errors,
        raised before anything is compiled.
      writers.NonFiniteLossError: a loss became NaN or infinite; the checkpoints written
        before it are kept.
    """
    # Validation and workdir: every user error surfaces here, before any compilation.
    pmap = config.get('parallel') == 'pmap'
    validation.validate(config, jax.device_count(), jax.process_count())
    evaluation.validate(config)
    prepare_workdir(workdir)
    is_chief = jax.process_index() == 0
    with contextlib.ExitStack() as resources:  # closes the checkpointer and writer on any exit
        return _train(config, workdir, is_chief, pmap, resources)


def _train(config, workdir: str, is_chief: bool, pmap: bool,
           resources: contextlib.ExitStack) -> dict[str, float]:
    """The body of ``train_and_evaluate`` once the config and workdir are known good."""
    # Model, optimizers and a fresh state; the newest readable checkpoint replaces it.
    data_shape, num_classes = data.dataset_spec(config.data)
    setup = build.build(config, data_shape, num_classes,
                        axis_name=parallel.AXIS if pmap else None)
    root_key = jax.random.key(config.seed)
    # jit: every array replicated over the mesh of all devices; pmap: built on one device
    # and copied to each local device once restored.
    mesh = None if pmap else parallel.data_mesh()
    init_state = (setup.init_state if pmap else
                  jax.jit(setup.init_state, out_shardings=parallel.replicated(mesh)))
    state = init_state(root_key)
    checkpoints = resources.enter_context(checkpoint.Checkpointer(
        os.path.join(workdir, 'checkpoints'), max_to_keep=config.checkpoint.max_to_keep))
    restored, restored_step = checkpoints.restore_latest(state)
    start_step = 0 if restored is None else restored_step
    if restored is not None:
        state = restored
        logging.info('Resuming from the checkpoint at step %d.', start_step)
    writer = resources.enter_context(writers.MetricWriter(workdir, enabled=is_chief))
    writer.truncate_after(start_step)

    # Data: this process's shards; batch s depends only on (seed, s).
    if jax.process_count() > 1:
        error = None
        if is_chief:
            try:
                data.prepare(config.data)
            except data.DataUnavailableError as e:
                error = e
        if not distributed.all_processes_agree(error is None):  # every process stops
            raise error or data.DataUnavailableError(
                'process 0 could not prepare the training data (see its error)')
    batches, info = data.load_train(
        config.data, batch_size=config.batch_size // jax.process_count(), seed=config.seed,
        start_step=start_step, process_index=jax.process_index(),
        process_count=jax.process_count(), updates_per_step=setup.updates_per_step)
    if is_chief:
        _save_config(config, workdir, info)

    # The step, compiled once.
    if pmap:
        train_step = parallel.compile_pmap(setup.train_step)
        state = parallel.replicate(state)
        sample = jax.jit(_positional_sample(setup), static_argnums=3,
                         compiler_options=parallel.compiler_options())
    else:
        train_step = parallel.compile_jit(setup.train_step, mesh)
        everywhere = parallel.replicated(mesh)
        sample = jax.jit(_positional_sample(setup), in_shardings=everywhere,
                         out_shardings=everywhere, static_argnums=3,
                         compiler_options=parallel.compiler_options())
    sample_z, sample_labels = jax.device_get(
        fixed_latents(config, setup, jax.random.fold_in(root_key, 1)))

    def current_state():
        return parallel.unreplicate(state) if pmap else state

    def save_samples(step: int) -> None:
        # Every process computes the samples (a program over all devices); one writes.
        grid = images.make_grid(np.asarray(sample(current_state(), sample_z, sample_labels)),
                                nrow=SAMPLE_GRID)
        if is_chief:
            images.save_png(os.path.join(workdir, 'samples', f'step_{step:07d}.png'), grid)
            writer.write_images(step, {'samples': grid})

    # Evaluation (``ganjax.evaluation``) when the config lists metrics: every process
    # generates (a program over all devices) and computes; one writes.
    eval_config = config.get('eval')
    evaluator = (evaluation.Evaluator(config, data_config=data.pin_source(config.data,
                                                                           info.source))
                 if eval_config is not None and eval_config.metrics else None)

    def evaluate(step: int) -> None:
        results = evaluator.evaluate(
            lambda z, labels, use_ema: sample(current_state(), z, labels, use_ema),
            setup.latent_dim, setup.num_classes, step)
        if is_chief:
            evaluation.write_results(workdir, step, results)
            writer.write_scalars(step, evaluation.scalars(results))
            logging.info('Evaluation at step %d: %s', step, evaluation.summary(results))

    # The loop. Device-to-host transfers happen only at log, sample and checkpoint steps.
    progress = writers.ProgressReporter(config.total_steps, config.batch_size, start_step)
    metrics = {}
    for step in range(start_step + 1, config.total_steps + 1):
        batch = next(batches)
        batch = parallel.split_batch(batch) if pmap else parallel.global_batch(batch, mesh)
        state, device_metrics = train_step(state, batch)

        log = is_time(step, config.log_every_steps, config.total_steps)
        ckpt = is_time(step, config.ckpt_every_steps, config.total_steps)
        samples = is_time(step, config.sample_every_steps, config.total_steps)
        if log or ckpt or samples:
            # Checked before any checkpoint of this step, so none holds a NaN state.
            metrics = _to_host_metrics(device_metrics, pmap)
            writers.check_finite(step, metrics)
        if log:
            report = progress.update(step, metrics)
            writer.write_scalars(step, {**{f'train/{k}': v for k, v in metrics.items()},
                                        'steps_per_sec': report.steps_per_sec})
        if samples:
            save_samples(step)
        if evaluator and is_time(step, eval_config.every_steps or config.total_steps,
                                 config.total_steps):
            evaluate(step)
        if ckpt:
            checkpoints.save(step, current_state())

    # Final pictures: a latent interpolation and the loss curves.
    if config.total_steps > start_step:
        _final_pictures(config, setup, current_state(), workdir, root_key, sample, is_chief)
    return metrics


def _final_pictures(config, setup, state, workdir: str, root_key: jax.Array, sample,
                    is_chief: bool) -> None:
    """Computed by every process (the samples are a program over all devices), written
    by process 0."""
    labels = None
    if setup.num_classes:
        # One class per row: each interpolation stays within a class.
        labels = np.repeat(np.arange(SAMPLE_GRID) % setup.num_classes, SAMPLE_GRID)
    grid = images.interpolation_grid(
        lambda z: np.asarray(sample(state, jax.device_get(z), labels)),
        jax.random.fold_in(root_key, 2),
        num_rows=SAMPLE_GRID, num_steps=SAMPLE_GRID, latent_dim=setup.latent_dim)
    if not is_chief:
        return
    images.save_png(os.path.join(workdir, 'interpolation.png'), grid)
    history = writers.read_metrics(os.path.join(workdir, 'metrics.jsonl'))
    keys = (('train/loss', 'train/reconstruction', 'train/kl') if build.is_vae(config)
            else ('train/d_loss', 'train/g_loss'))
    images.plot_losses(history, os.path.join(workdir, 'losses.png'), keys=keys)
    evaluated = sorted({key for record in history for key in record
                        if key.startswith('eval/')})
    if evaluated:  # eval/<generator>/<metric>: one panel per metric
        panels = {}
        for key in evaluated:
            panels.setdefault(key.rsplit('/', 1)[-1], []).append(key)
        images.plot_panels(history, os.path.join(workdir, 'eval.png'), panels)
