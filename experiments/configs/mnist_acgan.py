"""ACGAN on MNIST (Odena et al. 2017) with the DCGAN-28 networks.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_acgan.py

G reads [z, embed(y)]; D has an auxiliary class head trained with softmax cross-entropy
on real and fake images (weight ``loss.auxiliary_weight``), and G also minimises the
class loss of its fakes. Non-saturating loss, Adam 2e-4 / β1 0.5.

Runtime on a 2-core CPU: 0.29 s/step (``python -m experiments.benchmark``), about 15
minutes for 3,000 steps. Expected: row i of the sample grids shows digit i (not yet
run to completion here).
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=3000)
    config.model.conditional = True
    config.model.discriminator.conditioning = 'auxiliary'
    config.model.discriminator.dropout_rate = 0.3
    config.loss.auxiliary_weight = 1.0
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
