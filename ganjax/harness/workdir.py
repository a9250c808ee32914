"""A run's workdir: created and writable, held by one run at a time, resumed only by the
config that wrote it.

* ``prepare(workdir)`` creates it and checks it, and the folders in it a run writes to,
  can be written.
* ``Lock(workdir)`` holds ``workdir/run.lock`` (pid, host, time) while a run trains, so a
  second run on the same workdir is refused with the holder's name. A lock whose holder
  is gone does not block: on the holder's host a dead pid frees it at once, from another
  host a lock not refreshed for ``STALE_AFTER_S`` does (the run refreshes it as it logs;
  the record carries the refresh time, so clocks of hosts sharing a bucket should agree
  within minutes).
  Multi-process runs take it once, on process 0.
* ``check_resumable(config, workdir)`` refuses, before anything is restored, a config
  that differs from the one that wrote the workdir's checkpoints in anything but
  ``RESUMABLE_KEYS``, so a run can be extended (``total_steps``) or re-timed (cadences),
  but not silently mixed with another.
"""
import json
import os
import socket
import time

from etils import epath

from ganjax import errors
from ganjax.reporting import files
from ganjax.train import checkpoint

LOCK_FILE = 'run.lock'
RUN_FOLDERS = ('checkpoints', 'samples', 'eval', 'tensorboard')  # what a run writes in
STALE_AFTER_S = 3600.0  # a lock from another host not refreshed for an hour is stale
# Keys a resumed run may change: how long and how often it logs, samples, checkpoints
# and evaluates, how it is compiled, and how it samples; none changes what it trains.
RESUMABLE_KEYS = ('total_steps', 'log_every_steps', 'ckpt_every_steps', 'sample_every_steps',
                  'parallel', 'checkpoint.', 'eval.', 'sampling.', 'data.data_dir')


class WorkdirError(errors.UserError, OSError):
    """The workdir cannot be created, written, or used by this run."""


def prepare(workdir: str, folders: tuple[str, ...] = RUN_FOLDERS) -> None:
    """Creates ``workdir`` and checks that it and those of ``folders`` it already holds
    are writable, or raises ``WorkdirError``: orbax, refused a checkpoint folder, waits
    forever for the save it could not start."""
    root = epath.Path(workdir)
    folders = [root] + [root / name for name in folders if (root / name).exists()]
    for folder in folders:
        try:
            files.check_writable(folder)
        except OSError as e:
            raise WorkdirError(f'--workdir={workdir} cannot be used: {folder} cannot be '
                               f'written ({e.strerror or e})') from e


class Lock:
    """``workdir/run.lock`` while a run holds the workdir (a context manager).

    Locally the lock file is created exclusively (``O_EXCL``). In a bucket, where epath
    offers no exclusive create, it is written if absent and read back: two runs started
    within the same second could both pass, which one run per workdir in practice never
    meets; a run started later is refused.

    Raises:
      WorkdirError: on entry, if a live run holds the workdir.
    """

    def __init__(self, workdir: str):
        self.path = epath.Path(workdir) / LOCK_FILE
        self._mine = dict(pid=os.getpid(), host=socket.gethostname(),
                          started=time.strftime('%Y-%m-%d %H:%M:%S'))

    def __enter__(self) -> 'Lock':
        for _ in range(2):  # a second try after removing a stale lock
            if self._take():
                return self
            holder = self._holder()
            if holder is not None and not _is_stale(holder):
                raise WorkdirError(
                    f"--workdir={self.path.parent} is in use by process "
                    f"{holder.get('pid')} on {holder.get('host')} (since "
                    f"{holder.get('started')}); wait for it to finish or stop it. If "
                    f'that process is gone, delete {self.path}.')
            _remove(self.path)
        raise WorkdirError(f'{self.path}: another run took the workdir while this one '
                           'was starting')

    def refresh(self) -> None:
        """Marks the lock as live (its holder on another host judges staleness by it).

        Raises:
          WorkdirError: another run has taken the lock (it judged this one stale).
        """
        holder = self._holder()
        if not self._is_mine(holder):
            raise WorkdirError(
                f'--workdir={self.path.parent} was taken over by process '
                f'{(holder or {}).get("pid")} on {(holder or {}).get("host")}; this run stops '
                'so that two runs do not write one workdir')
        files.write_text(self.path, self._record())

    def __exit__(self, *exc_info) -> None:
        if self._is_mine(self._holder()):
            _remove(self.path)

    def _take(self) -> bool:
        """Writes this run's record unless a lock exists; whether this run holds it."""
        if files.is_remote(self.path):
            if self.path.exists():
                return False
            files.write_text(self.path, self._record())
            return self._is_mine(self._holder())
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(self._record())
        return True

    def _record(self) -> str:
        return json.dumps(dict(self._mine, refreshed=time.time()))

    def _is_mine(self, holder: dict | None) -> bool:
        return holder is not None and all(holder.get(k) == self._mine[k]
                                          for k in ('pid', 'host', 'started'))

    def _holder(self) -> dict | None:
        """The lock's record; an unreadable one (torn write) is {}, a missing one None."""
        try:
            text = files.read_text(self.path)
            record = json.loads(text)
            if isinstance(record, dict) and 'refreshed' not in record:  # by ganjax < 2026-11
                record['refreshed'] = self.path.stat().mtime
        except FileNotFoundError:
            return None
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}


