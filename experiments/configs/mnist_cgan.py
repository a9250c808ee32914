"""Class-conditional MNIST: ganjax's MNIST recipe (``mnist_dcgan.py``) with labels.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_cgan.py --workdir=runs/mnist_cgan

G reads [z, embed(y)] (Mirza & Osindero 2014); D(x, y) = wᵀφ(x) + embed(y)ᵀφ(x), a
projection discriminator (Miyato & Koyama 2018). Everything else is ``mnist_dcgan.py``'s
recipe. Sample grids have one row per digit 0–9. The evaluation asks for the labels
0–9 cycled and adds, besides every MNIST metric, how often ganjax's network reads each
asked digit as that digit (``label_accuracy_by_class``).

RESULTS

Arg ``smoke`` shrinks everything for tests.
"""
from experiments.configs import defaults
from experiments.configs import mnist_dcgan


def get_config(arg: str | None = None):
    smoke = defaults.parse_arg(arg).smoke
    config = mnist_dcgan.get_config(defaults.SMOKE if smoke else None)
    config.model.conditional = True
    config.model.discriminator.conditioning = 'projection'
    return config
