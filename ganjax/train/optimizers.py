"""The optimizer factories: one network's optax optimizer from its config section.

``config.optimizer.g`` and ``config.optimizer.d`` (or ``config.optimizer.vae``) each
hold ``name``, ``learning_rate``, ``schedule`` and, for Adam, ``b1``/``b2``; optionally
``warmup_steps`` (a linear warm-up of the learning rate from 0 before the schedule) and,
for Adam, ``b2_final`` (β2 moved linearly from ``b2`` to it over the run; None keeps it
constant). Separate sections for G and D give each network its own rate, warm-up and
decay: the two time-scale update rule (TTUR; Heusel et al. 2017) is two learning rates.

``num_updates`` counts this optimizer's updates over the run: D makes ``n_critic`` per
step, so its schedules span ``total_steps × n_critic`` updates.
"""

import optax

from ganjax import errors

OPTIMIZERS = ('adam', 'rmsprop', 'sgd')
SCHEDULES = ('constant', 'linear_decay', 'cosine')


def learning_rate_schedule(opt_config, num_updates: int) -> optax.Schedule:
    """``schedule``: 'constant', 'linear_decay' (to 0) or 'cosine' (to 0) over the
    updates after ``warmup_steps`` (default 0), which ramp the rate linearly from 0."""
    lr = opt_config.learning_rate
    warmup = opt_config.get('warmup_steps', 0)
    decay_updates = max(num_updates - warmup, 1)
    if opt_config.schedule == 'constant':
        schedule = optax.constant_schedule(lr)
    elif opt_config.schedule == 'linear_decay':
        schedule = optax.linear_schedule(lr, 0.0, decay_updates)
    elif opt_config.schedule == 'cosine':
        schedule = optax.cosine_decay_schedule(lr, decay_updates)
    else:
        raise ValueError(f'schedule must be one of {SCHEDULES}, got {opt_config.schedule!r}')
    if not warmup:
        return schedule
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), schedule], [warmup])


def make_optimizer(opt_config, num_updates: int) -> optax.GradientTransformation:
    """One network's optimizer from its config section (``config.optimizer.g``, ...),
    whose schedules span ``num_updates`` updates."""
    schedule = learning_rate_schedule(opt_config, num_updates)
    if opt_config.name == 'adam':
        if opt_config.get('b2_final') is None:
            return optax.adam(schedule, b1=opt_config.b1, b2=opt_config.b2)
        # β2 as a schedule: optax evaluates callable hyper-parameters at each update.
        b2 = optax.linear_schedule(opt_config.b2, opt_config.b2_final, num_updates)
        return optax.inject_hyperparams(optax.adam)(learning_rate=schedule, b1=opt_config.b1,
                                                    b2=b2)
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
    errors.require_finite_positive(opt.learning_rate, f'{key}.learning_rate')
    errors.require(opt.schedule in SCHEDULES, f'{key}.schedule', opt.schedule,
                   f'be one of {SCHEDULES}')
    for beta in ('b1', 'b2'):
        if beta in opt:
            errors.require(0 <= opt[beta] < 1, f'{key}.{beta}', opt[beta], 'be in [0, 1)')
    if opt.get('b2_final') is not None:
        errors.require(opt.name == 'adam' and 0 <= opt.b2_final < 1, f'{key}.b2_final',
                       opt.b2_final, "be None, or in [0, 1) with name='adam'")
    warmup = opt.get('warmup_steps', 0)
    errors.require(errors.is_int_at_least(warmup, 0), f'{key}.warmup_steps', warmup,
                   'be an integer >= 0')