def _is_stale(holder: dict) -> bool:
    if 'pid' not in holder or 'host' not in holder:
        return True
    if holder['host'] == socket.gethostname():
        return not _pid_alive(holder['pid'])
    return time.time() - holder.get('refreshed', 0.0) > STALE_AFTER_S


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _remove(path: epath.Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _flatten(tree, prefix: str = '') -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f'{prefix}{key}.'))
        else:
            flat[f'{prefix}{key}'] = value
    return flat


def _resumable(key: str) -> bool:
    return any(key == k or (k.endswith('.') and key.startswith(k)) for k in RESUMABLE_KEYS)


def write_config(config, workdir: str) -> None:
    """Records ``config`` as ``workdir/config.json``: what ``check_resumable`` compares a
    resuming config with, and what readers of the run rebuild it from."""
    files.write_text(os.path.join(workdir, 'config.json'),
                     config.to_json_best_effort(indent=2, sort_keys=True))


def check_checkpoints_resumable(config, workdir: str) -> None:
    """``check_resumable`` against the newest of ``workdir/checkpoints``, read without
    creating, cleaning up or moving anything there."""
    with checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                 read_only=True) as existing:
        check_resumable(config, workdir, existing.latest_step())


def check_resumable(config, workdir: str, checkpoint_step: int | None) -> None:
    """Raises ``errors.ConfigError`` if ``config`` may not resume the workdir's run.

    Args:
      config: the config about to train.
      workdir: the run's directory; its ``config.json`` is the config that wrote the
        checkpoints (keys it lacks, from older versions of ganjax, are not compared).
      checkpoint_step: the newest checkpoint's step, or None if there is none (then
        any config may start).
    """
    path = epath.Path(workdir) / 'config.json'
    if checkpoint_step is None or not path.exists():
        return
    try:
        saved = _flatten(files.read_json(path))
    except ValueError as e:
        raise WorkdirError(f'{path} is not valid JSON ({e}); it records the config of the '
                           'checkpoints in this workdir, so it cannot be resumed safely') from e
    current = _flatten(json.loads(config.to_json_best_effort()))
    differ = sorted(k for k in saved.keys() & current.keys()
                    if saved[k] != current[k] and not _resumable(k))
    if differ:
        shown = ', '.join(f'{k}: {saved[k]!r} → {current[k]!r}' for k in differ[:5])
        more = f' and {len(differ) - 5} more' if len(differ) > 5 else ''
        raise errors.ConfigError(
            f'--workdir={workdir} holds checkpoints of another config ({shown}{more}); '
            'use a new workdir, or the same config (only cadence keys such as total_steps '
            'may change on resume)')
    errors.require(config.total_steps >= checkpoint_step, 'total_steps', config.total_steps,
                   f'be at least the step of the checkpoint it resumes, {checkpoint_step}')
