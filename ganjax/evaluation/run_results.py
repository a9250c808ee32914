"""A training run's ``results.json``: its evaluations gathered with its protocol, runtime and
command, the file ``experiments.results_table`` turns into a row of ``docs/benchmarks.md``.

``mnist_results(config, workdir, command, runtime_s)`` does it for MNIST runs evaluated
with ganjax's MNIST network (``ganjax.evaluation.evaluators``): the last evaluation of each
generator, every metric over training and the real digits' MNIST score.
``stacked_mnist_results`` does it for Stacked MNIST ('stacked_modes'): the last
evaluation per generator, the modes over training, real Stacked MNIST counted the same
way and the published anchor.
"""
import os

from etils import epath
import numpy as np

from ganjax import errors
from ganjax.data import pipeline
from ganjax.evaluation import feature_network
from ganjax.evaluation import mnist_metrics
from ganjax.reporting import files
from ganjax.reporting import machine
from ganjax.train import code_prior

# Protocol entries that differ between the evaluations of one run.
_PER_EVALUATION = ('generator', 'checkpoint_step', 'seconds')
# Stacked MNIST, 26,000 samples: PacGAN Table 2's DCGAN and PacDCGAN2; ganjax's recipe
# beside the best published row, R3GAN's (Huang et al. 2024, "The GAN is dead; long live
# the GAN! A Modern GAN Baseline", NeurIPS; its Stacked MNIST table).
PAPER_STACKED = {'dcgan': {'modes': 99.0, 'kl': 3.4},
                 'pacdcgan2': {'modes': 1000.0, 'kl': 0.06},
                 'recipe': {'modes': 1000.0, 'kl': 0.029}}
_REAL_BATCH = 1000  # real Stacked MNIST examples per read


def evaluations(workdir: str) -> list[dict]:
    """Every evaluation the run wrote (``eval/step_*.json``), oldest first."""
    history = []
    for path in sorted((epath.Path(workdir) / 'eval').glob('step_*.json')):
        history.extend(files.read_json(path)['results'])
    if not history:
        raise errors.ConfigError(f'{workdir} holds no evaluation (eval/step_*.json)')
    return history


def final(history: list[dict]) -> dict:
    """{generator: metrics} of the last evaluated step."""
    last_step = max(r['step'] for r in history)
    return {r['generator']: r['metrics'] for r in history if r['step'] == last_step}


def protocol(config, workdir: str, history: list[dict]) -> dict:
    """The evaluation protocol common to the run's evaluations, with its training data,
    steps and batch size."""
    train_data = files.read_json(os.path.join(workdir, 'data.json'))['source']
    return dict({k: v for k, v in history[-1]['protocol'].items() if k not in _PER_EVALUATION},
                train_data=train_data, total_steps=config.total_steps,
                batch_size=config.batch_size)


def mnist_results(config, workdir: str, command: str | None, runtime_s: float) -> dict:
    """Writes ``workdir/results.json`` for an MNIST run and returns it."""
    history = evaluations(workdir)
    results = dict(
        benchmark='mnist', conditional=(bool(config.model.conditional)
                                        and code_prior.labels_are_classes(config)),
        protocol=protocol(config, workdir, history), final=final(history),
        over_training=[dict(step=r['step'], generator=r['generator'], metrics=r['metrics'])
                       for r in history],
        runtime_s=round(runtime_s, 1), cpu=machine.cpu_description(), command=command)
    files.write_json(os.path.join(workdir, 'results.json'), results, indent=2)
    return results


def stacked_mnist_results(config, workdir: str, command: str | None,
                          runtime_s: float) -> dict:
    """Writes ``workdir/results.json`` from the run's evaluations and returns it."""
    history = evaluations(workdir)
    real_data = stacked_mnist_real_data(config.data, history[-1]['protocol']['num_generated'])
    results = dict(
        benchmark='stacked_mnist', variant=config.variant, real_data=real_data,
        protocol=dict(protocol(config, workdir, history),
                      packing=config.model.discriminator.packing),
        final=final(history),
        over_training=[dict(step=r['step'], generator=r['generator'],
                            modes=r['metrics']['modes'], kl=r['metrics']['kl'])
                       for r in history],
        paper=PAPER_STACKED.get(config.variant), runtime_s=round(runtime_s, 1),
        cpu=machine.cpu_description(), command=command)
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
    return dict(mnist_metrics.stacked_modes(feature_network.load(), images),
                num_samples=num_samples)
