"""The adversarial objectives and penalties a config can name, in one shape each.

Every objective is a pair of losses with one signature, ``(real_logits, fake_logits) ->
scalar``, D's and G's, built from ``config.loss`` with its options bound (label
smoothing); generator losses that read only the fakes ignore ``real_logits``. Every
penalty is ``(critic_fn, real, fake, key) -> scalar`` as ``ganjax.losses`` defines it
(un-weighted; the step multiplies by ``loss.penalty_weight``). The formulas, conventions
and papers are in ``ganjax.losses``; this module only names them. Config validation reads
the names from here, and the step calls what ``make_objective`` / ``make_penalty``
return, so it never branches on a loss name.
"""
from collections.abc import Callable, Mapping
import dataclasses
import functools

import jax

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

# ``loss.penalty`` → the penalty; ``NO_PENALTY`` names none.
PENALTIES: Mapping[str, PenaltyFn] = {
    'gradient_penalty': losses.gradient_penalty,
    'r1': lambda critic_fn, real, fake, key: losses.r1_penalty(critic_fn, real),
}
PENALTY_NAMES = (NO_PENALTY, *PENALTIES)


def make_objective(loss_config) -> Objective:
    """The objective ``config.loss`` names (``loss.name``), its options bound.

    Raises:
      ValueError: an unknown ``loss.name``.
    """
    if loss_config.name not in OBJECTIVES:
        raise ValueError(f'loss.name must be one of {sorted(OBJECTIVES)}, '
                         f'got {loss_config.name!r}')
    return OBJECTIVES[loss_config.name](loss_config)


def make_penalty(loss_config) -> PenaltyFn | None:
    """The penalty ``config.loss.penalty`` names, or None for ``NO_PENALTY``.

    Raises:
      ValueError: an unknown ``loss.penalty``.
    """
    if loss_config.penalty not in PENALTY_NAMES:
        raise ValueError(f'loss.penalty must be one of {PENALTY_NAMES}, '
                         f'got {loss_config.penalty!r}')
    return PENALTIES.get(loss_config.penalty)


def validate(config) -> None:
    """Raises ``errors.ConfigError`` naming the first bad key of ``config.loss``."""
    loss = errors.config_value(config, 'loss')
    errors.require(loss.name in OBJECTIVES, 'loss.name', loss.name,
                   f'be one of {sorted(OBJECTIVES)}')
    errors.require(loss.penalty in PENALTY_NAMES, 'loss.penalty', loss.penalty,
                   f'be one of {PENALTY_NAMES}')
    errors.require(loss.penalty_weight >= 0, 'loss.penalty_weight', loss.penalty_weight,
                   'be >= 0')
    errors.require(0 <= loss.label_smoothing < 1, 'loss.label_smoothing',
                   loss.label_smoothing, 'be in [0, 1)')
    errors.positive_int(config, 'loss.n_critic')
