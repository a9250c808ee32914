"""What the training loop tells the outside world: metrics files, TensorBoard, console.

* `MetricWriter` appends one JSON object per logged step to `WORKDIR/metrics.jsonl` and
  mirrors scalars and images to TensorBoard event files under `WORKDIR/tensorboard`.
  After a resume, `truncate_after(step)` cuts the file back to the restored step, so a
  run interrupted by SIGKILL ends with the same loss records as one that never was.
* `read_metrics` reads `metrics.jsonl` back (for plots and tests).
* `ProgressReporter` turns each log step into one human-readable console line.
* `check_finite` stops a run whose losses have become NaN or infinite.

TensorBoard files are written with tensorboardX: `tf.summary.scalar` and
`tf.summary.image` need the separate `tensorboard` package, which `tensorflow-cpu` does
not install, while tensorboardX writes the same event format with no TF runtime. In a
workdir in a bucket (``gs://…``) event files go through epath like every other file.
"""

import collections
from collections.abc import Callable, Mapping
import io
import json
import math
import os
import time
from typing import Any, NamedTuple

from absl import logging
from etils import epath
import numpy as np

from ganjax import errors
from ganjax.reporting import files

METRICS_FILENAME = 'metrics.jsonl'
TENSORBOARD_DIRNAME = 'tensorboard'


class NonFiniteLossError(errors.UserError, RuntimeError):
    """A logged metric is NaN or infinite."""


class MetricWriter:
    """Writes scalar metrics to `metrics.jsonl` and TensorBoard, images to TensorBoard.

    Only one process should write (the loop passes `enabled=jax.process_index() == 0`);
    a disabled writer creates no files and all its methods do nothing.

    Each `write_scalars` line is appended by opening, writing and closing the file, so a
    SIGKILL loses at most the line being written and a file removed mid-run is created
    again by the next record; the loop should write step `s`'s metrics before saving
    checkpoint `s`, then `truncate_after` makes a resumed file exact.
    """

    def __init__(self, workdir: str, *, enabled: bool = True):
        """Prepares `workdir` for writing.

        Args:
            workdir: directory receiving `metrics.jsonl` and `tensorboard/`; created if
                missing.
            enabled: whether this process writes anything.
        """
        self._enabled = enabled
        self.metrics_path = epath.Path(workdir) / METRICS_FILENAME
        self._tensorboard = None
        if enabled:
            # Imported here so that `import ganjax.reporting.writers` stays cheap.
            import tensorboardX  # pylint: disable=import-outside-toplevel

            epath.Path(workdir).mkdir(parents=True, exist_ok=True)
            if files.is_remote(workdir):
                _write_events_through_epath(os.fspath(workdir))
            self._tensorboard = tensorboardX.SummaryWriter(
                os.fspath(epath.Path(workdir) / TENSORBOARD_DIRNAME))

    def truncate_after(self, step: int) -> None:
        """Removes `metrics.jsonl` records with a step greater than `step`.

        Call it once after restoring, with the step the run resumes from (0 for a fresh
        start), before writing. A half-written last line left by a kill is dropped too.
        The file is rewritten through a temporary file and an atomic rename, so a kill
        during truncation leaves either the old or the new file.

        Args:
            step: the restored step; records up to and including it are kept.
        """
        if not self._enabled or not self.metrics_path.exists():
            return
        kept = [line for line in _complete_lines(self.metrics_path)
                if json.loads(line)['step'] <= step]
        files.write_text(self.metrics_path, ''.join(kept))

    def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
        """Appends `{"step": step, **scalars}` to `metrics.jsonl` and to TensorBoard.

        Args:
            step: the training step.
            scalars: metric name (e.g. `train/d_loss`) to a scalar number, array or
                jax.Array.

        Raises:
            ValueError: if a value is not a scalar.
        """
        if not self._enabled:
            return
        record = {'step': int(step)}
        record.update((name, _to_python_scalar(name, value)) for name, value in scalars.items())
        files.append_text(self.metrics_path, json.dumps(record) + '\n')
        for name, value in record.items():
            if name != 'step':
                self._tensorboard.add_scalar(name, value, global_step=record['step'])

    def write_images(self, step: int, images: Mapping[str, np.ndarray]) -> None:
        """Writes images to TensorBoard (not to `metrics.jsonl`).

        Args:
            step: the training step.
            images: name to a uint8 array of shape (H, W, C), C in {1, 3, 4}, e.g. the
                result of `ganjax.reporting.images.make_grid`.

        Raises:
            ValueError: if an image is not a uint8 HWC array.
        """
        if not self._enabled:
            return
        for name, image in images.items():
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
                raise ValueError(
                    f'images[{name!r}] must be uint8 of shape (H, W, C) with C in 1, 3, 4; '
                    f'got {image.dtype} {image.shape}.')
            self._tensorboard.add_image(name, image, global_step=int(step), dataformats='HWC')

    def flush(self) -> None:
        """Pushes everything written so far to disk."""
        if self._tensorboard is not None:
            self._tensorboard.flush()

    def close(self) -> None:
        """Flushes and closes TensorBoard's files; the writer must not be used afterwards."""
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None

    def __enter__(self) -> 'MetricWriter':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _WholeObjectEventFile:
    """A TensorBoard event file in a bucket: objects cannot grow, so each flush uploads
    the whole file again (as tensorboardX's own GCS writer does, through epath instead of
    the google-cloud-storage client)."""

    def __init__(self, path: str):
        self._path = epath.Path(path)
        self._buffer = io.BytesIO()

    def write(self, data: bytes) -> None:
        self._buffer.write(data)

    def flush(self) -> None:
        self._path.write_bytes(self._buffer.getvalue())

    def close(self) -> None:
        self.flush()


