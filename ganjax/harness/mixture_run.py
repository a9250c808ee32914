"""A 2-D mode-collapse benchmark run in its workdir, resumable as the image runs are.

``run(config, workdir, command)`` validates the config before it touches the workdir,
then holds the workdir's lock, refuses checkpoints another config wrote
(``workdir.check_resumable``), records ``config.json`` and trains every seed
(``ganjax.evaluation.mode_collapse.run``) with a checkpoint of all of them every
``ckpt_every_steps`` steps and at the end. Run again, the same command resumes from the
newest checkpoint and ends as an uninterrupted run would, bit for bit: PacGAN's own
protocol (400,000 updates) takes hours on a CPU.
"""
import os

from ganjax.evaluation import mode_collapse
from ganjax.harness import workdir as workdir_lib
from ganjax.train import checkpoint


def run(config, workdir: str, command: str | None = None) -> dict:
    """Trains ``config``'s seeds in ``workdir``, resuming its checkpoints if it holds
    any, and writes the results; returns the contents of ``results.json``.

    Raises:
      errors.UserError: a bad config, an unusable workdir, a workdir another run holds or
        whose checkpoints another config wrote (before anything is written), or a
        checkpoint that cannot be written (the older ones are kept).
      preemption.Preempted: a SIGTERM arrived as it trained (``ganjax.train.preemption``);
        the checkpoint at the end of the chunk it arrived in is saved.
    """
    mode_collapse.validate(config)
    workdir_lib.prepare(workdir, folders=('checkpoints',))
    checkpoint_dir = os.path.join(workdir, 'checkpoints')
    with workdir_lib.Lock(workdir) as lock:
        workdir_lib.check_checkpoints_resumable(config, workdir)
        workdir_lib.write_config(config, workdir)
        with checkpoint.Checkpointer(checkpoint_dir,
                                     max_to_keep=config.checkpoint.max_to_keep) as checkpoints:
            return mode_collapse.run(config, workdir, command, checkpoints=checkpoints,
                                     after_save=lock.refresh)
