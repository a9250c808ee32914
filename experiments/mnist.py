"""Trains a GAN or VAE on MNIST.

    python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py [--workdir=DIR]

Override any config key on the command line (``--config.total_steps=100``). Running the
same command with the same workdir resumes from its newest checkpoint.
"""
from absl import app

from ganjax.harness import cli

cli.define_config_flags()

if __name__ == '__main__':
    app.run(cli.train_main, flags_parser=cli.parse_flags)
