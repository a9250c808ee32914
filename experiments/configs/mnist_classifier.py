"""The MNIST feature network (``experiments.support.classifier_training``) that ships with ganjax.

Command:
    python -m experiments.train_classifier --config=experiments/configs/mnist_classifier.py

Writes ganjax/weights/mnist_classifier.{npz,json}; the record holds the held-out
accuracy. Arg ``smoke`` shrinks the run for tests.
"""
import ml_collections

from experiments.configs import defaults
from ganjax.data import datasets


def get_config(arg: str | None = None):
    config = ml_collections.ConfigDict()
    config.data = datasets.default_config('mnist')
    config.seed = 0
    config.epochs = 30
    config.batch_size = 128
    config.learning_rate = 2e-3
    config.weight_decay = 1e-4
    config.max_shift = 2
    if defaults.parse_arg(arg).smoke:
        config.epochs = 1
        config.batch_size = 500
    return config
