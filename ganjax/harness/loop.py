"""``train_and_evaluate(config, workdir)``: the trainer, top to bottom.

Sections: validate and prepare the workdir → devices → model, optimizers, state →
resume from the newest readable checkpoint → data from (seed, step) → compiled step →
loop (log, sample, evaluate, checkpoint) → final pictures.

Multi-process runs (``ganjax.train.distributed``): every process runs this same
function; each reads only its own data shards, all of them run every compiled
computation (train step, samples) and take part in every checkpoint save and restore,
and only process 0 writes metrics, TensorBoard events and images.

Exact resume: the state holds everything that changes (parameters, optimizer states,
EMA, step, base RNG key); step keys are ``fold_in(rng, step)`` and batch ``s`` depends
only on (seed, s) (``ganjax.data.pipeline``). A run killed at any moment and started
again with the same command restores the newest checkpoint and writes the same metrics
after it as an uninterrupted run. A SIGTERM (a preemption's notice) saves the step it
arrives at and stops the run (``ganjax.train.preemption``), so the rerun loses nothing.
"""
import contextlib
import functools
import os

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganjax.data import datasets
from ganjax.data import pipeline
from ganjax.evaluation import evaluators
from ganjax.harness import validation
from ganjax.harness import workdir as workdir_lib
from ganjax.reporting import files
from ganjax.reporting import images
from ganjax.reporting import run_pictures
from ganjax.reporting import writers
from ganjax.train import checkpoint
from ganjax.train import code_prior
from ganjax.train import distributed
from ganjax.train import parallel
from ganjax.train import preemption
from ganjax.train import setup as setup_lib

SAMPLE_GRID = 8  # an 8×8 grid of samples
MAX_CLASS_ROWS = 16  # a grid shows at most this many classes (Stacked MNIST's code has 1,000)


def is_time(step: int, every: int, total: int) -> bool:
    """True every ``every`` steps and at the last step."""
    return step % every == 0 or step == total


