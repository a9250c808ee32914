"""Trains a GAN or VAE on MNIST.

    python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py [--workdir=DIR]

Override any config key on the command line (``--config.total_steps=100``). Running the
same command with the same workdir resumes from its newest checkpoint. A GAN config
that lists MNIST metrics (``config.eval.metrics``) also gets DIR/results.json: the last
evaluation of each generator, the metrics over training, the protocol, the command and
its runtime (``ganjax.evaluation.run_results``), for ``experiments.results_table``.
"""
from absl import app

from ganjax.evaluation import run_results
from ganjax.harness import cli

cli.define_config_flags()


def write_results(config, workdir: str, command: str, runtime_s: float) -> None:
    if config.get('eval', {}).get('metrics'):
        run_results.mnist_results(config, workdir, command, runtime_s)


def main(argv):
    del argv
    cli.quiet_library_logs()
    cli.exit_on_user_error(
        lambda: cli.train_and_write_results('experiments.mnist', write_results))


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