class _WholeObjectEventFiles:
    """tensorboardX's writer factory interface for `_WholeObjectEventFile`."""

    def open(self, path: str) -> _WholeObjectEventFile:
        return _WholeObjectEventFile(path)

    def directory_check(self, path: str) -> None:
        epath.Path(path).mkdir(parents=True, exist_ok=True)


def _write_events_through_epath(url: str) -> None:
    """Makes tensorboardX write event files under ``url``'s scheme (e.g. gs) through epath."""
    from tensorboardX import record_writer  # pylint: disable=import-outside-toplevel

    record_writer.register_writer_factory(url.split('://', 1)[0], _WholeObjectEventFiles())


def read_metrics(path: epath.PathLike) -> list[dict[str, Any]]:
    """Reads a `metrics.jsonl` file written by `MetricWriter`.

    A last line without its newline (a write cut short by a kill) is skipped.

    Args:
        path: the `metrics.jsonl` file.

    Returns:
        One dict per logged step, in file order.
    """
    return [json.loads(line) for line in _complete_lines(path)]


def _complete_lines(path: epath.PathLike) -> list[str]:
    """The file's lines, each ending in a newline; an unterminated last one is dropped."""
    lines = files.read_text(path).splitlines(keepends=True)
    if lines and not lines[-1].endswith('\n'):
        logging.warning('Dropping a half-written last line of %s: %r', path, lines[-1])
        lines.pop()
    return lines


def _to_python_scalar(name: str, value: Any) -> int | float | bool:
    array = np.asarray(value)
    if array.ndim != 0:
        raise ValueError(f'Metric {name!r} must be a scalar, got shape {array.shape}.')
    return array.item()


def check_finite(step: int, metrics: Mapping[str, Any]) -> None:
    """Raises if any metric is NaN or infinite.

    Args:
        step: the training step, for the message.
        metrics: metric name to a number or array (every element is checked).

    Raises:
        NonFiniteLossError: naming the step and every non-finite metric.
    """
    bad = {name: value for name, value in metrics.items()
           if not np.all(np.isfinite(np.asarray(value)))}
    if bad:
        listing = ', '.join(f'{name}={np.asarray(value)}' for name, value in bad.items())
        raise NonFiniteLossError(f'Non-finite metrics at step {step}: {listing}')


