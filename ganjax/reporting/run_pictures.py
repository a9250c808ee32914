"""The pictures a training run leaves at its end, drawn from its workdir's logs.

``interpolation.png`` (latent paths, one per row, one class per row for conditional
models), ``losses.png`` (the training losses over steps) and, when the run evaluated,
``eval.png`` (one panel per metric, a line per generator).
"""
from collections.abc import Callable, Sequence
import os

import jax
import numpy as np

from ganjax.reporting import images
from ganjax.reporting import writers


def write(workdir: str, generate: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
          key: jax.Array, *, latent_dim: int, num_classes: int, grid_size: int,
          loss_metrics: Sequence[str], is_chief: bool) -> None:
    """Writes the end-of-run pictures of the run in ``workdir``.

    Args:
      workdir: the run's directory, holding its ``metrics.jsonl``.
      generate: ``generate(z, labels)`` → images in [−1, 1]; every process calls it (in a
        multi-process run it is a program over all devices).
      key: the key of the interpolation's latents.
      latent_dim, num_classes: the generator's (num_classes 0 if unconditional).
      grid_size: rows and columns of the interpolation grid.
      loss_metrics: the step's loss metrics to plot (``train/<name>``).
      is_chief: whether this process writes (process 0 alone does).
    """
    labels = None
    if num_classes:  # one class per row: each interpolation stays within a class
        labels = np.repeat(np.arange(grid_size) % num_classes, grid_size)
    grid = images.interpolation_grid(
        lambda z: np.asarray(generate(jax.device_get(z), labels)), key,
        num_rows=grid_size, num_steps=grid_size, latent_dim=latent_dim)
    if not is_chief:
        return
    images.save_png(os.path.join(workdir, 'interpolation.png'), grid)
    history = writers.read_metrics(os.path.join(workdir, writers.METRICS_FILENAME))
    images.plot_losses(history, os.path.join(workdir, 'losses.png'),
                       keys=[f'train/{name}' for name in loss_metrics])
    evaluated = sorted({key for record in history for key in record
                        if key.startswith('eval/')})
    if evaluated:  # eval/<generator>/<metric>: one panel per metric
        panels = {}
        for name in evaluated:
            panels.setdefault(name.rsplit('/', 1)[-1], []).append(name)
        images.plot_panels(history, os.path.join(workdir, 'eval.png'), panels)
