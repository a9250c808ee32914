"""Checking an experiment config before anything is built or compiled.

Every problem a user can cause is reported as one ``errors.ConfigError`` whose message
names the config key and the bad value; entry points print it without a traceback.
Each section is checked by the layer that reads it (``data.datasets``, ``train.setup``,
``evaluation.eval_config``); this module checks the run keys and puts them together.
"""
from ganjax import errors
from ganjax.data import datasets
from ganjax.evaluation import eval_config
from ganjax.train import code_prior
from ganjax.train import setup as setup_lib

CADENCE_KEYS = ('total_steps', 'log_every_steps', 'ckpt_every_steps', 'sample_every_steps')
PARALLEL_MODES = ('jit', 'pmap')


def validate(config, num_devices: int, process_count: int = 1) -> None:
    """Raises ``errors.ConfigError`` for the first problem found in ``config``.

    Checks the run keys every config shares, that the global batch divides over processes
    and devices, that the data and model can be built (which reports unknown dataset,
    source, model name and model keyword arguments), the optimizers and loss, and the
    evaluation section. Builds nothing heavy and compiles nothing.
    """
    for key in ('batch_size', *CADENCE_KEYS):
        errors.positive_int(config, key)
    errors.require(isinstance(errors.config_value(config, 'seed'), int), 'seed', config.seed,
                   'be an integer')
    errors.require(errors.config_value(config, 'parallel') in PARALLEL_MODES, 'parallel',
                   config.parallel, f'be one of {PARALLEL_MODES}')
    errors.require(config.batch_size % num_devices == 0, 'batch_size', config.batch_size,
                   f'be divisible by the number of devices ({num_devices})')
    errors.require(config.batch_size % process_count == 0, 'batch_size', config.batch_size,
                   f'be divisible by the number of processes ({process_count})')
    # pmap's devices each form G's pairs from their own slice of the batch.
    errors.require(config.parallel != 'pmap' or not config.loss.get('mode_seeking_weight')
                   or config.batch_size // num_devices % 2 == 0, 'batch_size',
                   config.batch_size, f'give each of the {num_devices} devices an even '
                   'batch under pmap with loss.mode_seeking_weight > 0')
    # pmap's outputs are per-process arrays, which orbax cannot checkpoint across hosts.
    errors.require(config.parallel != 'pmap' or process_count == 1, 'parallel',
                   config.parallel, "be 'jit' in a multi-process run")
    errors.positive_int(config, 'checkpoint.max_to_keep')
    try:
        data_shape, num_classes = datasets.dataset_spec(errors.config_value(config, 'data'))
        datasets.shard_layout(config.data, config.batch_size // process_count, process_count)
    except errors.ConfigError:
        raise
    except (ValueError, KeyError, AttributeError) as e:
        raise errors.ConfigError(str(e).strip('"')) from e
    setup_lib.validate(config, data_shape, num_classes)
    # A group never spans two devices' shares of D's batch, so that pmap and jit compute
    # the same function (``ganjax.layers.minibatch_stddev``).
    discriminator = (config.get('model') or {}).get('discriminator') or {}
    group = discriminator.get('minibatch_std_group', 0)
    d_batch = config.batch_size // num_devices // discriminator.get('packing', 1)
    errors.require(not group or d_batch % group == 0,
                   'model.discriminator.minibatch_std_group', group,
                   f"divide each device's share of D's batch ({d_batch}: batch_size / "
                   'devices / model.discriminator.packing)')
    # EM's prior is built and measured for the 2-D benchmarks, whose many codes share
    # few modes; an image run's G draws its labels uniformly or by the data's shares.
    prior = code_prior.CodePrior.from_config(config)
    errors.require(not prior.learned, 'code_prior.rule', prior.rule,
                   "be 'uniform' in image experiments (a learned prior is for the 2-D "
                   'benchmarks, experiments.toy2d, whose samples draw codes from it)')
    eval_config.validate(config)
