"""Stacked MNIST (1,000 modes): DCGAN and PacDCGAN2, after PacGAN (Lin et al. 2018, §5.2,
Table 2) and VEEGAN (Srivastava et al. 2017).

Commands:
    python -m experiments.stacked_mnist --config=experiments/configs/stacked_mnist.py:dcgan
    python -m experiments.stacked_mnist --config=experiments/configs/stacked_mnist.py:pacdcgan2

The arg is ``<variant>[,smoke]``: ``dcgan`` or ``pacdcgan2`` (the same networks, D
judging packs of 2 samples concatenated along the channels). Data: three independently
drawn MNIST digits as R, G, B (``ganjax.data.datasets``, 'stacked_mnist'). Networks: the
TensorFlow DCGAN tutorial's 28×28 DCGAN with 3 channels at half width (G 128-64-32, D
32-64; ``base_features=32``) to fit a CPU budget; non-saturating loss, Adam 2e-4 / β1
0.5, batch 64 samples (32 packs for PacDCGAN2). Evaluation
(``ganjax.evaluation.evaluators``, 'stacked_modes'): 26,000 samples,
each channel classified by the shipped MNIST network, modes reached of 1,000 and
KL(mode histogram ‖ uniform) in nats, every ``eval.every_steps`` and at the end, EMA
and raw generator. Anchors (PacGAN Table 2): DCGAN 99 modes / KL 3.4; PacDCGAN2 1000
modes / KL 0.06.
"""
from experiments.configs import defaults

VARIANTS = {'dcgan': 1, 'pacdcgan2': 2}  # variant → discriminator packing


def get_config(arg: str | None = None):
    variant, _, smoke = defaults.parse_arg(arg, names=tuple(VARIANTS))
    config = defaults.gan_config(dataset='stacked_mnist', model='dcgan28', total_steps=8000)
    config.variant = variant
    config.model.generator.base_features = 32
    config.model.discriminator.base_features = 32
    config.model.discriminator.dropout_rate = 0.3
    config.model.discriminator.packing = VARIANTS[variant]
    config.sample_every_steps = 1000
    config.eval.metrics = ('stacked_modes',)
    config.eval.num_samples = 26_000
    config.eval.every_steps = 2000
    if smoke:
        defaults.shrink_for_smoke_test(config)
        config.eval.num_samples = 100
    return config
