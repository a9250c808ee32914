"""Times a config's compiled train step; last line of output is one JSON object.

    python -m experiments.benchmark --config=experiments/configs/mnist_dcgan_tutorial.py
    python -m experiments.benchmark --config=... --config.batch_size=128 --num_steps=50
    python -m experiments.benchmark --config=... --layers   # per-layer ConvTranspose times
    python -m experiments.benchmark --config=... --compare_xla_defaults

With PyTorch installed (``pip install torch``) it also times an eager PyTorch
implementation of the same architecture and step in the same process and adds
``torch_images_per_sec`` and ``speedup_vs_torch``.
"""
import json

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments.support import timing
from ganjax.data import datasets
from ganjax.harness import cli
from ganjax.harness import validation

config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
_NUM_STEPS = flags.DEFINE_integer('num_steps', 20, 'Timed steps (median is reported).')
_LAYERS = flags.DEFINE_bool('layers', False, 'Also time each upsampling layer.')
_COMPARE_XLA_DEFAULTS = flags.DEFINE_bool(
    'compare_xla_defaults', False,
    "Also time the step compiled with XLA's default options instead of ganjax's.")
flags.mark_flags_as_required(['config'])


def run():
    config = cli.loaded_config()
    validation.validate(config, num_devices=1)
    data_shape, num_classes = datasets.dataset_spec(config.data)
    run_ganjax, result = timing.ganjax_step_runner(config, data_shape, num_classes)
    runners = {'': run_ganjax}
    if _COMPARE_XLA_DEFAULTS.value:
        runners['xla_defaults_'], _ = timing.ganjax_step_runner(
            config, data_shape, num_classes, compiler_options={})
    try:
        runners['torch_'], torch_info = timing.torch_step_runner(config)
        result.update(torch_info)
    except ImportError:
        result['torch'] = 'not installed'
    except NotImplementedError as e:
        result['torch'] = str(e)
    seconds = timing.interleaved_median_seconds(runners, _NUM_STEPS.value, warmup=3)
    for prefix, value in seconds.items():
        result.update(timing.report(value, config.batch_size, prefix))
    if 'torch_' in seconds:
        result['speedup_vs_torch'] = round(seconds['torch_'] / seconds[''], 2)
    if _LAYERS.value:
        for row in timing.time_conv_transpose_layers(config.batch_size, _NUM_STEPS.value):
            print(json.dumps(row))
    print(json.dumps(result))


def main(argv):
    del argv
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
