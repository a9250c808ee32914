"""The mode-collapse benchmarks: their runs and results files.

2-D mixtures.

``run(config, workdir)`` writes

* ``samples.npy``: (S, num_samples, 2) generated points, seed by seed;
* ``results.json``: the protocol, per-seed numbers (``ganjax.data.mixtures.mode_coverage``),
  their mean and standard error (sample standard deviation / √S), the paper's anchor
  and the runtime; and ``by_batch_norm``, the means of the same generators sampled with
  each of ``ganjax.train.setup.BATCH_NORM_MODES`` (the samples and the per-seed numbers
  use the config's ``sampling.batch_norm``);
* ``samples.png``: one scatter panel per seed over the mixture's modes.

The config is ``experiments/configs/toy2d.py``'s.

Stacked MNIST. ``stacked_mnist_results(config, workdir, ...)`` gathers the
evaluations a training run wrote (``ganjax.evaluation.evaluators``, 'stacked_modes') into
``results.json``: the last one per generator, the modes over training, the protocol
and PacGAN's anchor.
"""
import dataclasses
import glob
import json
import os
import time

import numpy as np

from ganjax import errors
from ganjax.data import mixtures
from ganjax.data import pipeline
from ganjax.evaluation import evaluators
from ganjax.evaluation import feature_network
from ganjax.reporting import files
from ganjax.reporting import images
from ganjax.train import multiseed
from ganjax.train import setup as setup_lib

# Anchors (Lin et al. 2018, PacGAN, Table 1: its best PacGAN rows).
PAPER = {'ring': {'modes': 7.9, 'high_quality': 0.956},
         'grid': {'modes': 24.8, 'high_quality': 0.936}}
# PacGAN Table 2 (Stacked MNIST, 26,000 samples): DCGAN and PacDCGAN2.
PAPER_STACKED = {'dcgan': {'modes': 99.0, 'kl': 3.4},
                 'pacdcgan2': {'modes': 1000.0, 'kl': 0.06}}
METRICS = ('modes', 'high_quality', 'kl')
_REAL_BATCH = 1000  # real Stacked MNIST examples per read


def _mean_and_stderr(values) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    stderr = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(values.mean()), float(stderr)


def validate(config) -> None:
    """Raises ``errors.ConfigError`` naming the first bad key of a toy2d config."""
    errors.require(config.mixture in mixtures.MIXTURES, 'mixture', config.mixture,
                       f'be one of {sorted(mixtures.MIXTURES)}')
    for key in ('num_seeds', 'batch_size', 'total_steps', 'chunk_steps', 'num_train',
                'num_samples'):
        errors.positive_int(config, key)
    errors.require(config.total_steps % config.chunk_steps == 0, 'chunk_steps',
                       config.chunk_steps, f'divide total_steps={config.total_steps}')
    setup_lib.validate(config, data_shape=(2,), num_classes=0)


