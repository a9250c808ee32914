"""Tests for ganjax.train.checkpoint: exact round trips, retention, and damaged checkpoints."""

import logging
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganjax import errors
from ganjax.train import checkpoint

# When one array of a checkpoint fails to read, orbax abandons the other tensorstore
# reads; those finish after orbax has closed its event loop and their callbacks raise
# "Event loop is closed" into sys.unraisablehook. Harmless, but pytest turns it into a
# warning (an error under our settings), so tests that restore a damaged checkpoint
# ignore exactly that.
ignore_abandoned_reads = pytest.mark.filterwarnings(
    'ignore:Exception ignored in. None:pytest.PytestUnraisableExceptionWarning')


@flax.struct.dataclass
class TrainState:
    """The shape of the loop's state: what the checkpoint has to carry exactly."""
    step: jax.Array
    g_params: dict
    g_batch_stats: dict
    d_params: dict
    d_state: dict
    g_opt_state: optax.OptState
    d_opt_state: optax.OptState
    ema_params: dict
    key: jax.Array


def make_state(seed: int) -> TrainState:
    """A small state whose every leaf depends on `seed`, optimisers one update in."""
    keys = jax.random.split(jax.random.key(seed), 4)
    g_params = {
        'dense': {'kernel': jax.random.normal(keys[0], (3, 4)),
                  'bias': jnp.full((4,), seed, jnp.float32)},
        'out': {'kernel': jax.random.normal(keys[1], (4, 2), jnp.bfloat16)},
    }
    d_params = {'dense': {'kernel': jax.random.normal(keys[2], (2, 1))}}
    tx = optax.adam(1e-3)
    g_opt_state = tx.init(g_params)
    d_opt_state = tx.init(d_params)
    _, g_opt_state = tx.update(jax.tree.map(jnp.ones_like, g_params), g_opt_state, g_params)
    _, d_opt_state = tx.update(jax.tree.map(jnp.ones_like, d_params), d_opt_state, d_params)
    return TrainState(
        step=jnp.asarray(seed, jnp.int32),
        g_params=g_params,
        g_batch_stats={'bn': {'mean': jnp.full((4,), 0.5 * seed), 'var': jnp.ones((4,))}},
        d_params=d_params,
        d_state={'spectral_norm': {'u': jax.random.normal(keys[3], (1, 2))}},
        g_opt_state=g_opt_state,
        d_opt_state=d_opt_state,
        ema_params=jax.tree.map(lambda x: x * 0.5, g_params),
        key=jax.random.fold_in(jax.random.key(seed), 7),
    )


def assert_states_equal(actual: TrainState, expected: TrainState) -> None:
    assert type(actual) is type(expected)
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        assert a.dtype == e.dtype and a.shape == e.shape
        if jax.dtypes.issubdtype(e.dtype, jax.dtypes.prng_key):
            a, e = jax.random.key_data(a), jax.random.key_data(e)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))


def step_dirs(directory) -> list[str]:
    return sorted(os.listdir(directory))


@pytest.mark.parametrize('target_kind', ['concrete', 'abstract'])
def test_round_trip_is_exact(tmp_path, target_kind):
    saved = make_state(seed=3)
    target = make_state(seed=0)
    if target_kind == 'abstract':
        target = jax.eval_shape(lambda: make_state(seed=0))
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        ckpt.save(3, saved)
        restored, step = ckpt.restore_latest(target)
    assert step == 3
    assert_states_equal(restored, saved)
    # The key still works as a typed key and draws the same numbers.
    np.testing.assert_array_equal(jax.random.uniform(restored.key, (3,)),
                                  jax.random.uniform(saved.key, (3,)))


def test_restore_keeps_target_shardings(tmp_path):
    mesh = jax.make_mesh((4,), ('data',))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    rows = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
    state = {
        'w': jax.device_put(jnp.arange(8.0).reshape(4, 2), rows),
        'step': jax.device_put(jnp.int32(5), replicated),
        'key': jax.device_put(jax.random.key(1), replicated),
        'keys': jax.device_put(jax.random.split(jax.random.key(2), 4), rows),
    }
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        ckpt.save(5, state)
        restored, _ = ckpt.restore_latest(state)
    for name in state:
        assert restored[name].sharding == state[name].sharding, name
        assert restored[name].dtype == state[name].dtype, name
    np.testing.assert_array_equal(jax.random.key_data(restored['keys']),
                                  jax.random.key_data(state['keys']))


