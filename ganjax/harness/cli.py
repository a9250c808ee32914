"""What the experiment entry points share: flags, the default workdir, user errors.

A user error (bad config value, unusable workdir, unavailable data) or a diverged run
(a non-finite loss; its earlier checkpoints are kept) ends the program with one
``error: ...`` line on stderr and exit status 2, without a traceback; a run stopped by
SIGTERM (a preemption) saves its step and ends with one line and exit status 143.
"""
import datetime
import functools
import logging as std_logging
import os
import shlex
import sys
import time

from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from ganjax import errors
from ganjax.harness import loop
from ganjax.harness import workdir as workdir_lib
from ganjax.train import checkpoint
from ganjax.train import distributed
from ganjax.train import preemption


def define_config_flags() -> None:
    """Defines --config (a locked config file, so a misspelt override fails), --workdir
    and the multi-process flags (``ganjax.train.distributed``)."""
    config_flags.DEFINE_config_file('config', None, 'Experiment config file.',
                                    lock_config=True)
    flags.DEFINE_string('workdir', None, 'Run directory; a fresh one under runs/ if omitted. '
                        'An existing one with checkpoints is resumed.')
    flags.mark_flags_as_required(['config'])
    flags.DEFINE_bool('multihost', False, 'Join a multi-host run whose coordinator JAX '
                      'discovers (Cloud TPU pod slices, SLURM, Open MPI, Kubernetes).')
    flags.DEFINE_string('coordinator_address', None,
                        'host:port of process 0 of a multi-process run.')
    flags.DEFINE_integer('num_processes', None, 'Processes of a multi-process run.')
    flags.DEFINE_integer('process_id', None, "This process's index in a multi-process run.")


def parse_flags(argv: list[str]) -> list[str]:
    """``app.run``'s flags_parser: a bad flag or config override is a one-line user error.

    (ml_collections reports an unknown override key such as ``--config.no_such_key=1``
    with a bare AttributeError, which absl would show as a traceback, and a config file
    that raises with its whole traceback.)
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        message = str(e).rstrip()
        if 'Traceback (most recent call last)' in message:
            # ml_collections embeds the traceback of a config file that raised; its
            # first line names the flag and its last line is the config's own message.
            message = f"{message.split(chr(10), 1)[0]} {message.rsplit(chr(10), 1)[-1]}"
    except (AttributeError, KeyError) as e:
        # A KeyError's str() is its message's repr: quoted, with ml_collections' newline
        # before "Did you mean ..." escaped; the message itself, on one line.
        error = e
        while error.args and isinstance(error.args[0], (AttributeError, KeyError)):
            error = error.args[0]  # ml_collections wraps the KeyError in an AttributeError
        detail = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
        message = f"unknown config key in an override: {' '.join(detail.split())}"
    except OSError as e:
        # A config file that cannot be loaded, reported when an override is applied.
        message = ' '.join(line.strip() for line in str(e).splitlines())
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)


# The entry point that trains each kind of config (``config_kind``): an image GAN or VAE
# config by its data.name, a 2-D mixture config experiments.toy2d, the feature network's
# classifier config experiments.train_classifier.
TRAINED_BY = {'mnist': 'experiments.mnist', 'stacked_mnist': 'experiments.stacked_mnist',
              'cifar10': 'experiments.cifar10', 'mixture': 'experiments.toy2d',
              'classifier': 'experiments.train_classifier'}
_KIND_NAMES = {'mixture': 'a 2-D mixture config', 'classifier': 'a classifier config'}


def config_kind(config) -> str | None:
    """'mixture' for a 2-D mixture config (a ``mixture`` key, no data section),
    'classifier' for a classifier config (an ``epochs`` key: it trains by epochs, a GAN
    by steps), else the config's data.name (None if it has none)."""
    if 'mixture' in config:
        return 'mixture'
    if 'epochs' in config:
        return 'classifier'
    return (config.get('data') or {}).get('name')


def loaded_config(trainer: str | None = None):
    """The value of --config, loaded now: a file that failed to load is a user error, and
    so is a config that the entry point ``trainer`` (a module of ``TRAINED_BY``) does
    not train, before anything is trained in vain or filed as another benchmark.

    (ml_collections loads the file lazily and raises a plain IOError on first use.)
    """
    config = flags.FLAGS.config
    try:
        config.get('seed')
    except OSError as e:
        raise errors.ConfigError(str(e)) from e
    kind = config_kind(config)
    # Any other data.name (or none) is left to the config's validation, which lists them.
    if trainer is not None and TRAINED_BY.get(kind, trainer) != trainer:
        what = _KIND_NAMES.get(kind, f'a config of data.name={kind!r}')
        raise errors.ConfigError(f"--config={flags.FLAGS['config'].config_filename} is {what}, "
                                 f'which {trainer} does not train: python -m '
                                 f'{TRAINED_BY[kind]} trains it')
    return config


def train_main(module: str, argv) -> None:
    """``main`` of the training entry point ``module``: trains --config in --workdir."""
    del argv
    quiet_library_logs()
    exit_on_user_error(train_from_flags, module)


