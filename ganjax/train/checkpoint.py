"""Checkpointing of the train state: orbax behind `save` and `restore_latest`.

The rest of ganjax talks to checkpoints only through `Checkpointer`, so a change in the
orbax API is a change to this file alone. What this module guarantees on top of orbax:

* `save` returns only once the checkpoint is committed, so a SIGKILL after it cannot
  lose it. A Ctrl-C (SIGINT) that arrives during `save` or `close` is held until they
  return and raised then, so the step being saved is committed rather than left half
  written, and orbax's calls are never cut off halfway. Orbax writes each step into
  `<step>.orbax-checkpoint-tmp` and renames it to `<step>` only when complete; a save
  killed half-way leaves that temporary directory, which is never listed as a step and
  is removed when the run's next `Checkpointer` opens (a read-only one, as readers of a
  training run use, leaves it alone).
* Typed PRNG keys (`jax.random.key`) are stored as their raw `uint32` key data and
  re-wrapped on restore, so callers never see the difference and the files do not depend
  on orbax's own support for key dtypes.
* `restore_latest` falls back from an unreadable newest checkpoint (truncated or missing
  files) to the previous one, logs a warning naming the bad step, and moves the bad
  directory aside to `<step>.corrupt-<time>` so later saves of that step are possible.
  Good checkpoints are never deleted or moved.

Multi-host: every process must call `save` and `restore_latest` (orbax coordinates who
writes what and synchronises the processes itself), so there is deliberately no
process-0-only logic around saving.
"""

import contextlib
import io
import logging as std_logging
import os
import re
import signal
import sys
import time
from typing import Any

from absl import logging
import jax
import orbax.checkpoint as ocp

from ganjax import errors
from ganjax.reporting import files
from ganjax.train import distributed
from ganjax.train import signals

PyTree = Any


@contextlib.contextmanager
def interrupts_held():
    """Holds SIGINT (Ctrl-C) while the block runs and raises KeyboardInterrupt after it
    if one arrived. Only the main thread can set signal handlers: elsewhere a no-op."""
    with signals.recorded(signal.SIGINT) as received:
        yield
    if received is not None and received.is_set():
        raise KeyboardInterrupt


class _Holding(std_logging.Filter):
    """A handler filter that keeps every record instead of letting it through."""

    def __init__(self):
        super().__init__()
        self.records = []

    def filter(self, record: std_logging.LogRecord) -> bool:
        if all(record is not held for held in self.records):  # once, not per handler
            self.records.append(record)
        return False


@contextlib.contextmanager
def _library_output_held():
    """Holds what orbax's and TensorStore's threads log or print to ``sys.stderr`` while
    the block runs: passed on after it if it succeeds, dropped if it fails, since one
    failed write makes each pending write log a traceback (hundreds on a full disk) and
    the caller reports the cause once."""
    handlers = list(std_logging.getLogger().handlers)
    holding = _Holding()
    for handler in handlers:
        handler.addFilter(holding)
    stderr, sys.stderr = sys.stderr, io.StringIO()
    try:
        yield
    finally:
        printed, sys.stderr = sys.stderr.getvalue(), stderr
        for handler in handlers:
            handler.removeFilter(holding)
    stderr.write(printed)
    for record in holding.records:
        for handler in handlers:
            handler.handle(record)


class CheckpointRestoreError(errors.UserError, RuntimeError):
    """Raised when checkpoints exist but none of them can be restored."""


class CheckpointSaveError(errors.UserError, OSError):
    """Raised when a checkpoint cannot be written (e.g. the disk is full); the older
    checkpoints are untouched. Orbax's threads may still wait for the failed save: a
    program should end with ``os._exit`` after reporting it (``harness.cli`` does)."""


