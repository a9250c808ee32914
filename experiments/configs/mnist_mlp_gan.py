"""The source tutorials' fully connected GAN on MNIST (their MLP GAN code).

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_mlp_gan.py

G 100→256→512→1024→784 (LeakyReLU 0.2, BatchNorm), D 784→1024→512→256→1 (LeakyReLU
0.2, Dropout 0.3); non-saturating loss, Adam 2e-4 / β1 0.5, batch 64.

Runtime on a 2-core CPU: the whole 4,000-step run took 2 min 4 s here (21–25 ms/step,
1.2–1.4× PyTorch eager, ``python -m experiments.benchmark``). What we saw (embedded MNIST,
seed 0): speckled but recognisable digits of most classes at 4,000 steps, noisier than
the DCGAN's, as expected of an MLP generator.
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='mlp', total_steps=4000)
    config.model.discriminator.dropout_rate = 0.3
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
