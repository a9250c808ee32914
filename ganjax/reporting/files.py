"""A run's files, in a local folder or in a bucket, written so that a crash never leaves
half of one.

Every path goes through ``etils.epath`` (as orbax's checkpoints and TFDS's data do), so a
workdir may be a local folder or an object-store URL such as ``gs://bucket/run``; with
TensorFlow installed epath reaches GCS through ``tf.io.gfile``, without it through
fsspec (``gcsfs``).

* ``check_writable(folder)`` creates a folder and proves a file can be written in it, so
  that work whose result could not be kept is refused before it starts.
* ``replacing(path)`` yields a local temporary path to write ``path``'s new contents to
  (with its extension, for writers that infer the format from it); when the block ends
  without an error the new contents replace ``path`` whole: locally by one rename beside
  it, in a bucket by one object upload (an object store replaces an object atomically, and
  renames there are copies). A reader, or a run killed mid-write, sees the old file or the
  new one and never a part. ``write_text`` and ``write_json`` use it; ``write_json``
  writes strict JSON, with non-finite numbers as null.
* ``append_text(path, text)`` appends: locally in place, in a bucket (where objects
  cannot grow) by replacing the object with its old contents and ``text``.
* ``read_text`` and ``read_json`` read either kind of path.
* ``cache_dir()``: where ganjax keeps what it downloads or computes once.
"""
from collections.abc import Iterator
import contextlib
import json
import math
import os
import tempfile
from typing import Any
import uuid

from etils import epath


def is_remote(path: epath.PathLike) -> bool:
    """Whether ``path`` is an object-store URL (``gs://…``, ``s3://…``), not a local path."""
    return '://' in os.fspath(path)


def check_writable(folder: epath.PathLike) -> None:
    """Creates ``folder`` if missing and writes and removes a file in it; raises an
    ``OSError`` if either fails (also for errors of TensorFlow's or gcsfs's clients, which
    are not ``OSError``s)."""
    folder = epath.Path(folder)
    probe = folder / f'.write-probe-{uuid.uuid4().hex}'  # unique across hosts
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_text('')
        probe.unlink(missing_ok=True)
    except OSError:
        raise
    except Exception as e:  # pylint: disable=broad-exception-caught
        raise OSError(f'{type(e).__name__}: {e}') from e


@contextlib.contextmanager
def replacing(path: epath.PathLike) -> Iterator[str]:
    """A local temporary path to write ``path``'s new contents to (parents created)."""
    path = epath.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_remote(path):
        with tempfile.TemporaryDirectory() as folder:
            temporary = os.path.join(folder, path.name)
            yield temporary
            path.write_bytes(epath.Path(temporary).read_bytes())
        return
    temporary = path.with_name(f'{path.stem}.tmp-{os.getpid()}{path.suffix}')
    try:
        yield os.fspath(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_text(path: epath.PathLike, text: str) -> None:
    """Replaces ``path`` by ``text`` (UTF-8) whole."""
    with replacing(path) as temporary:
        with open(temporary, 'w', encoding='utf-8') as f:
            f.write(text)


def write_json(path: epath.PathLike, data: Any, **dumps_kwargs) -> None:
    """Replaces ``path`` by ``data`` as strict JSON: NaN and ±inf (which strict parsers
    reject) become null."""
    write_text(path, json.dumps(_finite_or_none(data), allow_nan=False, **dumps_kwargs))


def append_text(path: epath.PathLike, text: str) -> None:
    """Appends ``text`` (UTF-8) to ``path``, creating it if missing."""
    path = epath.Path(path)
    if not is_remote(path):
        with open(path, 'a', encoding='utf-8') as f:
            f.write(text)
        return
    old = path.read_text(encoding='utf-8') if path.exists() else ''
    write_text(path, old + text)


def read_text(path: epath.PathLike) -> str:
    """``path``'s contents as UTF-8 text."""
    return epath.Path(path).read_text(encoding='utf-8')


def read_json(path: epath.PathLike) -> Any:
    """``path``'s contents parsed as JSON (``ValueError`` if they are not)."""
    return json.loads(read_text(path))


def cache_dir() -> epath.Path:
    """``$GANJAX_CACHE_DIR`` (local or a bucket), else ~/.cache/ganjax."""
    return epath.Path(os.environ.get('GANJAX_CACHE_DIR')
                      or os.path.join(os.path.expanduser('~'), '.cache', 'ganjax'))


def _finite_or_none(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite_or_none(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite_or_none(value) for value in data]
    return data
