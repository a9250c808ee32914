"""Evaluating generators; every number with its protocol.

Metrics (``config.eval.metrics``), in three families: the MNIST feature network's
('mnist_score', 'fid', 'kid', 'precision_recall', 'class_coverage', 'stacked_modes':
``ganjax.evaluation.mnist_metrics``), the FID Inception-v3's ('inception_fid',
'inception_score', 'inception_kid', 'inception_precision_recall' of any image dataset
with stored real images: ``ganjax.evaluation.inception_metrics``) and LPIPS'
('lpips_diversity': ``ganjax.evaluation.lpips_diversity``). Each family ``summarise``s a
chunk of samples into what its metrics need (the samples themselves are dropped),
computes its ``metrics`` from all chunks' summaries and records its ``protocol``.

Generated samples: ``num_samples`` latents drawn from ``seed`` (the same for every
evaluation of a run, so numbers over training compare like with like); class-conditional
generators get the labels 0, 1, …, K−1 cycled, and InfoGAN generators their codes and
cluster-conditioned ones their clusters so (neither scored as labels:
``code_prior.labels_are_classes``), or, where G draws its labels from a prior π
(``code_prior.rule='data'``), each label in proportion to π (``code_prior.spread``).
"""
import collections
import os
import time

from absl import logging
from etils import epath
import jax
import numpy as np

from ganjax import downloads
from ganjax.evaluation import eval_config as eval_config_lib
from ganjax.evaluation import feature_network
from ganjax.evaluation import inception_metrics
from ganjax.evaluation import lpips_diversity
from ganjax.evaluation import mnist_metrics
from ganjax.reporting import files
from ganjax.reporting import writers
from ganjax.train import code_prior
from ganjax.train import setup as setup_lib

_GENERATE_CHUNK = 500  # latents per generator call: one compiled shape


class Evaluator:
    """Evaluates generators of one run with the metrics of its ``config.eval``."""

    def __init__(self, config, metric_names=None, network=None, data_config=None,
                 inception_network=None, lpips_network=None,
                 without_unavailable_weights=False):
        """Loads the feature networks and, for MNIST metrics, the real reference.

        Args:
          config: the run's config (``data``, ``eval``, ``seed``).
          metric_names: overrides ``config.eval.metrics``.
          network: a ``FeatureNetwork``; the shipped MNIST classifier by default.
          data_config: overrides ``config.data`` (e.g. with its source pinned).
          inception_network: an ``inception_metrics.InceptionNetwork``; by default the
            one of ``eval.inception.weights``.
          lpips_network: an ``lpips_diversity.LpipsNetwork``; by default the one of
            ``eval.lpips``.
          without_unavailable_weights: if the Inception or LPIPS weights are unavailable,
            log a warning and drop their metrics (a training run still trains) instead of
            raising ``downloads.WeightsUnavailableError``.
        """
        self.eval_config = config.get('eval') or eval_config_lib.default_config()
        self.metric_names = tuple(self.eval_config.metrics if metric_names is None
                                  else metric_names)
        self.run_seed = config.seed
        # The labels G is asked for are scored against the digits it draws
        # (label_accuracy) where they are the data's classes.
        self.labels_are_classes = code_prior.labels_are_classes(config)
        # How the generator's BatchNorm layers (if any) normalise when sampled.
        self.batch_norm = setup_lib.SamplingConfig.from_config(config).batch_norm
        data_config = data_config or config.data
        # The metric families asked for; those with downloaded weights first, so that a
        # run without the weights learns it before anything is computed.
        self.mnist = self.inception = self.lpips = None
        names = set(self.metric_names)
        if names & set(eval_config_lib.INCEPTION_METRICS):
            self.inception = self._with_weights(
                eval_config_lib.INCEPTION_METRICS, without_unavailable_weights,
                lambda: inception_metrics.InceptionMetrics(
                    self.metric_names, self.eval_config, data_config, inception_network
                    or inception_metrics.load_network(
                        eval_config_lib.inception_config(self.eval_config))))
        if names & set(eval_config_lib.LPIPS_METRICS):
            self.lpips = self._with_weights(
                eval_config_lib.LPIPS_METRICS, without_unavailable_weights,
                lambda: lpips_diversity.LpipsDiversity(
                    self.eval_config, data_config, lpips_network
                    or lpips_diversity.load_network(
                        eval_config_lib.lpips_config(self.eval_config))))
        if names & set(eval_config_lib.MNIST_METRICS + eval_config_lib.STACKED_METRICS):
            self.mnist = mnist_metrics.MnistMetrics(self.metric_names, self.eval_config,
                                                    data_config, network or feature_network.load())

    def _with_weights(self, family_metrics, without_unavailable_weights, build):
        """``build()``, or, where its weights are unavailable and the caller accepts it,
        None and a warning, without the family's metrics."""
        try:
            return build()
        except downloads.WeightsUnavailableError as e:
            if not without_unavailable_weights:
                raise
            dropped = [m for m in self.metric_names if m in family_metrics]
            logging.warning('%s. Training goes on without %s; once the weights are there, '
                            '`python -m experiments.evaluate --workdir=DIR --metrics=%s` '
                            'computes them.', e, ', '.join(dropped), ','.join(dropped))
            self.metric_names = tuple(m for m in self.metric_names if m not in dropped)
            return None

    @property
    def families(self) -> list:
        return [family for family in (self.mnist, self.inception, self.lpips)
                if family is not None]

    def latents(self, latent_dim: int, num_classes: int, prior=None):
        """The evaluation's fixed latents, and for conditional models their labels: cycled,
        or in proportion to G's prior π where it has one (``prior``, K probabilities)."""
        num = self.eval_config.num_samples
        key = jax.random.key(self.eval_config.seed)
        z = np.asarray(jax.random.normal(key, (num, latent_dim)), np.float32)
        labels = None
        if num_classes:
            labels = np.asarray(code_prior.spread(prior, num, num_classes,
                                                  jax.random.fold_in(key, 1)), np.int32)
        return z, labels

    def evaluate(self, sampler, latent_dim: int, num_classes: int, step: int,
                 prior=None) -> list[dict]:
        """One result per generator of ``eval.generators``.

        Args:
          sampler: ``sampler(use_ema)`` → ``generate(z, labels)`` → images (n, H, W, C)
            in [−1, 1]; called once per generator, ``generate`` once per chunk, whose
            samples pass to each metric family and are dropped: only what the metrics
            need of them (features, logits) is kept.
          latent_dim, num_classes: the generator's (num_classes 0 if unconditional).
          step: the checkpoint step, recorded.
          prior: G's prior π over its labels (``GANState.code_prior``), None for uniform.

        Returns:
          ``[{'generator', 'step', 'metrics': {...}, 'protocol': {...}}, ...]``.
        """
        z, labels = self.latents(latent_dim, num_classes, prior)
        results = []
        for generator in self.eval_config.generators:
            start = time.perf_counter()
            generate = sampler(generator == 'ema')
            summaries = collections.defaultdict(list)
            progress = writers.CountProgress(f'Evaluating the {generator} generator',
                                             len(z))
            for i in range(0, len(z), _GENERATE_CHUNK):
                samples = np.asarray(generate(
                    z[i:i + _GENERATE_CHUNK],
                    None if labels is None else labels[i:i + _GENERATE_CHUNK]))
                for family in self.families:
                    for key, value in family.summarise(samples, i).items():
                        summaries[key].append(value)
                progress.update(i + len(samples))
            summaries = {key: np.concatenate(parts) for key, parts in summaries.items()}
            values = {}
            for family in self.families:
                values.update(family.metrics(summaries,
                                             labels if self.labels_are_classes else None))
            results.append(dict(generator=generator, step=int(step), metrics=values,
                                protocol=self._protocol(generator, step, num_classes,
                                                        prior is not None,
                                                        time.perf_counter() - start)))
        return results

    def _protocol(self, generator: str, step: int, num_classes: int, from_prior: bool,
                  seconds: float) -> dict:
        protocol = dict(
            metrics=list(self.metric_names), generator=generator, checkpoint_step=int(step),
            run_seed=self.run_seed, latent_seed=self.eval_config.seed,
            num_generated=self.eval_config.num_samples,
            labels=(('in proportion to G\'s prior' if from_prior else '0..K-1 cycled')
                    if num_classes else None),
            batch_norm=self.batch_norm, seconds=round(seconds, 1))
        for family in self.families:
            protocol.update(family.protocol(self.eval_config.num_samples))
        return protocol


