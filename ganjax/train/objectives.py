"""The adversarial objectives and penalties a config can name, in one shape each.

Every objective is a pair of losses with one signature, ``(real_logits, fake_logits) ->
scalar``, D's and G's, built from ``config.loss`` with its options bound (label
smoothing); generator losses that read only the fakes ignore ``real_logits``. Every
penalty is ``(critic_fn, real, fake, key) -> scalar`` as ``ganjax.losses`` defines it,
un-weighted. The formulas, conventions and papers are in ``ganjax.losses``; this module
only names them. Config validation reads the names from here, and the step calls what
``make_objective`` / ``make_penalties`` return, so it never branches on a loss name.

Penalties in a config, any number at once (``make_penalties``):

* ``loss.penalty`` / ``loss.penalty_weight``: one penalty at a constant weight, on every
  D update (the classic configs: WGAN-GP's λ = 10);
* ``loss.penalties.<name>``, one section per name of ``PENALTIES``: ``weight`` (0: off),
  ``schedule`` ('constant', or 'cosine': from ``weight`` at step 0 down toward
  ``final_fraction`` × ``weight``, which t / T = 1 would reach, as R3GAN decays γ;
  ``weight_at``), and ``every`` = k: lazy
  regularisation (Karras et al. 2020, "Analyzing and Improving the Image Quality of
  StyleGAN", §B), the penalty on every k-th D update only, its weight multiplied by k.

R3GAN's regulariser (Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern
GAN Baseline") is (γ/2)·(E‖∇D(x)‖² + E‖∇D(G(z))‖²): ``penalties.r1.weight`` =
``penalties.r2.weight`` = γ/2.
"""
from collections.abc import Callable, Mapping
import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import ml_collections

from ganjax import errors
from ganjax import losses

LossFn = Callable[[jax.Array, jax.Array], jax.Array]
PenaltyFn = Callable[[Callable, jax.Array, jax.Array, jax.Array], jax.Array]
NO_PENALTY = 'none'


@dataclasses.dataclass(frozen=True)
class Objective:
    """D's and G's loss, both ``(real_logits, fake_logits) -> scalar``.

    Attributes:
      discriminator_loss: minimised by D.
      generator_loss: minimised by G.
      generator_reads_real: whether ``generator_loss`` depends on ``real_logits``; when it
        does not, the step skips D's forward pass on real data for G's update.
    """
    discriminator_loss: LossFn
    generator_loss: LossFn
    generator_reads_real: bool = False


def _fakes_only(loss: Callable[[jax.Array], jax.Array]) -> LossFn:
    """A G loss of the fakes alone, in the objectives' two-argument shape."""
    def generator_loss(real_logits, fake_logits):
        del real_logits
        return loss(fake_logits)
    return generator_loss


def _minimax_d(loss_config) -> LossFn:
    return functools.partial(losses.minimax_discriminator_loss,
                             label_smoothing=loss_config.label_smoothing)


# ``loss.name`` → a builder of its Objective from ``config.loss``.
OBJECTIVES: Mapping[str, Callable[..., Objective]] = {
    'non_saturating': lambda c: Objective(
        _minimax_d(c), _fakes_only(losses.non_saturating_generator_loss)),
    'minimax': lambda c: Objective(_minimax_d(c), _fakes_only(losses.minimax_generator_loss)),
    'wasserstein': lambda c: Objective(losses.wasserstein_discriminator_loss,
                                       _fakes_only(losses.wasserstein_generator_loss)),
    'hinge': lambda c: Objective(losses.hinge_discriminator_loss,
                                 _fakes_only(losses.hinge_generator_loss)),
    'least_squares': lambda c: Objective(losses.least_squares_discriminator_loss,
                                         _fakes_only(losses.least_squares_generator_loss)),
    'relativistic_average': lambda c: Objective(
        losses.relativistic_average_discriminator_loss,
        losses.relativistic_average_generator_loss, generator_reads_real=True),
    'relativistic_pairing': lambda c: Objective(
        losses.relativistic_pairing_discriminator_loss,
        losses.relativistic_pairing_generator_loss, generator_reads_real=True),
}

# ``loss.penalty`` (or a section of ``loss.penalties``) → the penalty; ``NO_PENALTY``
# names none.
PENALTIES: Mapping[str, PenaltyFn] = {
    'gradient_penalty': losses.gradient_penalty,
    'r1': lambda critic_fn, real, fake, key: losses.r1_penalty(critic_fn, real),
    'r2': lambda critic_fn, real, fake, key: losses.r2_penalty(critic_fn, fake),
    'dragan': lambda critic_fn, real, fake, key: losses.dragan_penalty(critic_fn, real, key),
}
PENALTY_NAMES = (NO_PENALTY, *PENALTIES)
PENALTY_SCHEDULES = ('constant', 'cosine')


