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
--num_steps=10``), 7× the plain MLP GAN's 26 ms measured the same way. The command
above, with a fresh --workdir, on that machine (5,000 embedded digits), ran 12 min 55 s
including four evaluations. Measured, EMA generator at 1,000 / 4,000 steps: FID 617 /
775, MNIST score 3.57 / 2.39; at 4,000 steps 93 % of its samples read as 2, 3 or 8
(``class_share``) and the grid shows noisy 2/8-like shapes: D wins (its mean real
logit reached 24) and G collapses. (Sampled with BatchNorm running averages, the
default then; with standing statistics, today's default, ``python -m
experiments.evaluate --workdir=DIR`` gives EMA FID 782 at 4,000 steps: still collapsed.) This config does not yet reproduce the unrolled
GAN's mode coverage; tuning it (D's learning rate, dropout, more unrolled steps) is
open.
"""
from experiments.configs import defaults
from ganjax.evaluation import eval_config


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='mlp', total_steps=4000)
    config.model.discriminator.dropout_rate = 0.3
    config.loss.unroll_steps = 5
    config.eval.metrics = eval_config.MNIST_METRICS
    config.eval.every_steps = 1000
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
