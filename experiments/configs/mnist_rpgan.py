"""RpGAN + R1 + R2 + DiffAugment on MNIST: R3GAN's objective at MNIST scale.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_rpgan.py

Objective of Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern GAN
Baseline" (R3GAN): the relativistic pairing loss (``loss.name='relativistic_pairing'``)
with zero-centred gradient penalties on real and generated data,
(γ/2)·(E‖∇D(x)‖² + E‖∇D(G(z))‖²), γ = 0.1 decayed along a cosine to γ/10 as R3GAN
decays it (``loss.penalties.r1`` / ``.r2``, weight γ/2 each), Adam β = (0, 0.99). Every
batch D sees, real and generated, passes through DiffAugment's colour, translation and
cutout (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"), which suits the 5,000 embedded digits. Networks: the DCGAN-28 of
TensorFlow's DCGAN tutorial, D without dropout (the penalties are per example; D has no
BatchNorm). EMA of G 0.999. ``:smoke`` shrinks it for tests.

Runtime: the step takes 300 ms at batch 64 on a 2-core AMD EPYC (Zen 4, AVX-512;
``python -m experiments.benchmark --config=experiments/configs/mnist_rpgan.py
--num_steps=10``). The command above, with a fresh --workdir, on that machine
(5,000 embedded digits), ran 16 min 44 s including three evaluations of both
generators (10,000 samples each). Measured, EMA generator at 1,000 / 2,000 / 3,000
steps: FID 114.6 / 78.2 / 72.3, MNIST score 5.93 / 6.55 / 6.65 (real digits 9.54),
per-class coverage 0.10–0.55; raw generator at 3,000: FID 73.5, MNIST score 6.67.
These sampled with training's BatchNorm running averages, the default then; with
standing statistics, today's default (``python -m experiments.evaluate --workdir=DIR``
on the 3,000-step checkpoint): EMA FID 70.8, MNIST score 6.67; raw FID 73.8, 6.67.
The 3,000-step sample grid shows thin-stroked digits of every class, many malformed.
That is not better than ``mnist_dcgan_tutorial`` at the same length (EMA FID 59.6, score 6.84,
standing statistics, on the same machine):
at MNIST scale and 3,000 steps this objective is not yet a better recipe; it is the
starting point the recipes work tunes.
"""
from experiments.configs import defaults
from ganjax.evaluation import eval_config

GAMMA = 0.1


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=3000)
    config.model.discriminator.dropout_rate = 0.0
    config.optimizer.g = defaults.adam(2e-4, b1=0.0, b2=0.99)
    config.optimizer.d = defaults.adam(2e-4, b1=0.0, b2=0.99)
    config.loss.name = 'relativistic_pairing'
    for name in ('r1', 'r2'):
        config.loss.penalties[name].update(weight=GAMMA / 2, schedule='cosine',
                                           final_fraction=0.1)
    config.augment.policy = 'color,translation,cutout'
    config.ema_decay = 0.999
    config.eval.metrics = eval_config.MNIST_METRICS
    config.eval.every_steps = 1000
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
