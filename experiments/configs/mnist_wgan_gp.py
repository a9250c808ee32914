"""WGAN-GP on MNIST (Gulrajani et al. 2017) with the DCGAN-28 networks.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_wgan_gp.py

Wasserstein loss with gradient penalty λ = 10, n_critic = 5 critic updates per G update
(each on its own real batch), Adam 1e-4, β = (0.5, 0.9) as in the paper's Algorithm 1.
The critic has no dropout and no BatchNorm (the penalty is per example).

Runtime on a 2-core CPU: a step (5 critic updates, each differentiating the penalty's
input gradient) takes 2.3 s (``python -m experiments.benchmark``), so 1,000 steps take
about 40 minutes; meant for accelerators. Expected: digits comparable to the DCGAN run
after a few thousand steps (not yet run to completion here).
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=1000)
    config.model.discriminator.dropout_rate = 0.0
    config.optimizer.g = defaults.adam(1e-4, b1=0.5, b2=0.9)
    config.optimizer.d = defaults.adam(1e-4, b1=0.5, b2=0.9)
    config.loss.name = 'wasserstein'
    config.loss.penalty = 'gradient_penalty'
    config.loss.penalty_weight = 10.0
    config.loss.n_critic = 5
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
