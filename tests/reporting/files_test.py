"""Tests of ganjax.reporting.files: whole files or the old ones, strict JSON."""
import json
import os

import numpy as np
import pytest

from ganjax.reporting import files


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    path = str(tmp_path / 'results.json')
    files.write_text(path, 'old')
    with pytest.raises(RuntimeError):
        with files.replacing(path) as partial:
            with open(partial, 'w', encoding='utf-8') as f:
                f.write('half of the new')
            raise RuntimeError('killed mid-write')
    assert read(path) == 'old'
    assert os.listdir(tmp_path) == ['results.json']


def test_the_temporary_keeps_the_extension_and_parents_are_made(tmp_path):
    path = str(tmp_path / 'a' / 'b' / 'samples.npy')
    with files.replacing(path) as partial:
        assert partial.endswith('.npy') and partial != path
        np.save(partial, np.arange(3))  # np.save would append .npy to other names
    np.testing.assert_array_equal(np.load(path), np.arange(3))
    assert os.listdir(tmp_path / 'a' / 'b') == ['samples.npy']


def test_json_is_strict_with_non_finite_numbers_as_null(tmp_path):
    path = str(tmp_path / 'results.json')
    files.write_json(path, {'kl': float('nan'), 'per_seed': [1.5, float('inf')], 'n': 3})
    text = read(path)
    assert 'NaN' not in text and 'Infinity' not in text
    assert json.loads(text) == {'kl': None, 'per_seed': [1.5, None], 'n': 3}


def test_check_writable_makes_the_folder_and_leaves_nothing(tmp_path):
    folder = tmp_path / 'a' / 'b'
    files.check_writable(str(folder))
    assert os.listdir(folder) == []
    (tmp_path / 'a_file').write_text('not a folder')
    with pytest.raises(OSError):
        files.check_writable(str(tmp_path / 'a_file' / 'c'))
