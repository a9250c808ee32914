"""Stopping a run with its work saved when its machine is about to be taken away.

Cloud TPU VMs, SLURM and Kubernetes announce a preemption (or a cancelled job) with
SIGTERM, some seconds before they kill the process. A training loop watches for it
(``watch``) and asks ``reached(step)`` after every step; once that is true it saves a
checkpoint of that step and raises ``Preempted``, which the entry points report in one
line with exit status 143 (128 + SIGTERM). The same command then resumes from that
step, so a preemption costs only the time to restart, not up to ``ckpt_every_steps``
steps of training. The 2-D benchmarks ask after every compiled chunk of ``chunk_steps``
steps instead, about 30 s for a paper variant's 10 seeds on a 2-core CPU: a notice
shorter than a chunk kills the run before that save, and the rerun resumes from the
checkpoint before.

One process: a SIGTERM handler, installed while the loop runs, records the signal
(without it, Python dies at once); a second SIGTERM ends the process at once, the
checkpoints written before it kept. Several processes must all save the same step:
JAX's preemption service (started by ``jax.distributed.initialize`` unless
``jax_enable_preemption_service`` is off) catches SIGTERM on any process, tells the
others, and agrees on the next step every process can still reach;
``multihost_utils.reached_preemption_sync_point`` is true at that step on all of them.
There the loop must ask at every step, the same step ids on every process (orbax's
``save`` asks too, with the step it saves).
"""
from collections.abc import Callable, Iterator
import contextlib
import signal

from absl import logging
import jax
from jax.experimental import multihost_utils

from ganjax.train import signals

EXIT_STATUS = 128 + signal.SIGTERM


class Preempted(Exception):
    """A run stopped by SIGTERM after saving the checkpoint of ``step``."""

    def __init__(self, step: int):
        super().__init__(f'stopped by SIGTERM at step {step}, whose checkpoint is saved: '
                         'the same command resumes the run from it')
        self.step = step


@contextlib.contextmanager
def watch(enabled: bool = True) -> Iterator[Callable[[int], bool]]:
    """While the block runs, yields ``reached(step_id) -> bool``: true once a SIGTERM
    has arrived (on any process of a multi-process run: from the step all agree on).

    Not ``enabled`` (a run that saves no checkpoints), or outside the main thread of a
    single process, where Python cannot handle signals, ``reached`` is always false and
    SIGTERM keeps its usual effect.
    """
    if not enabled:
        yield lambda step_id: False
        return
    if jax.process_count() > 1:
        if jax.config.jax_enable_preemption_service:
            yield multihost_utils.reached_preemption_sync_point
        else:
            logging.warning('JAX\'s preemption service is off: a SIGTERM ends this run '
                            'without saving a checkpoint.')
            yield lambda step_id: False
        return
    # A second SIGTERM ends the process.
    with signals.recorded(signal.SIGTERM, once=True) as received:
        if received is None:  # not the main thread
            yield lambda step_id: False
        else:
            yield lambda step_id: received.is_set()
