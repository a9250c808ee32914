"""Hinge loss with a spectrally normalised discriminator on MNIST (Miyato et al. 2018).

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_hinge_sn.py

Every D layer is spectrally normalised (one power iteration per train-mode call); hinge
loss; TTUR learning rates (Heusel et al. 2017): G 1e-4, D 4e-4, Adam β = (0.0, 0.9) as in
SN-GAN / SAGAN. D has no dropout.

Runtime on a 2-core CPU: 0.23 s/step (``python -m experiments.benchmark``), about 12
minutes for 3,000 steps. Expected: digits like the DCGAN run's (not yet run to
completion here).
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=3000)
    config.model.discriminator.dropout_rate = 0.0
    config.model.discriminator.spectral_norm = True
    config.optimizer.g = defaults.adam(1e-4, b1=0.0, b2=0.9)
    config.optimizer.d = defaults.adam(4e-4, b1=0.0, b2=0.9)
    config.loss.name = 'hinge'
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
