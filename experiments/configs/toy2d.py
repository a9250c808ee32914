"""The 2-D mode-collapse benchmarks (PacGAN, Lin et al. 2018, Table 1), S seeds at once.

Commands:
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:ring
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:grid
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:ring,pacgan2

The arg is ``<mixture>[,<variant>[,smoke]]``: mixture ``ring`` (8 modes) or ``grid``
(25); variant ``gan`` (default: non-saturating loss), ``pacgan2`` / ``pacgan3`` /
``pacgan4`` (the same with a discriminator packing m samples), ``wgan_gp`` (Wasserstein
loss, gradient penalty λ = 10, 5 critic updates, Adam β = (0, 0.9); Gulrajani et al.
2017) or ``best``; ``smoke`` shrinks the run to seconds, for tests.

PacGAN's networks (G 4 × 400 BN+ReLU from z ∈ R², D 3 maxout layers of 200 × 5), Adam
1e-4 (β1 0.5), batch 100 drawn from 100,000 training points, 10 seeds; the 2,500
evaluated samples come from the raw generator (``sample_from_ema=False``, as in the
papers). See ``ganjax.data.mixtures`` for the metrics.

Measured (docs/benchmarks.md): with PacGAN's networks 10 seeds × 6,000 steps take
17 minutes on a 2-core CPU, and on the ring the non-saturating GAN reaches 7.8 modes but
only 37 % high-quality samples: the samples still trail between the modes (PacGAN's
runs were longer). ``best`` uses narrower networks, twice the steps and an EMA of G.
G's BatchNorm samples with standing statistics (``config.sampling``): on the ring they
raise the high-quality share from 33 % (training's running averages) to 37 %; on the
grid (``best``) every mode gives 11 %, so BatchNorm statistics are not what holds the
grid back.
"""
import ml_collections

from experiments.configs import defaults
from ganjax.data import mixtures
from ganjax.train import objectives
from ganjax.train import sweep

VARIANTS = ('gan', 'pacgan2', 'pacgan3', 'pacgan4', 'wgan_gp', 'best',
            'paper_gan', 'paper_pacgan2', 'paper_pacgan3', 'paper_pacgan4')
# PacGAN's own protocol (its code): 400 epochs of 100,000 points in batches of 100.
PAPER_STEPS = 400_000


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    mixture, variant, smoke = defaults.parse_arg(
        arg, names=tuple(mixtures.MIXTURES), variants=VARIANTS)
    config = ml_collections.ConfigDict()
    config.mixture = mixture
    config.variant = variant
    config.num_seeds = 10
    config.first_seed = 0
    config.batch_size = 100
    config.total_steps = 6000
    config.chunk_steps = 500
    config.log_every_steps = 1000
    config.num_train = 100_000
    config.num_samples = 2500
    config.sample_from_ema = False
    config.model = ml_collections.ConfigDict(dict(
        name='toy2d', latent_dim=2, conditional=False,
        generator=ml_collections.ConfigDict(dict(hidden=400, depth=4, batch_norm=True,
                                                activation='relu')),
        discriminator=ml_collections.ConfigDict(dict(
            hidden=200, pieces=5, depth=3, conditioning='none', spectral_norm=False,
            packing=1))))
    config.optimizer = ml_collections.ConfigDict(dict(g=defaults.adam(1e-4),
                                                      d=defaults.adam(1e-4)))
    config.loss = ml_collections.ConfigDict(dict(
        name='non_saturating', label_smoothing=0.0, penalty='none', penalty_weight=0.0,
        penalties=objectives.default_penalties(), n_critic=1, unroll_steps=0,
        auxiliary_weight=0.0))
    config.ema_decay = 0.0
    config.sampling = defaults.sampling()
    config.sweep = sweep.default()
    if variant.startswith(('pacgan', 'paper_pacgan')):
        config.model.discriminator.packing = int(variant[-1])
    if variant.startswith('paper_'):
        config.total_steps = PAPER_STEPS
        config.optimizer.g.b1 = config.optimizer.d.b1 = 0.8
    if variant == 'wgan_gp':
        config.loss.name, config.loss.penalty = 'wasserstein', 'gradient_penalty'
        config.loss.penalty_weight, config.loss.n_critic = 10.0, 5
        config.optimizer.g.b1 = config.optimizer.d.b1 = 0.0
        config.optimizer.g.b2 = config.optimizer.d.b2 = 0.9
    elif variant == 'best':
        # Found in a short search on the ring with seeds 0-4 (report it on other seeds,
        # e.g. --config.first_seed=100): narrower networks, so that twice the steps fit
        # the time budget, PacGAN2, a cosine-decayed learning rate and samples from an
        # EMA of G.
        config.model.generator.hidden, config.model.discriminator.hidden = 128, 100
        config.model.discriminator.packing = 2
        config.total_steps = 12000
        for opt in (config.optimizer.g, config.optimizer.d):
            opt.learning_rate, opt.schedule = 5e-4, 'cosine'
        config.ema_decay = 0.999
        config.sample_from_ema = True
    if smoke:
        config.num_seeds, config.total_steps, config.chunk_steps = 2, 20, 10
        config.log_every_steps, config.num_train, config.num_samples = 10, 1000, 200
        config.sampling.standing_batches, config.sampling.standing_batch_size = 2, 32
    return config
