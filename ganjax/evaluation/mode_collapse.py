"""The 2-D mode-collapse benchmarks (PacGAN's mixtures): their runs and results files.

``run(config, workdir)`` trains the seeds of a validated config (``validate``) and writes

* ``samples.npy``: (S, num_samples, 2) generated points, seed by seed;
* ``results.json``: the protocol, per-seed numbers (``ganjax.data.mixtures.mode_coverage``),
  their mean and standard error (sample standard deviation / √S), the paper's anchor
  and the runtime; and ``by_batch_norm``, the means of the same generators sampled with
  each of ``ganjax.train.setup.BATCH_NORM_MODES`` (the samples and the per-seed numbers
  use the config's ``sampling.batch_norm``);
* ``samples.png``: one scatter panel per seed over the mixture's modes.

The config is ``experiments/configs/toy2d.py``'s. Stacked MNIST's results file is
``ganjax.evaluation.run_results``'s.
"""
from collections.abc import Callable
import dataclasses
import os

import numpy as np

from ganjax import errors
from ganjax.data import mixtures
from ganjax.reporting import files
from ganjax.reporting import images
from ganjax.reporting import machine
from ganjax.train import checkpoint
from ganjax.train import multiseed
from ganjax.train import setup as setup_lib
from ganjax.train import sweep


def _row(name, modes, high_quality, kl):
    """A row of PacGAN's Table 1: each column's (mean, standard error over 10 trials)."""
    columns = dict(modes=modes, high_quality=high_quality, kl=kl)
    return dict(row=name, **{key: mean for key, (mean, _) in columns.items()},
                stderr={key: stderr for key, (_, stderr) in columns.items()})


# Anchors: Lin et al. 2018, PacGAN, Table 1 (its repository's
# synthetic_data_experiments/results/Table1.png), keyed by the variant each row stands
# for. The rows' protocol is the one the ``paper_*`` variants follow.
PAPER_TABLE1 = {
    'ring': {'gan': _row('GAN', (6.3, 0.5), (0.982, 0.002), (0.45, 0.09)),
             'pacgan2': _row('PacGAN2', (7.9, 0.1), (0.956, 0.020), (0.07, 0.03)),
             'pacgan3': _row('PacGAN3', (7.8, 0.1), (0.977, 0.003), (0.10, 0.02)),
             'pacgan4': _row('PacGAN4', (7.8, 0.1), (0.959, 0.014), (0.07, 0.02))},
    'grid': {'gan': _row('GAN', (17.3, 0.8), (0.948, 0.007), (0.70, 0.07)),
             'pacgan2': _row('PacGAN2', (23.8, 0.7), (0.913, 0.008), (0.13, 0.04)),
             'pacgan3': _row('PacGAN3', (24.6, 0.4), (0.942, 0.004), (0.06, 0.02)),
             'pacgan4': _row('PacGAN4', (24.8, 0.2), (0.936, 0.006), (0.04, 0.01))}}
# The row every other variant (ganjax's recipes and probes) is set beside: each
# mixture's most modes and lowest KL.
BEST_ROW = {'ring': 'pacgan2', 'grid': 'pacgan4'}
METRICS = ('modes', 'high_quality', 'kl')


def _mean_and_stderr(values) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    stderr = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(values.mean()), float(stderr)


def paper_row(mixture: str, variant: str) -> dict:
    """The row of PacGAN's Table 1 a 2-D variant is compared with: GAN for ``gan`` and
    ``paper_gan``, PacGANm for ``pacganm`` and ``paper_pacganm``, ``BEST_ROW`` for the rest."""
    rows = PAPER_TABLE1[mixture]
    return rows.get(variant.removeprefix('paper_'), rows[BEST_ROW[mixture]])


