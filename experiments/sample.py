"""Writes samples from a run's newest checkpoint (its EMA generator unless --raw).

    python -m experiments.sample --workdir=DIR --num=64 --out=samples.png
    python -m experiments.sample --workdir=DIR --num=10000 --out=samples.npy
    python -m experiments.sample --workdir=DIR --num=64 --labels=3 --out=threes.png

``.npy`` holds a float32 array (N, H, W, C) in [−1, 1]; ``.png`` a grid. ``--labels``
are classes for a model trained on the data's labels (``mnist_cgan``: ``--labels=3``
draws threes); for k-means clusters (``mnist_dcgan``'s) or an InfoGAN code
(``mnist_dcgan.py:infogan``) they pick a cluster or a code, whichever digit G came to
draw for it. Without ``--labels``, each label in proportion to G's prior where it has one
(``mnist_dcgan``'s clusters, by their shares of the data), else all cycled.
"""
from absl import app
from absl import flags
from absl import logging
import jax

from ganjax.evaluation import sampling
from ganjax.harness import cli

_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory with checkpoints.')
_NUM = flags.DEFINE_integer('num', 64, 'Number of samples.', lower_bound=1)
_OUT = flags.DEFINE_string('out', None, 'Output file: .png (grid) or .npy (array).')
_LABELS = flags.DEFINE_string('labels', None, "Class-conditional models: '3' or '0,4,7' "
                              "(cycled); default cycles through all classes, or draws "
                              "them in proportion to G's prior where it has one "
                              "(code_prior.rule='data').")
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the latents.')
_RAW = flags.DEFINE_bool('raw', False, "Sample the raw generator, not its EMA.")
flags.mark_flags_as_required(['workdir', 'out'])


def run():
    sampling.check_output(_OUT.value)
    _, setup, state, step = sampling.load_run(_WORKDIR.value)
    labels = sampling.parse_labels(_LABELS.value, _NUM.value, setup.num_classes,
                                   state.code_prior)
    samples = sampling.generate(setup, state, _NUM.value, jax.random.key(_SEED.value), labels,
                                use_ema=not _RAW.value)
    sampling.write_samples(_OUT.value, samples)
    logging.info('Wrote %d samples from the checkpoint at step %d to %s.', _NUM.value, step,
                 _OUT.value)


def main(argv):
    del argv
    cli.quiet_library_logs()
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
