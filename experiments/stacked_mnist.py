"""Trains a GAN on Stacked MNIST (1,000 modes) and counts the modes it reaches.

    python -m experiments.stacked_mnist --config=experiments/configs/stacked_mnist.py:pacdcgan2

Trains like ``experiments.mnist`` (same flags; the same command resumes), evaluating
the modes during training and at the end (``eval.json``, ``eval/``), then writes
DIR/results.json: the final modes and KL of the EMA and raw generator, the count over
training, the protocol, PacGAN's anchor and the command (``ganjax.evaluation.mode_collapse``).
"""
import json
import sys
import time

from absl import app
import jax

from ganjax.evaluation import mode_collapse
from ganjax.harness import cli

cli.define_config_flags()


def main(argv):
    del argv
    cli.quiet_library_logs()

    def run():
        start = time.perf_counter()
        workdir = cli.train_from_flags()
        if jax.process_index() == 0:
            command = ' '.join(['python -m experiments.stacked_mnist', *sys.argv[1:]])
            results = mode_collapse.stacked_mnist_results(
                cli.loaded_config(), workdir, command, time.perf_counter() - start)
            print(json.dumps({'workdir': workdir, 'final': results['final'],
                              'paper': results['paper']}))
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