def validate(config) -> None:
    """Raises ``errors.ConfigError`` naming the first bad key of a toy2d config."""
    errors.require(config.mixture in mixtures.MIXTURES, 'mixture', config.mixture,
                       f'be one of {sorted(mixtures.MIXTURES)}')
    for key in ('num_seeds', 'batch_size', 'total_steps', 'chunk_steps', 'ckpt_every_steps',
                'num_train', 'num_samples', 'checkpoint.max_to_keep'):
        errors.positive_int(config, key)
    first, last = errors.config_value(config, 'first_seed'), 2 ** 32 - config.num_seeds
    errors.require(errors.is_int_at_least(first, 0) and first <= last, 'first_seed', first,
                   f'be an integer in [0, {last}] (its num_seeds={config.num_seeds} seeds '
                   'are unsigned 32-bit keys)')
    for key in ('total_steps', 'ckpt_every_steps'):  # host round trips end chunks only
        errors.require(config[key] % config.chunk_steps == 0, 'chunk_steps',
                       config.chunk_steps, f'divide {key}={config[key]}')
    num_codes = config.model.get('num_codes', 0)
    if config.model.conditional:
        errors.require(isinstance(num_codes, int) and num_codes >= 2, 'model.num_codes',
                       num_codes, 'be an integer >= 2 when model.conditional is True (the '
                       "mixtures have no labels: G's InfoGAN code takes num_codes values)")
        errors.require(not config.loss.get('auxiliary_on_real', True),
                       'loss.auxiliary_on_real', True,
                       "be False: the mixtures' points have no labels")
    else:
        errors.require(num_codes == 0, 'model.num_codes', num_codes,
                       'be 0 when model.conditional is False')
    if sweep.is_sweep(config):
        sweep.validate(config, lambda c: setup_lib.validate(c, data_shape=(2,),
                                                            num_classes=num_codes))
        sweep.check_traceable(config, _one_step)
    else:
        setup_lib.validate(config, data_shape=(2,), num_classes=num_codes)


def make_setup(config) -> setup_lib.GANSetup:
    """The setup of a mixture run; a coded G's codes stand where a dataset's classes
    would (InfoGAN, Chen et al. 2016)."""
    return setup_lib.make_setup(config, (2,), config.model.get('num_codes', 0))


def config_seeds(config) -> list[int]:
    """The seeds a mixture run trains: ``num_seeds`` from ``first_seed``."""
    return list(range(config.first_seed, config.first_seed + config.num_seeds))


def _one_step(config):
    """One seed's initial state, one train step and two samples: what the run compiles,
    for tracing."""
    setup = make_setup(config)
    key = multiseed.seed_keys([0])[0]
    state, train_set = multiseed.init_run(setup, mixtures.MIXTURES[config.mixture](),
                                          config.batch_size, key)
    state, _ = multiseed.run_step(setup, config.batch_size, state, train_set, key, 0)
    return multiseed.sample_run(setup, state, key, 2, use_ema=config.sample_from_ema)


def _setup_of(config) -> multiseed.SetupOf:
    if not sweep.is_sweep(config):
        return multiseed.fixed(make_setup(config))
    return lambda value: make_setup(sweep.with_value(config, value))


def _summary(coverage_by_mode: dict, seeds, batch_norm: str) -> dict:
    """Per-seed numbers (in the config's BatchNorm mode), their mean and standard error,
    and the means in every mode, of one group of runs (one per seed)."""
    per_seed = [dict(seed=seed, **c) for seed, c in zip(seeds, coverage_by_mode[batch_norm])]
    summary = {name: _mean_and_stderr([r[name] for r in per_seed]) for name in METRICS}
    return dict(
        per_seed=per_seed,
        mean={name: value[0] for name, value in summary.items()},
        stderr={name: value[1] for name, value in summary.items()},
        by_batch_norm={mode: {name: _mean_and_stderr([c[name] for c in coverage])[0]
                              for name in METRICS}
                       for mode, coverage in coverage_by_mode.items()})