def train_from_flags(module: str) -> str:
    """Joins the processes, trains --config in --workdir and returns the workdir; a
    config that ``module`` does not train is a user error."""
    config = loaded_config(module)
    join_processes()
    workdir = flags.FLAGS.workdir
    if workdir is None:
        if jax.process_count() > 1:  # each process would name a different directory
            raise workdir_lib.WorkdirError('a multi-process run needs an explicit --workdir, '
                                    'the same for every process')
        workdir = default_workdir(flags.FLAGS['config'].config_filename)
    loop.train_and_evaluate(config, workdir)
    return workdir


def train_and_write_results(module: str, write_results) -> None:
    """Trains --config in --workdir, then, in process 0, calls ``write_results(config,
    workdir, command, runtime_s)`` with the command as typed (``python -m module ...``)
    and the seconds it has run, for the entry points that write ``results.json``."""
    start = time.perf_counter()
    workdir = train_from_flags(module)
    if jax.process_index() == 0:
        write_results(loaded_config(), workdir, typed_command(module, sys.argv[1:]),
                      time.perf_counter() - start)


def typed_command(module: str, args) -> str:
    """``python -m module args…`` as a shell takes it: each argument quoted where it
    needs to be (an override such as ``--config.sweep.values=(0.1,0.3)``), so that the
    command recorded beside a result runs as printed."""
    return shlex.join(['python', '-m', module, *args])


def join_processes() -> None:
    """Connects a multi-process run (``ganjax.train.distributed``) as the flags ask; in one,
    only process 0 logs below WARNING."""
    joined = distributed.initialize(
        flags.FLAGS.coordinator_address, flags.FLAGS.num_processes, flags.FLAGS.process_id,
        multihost=flags.FLAGS.multihost)
    if joined and jax.process_index() != 0:
        logging.set_verbosity(logging.WARNING)


def default_workdir(config_path: str) -> str:
    """runs/<config name>-<UTC time>, e.g. runs/mnist_dcgan-20261121-093000."""
    name = os.path.splitext(os.path.basename(config_path.split(':')[0]))[0]
    return os.path.join('runs', f'{name}-{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M%S}')


class _QuietLibraries(std_logging.Filter):
    """Drops INFO (and finer) records logged from inside these libraries' files.

    Orbax logs every step of every save at INFO, and fsspec every read of a bucket,
    which buries the progress line; their warnings and errors still pass, except
    asyncio's reports of failures nobody awaited.
    """
    NOISY = (f'{os.sep}orbax{os.sep}', f'{os.sep}tensorflow_datasets{os.sep}',
             f'{os.sep}jax{os.sep}_src{os.sep}', f'{os.sep}fsspec{os.sep}',
             f'{os.sep}gcsfs{os.sep}')

    def filter(self, record: std_logging.LogRecord) -> bool:
        # A failed checkpoint write leaves orbax's other writes' failures unawaited, and
        # asyncio logs each at exit; the error that stopped the run says what happened.
        if record.name == 'asyncio' and 'exception was never retrieved' in str(record.msg):
            return False
        # Orbax warns of every read-only checkpoint manager, which ganjax opens on purpose
        # (a run checking the workdir's checkpoints before it trains, sampling, evaluation).
        if str(record.msg).startswith('Given directory is read only'):
            return False
        return record.levelno > std_logging.INFO or not any(
            part in record.pathname for part in self.NOISY)


def quiet_library_logs() -> None:
    logging.get_absl_handler().addFilter(_QuietLibraries())
    sys.unraisablehook = functools.partial(_drop_closed_loop_callbacks, sys.unraisablehook)


def _drop_closed_loop_callbacks(hook, unraisable) -> None:
    """Passes ``unraisable`` to ``hook`` unless it is 'Event loop is closed'.

    When one array of a checkpoint fails to read or write, orbax abandons the other
    TensorStore operations; they finish after orbax has closed its event loop, and each
    callback raises that error into ``sys.unraisablehook`` (dozens of tracebacks before a
    correct fallback). Harmless: the failure itself is reported once.
    """
    if not (isinstance(unraisable.exc_value, RuntimeError)
            and str(unraisable.exc_value) == 'Event loop is closed'):
        hook(unraisable)


def exit_on_user_error(run, *args):
    """Calls ``run(*args)``; a ``errors.UserError`` prints one line and exits with status 2,
    Ctrl-C one line and status 130, a SIGTERM that stopped a run after saving its step
    (``ganjax.train.preemption``) one line and status 143."""
    try:
        return run(*args)
    except errors.UserError as e:
        print(f'error: {e}', file=sys.stderr)
        if isinstance(e, checkpoint.CheckpointSaveError):
            # Orbax's threads wait forever for the save that failed, and Python's exit
            # would wait for them; the run's files are closed already.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)  # pylint: disable=protected-access
        sys.exit(2)
    except preemption.Preempted as e:
        print(e, file=sys.stderr)
        sys.exit(preemption.EXIT_STATUS)
    except KeyboardInterrupt:
        print('interrupted (a training run keeps its last saved checkpoint: the same '
              'command resumes it)', file=sys.stderr)
        sys.exit(130)