class Checkpointer:
    """Saves train states under `directory/<step>` and restores the newest readable one.

    Usage::

        with checkpoint.Checkpointer(workdir + '/checkpoints') as ckpt:
            state, step = ckpt.restore_latest(initial_state)
            ...
            ckpt.save(step, state)
    """

    def __init__(self, directory: str, *, max_to_keep: int = 3, read_only: bool = False):
        """Opens (and creates if needed) a checkpoint directory.

        Args:
            directory: where the step directories live; local path or any path orbax
                supports (e.g. `gs://`).
            max_to_keep: how many of the newest checkpoints to keep; older ones are
                deleted after each save.
            read_only: for readers of a run (sampling, evaluation), which may be
                training: nothing in the directory is created, cleaned up, deleted or
                moved aside, and `save` is an error.

        Raises:
            ValueError: if `max_to_keep` is smaller than 1.
        """
        if max_to_keep < 1:
            raise ValueError(f'max_to_keep must be >= 1, got {max_to_keep}.')
        self.read_only = read_only
        options = ocp.CheckpointManagerOptions(
            # A reader's manager keeps and saves nothing (orbax warns if told otherwise).
            max_to_keep=None if read_only else max_to_keep,
            save_interval_steps=0 if read_only else 1,
            create=not read_only,
            # Removes `<step>.orbax-checkpoint-tmp` left by a save that was killed: only
            # the run itself may, as a reader would delete a save in progress.
            cleanup_tmp_directories=not read_only,
            read_only=read_only,
        )
        self._manager = ocp.CheckpointManager(
            _absolute(directory),
            options=options,
            # Declares one unnamed item up front; otherwise orbax guesses the layout from
            # the newest step directory and an emptied one breaks every restore.
            item_handlers=ocp.StandardCheckpointHandler(),
        )

    @property
    def directory(self) -> str:
        """The checkpoint directory (absolute)."""
        return os.fspath(self._manager.directory)

    def save(self, step: int, state: PyTree) -> None:
        """Writes `state` as checkpoint `step` and waits until it is committed.

        Args:
            step: the training step the state belongs to; must be newer than every
                checkpoint already in the directory.
            state: a pytree of arrays (typed PRNG keys allowed).

        Raises:
            ValueError: if `step` is not newer than the latest existing checkpoint
                (orbax would otherwise skip the save silently).
        """
        if self.read_only:
            raise ValueError(f'{self.directory} was opened read-only')
        try:
            with interrupts_held(), _library_output_held():
                saved = self._manager.save(step, args=ocp.args.StandardSave(_keys_to_data(state)))
                if saved:
                    self._manager.wait_until_finished()
        # A full disk, a lost bucket or permissions surface from orbax's threads as
        # OSError, or as TensorStore's ValueError / orbax's RuntimeError around one.
        except (OSError, ValueError, RuntimeError) as error:
            latest = self._manager.latest_step()
            kept = ('no checkpoint was saved before it' if latest is None else
                    f'the newest saved checkpoint, step {latest}, is kept')
            raise CheckpointSaveError(
                f'checkpoint {step} could not be written in {self.directory} '
                f'({_cause(error)}); {kept}: run the same command to resume once the '
                'cause is fixed') from error
        if not saved:
            raise ValueError(
                f'step={step} was not saved: {self.directory} already holds the newer or '
                f'equal step {self._manager.latest_step()}.'
            )

    def latest_step(self) -> int | None:
        """The newest committed step, or None if there is none.

        The newest checkpoint may still turn out unreadable; `restore_latest` is the
        authority on which step a run resumes from.
        """
        return self._manager.latest_step()

    def restore_latest(self, target: PyTree) -> tuple[PyTree, int] | tuple[None, None]:
        """Restores the newest readable checkpoint, falling back over unreadable ones.

        Checkpoints newer than the one restored failed to restore into `target`; each is
        reported with `logging.warning` and, unless `read_only`, moved aside to
        `<step>.corrupt-<time>`. A
        newest checkpoint whose structure differs from `target` while an older one
        matches is treated the same way.

        Args:
            target: a concrete or abstract (`jax.ShapeDtypeStruct`) state with the saved
                structure; the result gets its dtypes, shapes and shardings.

        Returns:
            `(state, step)`, or `(None, None)` if the directory holds no checkpoint.

        Raises:
            CheckpointRestoreError: if checkpoints exist but none can be restored. This
                usually means `target` does not match the saved structure, and nothing
                is moved aside in that case.
        """
        abstract = jax.tree.map(_abstract_storable, target)
        unreadable = {}  # step -> its error (None if it failed on another process)
        for step in sorted(self._manager.all_steps(), reverse=True):
            restored, error = self._try_restore(step, abstract)
            # Each host reads its own shards, so one may hit a damaged file another never
            # touches; all must then fall back together.
            if distributed.all_processes_agree(error is None):
                self._quarantine(list(unreadable))
                return _data_to_keys(restored, target), step
            logging.warning('Checkpoint step %d in %s is unreadable (%s); trying the '
                            'previous one.', step, self.directory, _first_line(error))
            unreadable[step] = error
        if unreadable:
            newest = max(unreadable)
            raise CheckpointRestoreError(
                f'no checkpoint in {self.directory} can be restored (steps '
                f'{sorted(unreadable)}); the newest, {newest}, fails with: '
                f'{_first_line(unreadable[newest])}')
        return None, None

    def close(self) -> None:
        """Waits for pending work and releases orbax's resources."""
        with interrupts_held():
            self._manager.close()

    def __enter__(self) -> 'Checkpointer':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _try_restore(self, step: int, abstract: PyTree) -> tuple[PyTree, Exception | None]:
        """Restores `step`; returns `(state, None)` or `(None, error)`."""
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(abstract)), None
        # Damaged files surface as many exception types (OSError, ValueError,
        # tensorstore errors), so anything that fails the read counts as damage.
        except Exception as error:  # pylint: disable=broad-exception-caught
            return None, error

    def _quarantine(self, bad_steps: list[int]) -> None:
        """Renames unreadable step directories so orbax no longer lists them.

        Without this, orbax would refuse to save those steps again after the run
        resumes from an older checkpoint.
        """
        if not bad_steps or self.read_only:
            return
        if jax.process_index() == 0:
            suffix = time.strftime('.corrupt-%Y%m%d-%H%M%S')
            for step in bad_steps:
                step_dir = self._manager.directory / str(step)
                step_dir.rename(step_dir.parent / (step_dir.name + suffix))
                logging.warning('Moved unreadable checkpoint %s to %s%s.', step_dir,
                                step_dir, suffix)
        ocp.multihost.sync_global_processes(
            f'ganjax_checkpoint_quarantine_{"_".join(map(str, bad_steps))}')
        self._manager.reload()


