"""Trains a GAN or VAE on MNIST.

    python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py [--workdir=DIR]

Override any config key on the command line (``--config.total_steps=100``). Running the
same command with the same workdir resumes from its newest checkpoint. A GAN config
that lists MNIST metrics (``config.eval.metrics``) also gets DIR/results.json: the last
evaluation of each generator, the metrics over training, the protocol, the command and
its runtime (``ganjax.evaluation.run_results``), for ``experiments.results_table``.
"""
import sys
import time

from absl import app
import jax

from ganjax.evaluation import run_results
from ganjax.harness import cli

cli.define_config_flags()


def main(argv):
    del argv
    cli.quiet_library_logs()

    def run():
        start = time.perf_counter()
        workdir = cli.train_from_flags()
        config = cli.loaded_config()
        if jax.process_index() == 0 and config.get('eval', {}).get('metrics'):
            command = ' '.join(['python -m experiments.mnist', *sys.argv[1:]])
            run_results.mnist_results(config, workdir, command, time.perf_counter() - start)
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