def fixed_latents(setup, key: jax.Array):
    """The fixed noise (and labels) behind every sample grid of a run.

    Unconditional: 8×8 samples. Class-conditional: one row per class, 8 samples each,
    the same 8 latents in every row; with more than ``MAX_CLASS_ROWS`` classes, that many
    rows of classes spread evenly over them.
    """
    if setup.num_classes:
        rows = min(setup.num_classes, MAX_CLASS_ROWS)
        z = jax.random.normal(key, (SAMPLE_GRID, setup.latent_dim))
        z = jnp.tile(z, (rows, 1))
        labels = jnp.repeat(jnp.arange(rows) * setup.num_classes // rows, SAMPLE_GRID)
        return z, labels
    return jax.random.normal(key, (SAMPLE_GRID * SAMPLE_GRID, setup.latent_dim)), None


def _save_config(config, workdir: str, info: pipeline.DatasetInfo) -> None:
    workdir_lib.write_config(config, workdir)
    files.write_json(os.path.join(workdir, 'data.json'), dict(
        name=info.name, source=info.source, num_examples=info.num_examples,
        image_shape=list(info.image_shape), num_classes=info.num_classes), indent=2)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
    """Trains ``config`` in ``workdir``, resuming from its newest checkpoint if any.

    Returns:
      The last logged metrics.

    Raises:
      errors.UserError: a bad config, an unusable workdir, a workdir another run holds
        or whose checkpoints another config wrote, or unavailable data (raised before
        anything is compiled), or a diverged run (``writers.NonFiniteLossError``; the
        checkpoints written before it are kept).
      preemption.Preempted: a SIGTERM arrived as it trained (``ganjax.train.preemption``);
        the checkpoint of the step it arrived at is saved.
    """
    # Validation and workdir: every user error surfaces here, before any compilation.
    validation.validate(config, jax.device_count(), jax.process_count())
    workdir_lib.prepare(workdir)
    with contextlib.ExitStack() as resources:  # closes the checkpointer and writer on any exit
        lock = _hold(workdir, resources)
        return _train(config, workdir, resources, lock)


def _hold(workdir: str, resources: contextlib.ExitStack) -> workdir_lib.Lock | None:
    """Process 0 takes the workdir's lock (released on exit); every process stops if it
    cannot. Returns the lock on process 0, else None."""
    lock, error = None, None
    if jax.process_index() == 0:
        try:
            lock = resources.enter_context(workdir_lib.Lock(workdir))
        except workdir_lib.WorkdirError as e:
            error = e
    if not distributed.all_processes_agree(error is None):
        raise error or workdir_lib.WorkdirError(
            f'--workdir={workdir} is in use by another run (see process 0)')
    return lock


def _train(config, workdir: str, resources: contextlib.ExitStack,
           lock: workdir_lib.Lock | None) -> dict[str, float]:
    """The body of ``train_and_evaluate`` once the config and workdir are known good."""
    is_chief = jax.process_index() == 0
    place = parallel.placement(config.parallel == 'pmap')

    # Only the config that wrote the checkpoints may resume them (read before anything
    # is created), and only with its data: a user error here leaves the workdir as it was.
    checkpoint_dir = os.path.join(workdir, 'checkpoints')
    workdir_lib.check_checkpoints_resumable(config, workdir)
    data_config = pipeline.prepare_once(config.data, distributed.all_processes_agree)
    checkpoints = resources.enter_context(checkpoint.Checkpointer(
        checkpoint_dir, max_to_keep=config.checkpoint.max_to_keep))

    # Model, optimizers and a fresh state; the newest readable checkpoint replaces it.
    data_shape, num_classes = datasets.dataset_spec(config.data)
    setup = setup_lib.make_setup(config, data_shape, num_classes, axis_name=place.axis_name)
    # The whole split's labels, read once, where the clusters or G's prior need them.
    labels = (pipeline.labelling(data_config)
              if datasets.num_clusters(config.data) is not None
              or code_prior.CodePrior.from_config(config).rule == 'data' else None)
    root_key = jax.random.key(config.seed)
    state = place.init_state(setup.init_state if labels is None else functools.partial(
        setup.init_state, label_shares=labels.shares), root_key)
    restored, restored_step = checkpoints.restore_latest(state)
    start_step = 0 if restored is None else restored_step
    if restored is not None:
        state = restored
        logging.info('Resuming from the checkpoint at step %d.', start_step)
    writer = resources.enter_context(writers.MetricWriter(workdir, enabled=is_chief))
    writer.truncate_after(start_step)

    # Data: this process's shards; batch s depends only on (seed, s).
    batches, info = pipeline.load_train(
        data_config, batch_size=config.batch_size // jax.process_count(), seed=config.seed,
        start_step=start_step, process_index=jax.process_index(),
        process_count=jax.process_count(), updates_per_step=setup.updates_per_step,
        labels=labels)
    if is_chief:
        _save_config(config, workdir, info)

    # The step and the sampler, compiled once.
    train_step = place.compile_step(setup.train_step)
    state = place.replicate(state)
    sampling_variables = place.compile_sample(setup.sampling_variables, static_argnums=(1,))
    generate = place.compile_sample(setup.generate)

    def sample(state_to_sample, z, labels):
        return generate(sampling_variables(state_to_sample, True), z, labels)
    sample_z, sample_labels = jax.device_get(
        fixed_latents(setup, jax.random.fold_in(root_key, 1)))

    def save_samples(step: int) -> None:
        # Every process computes the samples (a program over all devices); one writes.
        grid = images.make_grid(
            np.asarray(sample(place.host_state(state), sample_z, sample_labels)),
            nrow=SAMPLE_GRID)
        if is_chief:
            images.save_png(os.path.join(workdir, 'samples', f'step_{step:07d}.png'), grid)
            writer.write_images(step, {'samples': grid})

    # Evaluation (``ganjax.evaluation.evaluators``) when the config lists metrics: every process
    # generates (a program over all devices) and computes; one writes.
    # Without the Inception or LPIPS weights the run trains and evaluates what it can.
    eval_config = config.get('eval')
    evaluator = (evaluators.Evaluator(config, data_config=pipeline.pin_source(config.data,
                                                                             info.source),
                                      without_unavailable_weights=True)
                 if eval_config is not None and eval_config.metrics else None)
    if evaluator is not None and not evaluator.metric_names:
        evaluator = None

    def evaluate(step: int) -> None:
        current = place.host_state(state)
        results = evaluator.evaluate(
            # Once per generator: every chunk of its samples reads these variables.
            lambda use_ema: functools.partial(generate, sampling_variables(current, use_ema)),
            setup.latent_dim, setup.num_classes, step, current.code_prior)
        if is_chief:
            evaluators.write_results(workdir, step, results)
            writer.write_scalars(step, evaluators.scalars(results))
            logging.info('Evaluation at step %d: %s', step, evaluators.summary(results))

    # The loop. Device-to-host transfers happen only at log, sample and checkpoint steps.
    # A SIGTERM (preemption) saves the step it arrives at and stops the run.
    progress = writers.ProgressReporter(config.total_steps, config.batch_size, start_step)
    metrics = {}
    with preemption.watch() as preempted:
        for step in range(start_step + 1, config.total_steps + 1):
            state, device_metrics = train_step(state, place.batch(next(batches)))

            stop = preempted(step) and step < config.total_steps
            log = is_time(step, config.log_every_steps, config.total_steps)
            ckpt = stop or is_time(step, config.ckpt_every_steps, config.total_steps)
            samples = is_time(step, config.sample_every_steps, config.total_steps)
            if log or ckpt or samples:
                # Checked before any checkpoint of this step, so none holds a NaN state.
                metrics = {name: float(value) for name, value in
                           jax.device_get(place.metrics(device_metrics)).items()}
                writers.check_finite(step, metrics)
            if log:
                if lock:
                    lock.refresh()
                report = progress.update(step, metrics)
                writer.write_scalars(step, {**{f'train/{k}': v for k, v in metrics.items()},
                                            'steps_per_sec': report.steps_per_sec})
            if samples:
                save_samples(step)
            if evaluator and is_time(step, eval_config.every_steps or config.total_steps,
                                     config.total_steps):
                evaluate(step)
            if ckpt:
                checkpoints.save(step, place.host_state(state))
            if stop:
                raise preemption.Preempted(step)

    # Final pictures: a latent interpolation, the loss and evaluation curves.
    if config.total_steps > start_step:
        final_state = place.host_state(state)
        run_pictures.write(
            workdir, lambda z, labels: sample(final_state, z, labels),
            jax.random.fold_in(root_key, 2), latent_dim=setup.latent_dim,
            num_classes=setup.num_classes, grid_size=SAMPLE_GRID,
            loss_metrics=setup.loss_metrics, is_chief=is_chief)
    return metrics
