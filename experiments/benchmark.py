"""Times a config's compiled train step; last line of output is one JSON object.

    python -m experiments.benchmark --config=experiments/configs/mnist_dcgan_tutorial.py
    python -m experiments.benchmark --config=... --config.batch_size=128 --num_steps=50
    python -m experiments.benchmark --config=... --layers   # GFLOP/s of DCGAN-28's convolutions
    python -m experiments.benchmark --config=... --compare_xla_defaults

With PyTorch installed (``pip install torch``) it also times an eager PyTorch
implementation of the same architecture and step in the same process and adds
``torch_images_per_sec`` and ``speedup_vs_torch``. ``--layers`` first prints a JSON line
per convolution of DCGAN-28 (``experiments.support.conv_timing``: forward, input and
kernel gradient of ganjax's, Flax's and PyTorch's layer, in ms, GFLOP/s and as a share
of this machine's matrix-product rate, which the last line then carries).

A 2-D mixture config (``experiments/configs/toy2d.py``) is timed as its training runs:
all its seeds in one vmapped program, ``_MIXTURE_STEPS_PER_CALL`` steps a call, against
PyTorch eager stepping the same seeds' models in turn; the last line then has
``seed_steps_per_sec``, ``num_seeds``, XLA's FLOPs per seed-step, the GFLOP/s this
makes and their share of the matrix-product rate::

    python -m experiments.benchmark --config=experiments/configs/toy2d.py:grid,paper_gan
"""
import json
import math
import os
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments.support import conv_timing
from experiments.support import timing
from ganjax import errors
from ganjax.data import datasets
from ganjax.harness import cli
from ganjax.harness import validation
from ganjax.reporting import files
from ganjax.reporting import machine

config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
_NUM_STEPS = flags.DEFINE_integer('num_steps', 20, 'Timed steps (median is reported).',
                                  lower_bound=1)
_LAYERS = flags.DEFINE_bool(
    'layers', False, "Also time each of DCGAN-28's convolutions (GFLOP/s, share of peak).")
_COMPARE_XLA_DEFAULTS = flags.DEFINE_bool(
    'compare_xla_defaults', False,
    "Also time the step compiled with XLA's default options instead of ganjax's.")
_OUT = flags.DEFINE_string('out', None, "Also write the last line's JSON to this file "
                           '(a row of docs/benchmarks.md\'s speed table, in docs/results/speed).')
flags.mark_flags_as_required(['config'])
# A timed call of a 2-D mixture config: this many steps of every seed.
_MIXTURE_STEPS_PER_CALL = 10


def _add_torch(runners: dict, result: dict, make_runner) -> None:
    """Adds PyTorch's runner (``make_runner()``) as 'torch_' where a twin exists, and
    says in ``result`` why not where none does."""
    try:
        runners['torch_'], torch_info = make_runner()
        result.update(torch_info)
    except ImportError:
        result['torch'] = 'not installed'
    except NotImplementedError as e:
        result['torch'] = str(e)


def run_mixture(config) -> dict:
    """Seeds × steps per second of a 2-D mixture config's vmapped training, against
    PyTorch eager stepping the same seeds' models in turn; one timed call is
    ``_MIXTURE_STEPS_PER_CALL`` steps of every seed, or whole cycles of its lazy
    penalties."""
    steps_per_call = math.lcm(_MIXTURE_STEPS_PER_CALL, timing.lazy_cycle(config.loss))
    run_ganjax, result = timing.mixture_training_runner(config, steps_per_call)
    runners = {'': run_ganjax}
    _add_torch(runners, result,
               lambda: timing.torch_mixture_runner(config, steps_per_call))
    seconds = timing.interleaved_median_seconds(runners, _NUM_STEPS.value, warmup=2)
    seed_steps = config.num_seeds * steps_per_call
    for prefix, value in seconds.items():
        result[f'{prefix}seed_steps_per_sec'] = round(seed_steps / value, 1)
    result.update(timing.matmul_gflops(_NUM_STEPS.value))
    result['gflops'] = round(result['gflop_per_seed_step'] * result['seed_steps_per_sec'], 1)
    result['of_matmul_peak'] = round(result['gflops'] / result['xla_matmul_gflops'], 2)
    if 'torch_' in seconds:
        result['speedup_vs_torch'] = round(seconds['torch_'] / seconds[''], 2)
    return result


def run_step(config) -> dict:
    """The train step's time, against PyTorch's twin and XLA's default options where
    asked; with --layers, the convolutions' rows are printed first."""
    validation.validate(config, num_devices=1)
    errors.require(config.model.name != 'vae', 'model.name', config.model.name,
                   "be a GAN's (the benchmark times GAN train steps)")
    data_shape, num_classes = datasets.dataset_spec(config.data)
    run_ganjax, result = timing.ganjax_step_runner(config, data_shape, num_classes)
    runners = {'': run_ganjax}
    if _COMPARE_XLA_DEFAULTS.value:
        runners['xla_defaults_'], _ = timing.ganjax_step_runner(
            config, data_shape, num_classes, compiler_options={})
    _add_torch(runners, result, lambda: timing.torch_step_runner(config))
    seconds = timing.interleaved_median_seconds(runners, _NUM_STEPS.value, warmup=3)
    # ganjax's calls are cycles of lazy penalties; PyTorch's twin has no penalties.
    seconds = {prefix: value if prefix == 'torch_' else value / result['steps_per_call']
               for prefix, value in seconds.items()}
    for prefix, value in seconds.items():
        result.update(timing.report(value, config.batch_size, prefix))
    if 'torch_' in seconds:
        result['speedup_vs_torch'] = round(seconds['torch_'] / seconds[''], 2)
    if _LAYERS.value:
        result.update(timing.matmul_gflops(_NUM_STEPS.value))
        for row in conv_timing.time_layers(config.batch_size, _NUM_STEPS.value,
                                           result['xla_matmul_gflops']):
            print(json.dumps(row))
    return result


def run():
    config = cli.loaded_config()
    if _OUT.value:  # before minutes of timing
        try:
            files.check_writable(os.path.dirname(os.path.abspath(_OUT.value)))
        except OSError as e:
            raise errors.ConfigError(
                f'--out={_OUT.value} cannot be written: {e.strerror or e}') from e
    if 'mixture' in config:
        for flag in (_LAYERS, _COMPARE_XLA_DEFAULTS):
            if flag.value:  # not ignored in silence
                raise errors.ConfigError(f"--{flag.name} times an image config's train step, "
                                         "not a 2-D mixture config's training")
    result = run_mixture(config) if 'mixture' in config else run_step(config)
    result = {'config': flags.FLAGS['config'].config_filename, 'cpu': machine.cpu_description(),
              **result,
              'command': cli.typed_command('experiments.benchmark', [
                  a for a in sys.argv[1:] if not a.startswith('--out=')])}
    if _OUT.value:
        files.write_json(_OUT.value, result, indent=1)
    print(json.dumps(result))


def main(argv):
    del argv
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
