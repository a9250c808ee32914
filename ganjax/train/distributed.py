"""Joining JAX's multi-controller runtime when a run spans several processes.

A multi-host run is the same program started once per host (``jax.process_count()``
processes); ``jax.distributed.initialize`` connects them before JAX touches a device,
after which ``jax.devices()`` lists the devices of every process and compiled programs
communicate across hosts. Three ways in:

* a Cloud TPU pod slice (or SLURM, Open MPI, Kubernetes): ``multihost=True`` lets JAX
  discover the coordinator, process count and process id from the environment;
* anywhere else: an explicit ``coordinator_address`` (``host:port`` of process 0),
  ``num_processes`` and ``process_id``;
* a single process (one host, any number of local devices): nothing to do.

On CPU the processes' collectives run over gloo (TCP), which is what lets two processes
on one machine train together, as ganjax's tests do.
"""
import jax
from jax.experimental import multihost_utils
import numpy as np

from ganjax import errors


class DistributedConfigError(errors.UserError, ValueError):
    """The multi-process flags are incomplete or contradictory."""


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, multihost: bool = False) -> bool:
    """Connects this process to the others if the arguments ask for several processes.

    Must run before anything initialises JAX's backends.

    Returns:
      Whether ``jax.distributed.initialize`` was called.

    Raises:
      DistributedConfigError: some but not all of the explicit arguments are given, or
        ``process_id`` is outside [0, ``num_processes``).
    """
    explicit = {'coordinator_address': coordinator_address, 'num_processes': num_processes,
                'process_id': process_id}
    given = [name for name, value in explicit.items() if value is not None]
    if not given and not multihost:
        return False
    if given and len(given) < len(explicit):
        missing = sorted(set(explicit) - set(given))
        raise DistributedConfigError(
            f'--{" and --".join(missing)} must be given with --{" and --".join(given)}')
    if given and not 0 <= process_id < num_processes:
        raise DistributedConfigError(
            f'--process_id={process_id} must be in [0, --num_processes={num_processes})')
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
    return True


def all_processes_agree(ok: bool) -> bool:
    """True if ``ok`` holds on every process (a barrier when there are several)."""
    if jax.process_count() == 1:
        return ok
    return bool(np.min(multihost_utils.process_allgather(np.int32(ok))))