def run(config, workdir: str, command: str | None = None) -> dict:
    """Trains ``config.num_seeds`` seeds of ``config`` and writes the results; returns
    the contents of ``results.json``, which records ``command`` as the way to reproduce
    them."""
    validate(config)
    mixture = mixtures.MIXTURES[config.mixture]()
    setup = setup_lib.make_setup(config, (2,), 0)
    seeds = list(range(config.first_seed, config.first_seed + config.num_seeds))
    start = time.perf_counter()
    states, _ = multiseed.train(
        setup, mixture, seeds, batch_size=config.batch_size, total_steps=config.total_steps,
        num_train=config.num_train, chunk_steps=config.chunk_steps,
        log_every_steps=config.log_every_steps)
    runtime = time.perf_counter() - start
    by_batch_norm = {}
    for batch_norm in setup_lib.BATCH_NORM_MODES:
        mode_setup = dataclasses.replace(
            setup, sampling=dataclasses.replace(setup.sampling, batch_norm=batch_norm))
        mode_points = multiseed.samples(mode_setup, states, seeds, config.num_samples,
                                        use_ema=config.sample_from_ema)
        coverage = [vars(mixtures.mode_coverage(p, mixture)) for p in mode_points]
        by_batch_norm[batch_norm] = {name: _mean_and_stderr([c[name] for c in coverage])[0]
                                     for name in METRICS}
        if batch_norm == setup.sampling.batch_norm:
            points, per_seed = mode_points, [dict(seed=seed, **c)
                                             for seed, c in zip(seeds, coverage)]
    summary = {name: _mean_and_stderr([r[name] for r in per_seed]) for name in METRICS}
    results = dict(
        mixture=config.mixture, variant=config.variant,
        protocol=dict(num_modes=len(mixture.modes), std=mixture.std,
                      num_train=config.num_train, num_samples=config.num_samples,
                      high_quality_stds=mixtures.HIGH_QUALITY_STDS,
                      sampled_from='ema' if config.sample_from_ema else 'raw generator',
                      batch_norm=setup.sampling.batch_norm,
                      seeds=seeds, total_steps=config.total_steps,
                      batch_size=config.batch_size),
        per_seed=per_seed,
        mean={name: value[0] for name, value in summary.items()},
        stderr={name: value[1] for name, value in summary.items()},
        by_batch_norm=by_batch_norm,
        paper=PAPER[config.mixture], runtime_s=round(runtime, 1), command=command)
    os.makedirs(workdir, exist_ok=True)
    with files.replacing(os.path.join(workdir, 'samples.npy')) as path:
        np.save(path, points)
    files.write_json(os.path.join(workdir, 'results.json'), results, indent=2)
    images.plot_point_sets(
        points, os.path.join(workdir, 'samples.png'), reference=mixture.modes,
        titles=[f"seed {r['seed']}: {r['modes']}/{r['num_modes']} modes, "
                f"{100 * r['high_quality']:.1f}% HQ" for r in per_seed])
    return results


def stacked_mnist_results(config, workdir: str, command: str | None,
                          runtime_s: float) -> dict:
    """Writes ``workdir/results.json`` from the run's evaluations and returns it."""
    history = []
    for path in sorted(glob.glob(os.path.join(workdir, 'eval', 'step_*.json'))):
        with open(path, encoding='utf-8') as f:
            history.extend(json.load(f)['results'])
    if not history:
        raise errors.ConfigError(f'{workdir} holds no evaluation (eval/step_*.json)')
    with open(os.path.join(workdir, 'data.json'), encoding='utf-8') as f:
        train_data = json.load(f)['source']
    last_step = max(r['step'] for r in history)
    final = {r['generator']: r['metrics'] for r in history if r['step'] == last_step}
    real_data = stacked_mnist_real_data(config.data, history[-1]['protocol']['num_generated'])
    results = dict(
        benchmark='stacked_mnist', variant=config.variant, real_data=real_data,
        protocol=dict(
            {k: v for k, v in history[-1]['protocol'].items()
             if k not in ('generator', 'checkpoint_step', 'seconds')},
            train_data=train_data, total_steps=config.total_steps,
            batch_size=config.batch_size, packing=config.model.discriminator.packing),
        final=final,
        over_training=[dict(step=r['step'], generator=r['generator'],
                            modes=r['metrics']['modes'], kl=r['metrics']['kl'])
                       for r in history],
        paper=PAPER_STACKED.get(config.variant), runtime_s=round(runtime_s, 1),
        command=command)
    files.write_json(os.path.join(workdir, 'results.json'), results, indent=2)
    return results


def stacked_mnist_real_data(data_config, num_samples: int) -> dict:
    """Modes and KL of ``num_samples`` real Stacked MNIST examples, counted as the
    generators' are: what a perfect generator would score. Even then the KL is not 0:
    a histogram of N samples over K equally likely modes has E[KL] ≈ (K − 1) / (2N)
    (0.019 for 26,000 samples over 1,000 modes), and the network misreads some digits."""
    batches, _ = pipeline.load_train(data_config, batch_size=_REAL_BATCH, seed=0)
    images = np.concatenate([next(batches)['image']
                             for _ in range(-(-num_samples // _REAL_BATCH))])[:num_samples]
    return dict(evaluators.stacked_modes(feature_network.load(), images),
                num_samples=num_samples)
