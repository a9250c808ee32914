"""A 2-D benchmark run in its workdir: checkpoints, exact resume, refusals."""
import json
import os
import signal

import numpy as np
import pytest

from experiments.configs import toy2d as toy2d_config
from ganjax import errors
from ganjax.data import mixtures
from ganjax.evaluation import mode_collapse
from ganjax.harness import mixture_run
from ganjax.harness import workdir as workdir_lib
from ganjax.train import checkpoint
from ganjax.train import multiseed
from ganjax.train import preemption


def recipe_config():
    """Two seeds of the ring recipe for 20 steps, a checkpoint every 10: its cosine
    learning rates, EMA and EM-learned code prior all change along the run."""
    config = toy2d_config.get_config('ring,recipe,smoke')
    assert (config.total_steps, config.chunk_steps, config.ckpt_every_steps) == (20, 10, 10)
    return config


def steps_saved(workdir) -> list[int]:
    return sorted(int(name) for name in os.listdir(os.path.join(workdir, 'checkpoints')))


def saved_seconds(config, workdir) -> float:
    """The training seconds the workdir's newest checkpoint records."""
    setup_of = multiseed.fixed(mode_collapse.make_setup(config))
    seeds = mode_collapse.config_seeds(config)
    states, _ = multiseed.init_runs(setup_of, mixtures.MIXTURES[config.mixture](),
                                    config.num_train, multiseed.seed_keys(seeds), None)
    with checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                 read_only=True) as saved:
        restored, _ = saved.restore_latest(
            dict(states=states, train_seconds=np.zeros((), np.float32)))
    return float(restored['train_seconds'])


def test_a_stopped_run_resumes_to_what_an_uninterrupted_run_computes(tmp_path, monkeypatch):
    config = recipe_config()
    whole = mixture_run.run(config, str(tmp_path / 'whole'), command='toy2d')
    assert steps_saved(tmp_path / 'whole') == [10, 20]

    stopped = tmp_path / 'stopped'

    def stop(lock):  # the run is killed right after its first checkpoint
        raise KeyboardInterrupt
    with monkeypatch.context() as patch:
        patch.setattr(workdir_lib.Lock, 'refresh', stop)
        with pytest.raises(KeyboardInterrupt):
            mixture_run.run(config, str(stopped), command='toy2d')
    assert steps_saved(stopped) == [10]
    assert not (stopped / 'results.json').exists() and not (stopped / 'run.lock').exists()

    stopped_seconds = saved_seconds(config, stopped)
    assert stopped_seconds > 0

    resumed = mixture_run.run(config, str(stopped), command='toy2d')
    assert steps_saved(stopped) == [10, 20]
    np.testing.assert_array_equal(np.load(stopped / 'samples.npy'),
                                  np.load(tmp_path / 'whole' / 'samples.npy'))
    assert resumed['per_seed'] == whole['per_seed']
    # The runtime adds the resumed run's seconds to the stopped run's.
    assert resumed['runtime_s'] > stopped_seconds

    # Run again once finished, it trains nothing more and writes the same results.
    again = mixture_run.run(config, str(stopped), command='toy2d')
    assert again['per_seed'] == whole['per_seed']
    assert again['runtime_s'] == pytest.approx(resumed['runtime_s'], abs=0.1)


def test_a_sigterm_saves_the_chunk_it_arrives_in_and_the_rerun_continues_exactly(
        tmp_path, monkeypatch):
    config = toy2d_config.get_config('ring,gan,smoke')  # a constant learning rate
    config.total_steps, config.ckpt_every_steps = 40, 20  # chunks of 10 steps
    mixture_run.run(config, str(tmp_path / 'whole'), command='toy2d')

    stopped = tmp_path / 'stopped'

    notices = [signal.SIGTERM]

    def preempt(lock):  # the notice arrives right after the checkpoint of step 20, once
        while notices:
            os.kill(os.getpid(), notices.pop())
    with monkeypatch.context() as patch:
        patch.setattr(workdir_lib.Lock, 'refresh', preempt)
        with pytest.raises(preemption.Preempted, match='at step 30'):
            mixture_run.run(config, str(stopped), command='toy2d')
    assert steps_saved(stopped) == [20, 30]
    assert not (stopped / 'results.json').exists() and not (stopped / 'run.lock').exists()

    mixture_run.run(config, str(stopped), command='toy2d')
    np.testing.assert_array_equal(np.load(stopped / 'samples.npy'),
                                  np.load(tmp_path / 'whole' / 'samples.npy'))


def test_a_finished_run_extends_to_more_steps_from_its_last_checkpoint(tmp_path):
    config = toy2d_config.get_config('ring,gan,smoke')  # a constant learning rate
    mixture_run.run(config, str(tmp_path / 'extended'), command='toy2d')
    config.total_steps = 40
    mixture_run.run(config, str(tmp_path / 'extended'), command='toy2d')
    assert steps_saved(tmp_path / 'extended') == [30, 40]  # checkpoint.max_to_keep = 2
    mixture_run.run(config, str(tmp_path / 'whole'), command='toy2d')
    np.testing.assert_array_equal(np.load(tmp_path / 'extended' / 'samples.npy'),
                                  np.load(tmp_path / 'whole' / 'samples.npy'))


def test_checkpoints_of_another_config_are_refused_and_kept(tmp_path):
    config = toy2d_config.get_config('ring,gan,smoke')
    mixture_run.run(config, str(tmp_path), command='toy2d')
    before = (tmp_path / 'results.json').read_text()
    config.batch_size = 50
    with pytest.raises(errors.ConfigError, match='batch_size: 100 → 50'):
        mixture_run.run(config, str(tmp_path), command='toy2d')
    assert steps_saved(tmp_path) == [10, 20]
    assert (tmp_path / 'results.json').read_text() == before
    assert json.loads((tmp_path / 'config.json').read_text())['batch_size'] == 100


def test_a_bad_config_is_refused_before_the_workdir_is_made(tmp_path):
    config = toy2d_config.get_config('ring,gan,smoke')
    config.ckpt_every_steps = 15
    with pytest.raises(errors.ConfigError, match='chunk_steps must divide ckpt_every_steps=15'):
        mixture_run.run(config, str(tmp_path / 'run'), command='toy2d')
    assert not (tmp_path / 'run').exists()
