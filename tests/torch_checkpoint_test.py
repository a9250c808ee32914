"""Tests of ganjax.torch_checkpoint: PyTorch .pth files read without PyTorch, safely.

The fixtures are ``torch.save`` of one small state dict (PyTorch 2.13), in the zip format
and in the older stream format (``_use_new_zipfile_serialization=False``), with its
arrays in ``torch_state_expected.npz`` (bfloat16 as float32): a convolution and a
BatchNorm (``num_batches_tracked`` is int64), a transposed (strided) tensor, a slice at
an offset into its storage, int32, bfloat16 and bool tensors.
"""
import collections
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from ganjax import torch_checkpoint

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures')


@pytest.mark.parametrize('name', ['torch_state_zip.pth', 'torch_state_legacy.pth'])
def test_both_formats_read_exactly(name):
    state = torch_checkpoint.load(os.path.join(FIXTURES, name))
    with np.load(os.path.join(FIXTURES, 'torch_state_expected.npz')) as expected:
        assert list(state) == list(expected)  # in the saved order
        for key in expected:
            assert state[key].shape == expected[key].shape, key
            np.testing.assert_array_equal(state[key].astype(expected[key].dtype),
                                          expected[key], err_msg=key)
    assert state['0.weight'].dtype == np.float32 and state['sliced'].dtype == np.float64
    assert state['1.num_batches_tracked'].dtype == np.int64
    assert state['bfloat16'].dtype.name == 'bfloat16' and state['flags'].dtype == np.bool_


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def _zip_pth(path, data_pkl: bytes, **members):
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('archive/data.pkl', data_pkl)
        for name, data in members.items():
            archive.writestr(f'archive/{name}', data)


def test_a_forbidden_global_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / 'ran'
    payload = pickle.dumps(_RunsACommand(marker), protocol=2)
    _zip_pth(tmp_path / 'evil.pth', payload)
    (tmp_path / 'evil_legacy.pth').write_bytes(  # the stream format's header, then it
        b''.join(pickle.dumps(x, protocol=2) for x in (0x1950a86a20f9469cfc6c, 1001, {}))
        + payload)
    for name in ('evil.pth', 'evil_legacy.pth'):
        with pytest.raises(torch_checkpoint.UnsafeCheckpointError,
                           match=r'refusing to load (posix|os)\.system'):
            torch_checkpoint.load(tmp_path / name)
    assert not marker.exists()


def test_a_storage_shorter_than_its_tensors_is_refused(tmp_path):
    with zipfile.ZipFile(os.path.join(FIXTURES, 'torch_state_zip.pth')) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    storage = next(n for n in members if '/data/' in n)
    members[storage] = members[storage][:3]
    with zipfile.ZipFile(tmp_path / 'short.pth', 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(torch_checkpoint.UnsafeCheckpointError, match='holds 3 bytes'):
        torch_checkpoint.load(tmp_path / 'short.pth')


@pytest.mark.parametrize('content', [b'not a checkpoint', pickle.dumps([1, 2], protocol=2)])
def test_other_files_are_refused(tmp_path, content):
    (tmp_path / 'other.pth').write_bytes(content)
    with pytest.raises(torch_checkpoint.UnsafeCheckpointError):
        torch_checkpoint.load(tmp_path / 'other.pth')
    _zip_pth(tmp_path / 'other_zip.pth', pickle.dumps({'a': 1}, protocol=2))
    with pytest.raises(torch_checkpoint.UnsafeCheckpointError, match='state dict of tensors'):
        torch_checkpoint.load(tmp_path / 'other_zip.pth')


def _op_global(module, name):
    return b'c' + f'{module}\n{name}\n'.encode()


def _op_str(text):
    return b'X' + struct.pack('<I', len(text)) + text.encode()


def _op_ints(*values):
    return b'(' + b''.join(b'J' + struct.pack('<i', v) for v in values) + b't'


def _one_tensor_pickle(numel, size, stride):
    """data.pkl of {'w': _rebuild_tensor_v2(storage '0' of ``numel`` floats, 0, size,
    stride, False, OrderedDict())}, written opcode by opcode (no torch needed)."""
    storage = (b'(' + _op_str('storage') + _op_global('torch', 'FloatStorage') + _op_str('0')
               + _op_str('cpu') + b'J' + struct.pack('<i', numel) + b'tQ')
    tensor = (_op_global('torch._utils', '_rebuild_tensor_v2') + b'(' + storage + b'J\0\0\0\0'
              + _op_ints(*size) + _op_ints(*stride) + b'\x89'
              + _op_global('collections', 'OrderedDict') + b')RtR')
    return b'\x80\x02}' + _op_str('w') + tensor + b's.'


def test_the_handmade_pickle_reads_and_tensors_cannot_outgrow_their_storage(tmp_path):
    floats = np.arange(4, dtype=np.float32).tobytes()
    _zip_pth(tmp_path / 'ok.pth', _one_tensor_pickle(4, (2, 2), (1, 2)), **{'data/0': floats})
    np.testing.assert_array_equal(torch_checkpoint.load(tmp_path / 'ok.pth')['w'],
                                  [[0, 2], [1, 3]])
    for name, (size, stride) in {'zero_stride': ((3000, 3000), (0, 0)),
                                 'past_the_end': ((2, 2), (3, 1))}.items():
        _zip_pth(tmp_path / f'{name}.pth', _one_tensor_pickle(4, size, stride),
                 **{'data/0': floats})
        with pytest.raises(torch_checkpoint.UnsafeCheckpointError,
                           match='more elements than|past the end'):
            torch_checkpoint.load(tmp_path / f'{name}.pth')


class _SetsAttributes:
    def __reduce__(self):
        return collections.OrderedDict, (), {'numel': 64}


def test_setting_attributes_is_refused(tmp_path):
    _zip_pth(tmp_path / 'build.pth', pickle.dumps(_SetsAttributes(), protocol=2))
    with pytest.raises(torch_checkpoint.UnsafeCheckpointError,
                       match='refusing to set attributes of a OrderedDict'):
        torch_checkpoint.load(tmp_path / 'build.pth')
