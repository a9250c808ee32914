"""The shared skeleton of every GAN config; each config file changes what it needs.

Sections: run cadence (top level), ``data``, ``model`` (``generator`` /
``discriminator`` hold keyword arguments of the model classes), ``optimizer.g`` /
``optimizer.d``, ``loss``, ``checkpoint``, ``eval`` (``ganjax.evaluation.eval_config``).

Every config's arg has one grammar, ``name[,variant][,smoke]`` (``parse_arg``): the
parts a config does not have are left out, ``smoke`` shrinks the run to seconds for
tests, and anything else is an error rather than a silent default. Configs import
nothing that imports TensorFlow.
"""
from collections.abc import Sequence
import dataclasses
from typing import NamedTuple

import ml_collections

from ganjax.data import datasets
from ganjax.evaluation import eval_config
from ganjax.train import code_prior
from ganjax.train import objectives
from ganjax.train import setup as setup_lib

SMOKE = 'smoke'


class ConfigArg(NamedTuple):
    """A parsed config arg: its name and variant (None where the config has none)."""
    name: str | None
    variant: str | None
    smoke: bool


def parse_arg(arg: str | None, names: Sequence[str] = (),
              variants: Sequence[str] = ()) -> ConfigArg:
    """Parses a config arg ``name[,variant][,smoke]``.

    Args:
      arg: what follows ``:`` in ``--config=file.py:arg`` (None or '' if nothing does).
      names: the choices of the first part, the default first; () if the config has none.
      variants: the choices of the part after the name, the default first; () if none.

    Raises:
      ValueError: a part that is not one of its choices, or one part too many; the
        message lists what the config accepts.
    """
    parts = arg.split(',') if arg else []
    smoke = bool(parts) and parts[-1] == SMOKE
    if smoke:
        parts.pop()
    grammar = ','.join([f"<{'|'.join(choices)}>" for choices in (names, variants) if choices]
                       + [SMOKE])
    chosen = []
    for choices in (names, variants):
        if not choices:
            chosen.append(None)
            continue
        part = parts.pop(0) if parts else choices[0]
        if part not in choices:
            raise ValueError(f'config arg {arg!r}: {part!r} is not one of {tuple(choices)} '
                             f'(the arg is [{grammar}], each part optional)')
        chosen.append(part)
    if parts:
        raise ValueError(f'config arg {arg!r}: unexpected {parts[0]!r} '
                         f'(the arg is [{grammar}], each part optional)')
    return ConfigArg(chosen[0], chosen[1], smoke)


def adam(learning_rate: float, b1: float = 0.5, b2: float = 0.999) -> ml_collections.ConfigDict:
    """An Adam section (``ganjax.train.optimizers``): constant rate, no warm-up, constant
    β2 (``b2_final`` None)."""
    return ml_collections.ConfigDict(dict(
        name='adam', learning_rate=learning_rate, b1=b1, b2=b2, schedule='constant',
        warmup_steps=0, b2_final=ml_collections.config_dict.placeholder(float)))


def sampling() -> ml_collections.ConfigDict:
    """The BatchNorm statistics a generator samples with: ``setup.SamplingConfig``'s
    defaults, standing statistics of the sampled parameters, over 8 passes of 512
    latents."""
    return ml_collections.ConfigDict(dataclasses.asdict(setup_lib.SamplingConfig()))


def loss(auxiliary_weight: float = 1.0) -> ml_collections.ConfigDict:
    """The ``loss`` section (``ganjax.train.objectives``): the non-saturating loss, no
    penalty, one D update per G update, and the weights of the class loss and of MSGAN's
    mode-seeking term (off)."""
    return ml_collections.ConfigDict(dict(
        name='non_saturating', label_smoothing=0.0, penalty='none', penalty_weight=0.0,
        penalties=objectives.default_penalties(), n_critic=1, unroll_steps=0,
        auxiliary_weight=auxiliary_weight, auxiliary_on_real=True, mode_seeking_weight=0.0))


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

    config.data = datasets.default_config(dataset)
    config.model = ml_collections.ConfigDict(dict(
        name=model, latent_dim=100, conditional=False,
        generator=ml_collections.ConfigDict(),
        discriminator=ml_collections.ConfigDict(dict(conditioning='none',
                                                     spectral_norm=False))))
    config.optimizer = ml_collections.ConfigDict(dict(g=adam(2e-4), d=adam(2e-4)))
    config.loss = loss()
    config.augment = ml_collections.ConfigDict(dict(policy=''))  # DiffAugment, ganjax.augment
    # An EMA over ~100 steps suits the few-thousand-step MNIST runs; long runs raise it.
    config.ema_decay = 0.99
    # Or a half-life in thousands of images with a ramp-up (StyleGAN2-ADA, R3GAN); when
    # half_life_kimg is set, ema_decay is not used.
    config.ema = ml_collections.ConfigDict(dict(
        half_life_kimg=ml_collections.config_dict.placeholder(float),
        rampup=ml_collections.config_dict.placeholder(float)))
    config.sampling = sampling()
    # G's labels or code drawn uniformly; 'data' draws labels by their training shares.
    config.code_prior = code_prior.default()
    config.checkpoint = ml_collections.ConfigDict(dict(max_to_keep=3))
    config.eval = eval_config.default_config()  # lists no metrics: configs opt in
    return config


def infogan_code(config: ml_collections.ConfigDict, weight: float | None = None) -> None:
    """Gives G InfoGAN's categorical code (Chen et al. 2016): G draws a code uniformly
    besides z, and D's auxiliary head learns to read it back from G's samples alone,
    with weight ``weight`` (None keeps ``loss.auxiliary_weight``); the data's labels are
    never used. The code has the dataset's number of classes, or ``model.num_codes``
    where the data has none (the 2-D mixtures)."""
    config.model.conditional = True
    config.model.discriminator.conditioning = 'auxiliary'
    config.loss.auxiliary_on_real = False
    if weight is not None:
        config.loss.auxiliary_weight = weight


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
    config.eval.inception.update(num_real=32, num_real_features=32, batch_size=16)
    config.sampling.standing_batches, config.sampling.standing_batch_size = 2, 32
    return config
