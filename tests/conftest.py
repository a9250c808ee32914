"""Test-wide setup: four fake CPU devices, so pmap and sharding tests see several, a
private cache directory for the evaluators' real-data references, and one on-disk cache
of compiled programs for the whole run.

This must run before JAX initialises its backends, which is why it lives here and not
in a fixture.
"""
import os
import tempfile

# Set before JAX is imported, and inherited by the entry points the tests start (and by
# pytest-xdist's workers, which the controller starts after reading this file): they
# compile the same steps again and again, and a smoke run takes ~13 s instead of ~17 s
# with them cached. A cached executable is the same program, so results are unchanged.
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
    os.environ['JAX_COMPILATION_CACHE_DIR'] = tempfile.mkdtemp(prefix='ganjax-test-xla-cache-')

import jax  # pylint: disable=wrong-import-position
import pytest  # pylint: disable=wrong-import-position

from ganjax.data import embedded_mnist

jax.config.update('jax_num_cpu_devices', 4)
jax.config.update('jax_platforms', 'cpu')
jax.config.update('jax_compilation_cache_dir', os.environ['JAX_COMPILATION_CACHE_DIR'])
# Inherited by the entry points the tests start: nothing lands in ~/.cache.
os.environ['GANJAX_CACHE_DIR'] = tempfile.mkdtemp(prefix='ganjax-test-cache-')


@pytest.fixture(scope='module')
def fast_compilation():
    """Skips most of XLA's optimisation passes for a test module (``usefixtures``).

    They cost more than they save on small programs compiled once: compiling a DCGAN's
    initialiser on CPU drops from ~5 s to ~0.6 s. The arithmetic is the same IEEE
    operations either way; timing-sensitive code is not tested under it.
    """
    previous = jax.config.read('jax_disable_most_optimizations')
    jax.config.update('jax_disable_most_optimizations', True)
    yield
    jax.config.update('jax_disable_most_optimizations', previous)


@pytest.fixture(scope='session')
def random_inception(tmp_path_factory):
    """A random-weights FID Inception (``inception.init_variables``, ~5 s to build) saved
    as ganjax's .npz: (path, variables)."""
    from ganjax import inception  # pylint: disable=import-outside-toplevel
    variables = inception.init_variables(0)
    path = str(tmp_path_factory.mktemp('inception') / 'random.npz')
    inception.save_weights(path, variables)
    return path, variables


@pytest.fixture(scope='session')
def embedded_data_dir(tmp_path_factory):
    """A TFDS data_dir holding the prepared embedded MNIST (real digits, offline)."""
    data_dir = str(tmp_path_factory.mktemp('tfds'))
    embedded_mnist.EmbeddedMnist(data_dir=data_dir).download_and_prepare()
    return data_dir
