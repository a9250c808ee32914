"""A training run's ``results.json``: its evaluations gathered with its protocol, runtime and
command, the file ``experiments.results_table`` turns into a row of ``docs/benchmarks.md``.

``mnist_results(config, workdir, command, runtime_s)`` does it for MNIST runs evaluated
with ganjax's MNIST network (``ganjax.evaluation.evaluators``): the last evaluation of each
generator, every metric over training and the real digits' MNIST score. Stacked MNIST
has its own (``ganjax.evaluation.mode_collapse.stacked_mnist_results``) on the same
helpers.
"""
import os

from etils import epath

from ganjax import errors
from ganjax.reporting import files
from ganjax.reporting import machine

# Protocol entries that differ between the evaluations of one run.
_PER_EVALUATION = ('generator', 'checkpoint_step', 'seconds')


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
        # An InfoGAN code (loss.auxiliary_on_real False) is not a label of the data.
        benchmark='mnist', conditional=bool(config.model.conditional
                                            and config.loss.get('auxiliary_on_real', True)),
        protocol=protocol(config, workdir, history), final=final(history),
        over_training=[dict(step=r['step'], generator=r['generator'], metrics=r['metrics'])
                       for r in history],
        runtime_s=round(runtime_s, 1), cpu=machine.cpu_description(), command=command)
    files.write_json(os.path.join(workdir, 'results.json'), results, indent=2)
    return results