_TENSORSTORE_SPEC = re.compile(r" \[tensorstore_spec='.*?'\]", re.DOTALL)


def _cause(error: Exception) -> str:
    """The root of a save error: TensorStore's messages end in the OS error and its code
    (e.g. "No space left on device [os_error_code='28']"), with a long JSON spec either
    after the code or, where a driver failed to open, between the error and its code."""
    text = _TENSORSTORE_SPEC.sub('', str(error))
    found = re.search(r'([^:]+) \[os_error_code=.?(\d+)', text)
    return f'{found[1].strip()}, errno {found[2]}' if found else _first_line(error)


def _first_line(error: Exception | None, limit: int = 300) -> str:
    """The start of an error's message: orbax's can hold whole tree diffs."""
    if error is None:
        return 'it failed on another process'
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return line if len(line) <= limit else line[:limit] + ' …'


def _absolute(directory: str) -> str:
    """Orbax wants absolute paths; URLs such as gs://... are already absolute."""
    return directory if files.is_remote(directory) else os.path.abspath(directory)


def _is_prng_key(leaf: Any) -> bool:
    dtype = getattr(leaf, 'dtype', None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _keys_to_data(tree: PyTree) -> PyTree:
    """Replaces typed PRNG keys by their uint32 key data."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_prng_key(x) else x, tree)


def _data_to_keys(restored: PyTree, target: PyTree) -> PyTree:
    """Re-wraps key data wherever `target` holds a typed PRNG key (inverse of above)."""
    return jax.tree.map(
        lambda r, t: jax.random.wrap_key_data(r, dtype=t.dtype) if _is_prng_key(t) else r,
        restored, target,
    )


def _abstract_storable(leaf: Any) -> Any:
    """The restore target for one leaf: its stored shape, dtype and sharding."""
    if not _is_prng_key(leaf):
        return ocp.utils.to_shape_dtype_struct(leaf)
    data = jax.eval_shape(jax.random.key_data, jax.ShapeDtypeStruct(leaf.shape, leaf.dtype))
    sharding = leaf.sharding
    if isinstance(sharding, jax.sharding.NamedSharding):
        # Key data has extra trailing dimensions (e.g. 2 words for threefry); they are
        # never sharded.
        spec = jax.sharding.PartitionSpec(*sharding.spec, *[None] * (data.ndim - leaf.ndim))
        sharding = jax.sharding.NamedSharding(sharding.mesh, spec)
    return jax.ShapeDtypeStruct(data.shape, data.dtype, sharding=sharding)
