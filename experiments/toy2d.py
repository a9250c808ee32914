"""The 2-D mode-collapse benchmarks, S seeds trained as one compiled program.

    python -m experiments.toy2d --config=experiments/configs/toy2d.py:ring [--workdir=DIR]
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:grid,pacgan2
    python -m experiments.toy2d --config=experiments/configs/toy2d.py:grid \
        --config.sweep.key=optimizer.d.learning_rate --config.sweep.values='(1e-4,3e-4,1e-3)'

Writes DIR/samples.npy, DIR/results.json and DIR/samples.png (``ganjax.evaluation.mode_collapse``)
and prints the mean ± standard error over seeds (per value of a sweep,
``ganjax.train.sweep``: every value × seed trained in the same program). DIR/checkpoints
holds every seed's state every ``ckpt_every_steps`` steps: the same command, run again
on DIR, resumes a stopped run exactly (``ganjax.harness.mixture_run``).
"""
import json
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from ganjax.harness import cli
from ganjax.harness import mixture_run

config_flags.DEFINE_config_file('config', None, 'A toy2d config file.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Output directory; a fresh one under runs/ '
                               'if omitted. An existing one with checkpoints is resumed.')
flags.mark_flags_as_required(['config'])


def main(argv):
    del argv
    cli.quiet_library_logs()

    def run():
        config = cli.loaded_config('experiments.toy2d')
        workdir = _WORKDIR.value or cli.default_workdir(flags.FLAGS['config'].config_filename)
        results = mixture_run.run(config, workdir,
                                  cli.typed_command('experiments.toy2d', sys.argv[1:]))
        if 'sweep' in results:
            means = {**results['sweep'], 'by_value': [
                {k: group[k] for k in ('value', 'mean', 'stderr')}
                for group in results['by_value']]}
        else:
            means = {k: results[k] for k in ('mean', 'stderr')}
        print(json.dumps({'workdir': workdir, **means, 'paper': results['paper'],
                          'runtime_s': results['runtime_s']}))
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
