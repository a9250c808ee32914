"""The 2-D mode-collapse benchmarks (PacGAN, Lin et al. 2018, Table 1), S seeds at once.

Commands (ganjax's recipe, then PacGAN's GAN with our step count, then its protocol):
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:ring
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:grid
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:ring,pacgan2
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:grid,paper_pacgan4

The arg is ``<mixture>[,<variant>[,smoke]]``: mixture ``ring`` (8 modes) or ``grid``
(25); variant ``recipe`` (default: ganjax's recommended recipe, below), ``best`` (the
recipe of an earlier search, kept so that its results reproduce), ``gan``
(non-saturating loss), ``pacgan2`` / ``pacgan3`` / ``pacgan4`` (the same with a
discriminator packing m samples), ``wgan_gp`` (Wasserstein loss, gradient penalty
λ = 10, 5 critic updates, Adam β = (0, 0.9); Gulrajani et al. 2017), or
``paper_gan`` / ``paper_pacgan2`` … ``paper_pacgan4``: PacGAN's own protocol (its code:
Adam 1e-4 with β1 = 0.8, batch 100 from 100,000 fixed points, 400 epochs = 400,000
updates, the raw generator); ``smoke`` shrinks the run to seconds, for tests.
``--config.sweep.key=K --config.sweep.values=(...)`` trains every value × seed as one
program (``ganjax.train.sweep``).

The variants ``gan`` … ``wgan_gp`` use PacGAN's networks (G 4 × 400 BN+ReLU from
z ∈ R², D 3 maxout layers of 200 × 5), Adam 1e-4 (β1 0.5), batch 100 drawn from 100,000
training points, 6,000 steps, 10 seeds, and sample the raw generator
(``sample_from_ema=False``, as in the papers). See ``ganjax.data.mixtures`` for the
metrics.

Measured on a 2-core AMD EPYC (Zen 4; docs/benchmarks.md, with the ablation tables
that chose the recipe), 10 seeds, mean: modes / high-quality share / KL.

* grid, ``recipe`` (``toy2d.py:grid``, 10,000 steps): 23.8 / 17.2 % / 0.40 in 9.3
  minutes of training (9.5 min wall); PacGAN4: 24.8 / 93.6 % / 0.04, so ganjax misses
  the paper's grid by far. ``best`` (PacGAN2, 12,000 steps): 23.2 / 10.8 % / 0.71 in
  5.9 min. The recipe's R1 at 12,000 steps reaches 24.8 / 27.8 % / 0.28, in 11.6
  minutes: over the 10-minute budget. Lazy R1 (every 4th D update,
  ``--config.loss.penalties.r1.every=4 --config.total_steps=9000``): 22.9 / 13.4 % /
  0.47 in 9.2 min wall.
* ring, ``recipe`` (= ``best``, ``toy2d.py:ring``, 12,000 steps): 8.0 (8/8 in every
  seed) / 91.5 % / 0.010 in 5.8 minutes of training (6.0 min wall); PacGAN2: 7.9 /
  95.6 % / 0.07, so ours beats it on modes and KL but not on high quality (``best`` on
  seeds 100-109: 91.6 %). An ordinary D with R1 (4 seeds, weights 0.003-0.3) gave
  75-87 %: R1 helps the grid, not the ring.
* ring, ``paper_pacgan2`` for 3,000 of its 400,000 updates (``--config.total_steps=3000``,
  5.1 min): 7.7 / 22.4 % / 0.24. Under 1 % of the paper's updates does not reproduce
  Table 1; all of them would take about 11 hours for 10 seeds here (99 seed-steps/s).
* grid, ``paper_pacgan4`` for 3,000 updates (``--config.total_steps=3000``, 2.9 min):
  13.2 / 1.9 % / 1.00, against the paper's 24.8 / 93.6 % / 0.04 after 400,000.

On the grid the samples of every variant trail from the modes along rays away from the
origin (``samples.png``); neither a G without BatchNorm, nor tanh or GELU units, nor a
64-D latent removed them (the ablation table). G's BatchNorm samples with standing
statistics (``config.sampling``): on the ring (``gan``) they raise the high-quality
share from 33 % (training's running averages) to 37 %.
"""
import ml_collections

from experiments.configs import defaults
from ganjax.data import mixtures
from ganjax.train import objectives
from ganjax.train import sweep

VARIANTS = ('recipe', 'best', 'gan', 'pacgan2', 'pacgan3', 'pacgan4', 'wgan_gp',
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
    elif variant in ('best', 'recipe'):
        # 'best', found in a short search on the ring (seeds 0-4): narrower networks so
        # that twice the steps fit the time budget, PacGAN2, a cosine-decayed learning
        # rate and samples from an EMA of G. 'recipe', ganjax's recommendation (the
        # default), is 'best' on the ring; on the grid it trades PacGAN2 for an ordinary
        # D with an R1 penalty, which gave 2.5x the high-quality share at 12,000 steps
        # (docs/benchmarks.md's ablations); the penalty's cost leaves time for 10,000.
        # R1 on every 4th update only (lazy) at 9,000 steps did worse on every column.
        config.model.generator.hidden, config.model.discriminator.hidden = 128, 100
        config.model.discriminator.packing = 2
        config.total_steps = 12000
        for opt in (config.optimizer.g, config.optimizer.d):
            opt.learning_rate, opt.schedule = 5e-4, 'cosine'
        config.ema_decay = 0.999
        config.sample_from_ema = True
        if variant == 'recipe' and mixture == 'grid':
            config.model.discriminator.packing = 1
            config.loss.penalties.r1.weight = 0.1
            config.total_steps = 10000
    if smoke:
        config.num_seeds, config.total_steps, config.chunk_steps = 2, 20, 10
        config.log_every_steps, config.num_train, config.num_samples = 10, 1000, 200
        config.sampling.standing_batches, config.sampling.standing_batch_size = 2, 32
    return config
