"""Reading PyTorch ``.pth`` files (``torch.save`` of a state dict) without PyTorch and
without unrestricted unpickling.

``load(path) -> dict[str, np.ndarray]`` reads both of ``torch.save``'s formats: the zip
archive (PyTorch ≥ 1.6: ``<name>/data.pkl`` and one file per storage under
``<name>/data/``) and the older stream of pickles followed by the raw storages. A pickle
can name any Python callable, so unpickling an untrusted file can run anything; like
``torch.load(weights_only=True)``, this reader resolves only the globals that rebuild
tensors and state dicts (``ALLOWED_GLOBALS``) to functions of its own that make NumPy
arrays, and refuses any other with ``UnsafeCheckpointError`` before calling anything.
"""
import collections
from collections.abc import Callable
import io
import math
import operator
import os
import pickle
import struct
from typing import Any, BinaryIO
import zipfile

import ml_dtypes
import numpy as np

from ganjax import errors

# torch.<Name>Storage → the NumPy dtype of its elements.
_STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'BFloat16Storage': ml_dtypes.bfloat16, 'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8, 'ByteStorage': np.uint8,
    'BoolStorage': np.bool_,
}
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # torch.serialization.MAGIC_NUMBER


class UnsafeCheckpointError(errors.UserError, ValueError):
    """The file is not a state dict this reader can rebuild safely."""


class _Storage:
    """A storage's elements, filled in once its bytes are read."""
    __slots__ = ('dtype', 'numel', 'array')

    def __init__(self, dtype: np.dtype, numel: int):
        self.dtype, self.numel = np.dtype(dtype), operator.index(numel)
        self.array: np.ndarray | None = None

    def fill(self, data: bytes) -> None:
        expected = self.numel * self.dtype.itemsize
        if len(data) != expected:
            raise UnsafeCheckpointError(f'a storage holds {len(data)} bytes, not {expected}')
        self.array = np.frombuffer(data, self.dtype)


class _Tensor:
    """A tensor to build from its storage once every storage is read."""
    __slots__ = ('storage', 'offset', 'size', 'stride')

    def __init__(self, storage: _Storage, offset, size, stride):
        self.storage, self.offset = storage, operator.index(offset)
        self.size = tuple(map(operator.index, size))
        self.stride = tuple(map(operator.index, stride))

    def numel(self) -> int:
        return math.prod(self.size)

    def build(self) -> np.ndarray:
        """The tensor's elements, copied out of its storage after bounds checks (a
        strided view past the storage's end would read arbitrary memory, one with
        stride 0 could ask for any amount of it)."""
        array, dtype = self.storage.array, self.storage.dtype
        if len(self.size) != len(self.stride) or min((*self.size, *self.stride, 0)) < 0:
            raise UnsafeCheckpointError(f'a tensor has size {self.size}, stride {self.stride}')
        if self.numel() > self.storage.numel:
            raise UnsafeCheckpointError('a tensor has more elements than its storage')
        if 0 in self.size:
            return np.zeros(self.size, dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if self.offset < 0 or last >= array.size:
            raise UnsafeCheckpointError('a tensor reaches past the end of its storage')
        return np.lib.stride_tricks.as_strided(
            array[self.offset:], shape=self.size,
            strides=[s * dtype.itemsize for s in self.stride]).copy()


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    del requires_grad, backward_hooks, metadata  # autograd state: no meaning here
    if not isinstance(storage, _Storage):
        raise UnsafeCheckpointError('a tensor is built from something other than a storage')
    return _Tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    del requires_grad, backward_hooks
    return data


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor_v2,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    **{('torch', name): name for name in _STORAGE_DTYPES},
}


