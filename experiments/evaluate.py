r"""Evaluates a run's newest checkpoint (EMA and raw generator) and writes DIR/eval.json.

    python -m experiments.evaluate --workdir=DIR
    python -m experiments.evaluate --workdir=DIR --metrics=fid,kid --num_samples=50000
    python -m experiments.evaluate --workdir=DIR --batch_norm=running
    python -m experiments.evaluate --workdir=DIR --metrics=inception_fid,inception_score \
        --inception_weights=pt_inception-2015-12-05-6726825d.pth

Metrics default to the run's ``eval.metrics``, or to its dataset's defaults
(``ganjax.evaluation.eval_config.DEFAULT_METRICS``); each result in eval.json carries
its protocol (data source and split, sample counts, feature network and the hash of its
weights, EMA or raw, checkpoint step, seeds); metrics of the same samples that an
earlier evaluation of the step computed are kept beside the new ones. The Inception
metrics read ``--inception_weights``, else the run's ``eval.inception.weights``, else
the cache (``ganjax.inception``); 'lpips_diversity' reads ``--lpips_backbone`` and
``--lpips_heads`` the same way (``ganjax.lpips``). A copy goes to
DIR/eval/step_XXXXXXX.json. The checkpoint is opened read-only, so a run may be training
meanwhile; results of more samples for the same step are not replaced unless
--overwrite, and both checks come before computing.
"""
from absl import app
from absl import flags
from absl import logging

from ganjax import errors
from ganjax.evaluation import eval_config
from ganjax.evaluation import evaluators
from ganjax.evaluation import sampling
from ganjax.harness import cli
from ganjax.harness import workdir as workdir_lib
from ganjax.train import setup as setup_lib

_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory with checkpoints.')
_METRICS = flags.DEFINE_list('metrics', None, "Metrics, e.g. 'fid,kid'; default: the "
                             "run's eval.metrics, else all of its dataset's.")
_NUM_SAMPLES = flags.DEFINE_integer('num_samples', None, 'Generated samples; default: '
                                    "the run's eval.num_samples.", lower_bound=1)
_BATCH_NORM = flags.DEFINE_enum('batch_norm', None, list(setup_lib.BATCH_NORM_MODES),
                                "The generator's BatchNorm statistics when sampling; "
                                "default: the run's sampling.batch_norm.")
_INCEPTION_WEIGHTS = flags.DEFINE_string(
    'inception_weights', None, "pytorch-fid's pt_inception-2015-12-05-6726825d.pth (or the "
    ".npz ganjax converts it to) for the Inception metrics; default: the run's "
    'eval.inception.weights, else the cache.')
_LPIPS_BACKBONE = flags.DEFINE_string(
    'lpips_backbone', None, "torchvision's AlexNet or VGG-16 .pth for 'lpips_diversity'; "
    "default: the run's eval.lpips.backbone, else the cache.")
_LPIPS_HEADS = flags.DEFINE_string(
    'lpips_heads', None, "The lpips package's weights/v0.1/<net>.pth; default: the run's "
    'eval.lpips.heads, else the cache.')
_OVERWRITE = flags.DEFINE_bool('overwrite', False, "Replace the step's results even if "
                                'they used more samples.')
flags.mark_flags_as_required(['workdir'])


def run():
    config, setup, state, step = sampling.load_run(_WORKDIR.value, _BATCH_NORM.value)
    if config.get('eval') is None:  # a run from before ganjax.evaluation existed
        config.eval = eval_config.default_config()
    # Runs from before the Inception and LPIPS metrics.
    if config.eval.get('inception') is None:
        config.eval.inception = eval_config.default_inception_config()
    if config.eval.get('lpips') is None:
        config.eval.lpips = eval_config.default_lpips_config()
    set_by_flags = {}  # config key: the flag that set it, to name in an error
    for flag, group, key in ((_NUM_SAMPLES, None, 'num_samples'),
                             (_INCEPTION_WEIGHTS, 'inception', 'weights'),
                             (_LPIPS_BACKBONE, 'lpips', 'backbone'),
                             (_LPIPS_HEADS, 'lpips', 'heads')):
        if flag.value is not None:
            section = config.eval if group is None else config.eval[group]
            section[key] = flag.value
            set_by_flags[f'eval.{key}' if group is None else f'eval.{group}.{key}'] = flag.name
    if _METRICS.value:
        set_by_flags['eval.metrics'] = _METRICS.name
    config.eval.metrics = tuple(_METRICS.value or config.eval.metrics
                                or eval_config.DEFAULT_METRICS.get(config.data.name, ()))
    try:
        eval_config.validate(config)
    except errors.ConfigError as error:
        raise errors.ConfigError(_naming_flags(str(error), set_by_flags)) from error
    if not config.eval.metrics:
        raise errors.ConfigError(f'no metrics for data.name={config.data.name!r}')
    # Checked before computing: results that cannot be kept are not worth computing.
    workdir_lib.prepare(_WORKDIR.value, folders=('eval',))
    previous = evaluators.read_results(_WORKDIR.value, step)
    larger = max((r['protocol']['num_generated'] for r in previous), default=0)
    if larger > config.eval.num_samples and not _OVERWRITE.value:
        raise errors.ConfigError(
            f'--workdir={_WORKDIR.value} holds results of {larger} samples for step {step}; '
            f'--num_samples={config.eval.num_samples} would replace them (add --overwrite)')
    results = evaluators.Evaluator(config).evaluate(
        sampling.sampler(setup, state), setup.latent_dim, setup.num_classes, step,
        state.code_prior)
    path = evaluators.write_results(_WORKDIR.value, step,
                                    evaluators.merge_results(previous, results))
    logging.info('Step %d: %s', step, evaluators.summary(results))
    print(f'wrote {path}')


def _naming_flags(message: str, set_by_flags: dict[str, str]) -> str:
    """A validation message about a config key that a flag of this command set, with the
    flag named first: '--num_samples (config.eval.num_samples) must ...'."""
    for key, flag in set_by_flags.items():
        named = f'config.{key}'
        if message.startswith(named + ' '):
            return f'--{flag} ({named}){message[len(named):]}'
    return message


def main(argv):
    del argv
    cli.quiet_library_logs()
    cli.exit_on_user_error(run)


if __name__ == '__main__':
    app.run(main, flags_parser=cli.parse_flags)
