"""Tests for the commands recorded beside results: a recorded command runs as printed,
and the tables read its config overrides whether or not it was quoted."""
import shlex

from experiments.support import tables
from ganjax.harness import cli

ARGS = ['--config=experiments/configs/toy2d.py:grid,best', '--config.sweep.key=loss.x',
        '--config.sweep.values=(0.1,0.3)', '--config.model.generator.class_factors=(10,10)',
        '--workdir=/tmp/a b']


def test_a_typed_command_quotes_what_a_shell_would_split_or_reject():
    command = cli.typed_command('experiments.toy2d', ARGS)
    assert command == (
        "python -m experiments.toy2d --config=experiments/configs/toy2d.py:grid,best "
        "--config.sweep.key=loss.x '--config.sweep.values=(0.1,0.3)' "
        "'--config.model.generator.class_factors=(10,10)' '--workdir=/tmp/a b'")
    assert shlex.split(command) == ['python', '-m', 'experiments.toy2d', *ARGS]


def test_tables_print_records_quoted_and_read_their_overrides_either_way():
    quoted = cli.typed_command('experiments.toy2d', ARGS[:-1])
    bare = ' '.join(['python -m experiments.toy2d', *ARGS[:-1]])  # records before quoting
    # pylint: disable=protected-access
    assert tables._shell(bare) == tables._shell(quoted) == quoted
    for command in (bare, quoted):
        assert tables._overrides(command) == ['model.generator.class_factors=(10,10)']
