"""Least-squares GAN on MNIST (Mao et al. 2017, a = 0, b = c = 1) with DCGAN-28.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_lsgan.py

D minimises ½E[(D(x) − 1)²] + ½E[D(G(z))²], G minimises ½E[(D(G(z)) − 1)²]; Adam 2e-4
/ β1 0.5 as in the paper's experiments.

Runtime on a 2-core CPU: 0.25 s/step (``python -m experiments.benchmark``), about 13
minutes for 3,000 steps. Expected: digits like the DCGAN run's (not yet run to
completion here).
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=3000)
    config.model.discriminator.dropout_rate = 0.3
    config.loss.name = 'least_squares'
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
