"""Trains a GAN on CIFAR-10.

    python -m experiments.cifar10 --config=experiments/configs/cifar10_dcgan.py [--workdir=DIR]

Override any config key on the command line (``--config.total_steps=100``). Running the
same command with the same workdir resumes from its newest checkpoint.
"""
import functools

from absl import app

from ganjax.harness import cli

cli.define_config_flags()

if __name__ == '__main__':
    app.run(functools.partial(cli.train_main, 'experiments.cifar10'),
            flags_parser=cli.parse_flags)