def test_relative_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with checkpoint.Checkpointer('ckpt') as ckpt:
        ckpt.save(1, {'x': jnp.arange(3)})
        restored, step = ckpt.restore_latest({'x': jnp.zeros(3, jnp.int32)})
    assert step == 1 and ckpt.directory == str(tmp_path / 'ckpt')
    np.testing.assert_array_equal(restored['x'], np.arange(3))


def test_no_checkpoint_gives_none(tmp_path):
    with checkpoint.Checkpointer(str(tmp_path / 'new')) as ckpt:
        assert ckpt.latest_step() is None
        assert ckpt.restore_latest(make_state(0)) == (None, None)
    assert (tmp_path / 'new').is_dir()


@pytest.mark.parametrize('max_to_keep, saved_steps, kept', [
    (1, [1, 2, 3], ['3']),
    (2, [10, 20, 30, 40], ['30', '40']),
    (3, [1, 2], ['1', '2']),
])
def test_retention_and_latest_step(tmp_path, max_to_keep, saved_steps, kept):
    state = {'x': jnp.zeros(2)}
    with checkpoint.Checkpointer(str(tmp_path), max_to_keep=max_to_keep) as ckpt:
        for step in saved_steps:
            ckpt.save(step, state)
            assert ckpt.latest_step() == step
    assert step_dirs(tmp_path) == kept


def test_latest_step_survives_reopening(tmp_path):
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        ckpt.save(7, {'x': jnp.zeros(2)})
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        assert ckpt.latest_step() == 7


