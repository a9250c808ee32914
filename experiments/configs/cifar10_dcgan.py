"""DCGAN on CIFAR-10 at 32×32 or, via arg, 64×64 (Radford et al. 2016, as in the tutorial
"使用GAN生成逼真的图像和视频").

Commands:
    python -m experiments.cifar10 --config=experiments/configs/cifar10_dcgan.py
    python -m experiments.cifar10 --config=experiments/configs/cifar10_dcgan.py:64

G: ConvT 4×4 from z to 4×4, then ConvT 4×4/2 layers with BN + ReLU, tanh; D: Conv 4×4/2
with BN + LeakyReLU(0.2). Non-saturating loss, Adam 2e-4 / β1 0.5, batch 64. At 64×64
images are resized with antialiasing and G/D get one more layer each. Needs TFDS
CIFAR-10 (``tfds build cifar10`` where there is internet); there is no offline copy.

Evaluation at the end, as papers report CIFAR-10: Inception FID against the 50,000
training images and Inception Score (10 splits) of 50,000 samples of the EMA and the raw
generator (``ganjax.evaluation.inception_metrics``), with pytorch-fid's weights from
``eval.inception.weights`` or the cache (``ganjax.inception``; downloaded once where
there is internet). Without them the run trains, says so, and skips the evaluation;
``python -m experiments.evaluate --workdir=DIR --inception_weights=PATH`` computes it
later. The Inception network reads about 6.5 images/s on a 2-core CPU (6.4 hours
for 50,000 real and 2 × 50,000 generated images): on a CPU, pass
``--config.eval.num_samples=10000`` and say so beside the number. Add 'lpips_diversity'
to ``eval.metrics`` for the samples' mean pairwise LPIPS (``ganjax.lpips``).

Runtime: meant for accelerators. On a 2-core CPU a step takes 0.26 s at 32×32 and 1.5 s
at 64×64 (``python -m experiments.benchmark``), i.e. about 3.5 hours for the 50,000
steps at 32×32. Expected: blurry but recognisable object-like colour images after tens
of thousands of steps, as in Radford et al. (not run here: no CIFAR-10 offline).
"""
from experiments.configs import defaults


def get_config(arg: str | None = None):
    size, _, smoke = defaults.parse_arg(arg, names=('32', '64'))
    config = defaults.gan_config(dataset='cifar10', model='dcgan', total_steps=50_000)
    config.ema_decay = 0.999
    config.eval.metrics = ('inception_fid', 'inception_score')
    config.eval.num_samples = 50_000
    if size == '64':
        config.data.image_size = 64
    if smoke:
        defaults.shrink_for_smoke_test(config)
    return config
