"""Tests of ganjax.harness.workdir: one run per workdir, resumed only by its own config."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from experiments.configs import mnist_mlp_gan
from ganjax import errors
from ganjax.harness import workdir
import run_helpers


def write_lock(path, **record):
    with open(os.path.join(path, workdir.LOCK_FILE), 'w', encoding='utf-8') as f:
        json.dump(record, f)


def dead_pid():
    process = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                             capture_output=True, text=True, check=True)
    return int(process.stdout)


def test_a_held_workdir_is_refused_naming_the_holder_and_released_on_exit(tmp_path):
    with workdir.Lock(str(tmp_path)):
        with pytest.raises(workdir.WorkdirError,
                           match=f'in use by process {os.getpid()} on {socket.gethostname()}'):
            with workdir.Lock(str(tmp_path)):
                pass
    assert not os.path.exists(tmp_path / workdir.LOCK_FILE)
    with workdir.Lock(str(tmp_path)):  # free again
        assert os.path.exists(tmp_path / workdir.LOCK_FILE)


@pytest.mark.parametrize('record,age_s,taken', [
    (lambda: dict(pid=dead_pid(), host=socket.gethostname()), 0, True),  # its holder died
    (lambda: dict(pid=1, host='another-host'), 0, False),  # live elsewhere, as far as we know
    (lambda: dict(pid=1, host='another-host'), workdir.STALE_AFTER_S + 60, True),
    (lambda: {}, 0, True),  # torn: written by a run killed mid-write
])
def test_stale_locks_do_not_block(tmp_path, record, age_s, taken):
    write_lock(tmp_path, **record(), refreshed=time.time() - age_s)
    if taken:
        with workdir.Lock(str(tmp_path)):
            with open(tmp_path / workdir.LOCK_FILE, encoding='utf-8') as f:
                assert json.load(f)['pid'] == os.getpid()
    else:
        with pytest.raises(workdir.WorkdirError, match='another-host'):
            with workdir.Lock(str(tmp_path)):
                pass


def test_a_lock_taken_over_by_another_run_is_not_removed_on_exit(tmp_path):
    with workdir.Lock(str(tmp_path)):
        write_lock(tmp_path, pid=1, host='another-host')
    assert os.path.exists(tmp_path / workdir.LOCK_FILE)


def saved_run(path, config):
    with open(os.path.join(path, 'config.json'), 'w', encoding='utf-8') as f:
        f.write(config.to_json_best_effort(indent=2, sort_keys=True))


def test_only_cadence_keys_may_change_on_resume(tmp_path):
    saved = mnist_mlp_gan.get_config()
    saved_run(tmp_path, saved)
    resumed = mnist_mlp_gan.get_config()
    resumed.total_steps, resumed.log_every_steps, resumed.parallel = 9000, 7, 'pmap'
    resumed.eval.num_samples, resumed.sampling.batch_norm = 64, 'running'
    workdir.check_resumable(resumed, str(tmp_path), checkpoint_step=4000)

    other = mnist_mlp_gan.get_config()
    other.loss.name, other.batch_size = 'hinge', 32
    with pytest.raises(errors.ConfigError,
                       match=r"batch_size: 64 → 32, loss\.name: 'non_saturating' → 'hinge'"):
        workdir.check_resumable(other, str(tmp_path), checkpoint_step=4000)
    workdir.check_resumable(other, str(tmp_path), checkpoint_step=None)  # nothing to resume

    shorter = mnist_mlp_gan.get_config()
    shorter.total_steps = 100
    with pytest.raises(errors.ConfigError, match='total_steps must be at least .* 4000'):
        workdir.check_resumable(shorter, str(tmp_path), checkpoint_step=4000)


def test_keys_an_older_run_lacks_are_not_compared(tmp_path):
    old = json.loads(mnist_mlp_gan.get_config().to_json_best_effort())
    del old['sampling'], old['loss']['unroll_steps']
    with open(tmp_path / 'config.json', 'w', encoding='utf-8') as f:
        json.dump(old, f)
    workdir.check_resumable(mnist_mlp_gan.get_config(), str(tmp_path), checkpoint_step=1)


def test_a_corrupt_config_json_stops_a_resume(tmp_path):
    (tmp_path / 'config.json').write_text('{"seed": 0, "model": ')
    with pytest.raises(workdir.WorkdirError, match='config.json is not valid JSON'):
        workdir.check_resumable(mnist_mlp_gan.get_config(), str(tmp_path), checkpoint_step=1)


def test_a_second_run_and_another_config_are_one_line_errors(embedded_data_dir, tmp_path):
    run = str(tmp_path / 'run')
    data = ['--config.data.source=embedded', f'--config.data.data_dir={embedded_data_dir}']
    assert run_helpers.run_module(
        'experiments.mnist', '--config=experiments/configs/mnist_mlp_gan.py:smoke',
        f'--workdir={run}', *data).returncode == 0
    assert not os.path.exists(os.path.join(run, workdir.LOCK_FILE))  # released

    other = run_helpers.run_module(
        'experiments.mnist', '--config=experiments/configs/mnist_wgan_gp.py:smoke',
        f'--workdir={run}', *data)
    assert other.returncode == 2 and 'Traceback' not in other.stderr
    assert 'holds checkpoints of another config' in other.stderr
    assert "loss.name: 'non_saturating' → 'wasserstein'" in other.stderr

    write_lock(run, pid=os.getpid(), host=socket.gethostname(), started='now')  # a live run
    second = run_helpers.run_module(
        'experiments.mnist', '--config=experiments/configs/mnist_mlp_gan.py:smoke',
        '--config.total_steps=9', f'--workdir={run}', *data)
    assert second.returncode == 2 and 'Traceback' not in second.stderr
    assert f'in use by process {os.getpid()}' in second.stderr
    assert run_helpers.losses_by_step(run).keys() == {2, 4, 6}  # nothing more was written


@pytest.mark.parametrize('folder', workdir.RUN_FOLDERS)
def test_a_run_folder_that_cannot_be_written_stops_the_run_before_it_starts(tmp_path, folder):
    # A file where the folder should be: unwritable even for root. Orbax, refused its
    # checkpoint folder, would otherwise wait forever for the save it could not start.
    (tmp_path / folder).write_text('')
    with pytest.raises(workdir.WorkdirError, match=f'{tmp_path / folder} cannot be written'):
        workdir.prepare(str(tmp_path))
    workdir.prepare(str(tmp_path / 'fresh'))  # folders a run has not made are not required


def test_a_run_whose_lock_was_taken_over_stops_at_its_next_refresh(tmp_path):
    with workdir.Lock(str(tmp_path)) as lock:
        lock.refresh()  # still ours
        write_lock(tmp_path, pid=1, host='another-host', started='later',
                   refreshed=time.time())
        with pytest.raises(workdir.WorkdirError, match='taken over by process 1 on another-host'):
            lock.refresh()
    assert json.loads((tmp_path / workdir.LOCK_FILE).read_text())['host'] == 'another-host'


def test_a_reader_checks_only_the_folders_it_writes(tmp_path):
    (tmp_path / 'checkpoints').write_text('')  # unwritable for a trainer
    workdir.prepare(str(tmp_path), folders=('eval',))
    (tmp_path / 'eval').write_text('')
    with pytest.raises(workdir.WorkdirError, match='eval cannot be written'):
        workdir.prepare(str(tmp_path), folders=('eval',))
