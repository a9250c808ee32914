"""The optimizer factories: one network's optax optimizer from its config section.

``config.optimizer.g`` and ``config.optimizer.d`` (or ``config.optimizer.vae``) each
hold ``name``, ``learning_rate``, ``schedule`` and, for Adam, ``b1``/``b2``.
"""
import optax

from ganjax import errors

OPTIMIZERS = ('adam', 'rmsprop', 'sgd')
SCHEDULES = ('constant', 'linear_decay', 'cosine')


def learning_rate_schedule(opt_config, total_steps: int) -> optax.Schedule:
    """``optimizer.{g,d}.schedule``: 'constant', 'linear_decay' (to 0) or 'cosine' (to 0)."""
    lr = opt_config.learning_rate
    if opt_config.schedule == 'constant':
        return optax.constant_schedule(lr)
    if opt_config.schedule == 'linear_decay':
        return optax.linear_schedule(lr, 0.0, total_steps)
    if opt_config.schedule == 'cosine':
        return optax.cosine_decay_schedule(lr, total_steps)
    raise ValueError(f'schedule must be one of {SCHEDULES}, got {opt_config.schedule!r}')


def make_optimizer(opt_config, total_steps: int) -> optax.GradientTransformation:
    """One network's optimizer from ``config.optimizer.g`` or ``config.optimizer.d``.

    Separate learning rates for G and D give the two time-scale update rule (TTUR;
    Heusel et al. 2017). Adam's β1/β2 are ``b1``/``b2``.
    """
    schedule = learning_rate_schedule(opt_config, total_steps)
    if opt_config.name == 'adam':
        return optax.adam(schedule, b1=opt_config.b1, b2=opt_config.b2)
    if opt_config.name == 'rmsprop':
        return optax.rmsprop(schedule)
    if opt_config.name == 'sgd':
        return optax.sgd(schedule)
    raise ValueError(f'optimizer name must be one of {OPTIMIZERS}, got {opt_config.name!r}')


def validate(config, key: str) -> None:
    """Raises ``errors.ConfigError`` naming the first bad key of the optimizer section
    ``config.<key>`` (e.g. ``'optimizer.g'``)."""
    opt = errors.config_value(config, key)
    errors.require(opt.name in OPTIMIZERS, f'{key}.name', opt.name, f'be one of {OPTIMIZERS}')
    errors.require(opt.learning_rate > 0, f'{key}.learning_rate', opt.learning_rate, 'be > 0')
    errors.require(opt.schedule in SCHEDULES, f'{key}.schedule', opt.schedule,
                   f'be one of {SCHEDULES}')
    for beta in ('b1', 'b2'):
        if beta in opt:
            errors.require(0 <= opt[beta] < 1, f'{key}.{beta}', opt[beta], 'be in [0, 1)')
