"""What the experiment entry points share: flags, the default workdir, user errors.

A user error (bad config value, unusable workdir, unavailable data) or a diverged run
(a non-finite loss; its earlier checkpoints are kept) ends the program with one
``error: ...`` line on stderr and exit status 2, without a traceback.
"""
import datetime
import logging as std_logging
import os
import sys

from absl import flags
from absl import logging
from ml_collections import config_flags

from ganjax import data
from ganjax import loop
from ganjax import validation
from ganjax import writers

EXPECTED_ERRORS = (validation.ConfigError, data.DataUnavailableError, loop.WorkdirError,
                   writers.NonFiniteLossError)


def define_config_flags() -> None:
    """Defines --config (a locked config file, so a misspelt override fails) and --workdir."""
    config_flags.DEFINE_config_file('config', None, 'Experiment config file.',
                                    lock_config=True)
    flags.DEFINE_string('workdir', None, 'Run directory; a fresh one under runs/ if omitted. '
                        'An existing one with checkpoints is resumed.')
    flags.mark_flags_as_required(['config'])


def parse_flags(argv: list[str]) -> list[str]:
    """``app.run``'s flags_parser: a bad flag or config override is a one-line user error.

    (ml_collections reports an unknown override key such as ``--config.no_such_key=1``
    with a bare AttributeError, which absl would show as a traceback.)
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        message = str(e)
    except (AttributeError, KeyError) as e:
        message = f'unknown config key in an override: {str(e).strip(chr(34))}'
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)


def loaded_config():
    """The value of --config, loaded now: a file that failed to load is a user error.

    (ml_collections loads the file lazily and raises a plain IOError on first use.)
    """
    config = flags.FLAGS.config
    try:
        config.get('seed')
    except OSError as e:
        raise validation.ConfigError(str(e)) from e
    return config


def train_main(argv) -> None:
    """``main`` of the training entry points: trains --config in --workdir."""
    del argv
    quiet_library_logs()

    def train():
        workdir = flags.FLAGS.workdir or default_workdir(flags.FLAGS['config'].config_filename)
        return loop.train_and_evaluate(loaded_config(), workdir)
    exit_on_user_error(train)


def default_workdir(config_path: str) -> str:
    """runs/<config name>-<UTC time>, e.g. runs/mnist_dcgan-20261121-093000."""
    name = os.path.splitext(os.path.basename(config_path.split(':')[0]))[0]
    return os.path.join('runs', f'{name}-{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M%S}')


class _QuietLibraries(std_logging.Filter):
    """Drops INFO (and finer) records logged from inside these libraries' files.

    Orbax logs every step of every save at INFO, which buries the progress line;
    their warnings and errors still pass.
    """
    NOISY = (f'{os.sep}orbax{os.sep}', f'{os.sep}tensorflow_datasets{os.sep}',
             f'{os.sep}jax{os.sep}_src{os.sep}')

    def filter(self, record: std_logging.LogRecord) -> bool:
        return record.levelno > std_logging.INFO or not any(
            part in record.pathname for part in self.NOISY)


def quiet_library_logs() -> None:
    logging.get_absl_handler().addFilter(_QuietLibraries())


def exit_on_user_error(run, *args):
    """Calls ``run(*args)``; an expected error prints one line and exits with status 2."""
    try:
        return run(*args)
    except EXPECTED_ERRORS as e:
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