def test_ctrl_c_during_a_save_is_raised_once_the_checkpoint_is_committed(tmp_path,
                                                                        monkeypatch):
    handler = signal.getsignal(signal.SIGINT)  # ignored in a pytest-xdist worker
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        save = ckpt._manager.save  # pylint: disable=protected-access

        def interrupted_save(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            return save(*args, **kwargs)
        monkeypatch.setattr(ckpt._manager, 'save', interrupted_save)  # pylint: disable=protected-access
        with pytest.raises(KeyboardInterrupt):
            ckpt.save(3, {'x': jnp.ones(2)})
        assert ckpt.latest_step() == 3
    assert signal.getsignal(signal.SIGINT) == handler
    with checkpoint.Checkpointer(str(tmp_path), read_only=True) as ckpt:
        restored, step = ckpt.restore_latest({'x': jnp.zeros(2)})
    assert step == 3 and np.array_equal(restored['x'], np.ones(2))


def test_save_of_an_old_step_raises(tmp_path):
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        ckpt.save(5, {'x': jnp.zeros(2)})
        with pytest.raises(ValueError, match='step=5'):
            ckpt.save(5, {'x': jnp.ones(2)})


def test_bad_max_to_keep_raises(tmp_path):
    with pytest.raises(ValueError, match='max_to_keep'):
        checkpoint.Checkpointer(str(tmp_path), max_to_keep=0)


def truncate_data_files(step_dir: pathlib.Path) -> None:
    data_files = [p for p in step_dir.rglob('*') if p.is_file() and p.parent.name == 'd']
    assert data_files
    for path in data_files:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def delete_data_files(step_dir: pathlib.Path) -> None:
    for path in step_dir.rglob('d'):
        shutil.rmtree(path)


def delete_manifest(step_dir: pathlib.Path) -> None:
    for path in step_dir.rglob('manifest.ocdbt'):
        path.unlink()


def empty_directory(step_dir: pathlib.Path) -> None:
    shutil.rmtree(step_dir)
    step_dir.mkdir()


@ignore_abandoned_reads
@pytest.mark.parametrize('corrupt', [
    truncate_data_files, delete_data_files, delete_manifest, empty_directory])
def test_damaged_newest_falls_back_to_previous(tmp_path, caplog, corrupt):
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        for step in (1, 2, 3):
            ckpt.save(step, make_state(seed=step))
    corrupt(tmp_path / '3')

    with caplog.at_level(logging.WARNING), checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        restored, step = ckpt.restore_latest(make_state(seed=0))
        assert step == 2
        assert_states_equal(restored, make_state(seed=2))
        assert any('step 3' in r.getMessage() and r.levelno == logging.WARNING
                   for r in caplog.records)
        # The damaged step is moved aside (not deleted) and can be written again.
        dirs = step_dirs(tmp_path)
        assert dirs[:2] == ['1', '2'] and dirs[2].startswith('3.corrupt-')
        ckpt.save(3, make_state(seed=33))
        assert ckpt.restore_latest(make_state(seed=0))[1] == 3


@ignore_abandoned_reads
def test_two_damaged_checkpoints_fall_back_two_steps(tmp_path):
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        for step in (1, 2, 3):
            ckpt.save(step, make_state(seed=step))
    truncate_data_files(tmp_path / '3')
    empty_directory(tmp_path / '2')
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        restored, step = ckpt.restore_latest(make_state(seed=0))
    assert step == 1
    assert_states_equal(restored, make_state(seed=1))


@ignore_abandoned_reads
def test_mismatched_target_raises_and_moves_nothing(tmp_path):
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        for step in (1, 2):
            ckpt.save(step, {'x': jnp.zeros(2)})
        with pytest.raises(checkpoint.CheckpointRestoreError,
                           match=r'no checkpoint in .* can be restored \(steps \[1, 2\]\); '
                                 r'the newest, 2, fails with') as error:
            ckpt.restore_latest({'y': jnp.zeros(2), 'z': jnp.zeros(3)})
    assert step_dirs(tmp_path) == ['1', '2']
    # One line a person can read (orbax's own message holds the whole tree diff).
    assert '\n' not in str(error.value) and len(str(error.value)) < 600
    assert isinstance(error.value, errors.UserError)


def test_leftover_tmp_directory_is_ignored_and_removed(tmp_path):
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        ckpt.save(1, make_state(seed=1))
    # What a save SIGKILLed before its final rename leaves behind (orbax 0.12.8 naming).
    tmp_dir = tmp_path / '2.orbax-checkpoint-tmp'
    shutil.copytree(tmp_path / '1', tmp_dir)
    truncate_data_files(tmp_dir)

    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        assert ckpt.latest_step() == 1
        restored, step = ckpt.restore_latest(make_state(seed=0))
        assert step == 1
        assert_states_equal(restored, make_state(seed=1))
        ckpt.save(2, make_state(seed=2))
    assert step_dirs(tmp_path) == ['1', '2']


@ignore_abandoned_reads
def test_a_reader_never_touches_the_directory(tmp_path):
    with checkpoint.Checkpointer(str(tmp_path)) as ckpt:
        for step in (1, 2):
            ckpt.save(step, make_state(seed=step))
    truncate_data_files(tmp_path / '2')  # unreadable: a writer would move it aside
    in_progress = tmp_path / '3.orbax-checkpoint-tmp'  # a save the run is making
    shutil.copytree(tmp_path / '1', in_progress)
    before = sorted(os.listdir(tmp_path))

    with checkpoint.Checkpointer(str(tmp_path), read_only=True) as reader:
        restored, step = reader.restore_latest(make_state(seed=0))
        with pytest.raises(ValueError, match='read-only'):
            reader.save(4, make_state(seed=4))
    assert step == 1
    assert_states_equal(restored, make_state(seed=1))
    assert sorted(os.listdir(tmp_path)) == before


def test_a_reader_does_not_create_the_directory(tmp_path):
    missing = tmp_path / 'checkpoints'
    with checkpoint.Checkpointer(str(missing), read_only=True) as reader:
        assert reader.restore_latest(make_state(seed=0)) == (None, None)
    assert not missing.exists()


# Run in a child process: the file-size limit must not reach the test process, and the
# child's whole stderr is what a user would see.
_FULL_DISK = '''
import resource, signal, sys
import jax, jax.numpy as jnp
from ganjax.train import checkpoint
directory = sys.argv[1]
def state(value):  # 4 MiB of noise: incompressible
    return {'w': jax.random.normal(jax.random.key(0), (1024, 1024)) + value,
            'b': jnp.arange(10.0)}
with checkpoint.Checkpointer(directory) as ckpt:
    ckpt.save(1, state(1.0))
    # Files over 1 MiB now fail as on a full disk (EFBIG instead of ENOSPC).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
    try:
        ckpt.save(2, state(2.0))
    except checkpoint.CheckpointSaveError as error:
        print(error)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
with checkpoint.Checkpointer(directory) as ckpt:  # a restarted run
    restored, step = ckpt.restore_latest(state(0.0))
    print(step, bool(jnp.all(restored['w'] == state(1.0)['w'])))
    ckpt.save(2, state(2.0))
    print(ckpt.latest_step())
'''


def test_a_failed_save_keeps_the_previous_checkpoint_and_says_why_without_tracebacks(
        tmp_path):
    child = subprocess.run([sys.executable, '-c', _FULL_DISK, str(tmp_path)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    failure, restored, latest = child.stdout.splitlines()
    assert failure == (f'checkpoint 2 could not be written in {tmp_path} (File too large, '
                       'errno 27); the newest saved checkpoint, step 1, is kept: run the '
                       'same command to resume once the cause is fixed')
    assert restored == '1 True' and latest == '2'
    assert 'Traceback' not in child.stderr and 'Error' not in child.stderr


# TensorStore's two shapes of a failed write (from real runs, paths and spec shortened):
# the spec after the OS error's code, or between the error and its code (a failed open).
_SPEC = r"""[tensorstore_spec='{\"driver\":\"zarr\",\"metadata\":{\"chunks\":[]}}']"""


@pytest.mark.parametrize('message', [
    'OUT_OF_RANGE: Error writing "w/0" in OCDBT database at local file "/c/": Failed '
    'writing: "/c/d/4a": Failed to write 35078144 bytes to file 7: File too large '
    f"[os_error_code='27'] {_SPEC}",
    'OUT_OF_RANGE: Error opening "zarr" driver: Error writing "w/.zarray" in OCDBT '
    'database at local file "/c/": Failed writing: "/c/d/f9": Failed to write 9895936 '
    f"bytes to file 7: File too large {_SPEC} [os_error_code='27']",
])
def test_the_cause_of_a_failed_save_is_the_os_error_wherever_the_spec_stands(message):
    assert checkpoint._cause(ValueError(message)) == 'File too large, errno 27'


def test_a_failure_without_an_os_error_gives_its_first_line():
    assert checkpoint._cause(RuntimeError('quota exceeded\ndetails')) == 'quota exceeded'


_DAMAGED_NEWEST = '''
import pathlib, sys
from absl import app
import jax.numpy as jnp
from ganjax.harness import cli
from ganjax.train import checkpoint
def state(value):  # many arrays: many reads abandoned when one fails
    return {f'w{i}': jnp.full((64, 64), value + i) for i in range(60)}
def main(argv):  # as every entry point does
    cli.quiet_library_logs()
    directory = pathlib.Path(argv[1])
    with checkpoint.Checkpointer(str(directory)) as ckpt:
        for step in (1, 2):
            ckpt.save(step, state(float(step)))
    for path in (directory / '2').rglob('*'):
        if path.is_file() and path.parent.name == 'd':
            path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
    with checkpoint.Checkpointer(str(directory)) as ckpt:
        print(ckpt.restore_latest(state(0.0))[1])
app.run(main)
'''


def test_an_entry_point_falling_back_over_a_damaged_checkpoint_prints_no_traceback(
        tmp_path):
    child = subprocess.run([sys.executable, '-c', _DAMAGED_NEWEST, str(tmp_path)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert child.returncode == 0 and child.stdout == '1\n', child.stderr[-3000:]
    assert 'Checkpoint step 2' in child.stderr and 'is unreadable' in child.stderr
    assert 'Traceback' not in child.stderr and 'Event loop is closed' not in child.stderr


_READ_ONLY = '''
import sys
from absl import app
import jax.numpy as jnp
from ganjax.harness import cli
from ganjax.train import checkpoint
def main(argv):  # as every entry point does
    cli.quiet_library_logs()
    with checkpoint.Checkpointer(argv[1]) as ckpt:
        ckpt.save(1, {'w': jnp.ones(3)})
    with checkpoint.Checkpointer(argv[1], read_only=True) as reader:
        print(reader.latest_step())
app.run(main)
'''


def test_an_entry_point_reading_checkpoints_logs_no_warning_of_orbax(tmp_path):
    # A run checks its workdir's checkpoints read-only before it trains, as sampling and
    # evaluation read them: orbax's notices of that are noise in every run's log.
    child = subprocess.run([sys.executable, '-c', _READ_ONLY, str(tmp_path)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert child.returncode == 0 and child.stdout == '1\n', child.stderr[-3000:]
    orbax_warnings = [line for line in child.stderr.splitlines()
                      if line.startswith('W') and 'checkpoint_manager.py' in line]
    assert not orbax_warnings, orbax_warnings
