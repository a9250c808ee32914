"""The shared skeleton of every GAN config; each config file changes what it needs.

Sections: run cadence (top level), ``data``, ``model`` (``generator`` /
``discriminator`` hold keyword arguments of the model classes), ``optimizer.g`` /
``optimizer.d``, ``loss``, ``checkpoint``, ``eval`` (``ganjax.evaluation``). The
``smoke`` arg of every config shrinks the run to seconds for tests.
"""
import ml_collections

from ganjax import data
from ganjax import evaluation


def adam(learning_rate: float, b1: float = 0.5, b2: float = 0.999) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(name='adam', learning_rate=learning_rate, b1=b1,
                                          b2=b2, schedule='constant'))


def gan_config(*, dataset: str, model: str, total_steps: int) -> ml_collections.ConfigDict:
    """Defaults: batch 64, Adam 2e-4/β1 0.5 for both nets, non-saturating loss, EMA 0.99."""
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.batch_size = 64  # global, per discriminator update
    config.total_steps = total_steps
    config.log_every_steps = 50
    config.ckpt_every_steps = 1000
    config.sample_every_steps = 500
    config.parallel = 'jit'  # 'jit' or 'pmap'

    config.data = data.default_config(dataset)
    config.model = ml_collections.ConfigDict(dict(
        name=model, latent_dim=100, conditional=False,
        generator=ml_collections.ConfigDict(),
        discriminator=ml_collections.ConfigDict(dict(conditioning='none',
                                                     spectral_norm=False))))
    config.optimizer = ml_collections.ConfigDict(dict(g=adam(2e-4), d=adam(2e-4)))
    config.loss = ml_collections.ConfigDict(dict(
        name='non_saturating', label_smoothing=0.0, penalty='none', penalty_weight=0.0,
        n_critic=1, auxiliary_weight=1.0))
    # An EMA over ~100 steps suits the few-thousand-step MNIST runs; long runs raise it.
    config.ema_decay = 0.99
    config.checkpoint = ml_collections.ConfigDict(dict(max_to_keep=3))
    config.eval = evaluation.default_config()  # lists no metrics: configs opt in
    return config


def shrink_for_smoke_test(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A few tiny steps that exercise every cadence: for tests, not for results."""
    config.batch_size = 8
    config.total_steps = 6
    config.log_every_steps = 2
    config.ckpt_every_steps = 3
    config.sample_every_steps = 3
    config.eval.num_samples = 64
    config.eval.num_real = 200
    config.eval.num_splits = 2
    return config
