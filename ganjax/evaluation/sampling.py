"""Sampling from a finished or running experiment's newest checkpoint."""
import functools
import os

from etils import epath
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganjax import errors
from ganjax.data import datasets
from ganjax.reporting import files
from ganjax.reporting import images
from ganjax.train import checkpoint
from ganjax.train import code_prior
from ganjax.train import parallel
from ganjax.train import setup as setup_lib

# Shuffles the labels drawn in proportion to G's prior: fixed, so a command's samples
# depend on its --seed alone.
_SPREAD_SEED = 0


def load_run(workdir: str, batch_norm: str | None = None):
    """Rebuilds a run from ``workdir/config.json`` and restores its newest checkpoint.

    Args:
      workdir: the run's directory.
      batch_norm: replaces the run's ``sampling.batch_norm`` unless None.

    Returns:
      ``(config, setup, state, step)``.

    Raises:
      errors.ConfigError: the workdir holds no run, a 2-D mixture run or no readable
        checkpoint.
    """
    config_path = epath.Path(workdir) / 'config.json'
    if not config_path.exists():
        raise errors.ConfigError(f'--workdir={workdir} holds no run (no config.json)')
    try:
        config = ml_collections.ConfigDict(files.read_json(config_path))
    except ValueError as e:
        raise errors.ConfigError(f'{config_path} is not valid JSON ({e})') from e
    if 'mixture' in config:  # S seeds' states in one checkpoint, no image generator
        raise errors.ConfigError(
            f'--workdir={workdir} holds a 2-D mixture run (experiments.toy2d), which has no '
            f'image generator to sample or evaluate: its samples are {workdir}/samples.npy '
            f'and its metrics {workdir}/results.json')
    if batch_norm is not None:
        config.sampling = {**config.get('sampling', {}), 'batch_norm': batch_norm}
    data_shape, num_classes = datasets.dataset_spec(config.data)
    setup = setup_lib.make_setup(config, data_shape, num_classes)
    # Read-only: the run may be training, and a reader must not touch its saves.
    with checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                 max_to_keep=config.checkpoint.max_to_keep,
                                 read_only=True) as checkpoints:
        state, step = checkpoints.restore_latest(setup.init_state(jax.random.key(config.seed)))
    if state is None:
        raise errors.ConfigError(f'--workdir={workdir} holds no checkpoint yet')
    return config, setup, state, step


def parse_labels(text: str | None, num: int, num_classes: int,
                 prior=None) -> np.ndarray | None:
    """Labels for ``num`` samples: '3' (all 3s), '0,4,7' (cycled) or None: 0..K−1 cycled,
    or where G draws its labels from a prior π (``prior``, K probabilities), each in
    proportion to π as the evaluations draw them (``code_prior.spread``).

    Raises:
      errors.ConfigError: labels for an unconditional model, or out of range.
    """
    if not num_classes:
        if text:
            raise errors.ConfigError('--labels given, but the model is unconditional')
        return None
    if not text and prior is not None:
        return np.asarray(code_prior.spread(prior, num, num_classes,
                                            jax.random.key(_SPREAD_SEED)), np.int32)
    try:
        chosen = [int(v) for v in text.split(',')] if text else list(range(num_classes))
    except ValueError as e:
        raise errors.ConfigError(f'--labels must be comma-separated integers, '
                                     f'got {text!r}') from e
    if any(not 0 <= label < num_classes for label in chosen):
        raise errors.ConfigError(f'--labels must be in [0, {num_classes}), got {text!r}')
    return np.resize(np.asarray(chosen, np.int32), num)


def generate(setup, state, num: int, key: jax.Array, labels: np.ndarray | None = None,
             *, use_ema: bool = True, chunk: int = 256) -> np.ndarray:
    """``num`` samples as a float32 array (num, ...) in [−1, 1], ``chunk`` per call."""
    generate = sampler(setup, state)(use_ema)
    z = jax.random.normal(key, (num, setup.latent_dim))
    parts = []
    for start in range(0, num, chunk):
        part_labels = None if labels is None else jnp.asarray(labels[start:start + chunk])
        parts.append(np.asarray(generate(z[start:start + chunk], part_labels)))
    return np.concatenate(parts).astype(np.float32)


def sampler(setup, state):
    """``sampler(use_ema)`` → a compiled ``generate(z, labels)`` of ``state``'s EMA or raw
    generator (the ``sampler`` of ``evaluators.Evaluator.evaluate``)."""
    sampling_variables = parallel.jit(setup.sampling_variables, static_argnums=1)
    generate = parallel.jit(setup.generate)
    return lambda use_ema: functools.partial(generate, sampling_variables(state, use_ema))


def check_output(path: str) -> None:
    """Raises ``errors.ConfigError`` unless ``path`` ends in .png or .npy and its folder
    (created if missing) can be written: checked before any sample is drawn."""
    if not path.endswith(('.png', '.npy')):
        raise errors.ConfigError(f'--out must end in .png or .npy, got {path!r}')
    try:
        if epath.Path(path).is_dir():
            raise IsADirectoryError(f'{path} is a directory')
        files.check_writable(epath.Path(path).parent)
    except OSError as e:
        raise errors.ConfigError(f'--out={path} cannot be written: {e.strerror or e}') from e


def write_samples(path: str, samples: np.ndarray) -> None:
    """A ``.npy`` float32 array, or a PNG grid (any other extension is an error)."""
    if path.endswith('.npy'):
        with files.replacing(path) as partial:
            np.save(partial, samples)
    elif path.endswith('.png'):
        images.save_grid(path, samples)
    else:
        raise errors.ConfigError(f'--out must end in .png or .npy, got {path!r}')
