"""Writing a run's files so that a crash never leaves half of one.

``check_writable(folder)`` creates a folder and proves a file can be written in it, so
that work whose result could not be kept is refused before it starts.
``replacing(path)`` yields a temporary path beside ``path`` (with its extension, for
writers that infer the format from it); when the block ends without an error the
temporary file replaces ``path`` in one rename, so a reader, or a run killed mid-write,
sees the old file or the new one and never a part. ``write_text`` and ``write_json``
use it; ``write_json`` writes strict JSON, with non-finite numbers as null.
"""
from collections.abc import Iterator
import contextlib
import json
import math
import os
import tempfile
from typing import Any


def check_writable(folder: str) -> None:
    """Creates ``folder`` if missing and writes and removes a file in it; raises the
    ``OSError`` that stops either."""
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder):
        pass


@contextlib.contextmanager
def replacing(path: str) -> Iterator[str]:
    """A temporary path to write ``path``'s new contents to (parents created)."""
    root, extension = os.path.splitext(path)
    temporary = f'{root}.tmp-{os.getpid()}{extension}'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path: str, text: str) -> None:
    """Replaces ``path`` by ``text`` (UTF-8) in one rename."""
    with replacing(path) as temporary:
        with open(temporary, 'w', encoding='utf-8') as f:
            f.write(text)


def write_json(path: str, data: Any, **dumps_kwargs) -> None:
    """Replaces ``path`` by ``data`` as strict JSON: NaN and ±inf (which strict parsers
    reject) become null."""
    write_text(path, json.dumps(_finite_or_none(data), allow_nan=False, **dumps_kwargs))


def _finite_or_none(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite_or_none(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite_or_none(value) for value in data]
    return data
