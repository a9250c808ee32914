"""ganjax's MNIST recipe for 10 minutes of a 2-core CPU: the default experiment.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_dcgan.py --workdir=runs/mnist_dcgan

The DCGAN-28 of TensorFlow's DCGAN tutorial (``mnist_dcgan_tutorial.py``, kept as the
tutorial has it) made faster and trained harder: half its widths (``base_features``
32: G 128 → 64 → 32 channels, D 32 → 64), so a step costs a third as much and three
times as many steps fit; BatchNorm after D's second convolution and no dropout, as in
Radford et al.'s discriminators; Adam at 1e-3 (β1 0.5) for both nets instead of 2e-4;
an EMA of G with decay 0.999. Non-saturating loss, batch 64, RESULT_STEPS steps;
every MNIST metric of both generators (10,000 samples each) once, at the end.

RESULTS

Arg ``smoke`` shrinks everything for tests.
"""
from experiments.configs import defaults
from ganjax.evaluation import eval_config


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=7000)
    config.model.generator.base_features = 32
    config.model.discriminator.update(base_features=32, batch_norm=True, dropout_rate=0.0)
    for side in (config.optimizer.g, config.optimizer.d):
        side.learning_rate = 1e-3
    config.ema_decay = 0.999
    config.eval.metrics = eval_config.MNIST_METRICS
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
