"""Two real processes (gloo collectives over localhost) train as one: the experiment
entry point, run as a 2-process job (sharded jit, one device each), logs the same losses
as one process with 4 devices does under the sharded jit (which ``loop_test`` checks
against pmap on the same 4 devices).

The global batches agree because ``data.num_shards`` is fixed at 2: each of the two
processes reads one shard, the single process reads both (``ganjax.data``).
"""
import os
import json
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np

from ganjax.harness import loop
import run_helpers

NUM_STEPS = 4
# No dropout, as in loop_test's pmap comparison (pmap draws its masks per device).
OVERRIDES = ('data.num_shards=2', 'log_every_steps=1', f'total_steps={NUM_STEPS}',
             'model.discriminator.dropout_rate=0.0', "eval.metrics=('fid',)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_two_processes(workdir: str, data_dir: str, overrides=OVERRIDES,
                      while_running=lambda processes: None
                      ) -> list[subprocess.CompletedProcess]:
    """Runs the MLP GAN's smoke config as a 2-process job with ``overrides``, calling
    ``while_running(processes)`` once both have started."""
    port = free_port()
    args = ['--config=experiments/configs/mnist_mlp_gan.py:smoke', f'--workdir={workdir}',
            '--config.data.source=embedded', f'--config.data.data_dir={data_dir}',
            *[f'--config.{override}' for override in overrides],
            f'--coordinator_address=127.0.0.1:{port}', '--num_processes=2']
    env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}  # one device each
    processes = [subprocess.Popen(
        [sys.executable, '-m', 'experiments.mnist', *args, f'--process_id={index}'],
        cwd=run_helpers.REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for index in range(2)]
    try:
        while_running(processes)
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:  # a process whose peer died waits for it; never leave one behind
        for process in processes:
            process.kill()
            process.wait()
    return [subprocess.CompletedProcess(p.args, p.returncode, out, err)
            for p, (out, err) in zip(processes, outputs)]


def single_process_config(data_dir: str):
    config = run_helpers.smoke_config(data_dir, log_every_steps=1, total_steps=NUM_STEPS)
    config.data.num_shards = 2
    config.model.discriminator.dropout_rate = 0.0
    config.eval.metrics = ('fid',)
    return config


def test_two_processes_match_one_process_with_four_devices(embedded_data_dir, tmp_path):
    results = run_two_processes(str(tmp_path / 'two'), embedded_data_dir)
    for index, result in enumerate(results):
        assert result.returncode == 0, f'process {index}:\n{result.stderr[-3000:]}'
    # Only process 0 logs its progress and writes files beside the shared checkpoints.
    assert 'step 4/4' in results[0].stderr and 'step 4/4' not in results[1].stderr
    two = run_helpers.losses_by_step(tmp_path / 'two')
    assert sorted(two) == list(range(1, NUM_STEPS + 1))
    workdir = str(tmp_path / 'one')
    loop.train_and_evaluate(single_process_config(embedded_data_dir), workdir)
    one = run_helpers.losses_by_step(workdir)
    assert sorted(one) == sorted(two)
    for step, values in one.items():
        np.testing.assert_allclose([two[step][k] for k in run_helpers.LOSS_KEYS],
                                   [values[k] for k in run_helpers.LOSS_KEYS],
                                   rtol=2e-4, atol=1e-5, err_msg=f'step {step}')
    # The final evaluation: both processes generate, process 0 writes.
    fids = []
    for run in (tmp_path / 'two', workdir):
        with open(os.path.join(run, 'eval.json'), encoding='utf-8') as f:
            fids.append([r['metrics']['fid'] for r in json.load(f)['results']])
    np.testing.assert_allclose(fids[0], fids[1], rtol=1e-3)


def test_a_sigterm_to_one_process_stops_both_at_one_saved_step(embedded_data_dir, tmp_path):
    workdir = str(tmp_path / 'run')

    def preempt_process_1(processes):  # once the run has saved a checkpoint
        deadline = time.time() + 240
        while not os.path.exists(os.path.join(workdir, 'checkpoints', '4')):
            assert all(p.poll() is None for p in processes) and time.time() < deadline
            time.sleep(0.05)
        processes[1].send_signal(signal.SIGTERM)

    results = run_two_processes(workdir, embedded_data_dir,
                                ('data.num_shards=2', 'total_steps=100000', 'ckpt_every_steps=4'),
                                preempt_process_1)
    steps = []
    for index, result in enumerate(results):
        assert result.returncode == 143, f'process {index}:\n{result.stderr[-3000:]}'
        steps.append(int(re.search(r'stopped by SIGTERM at step (\d+)', result.stderr)[1]))
    assert steps[0] == steps[1] > 4
    assert str(steps[0]) in os.listdir(os.path.join(workdir, 'checkpoints'))