def run(config, workdir: str, command: str | None = None, *,
        checkpoints: checkpoint.Checkpointer | None = None,
        after_save: Callable[[], None] = lambda: None) -> dict:
    """Trains ``config.num_seeds`` seeds of ``config`` (of each value of a sweep; the
    config passed ``validate``) and writes the results; returns the contents of
    ``results.json``, which records ``command`` as the way to reproduce them and the
    seconds trained, summed over resumptions.

    With ``checkpoints``, the training resumes from their newest checkpoint and saves
    every ``ckpt_every_steps`` steps and at the end (``ganjax.train.multiseed.train``);
    ``ganjax.harness.mixture_run`` gives a workdir's.

    Without a sweep, ``results.json`` holds ``per_seed``, ``mean``, ``stderr`` and
    ``by_batch_norm`` and ``samples.npy`` is (S, num_samples, 2). With one, ``sweep``
    names the key and values, ``by_value`` holds those four entries per value, and
    ``samples.npy`` is (V, S, num_samples, 2).
    """
    mixture = mixtures.MIXTURES[config.mixture]()
    setup_of = _setup_of(config)
    batch_norm = setup_lib.SamplingConfig.from_config(config).batch_norm
    seeds = config_seeds(config)
    swept = sweep.values(config)
    run_seeds = seeds * len(swept) if swept else seeds
    run_values = [value for value in swept for _ in seeds] if swept else None
    states, _, runtime = multiseed.train(
        setup_of, mixture, run_seeds, batch_size=config.batch_size,
        total_steps=config.total_steps, num_train=config.num_train,
        chunk_steps=config.chunk_steps, log_every_steps=config.log_every_steps,
        values=run_values, checkpoints=checkpoints,
        ckpt_every_steps=config.ckpt_every_steps, after_save=after_save)
    coverage_by_mode = {}
    for mode in setup_lib.BATCH_NORM_MODES:
        def mode_setup_of(value, mode=mode):
            setup = setup_of(value)
            return dataclasses.replace(
                setup, sampling=dataclasses.replace(setup.sampling, batch_norm=mode))
        mode_points = multiseed.samples(mode_setup_of, states, run_seeds, config.num_samples,
                                        use_ema=config.sample_from_ema, values=run_values)
        coverage_by_mode[mode] = [vars(mixtures.mode_coverage(p, mixture))
                                  for p in mode_points]
        if mode == batch_norm:
            points = mode_points
    results = dict(
        mixture=config.mixture, variant=config.variant,
        protocol=dict(num_modes=len(mixture.modes), std=mixture.std,
                      num_train=config.num_train, num_samples=config.num_samples,
                      high_quality_stds=mixtures.HIGH_QUALITY_STDS,
                      sampled_from='ema' if config.sample_from_ema else 'raw generator',
                      batch_norm=batch_norm, seeds=seeds, total_steps=config.total_steps,
                      batch_size=config.batch_size,
                      num_codes=config.model.get('num_codes', 0)))
    if swept:
        results['sweep'] = dict(key=config.sweep.key, values=list(swept))
        results['by_value'] = [
            dict(value=value, **_summary(
                {mode: coverage[i * len(seeds):(i + 1) * len(seeds)]
                 for mode, coverage in coverage_by_mode.items()}, seeds, batch_norm))
            for i, value in enumerate(swept)]
        titles = [f'{config.sweep.key.rsplit(".", 1)[-1]}={value:g}, seed {seed}'
                  for value in swept for seed in seeds]
    else:
        results.update(_summary(coverage_by_mode, seeds, batch_norm))
        titles = [f'seed {seed}' for seed in seeds]
    results.update(paper=paper_row(config.mixture, config.variant), runtime_s=round(runtime, 1),
                   cpu=machine.cpu_description(), command=command)
    with files.replacing(os.path.join(workdir, 'samples.npy')) as path:
        np.save(path, points.reshape(-1, len(seeds), *points.shape[1:]) if swept else points)
    files.write_json(os.path.join(workdir, 'results.json'), results, indent=2)
    titles = [f"{title}: {c['modes']}/{c['num_modes']} modes, "
              f"{100 * c['high_quality']:.1f}% HQ"
              for title, c in zip(titles, coverage_by_mode[batch_norm])]
    images.plot_point_sets(points, os.path.join(workdir, 'samples.png'),
                           reference=mixture.modes, titles=titles,
                           columns=len(seeds) if swept else 5)
    return results