def read_results(workdir: str, step: int) -> list[dict]:
    """The results ``write_results`` wrote for ``step``; [] if none."""
    path = epath.Path(workdir) / 'eval' / f'step_{step:07d}.json'
    return files.read_json(path)['results'] if path.exists() else []


def write_results(workdir: str, step: int, results: list[dict]) -> str:
    """Writes ``{'step', 'results'}`` to ``workdir/eval/step_XXXXXXX.json`` and, as the
    newest evaluation, to ``workdir/eval.json``; returns the latter's path."""
    for path in (os.path.join(workdir, 'eval', f'step_{step:07d}.json'),
                 os.path.join(workdir, 'eval.json')):
        files.write_json(path, dict(step=int(step), results=results), indent=2)
    return os.path.join(workdir, 'eval.json')


def merge_results(previous: list[dict], results: list[dict]) -> list[dict]:
    """``results`` with the metrics of ``previous`` results of the same samples (generator,
    step, seeds, count, BatchNorm mode) that they did not compute, and ``previous``
    results of other generators: evaluating more metrics of a step adds to its record."""
    keys = ('generator', 'checkpoint_step', 'run_seed', 'latent_seed', 'num_generated',
            'batch_norm')
    merged = []
    for result in results:
        same = [p for p in previous
                if all(p['protocol'].get(k) == result['protocol'].get(k) for k in keys)]
        if same:
            old = same[0]
            result = dict(result, metrics={**old['metrics'], **result['metrics']},
                          protocol={**old['protocol'], **result['protocol'], 'metrics': list(
                              dict.fromkeys(old['protocol']['metrics']
                                            + result['protocol']['metrics']))})
        merged.append(result)
    generators = {r['generator'] for r in results}
    return merged + [p for p in previous if p['generator'] not in generators]


def scalars(results: list[dict]) -> dict[str, float]:
    """The scalar metrics of ``results`` as ``eval/<generator>/<metric>``, for logs."""
    return {f"eval/{r['generator']}/{name}": value for r in results
            for name, value in r['metrics'].items() if _is_scalar(value)}


def summary(results: list[dict]) -> str:
    """One line: the scalar metrics of each generator, e.g. 'ema: fid 3.21, kid 0.002'."""
    return ' | '.join(
        f"{r['generator']}: " + ', '.join(f'{name} {value:.4g}' for name, value in
                                          r['metrics'].items() if _is_scalar(value))
        for r in results)


def _is_scalar(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
