"""Class-conditional DCGAN-28 on MNIST with a projection discriminator.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_cgan.py

G reads [z, embed(y)] (Mirza & Osindero 2014); D(x, y) = wᵀφ(x) + embed(y)ᵀφ(x)
(Miyato & Koyama 2018). Non-saturating loss, Adam 2e-4 / β1 0.5. Sample grids have one
row per digit 0–9.

Runtime on a 2-core CPU: 0.27 s/step (``python -m experiments.benchmark``), about 14
minutes for 3,000 steps. Expected: row i of the sample grids shows digit i (not yet
run to completion here).
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=3000)
    config.model.conditional = True
    config.model.discriminator.conditioning = 'projection'
    config.model.discriminator.dropout_rate = 0.3
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
