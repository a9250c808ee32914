"""One config key swept inside one compiled program (``config.sweep``).

``config.sweep.key`` names a numeric config key, dotted (``'optimizer.d.learning_rate'``),
or several, comma-separated, that take the same value
(``'optimizer.g.learning_rate,optimizer.d.learning_rate'``), and ``config.sweep.values``
the values; ``key=''`` sweeps nothing. A multi-seed benchmark
(``ganjax.train.multiseed``) then trains every (value, seed) pair as one run of a single
vmapped program: V values × S seeds cost one compilation, and seed s's run at value v is
the run the config with ``key = v`` gives seed s.

The value enters the program as a traced scalar, so a key can be swept when it only
enters the step's arithmetic (learning rates, Adam's β1/β2, the weights of
``loss.penalties``, the EMA decay, label smoothing). A key that shapes the program (a
width, ``n_critic``, a loss name, the number of steps) cannot: ``check_traceable``
refuses it with one line, and such keys are compared with separate runs. Nor can a key
outside ``STEP_SECTIONS``, the parts of the config the step is built from: the run
reads the others (``num_train``, ``first_seed``, ``num_samples``, …) outside the
compiled program, where every value would silently run the config's own.
"""
from collections.abc import Callable, Sequence
import copy

import jax
import jax.numpy as jnp
import ml_collections

from ganjax import errors

NO_SWEEP = ''
# The config sections ``ganjax.train.setup.make_setup`` builds the step and the sampler
# from: the only keys whose swept value reaches the compiled program.
STEP_SECTIONS = ('model', 'optimizer', 'loss', 'code_prior', 'ema', 'ema_decay', 'augment',
                 'sampling')


def default() -> ml_collections.ConfigDict:
    """``config.sweep``: nothing swept."""
    return ml_collections.ConfigDict(dict(key=NO_SWEEP, values=()))


def is_sweep(config) -> bool:
    return bool((config.get('sweep') or {}).get('key', NO_SWEEP))


def values(config) -> tuple[float, ...] | None:
    """The swept values, or None where the config sweeps nothing."""
    return tuple(config.sweep['values']) if is_sweep(config) else None


def keys(config) -> list[str]:
    """The swept keys of ``config``."""
    return split_keys(config.sweep.key)


def split_keys(sweep_key: str) -> list[str]:
    """The keys a ``sweep.key`` string names (split at commas)."""
    return [key.strip() for key in sweep_key.split(',')]


def with_value(config, value) -> ml_collections.ConfigDict:
    """A copy of ``config`` with each swept key set to ``value`` (a number or a traced
    scalar)."""
    changed = copy.deepcopy(config)
    for key in keys(config):
        *parents, leaf = key.split('.')
        node = changed
        for part in parents:
            node = node[part]
        with changed.ignore_type():
            node[leaf] = value
    return changed


def validate(config, validate_one: Callable[[ml_collections.ConfigDict], None]) -> None:
    """Raises ``errors.ConfigError`` for a bad ``config.sweep``; ``validate_one(config)``
    validates the config at each swept value in turn (its error names the swept key)."""
    if not is_sweep(config):
        return
    for key in keys(config):
        errors.require(key.split('.')[0] in STEP_SECTIONS, 'sweep.key', key,
                       f'name keys under {STEP_SECTIONS}: the run reads the others outside '
                       'the compiled program, so every value would run the same')
        current = errors.config_value(config, key)
        errors.require(isinstance(current, (int, float)) and not isinstance(current, bool),
                       'sweep.key', key, 'name numeric config keys')
    swept = config.sweep['values']
    errors.require(
        isinstance(swept, Sequence) and len(swept) > 0
        and all(errors.is_finite_number(v) for v in swept),
        'sweep.values', swept, 'be a non-empty tuple of finite numbers')
    for value in swept:
        validate_one(with_value(config, value))


def check_traceable(config, trace: Callable[[ml_collections.ConfigDict], object]) -> None:
    """Raises ``errors.ConfigError`` if ``sweep.key`` shapes the program: ``trace(c)``
    traces (``jax.eval_shape``) what the run builds from a config ``c`` whose swept key
    holds a traced scalar, and fails where Python needs its concrete value."""
    if not is_sweep(config):
        return
    try:
        jax.eval_shape(lambda value: trace(with_value(config, value)),
                       jnp.zeros((), jnp.float32))
    # JAX's tracer-conversion errors, and the TypeError of a traced value used as a shape.
    except (jax.errors.JAXTypeError, TypeError) as error:
        reason = str(error).splitlines()[0]
        raise errors.ConfigError(
            f'config.sweep.key={config.sweep.key!r} cannot be swept in one program: the '
            f'program depends on its concrete value ({type(error).__name__}: {reason}); '
            'compare its values with separate runs') from None
