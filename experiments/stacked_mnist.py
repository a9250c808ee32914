"""Trains a GAN on Stacked MNIST (1,000 modes) and counts the modes it reaches.

    python -m experiments.stacked_mnist --config=experiments/configs/stacked_mnist.py:pacdcgan2

Trains like ``experiments.mnist`` (same flags; the same command resumes), evaluating
the modes during training and at the end (``eval.json``, ``eval/``), then writes
DIR/results.json: the final modes and KL of the EMA and raw generator, the count over
training, the protocol, PacGAN's anchor and the command (``ganjax.evaluation.run_results``).
"""
import json

from absl import app

from ganjax.evaluation import run_results
from ganjax.harness import cli

cli.define_config_flags()


def write_results(config, workdir: str, command: str, runtime_s: float) -> None:
    results = run_results.stacked_mnist_results(config, workdir, command, runtime_s)
    print(json.dumps({'workdir': workdir, 'final': results['final'],
                      'paper': results['paper']}))


def main(argv):
    del argv
    cli.quiet_library_logs()
    cli.exit_on_user_error(
        lambda: cli.train_and_write_results('experiments.stacked_mnist', write_results))


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