class _SafeUnpickler(pickle._Unpickler):  # pylint: disable=protected-access
    """Resolves only ``ALLOWED_GLOBALS``; storages come from ``storage_for``. BUILD (set
    an object's attributes) is allowed only for a state dict's ``_metadata``: it could
    otherwise rewrite this module's own objects. The pure-Python unpickler, since the C
    one's opcodes cannot be overridden; state dicts' pickles are small."""
    dispatch = dict(pickle._Unpickler.dispatch)  # pylint: disable=protected-access

    def __init__(self, file: BinaryIO, storage_for: Callable[[tuple], _Storage]):
        super().__init__(file)
        self._storage_for = storage_for

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise UnsafeCheckpointError(
                f'refusing to load {module}.{name}: a .pth file may only rebuild tensors and '
                'state dicts (as torch.load(weights_only=True) allows)') from None

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage'
                and pid[1] in _STORAGE_DTYPES):
            raise UnsafeCheckpointError(f'unknown persistent object {pid!r:.80}')
        return self._storage_for(pid)

    def _load_build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        if type(target) is not collections.OrderedDict or not (
                isinstance(state, dict) and set(state) <= {'_metadata'}):
            raise UnsafeCheckpointError(
                f'refusing to set attributes of a {type(target).__name__}')
        target.__dict__.update(state)

    dispatch[pickle.BUILD[0]] = _load_build


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The state dict saved in ``path`` by ``torch.save``, as name → NumPy array
    (``loads`` of its bytes)."""
    with open(path, 'rb') as f:
        return loads(f.read(), name=os.fspath(path))


def loads(data: bytes, name: str = 'the file') -> dict[str, np.ndarray]:
    """The state dict in ``data``, the bytes of a ``torch.save`` file.

    Raises:
      UnsafeCheckpointError: the file names a global other than ``ALLOWED_GLOBALS``, sets
        attributes, is malformed, or is not a state dict of tensors (each with at most its
        storage's elements, all together at most all storages' elements).
    """
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            state = _load_zip(zipfile.ZipFile(io.BytesIO(data)))
        else:
            state = _load_legacy(io.BytesIO(data))
    except UnsafeCheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, KeyError, IndexError, TypeError, ValueError,
            struct.error, zipfile.BadZipFile) as e:
        raise UnsafeCheckpointError(f'{name} is not a readable torch.save file ({e!r:.200})'
                                    ) from e
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, _Tensor) for k, v in state.items()):
        raise UnsafeCheckpointError(f'{name} does not hold a state dict of tensors')
    storages = {id(t.storage): t.storage.numel for t in state.values()}
    if sum(t.numel() for t in state.values()) > sum(storages.values()):
        raise UnsafeCheckpointError(f'{name}: its tensors have more elements than its storages')
    return {key: tensor.build() for key, tensor in state.items()}


def _load_zip(archive: zipfile.ZipFile) -> Any:
    pickles = [n for n in archive.namelist() if n.endswith('/data.pkl')]
    if len(pickles) != 1:
        raise UnsafeCheckpointError(f'expected one data.pkl in the archive, found {pickles}')
    root = pickles[0][:-len('data.pkl')]
    byteorder = (_read_stored(archive, root + 'byteorder').decode()
                 if root + 'byteorder' in archive.namelist() else 'little')
    if byteorder != 'little':
        raise UnsafeCheckpointError(f'storages in {byteorder}-endian order are not supported')
    storages = {}

    def storage_for(pid: tuple) -> _Storage:
        if len(pid) != 5:
            raise UnsafeCheckpointError(f'unknown persistent object {pid!r:.80}')
        _, storage_type, key, _location, numel = pid
        if key not in storages:
            storages[key] = _Storage(_STORAGE_DTYPES[storage_type], numel)
            storages[key].fill(_read_stored(archive, f'{root}data/{key}'))
        return storages[key]

    return _SafeUnpickler(io.BytesIO(_read_stored(archive, pickles[0])), storage_for).load()


def _read_stored(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member of the archive; torch.save stores them uncompressed, so a compressed one
    (which could expand a thousandfold) is refused."""
    if archive.getinfo(name).compress_type != zipfile.ZIP_STORED:
        raise UnsafeCheckpointError(f'{name} is compressed; torch.save stores members as they are')
    return archive.read(name)


def _load_legacy(f: io.BytesIO) -> Any:
    """torch.save before zip archives: pickles of a magic number, a protocol version and
    system information, the object, the list of storage keys, then each storage's
    element count (int64) and bytes in that order."""
    if _SafeUnpickler(f, _no_storage).load() != _LEGACY_MAGIC:
        raise UnsafeCheckpointError('neither a zip archive nor a torch.save stream')
    _SafeUnpickler(f, _no_storage).load()  # protocol version
    system = _SafeUnpickler(f, _no_storage).load()
    if isinstance(system, dict) and not system.get('little_endian', True):
        raise UnsafeCheckpointError('big-endian storages are not supported')
    storages = {}

    def storage_for(pid: tuple) -> _Storage:
        if len(pid) != 6:
            raise UnsafeCheckpointError(f'unknown persistent object {pid!r:.80}')
        _, storage_type, key, _location, numel, view = pid
        if view is not None:
            raise UnsafeCheckpointError('storage views are not supported')
        storages.setdefault(key, _Storage(_STORAGE_DTYPES[storage_type], numel))
        return storages[key]

    state = _SafeUnpickler(f, storage_for).load()
    for key in _SafeUnpickler(f, _no_storage).load():
        storage = storages[key]
        (numel,) = struct.unpack('<q', f.read(8))
        storage.fill(f.read(numel * storage.dtype.itemsize))
    return state


def _no_storage(pid: tuple) -> _Storage:
    raise UnsafeCheckpointError(f'unexpected storage {pid!r:.80} outside the state dict')