@dataclasses.dataclass(frozen=True)
class ScheduledPenalty:
    """One penalty of D's loss with its weight over training.

    Attributes:
      name: a key of ``PENALTIES``; the step logs its value as ``penalty_<name>`` (the
        classic ``loss.penalty`` as ``penalty``).
      penalty: the penalty function.
      weight: its weight at step 0.
      schedule: 'constant' or 'cosine'.
      final_fraction: with 'cosine', the weight at the last step over ``weight``.
      every: lazy regularisation interval k (1: every D update).
      metric: the name the step logs its value under.
    """
    name: str
    penalty: PenaltyFn
    weight: float
    schedule: str = 'constant'
    final_fraction: float = 1.0
    every: int = 1
    metric: str = ''

    def weight_at(self, step: jax.Array, total_steps: int) -> jax.Array:
        """The scheduled weight at ``step`` (before the lazy factor k):
        w·(f + (1 − f)·½(1 + cos(π·t/T))) for 'cosine', w for 'constant'."""
        if self.schedule == 'constant':
            return jnp.asarray(self.weight, jnp.float32)
        progress = jnp.clip(step / total_steps, 0.0, 1.0)
        cosine = 0.5 * (1.0 + jnp.cos(math.pi * progress))
        return self.weight * (self.final_fraction + (1.0 - self.final_fraction) * cosine)

    def is_due(self, update: jax.Array) -> jax.Array:
        """Whether D update number ``update`` (counted from 0 over the run) computes it."""
        return update % self.every == 0


def default_penalties() -> ml_collections.ConfigDict:
    """``config.loss.penalties``: one section per penalty of ``PENALTIES``, all off."""
    return ml_collections.ConfigDict({
        name: dict(weight=0.0, schedule='constant', final_fraction=1.0, every=1)
        for name in PENALTIES})


def make_objective(loss_config) -> Objective:
    """The objective ``config.loss`` names (``loss.name``), its options bound.

    Raises:
      ValueError: an unknown ``loss.name``.
    """
    if loss_config.name not in OBJECTIVES:
        raise ValueError(f'loss.name must be one of {sorted(OBJECTIVES)}, '
                         f'got {loss_config.name!r}')
    return OBJECTIVES[loss_config.name](loss_config)


def make_penalties(loss_config) -> list[ScheduledPenalty]:
    """Every penalty ``config.loss`` turns on: ``loss.penalty`` at ``loss.penalty_weight``
    (metric ``penalty``) and each ``loss.penalties.<name>`` with a weight > 0 (metric
    ``penalty_<name>``).

    Raises:
      ValueError: an unknown penalty name.
    """
    if loss_config.penalty not in PENALTY_NAMES:
        raise ValueError(f'loss.penalty must be one of {PENALTY_NAMES}, '
                         f'got {loss_config.penalty!r}')
    active = []
    if loss_config.penalty != NO_PENALTY:
        active.append(ScheduledPenalty(loss_config.penalty, PENALTIES[loss_config.penalty],
                                       loss_config.penalty_weight, metric='penalty'))
    for name, section in (loss_config.get('penalties') or {}).items():
        if name not in PENALTIES:
            raise ValueError(f'loss.penalties.{name} is not a penalty; '
                             f'penalties: {sorted(PENALTIES)}')
        # A traced weight (a sweep over it, ``ganjax.train.sweep``) is on at every value.
        if isinstance(section.weight, jax.Array) or section.weight > 0:
            active.append(ScheduledPenalty(
                name, PENALTIES[name], section.weight, section.schedule,
                section.final_fraction, section.every, metric=f'penalty_{name}'))
    return active


def validate(config) -> None:
    """Raises ``errors.ConfigError`` naming the first bad key of ``config.loss``."""
    loss = errors.config_value(config, 'loss')
    errors.require(loss.name in OBJECTIVES, 'loss.name', loss.name,
                   f'be one of {sorted(OBJECTIVES)}')
    errors.require(loss.penalty in PENALTY_NAMES, 'loss.penalty', loss.penalty,
                   f'be one of {PENALTY_NAMES}')
    errors.require_finite_nonnegative(loss.penalty_weight, 'loss.penalty_weight')
    errors.require(0 <= loss.label_smoothing < 1, 'loss.label_smoothing',
                   loss.label_smoothing, 'be in [0, 1)')
    errors.positive_int(config, 'loss.n_critic')
    mode_seeking = loss.get('mode_seeking_weight', 0.0)
    errors.require_finite_nonnegative(mode_seeking, 'loss.mode_seeking_weight')
    if mode_seeking:
        errors.require(config.batch_size % 2 == 0, 'batch_size', config.batch_size,
                       "be even with loss.mode_seeking_weight > 0 (G's batch is made of "
                       'pairs)')
    unroll = loss.get('unroll_steps', 0)
    errors.require(errors.is_int_at_least(unroll, 0), 'loss.unroll_steps', unroll,
                   'be an integer >= 0')
    for name, section in (loss.get('penalties') or {}).items():
        key = f'loss.penalties.{name}'
        errors.require(name in PENALTIES, key, name, f'name a penalty, one of {sorted(PENALTIES)}')
        errors.require_finite_nonnegative(section.weight, f'{key}.weight')
        errors.require(section.schedule in PENALTY_SCHEDULES, f'{key}.schedule',
                       section.schedule, f'be one of {PENALTY_SCHEDULES}')
        errors.require(0 <= section.final_fraction <= 1, f'{key}.final_fraction',
                       section.final_fraction, 'be in [0, 1]')
        errors.positive_int(config, f'{key}.every')
