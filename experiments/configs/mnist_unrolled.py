"""Unrolled GAN on MNIST (Metz et al. 2017, "Unrolled Generative Adversarial Networks").

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_unrolled.py

G's loss is taken against D after k = 5 further D updates on the same real batch and
fakes, differentiated through those updates and D's Adam (``loss.unroll_steps=5``);
the real D advances by one update per step. Networks: the source tutorials' MLP GAN
(``mnist_mlp_gan``), whose D has no BatchNorm, so the unrolled updates are plain
functions of D's parameters; non-saturating loss, Adam 2e-4 / β1 0.5, batch 64.
``:smoke`` shrinks it for tests.

Runtime: the step takes 178 ms at batch 64 on a 2-core AMD EPYC (Zen 4, AVX-512;
``python -m experiments.benchmark --config=experiments/configs/mnist_unrolled.py
--num_steps=10``), 7× the plain MLP GAN's 26 ms measured the same way, so 4,000 steps
take about 12 minutes. Result: not yet run to completion here.
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='mlp', total_steps=4000)
    config.model.discriminator.dropout_rate = 0.3
    config.loss.unroll_steps = 5
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
