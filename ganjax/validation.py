"""Checking an experiment config before anything is built or compiled.

Every problem a user can cause is reported as one ``ConfigError`` whose message names
the config key and the bad value; entry points print it without a traceback.
"""
from ganjax import data
from ganjax import models
from ganjax import state as state_lib
from ganjax import step as step_lib

CADENCE_KEYS = ('total_steps', 'log_every_steps', 'ckpt_every_steps', 'sample_every_steps')
PARALLEL_MODES = ('jit', 'pmap')


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


def require(condition: bool, key: str, value, requirement: str) -> None:
    """Raises ``ConfigError`` "config.<key> must <requirement>, got <value>" unless
    ``condition``."""
    if not condition:
        raise ConfigError(f'config.{key} must {requirement}, got {value!r}')


def _get(config, key: str):
    node = config
    for part in key.split('.'):
        if part not in node:
            raise ConfigError(f'config.{key} is missing')
        node = node[part]
    return node


def positive_int(config, key: str) -> None:
    """Raises ``ConfigError`` unless ``config.<key>`` (dotted) is a positive int."""
    value = _get(config, key)
    require(isinstance(value, int) and not isinstance(value, bool) and value > 0, key, value,
             'be a positive integer')


def _optimizer(config, key: str) -> None:
    opt = _get(config, key)
    require(opt.name in state_lib.OPTIMIZERS, f'{key}.name', opt.name,
             f'be one of {state_lib.OPTIMIZERS}')
    require(opt.learning_rate > 0, f'{key}.learning_rate', opt.learning_rate, 'be > 0')
    require(opt.schedule in state_lib.SCHEDULES, f'{key}.schedule', opt.schedule,
             f'be one of {state_lib.SCHEDULES}')
    for beta in ('b1', 'b2'):
        if beta in opt:
            require(0 <= opt[beta] < 1, f'{key}.{beta}', opt[beta], 'be in [0, 1)')


def _gan_sections(config) -> None:
    loss = _get(config, 'loss')
    require(loss.name in step_lib.ADVERSARIAL_LOSSES, 'loss.name', loss.name,
             f'be one of {sorted(step_lib.ADVERSARIAL_LOSSES)}')
    require(loss.penalty in step_lib.PENALTIES, 'loss.penalty', loss.penalty,
             f'be one of {step_lib.PENALTIES}')
    require(loss.penalty_weight >= 0, 'loss.penalty_weight', loss.penalty_weight, 'be >= 0')
    require(0 <= loss.label_smoothing < 1, 'loss.label_smoothing', loss.label_smoothing,
             'be in [0, 1)')
    positive_int(config, 'loss.n_critic')
    require(0 <= config.ema_decay < 1, 'ema_decay', config.ema_decay, 'be in [0, 1)')
    _optimizer(config, 'optimizer.g')
    _optimizer(config, 'optimizer.d')


def _discriminator_fits_loss(config, discriminator) -> None:
    conditioning = discriminator.conditioning
    require((conditioning == 'none') != bool(config.model.conditional),
             'model.discriminator.conditioning', conditioning,
             "be 'none' when model.conditional is False and 'projection' or 'auxiliary' "
             'when it is True')
    # Gradient penalties are per-example gradients; BatchNorm in train mode mixes the
    # examples of a batch, which makes them wrong (Gulrajani et al. 2017, §4).
    require(config.loss.penalty == 'none' or not getattr(discriminator, 'batch_norm', False),
             'model.discriminator.batch_norm', True,
             f'be False with loss.penalty={config.loss.penalty!r}')
    # Likewise a packed input's gradient spans several examples (PacGAN).
    packing = getattr(discriminator, 'packing', 1)
    require(isinstance(packing, int) and packing >= 1, 'model.discriminator.packing',
             packing, 'be a positive integer')
    require(config.loss.penalty == 'none' or packing == 1, 'model.discriminator.packing',
             packing, f'be 1 with loss.penalty={config.loss.penalty!r}')
    require(config.batch_size % packing == 0, 'batch_size', config.batch_size,
             f'be divisible by model.discriminator.packing={packing}')


def validate(config, num_devices: int, process_count: int = 1) -> None:
    """Raises ``ConfigError`` for the first problem found in ``config``.

    Checks the run keys every config shares, the optimizers and loss, that the global
    batch divides over processes and devices, and that the data and model can be built
    (which reports unknown dataset, source, model name and model keyword arguments).
    Builds nothing heavy and compiles nothing.
    """
    for key in ('batch_size', *CADENCE_KEYS):
        positive_int(config, key)
    require(isinstance(_get(config, 'seed'), int), 'seed', config.seed, 'be an integer')
    require(_get(config, 'parallel') in PARALLEL_MODES, 'parallel', config.parallel,
             f'be one of {PARALLEL_MODES}')
    require(config.batch_size % num_devices == 0, 'batch_size', config.batch_size,
             f'be divisible by the number of devices ({num_devices})')
    require(config.batch_size % process_count == 0, 'batch_size', config.batch_size,
             f'be divisible by the number of processes ({process_count})')
    # pmap's outputs are per-process arrays, which orbax cannot checkpoint across hosts.
    require(config.parallel != 'pmap' or process_count == 1, 'parallel', config.parallel,
             "be 'jit' in a multi-process run")
    positive_int(config, 'checkpoint.max_to_keep')
    try:
        data_shape, num_classes = data.dataset_spec(_get(config, 'data'))
        if config.batch_size % process_count == 0:
            data.shard_layout(config.data, config.batch_size // process_count, process_count)
        if _get(config, 'model.name') == 'vae':
            _optimizer(config, 'optimizer.vae')
            require(_get(config, 'loss.beta') >= 0, 'loss.beta', config.loss.beta, 'be >= 0')
            models.build_vae(config.model, data_shape)
        else:
            validate_gan_model(config, data_shape, num_classes)
    except ConfigError:
        raise
    except (ValueError, KeyError, AttributeError) as e:
        raise ConfigError(str(e).strip('"')) from e


def validate_gan_model(config, data_shape, num_classes: int) -> None:
    """Raises ``ConfigError`` for a bad ``loss``, ``optimizer`` or ``model`` section of a
    GAN config, or a discriminator that does not fit the loss (part of ``validate``)."""
    try:
        _gan_sections(config)
        _, discriminator = models.build_gan(
            config.model, data_shape, num_classes if config.model.conditional else 0)
        _discriminator_fits_loss(config, discriminator)
    except ConfigError:
        raise
    except (ValueError, KeyError, AttributeError) as e:
        raise ConfigError(str(e).strip('"')) from e
