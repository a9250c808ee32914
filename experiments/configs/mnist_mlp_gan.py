"""The seed tutorials' fully connected GAN on MNIST (seed 000 §5.3, seed 004 §5.2).

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_mlp_gan.py

G 100→256→512→1024→784 (LeakyReLU 0.2, BatchNorm), D 784→1024→512→256→1 (LeakyReLU
0.2, Dropout 0.3); non-saturating loss, Adam 2e-4 / β1 0.5, batch 64. An MLP step is
cheap on a CPU, so 4,000 steps take a few minutes on 2 cores; expect blurry but
recognisable digits (MLP GANs are weaker than DCGAN).
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='mlp', total_steps=4000)
    config.model.discriminator.dropout_rate = 0.3
    if arg == 'smoke':
        defaults.shrink_for_smoke_test(config)
    return config