class Progress(NamedTuple):
    """What `ProgressReporter.update` measured.

    Attributes:
        line: the console line, also logged.
        steps_per_sec: steps per second since the previous update (NaN on no progress).
        images_per_sec: `steps_per_sec * batch_size`.
        eta_sec: seconds to `total_steps` at the rate of the recent updates (NaN if
            unknown).
    """
    line: str
    steps_per_sec: float
    images_per_sec: float
    eta_sec: float


class CountProgress:
    """Logs 'what: done/total (rate images/s, ETA …)' at most every ``every_s`` seconds
    and when done: for long passes over images (evaluations, real-data references)."""

    def __init__(self, what: str, total: int, every_s: float = 30.0):
        self._what, self._total, self._every_s = what, total, every_s
        self._start = self._last = time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self._last < self._every_s and done < self._total:
            return
        self._last = now
        rate = done / max(now - self._start, 1e-9)
        logging.info('%s: %d/%d (%.1f images/s, ETA %s)', self._what, done, self._total,
                     rate, format_duration((self._total - done) / rate))


class ProgressReporter:
    """Console progress: `step 1200/5000 (24.0%) | d_loss 1.234 | 812 img/s | ETA 4m41s`.

    Rates come from wall time between `update` calls; the ETA uses the rate over the
    last `eta_window` updates, so the first interval (which includes compilation) soon
    stops distorting it.
    """

    def __init__(self, total_steps: int, batch_size: int, start_step: int = 0, *,
                 eta_window: int = 10, clock: Callable[[], float] = time.perf_counter):
        """Starts the clock.

        Args:
            total_steps: the step training ends at.
            batch_size: global batch size, for images per second.
            start_step: the step training starts (or resumes) from.
            eta_window: number of recent update intervals the ETA rate averages over.
            clock: seconds as a float; injectable for tests.

        Raises:
            ValueError: if `total_steps`, `batch_size` or `eta_window` is not positive.
        """
        for name, value in [('total_steps', total_steps), ('batch_size', batch_size),
                            ('eta_window', eta_window)]:
            if value < 1:
                raise ValueError(f'{name} must be >= 1, got {value}.')
        self._total_steps = total_steps
        self._batch_size = batch_size
        self._clock = clock
        # (step, time) of the last eta_window updates, or of the start.
        self._history = collections.deque([(start_step, clock())], maxlen=eta_window)

    def update(self, step: int, metrics: Mapping[str, Any]) -> Progress:
        """Records that `step` is done and logs one progress line.

        Args:
            step: the step just completed.
            metrics: shown as `name value` with the part of the name before the last
                `/` dropped (`train/d_loss` shows as `d_loss`).

        Returns:
            The line and the measured rates.
        """
        now = self._clock()
        steps_per_sec = _rate(self._history[-1], (step, now))
        recent_rate = _rate(self._history[0], (step, now))
        self._history.append((step, now))
        eta_sec = (self._total_steps - step) / recent_rate if recent_rate > 0 else math.nan
        images_per_sec = steps_per_sec * self._batch_size
        shown = ' '.join(f'{name.rsplit("/", 1)[-1]} {float(np.asarray(value)):.4g}'
                         for name, value in metrics.items())
        line = ' | '.join([
            f'step {step}/{self._total_steps} ({100 * step / self._total_steps:.1f}%)',
            *([shown] if shown else []),
            f'{images_per_sec:.0f} img/s',
            f'ETA {format_duration(eta_sec)}',
        ])
        logging.info(line)
        return Progress(line, steps_per_sec, images_per_sec, eta_sec)


def _rate(start: tuple[int, float], end: tuple[int, float]) -> float:
    """Steps per second between two (step, time) points; NaN if time did not advance."""
    (start_step, start_time), (end_step, end_time) = start, end
    elapsed = end_time - start_time
    return (end_step - start_step) / elapsed if elapsed > 0 else math.nan


def format_duration(seconds: float) -> str:
    """Formats seconds as `41s`, `4m41s` or `2h04m41s` (`?` for NaN or infinity).

    Args:
        seconds: a duration.

    Returns:
        The compact string.
    """
    if not math.isfinite(seconds):
        return '?'
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f'{hours}h{minutes:02d}m{secs:02d}s'
    if minutes:
        return f'{minutes}m{secs:02d}s'
    return f'{secs}s'
