"""Test-wide setup: four fake CPU devices, so pmap and sharding tests see several, a
private cache directory for the evaluators' real-data references, one on-disk cache of
compiled programs for the whole run, and XLA's quick compilation.

This must run before JAX initialises its backends, which is why it lives here and not
in a fixture.
"""
import os
import tempfile

# Set before JAX and TensorFlow are imported, and inherited by the entry points the tests
# start (and by pytest-xdist's workers, which the controller starts after reading this
# file). Each only saves time; a variable already set in the environment is kept.
#
# One cache of compiled programs: the tests compile the same steps again and again. Every
# program is cached, however quickly it compiled (JAX's default skips those under 1 s):
# a cached smoke run of the MLP GAN takes ~17 s instead of ~26 s on a 2-core AMD EPYC
# Zen 3. A cached executable is the same program, so results are unchanged.
if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
    os.environ['JAX_COMPILATION_CACHE_DIR'] = tempfile.mkdtemp(prefix='ganjax-test-xla-cache-')
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')
# Most of XLA's optimisation passes skipped: they cost more than they save on the tests'
# small programs, run a few steps each. The pmap/jit comparison of every objective
# option compiles in 36 s instead of 60 s (Zen 3). Tolerances were not widened for it: the
# suite passed with these settings, and with optimisations on in all but four modules
# before them. The benchmark's timings are not tested.
# JAX_DISABLE_MOST_OPTIMIZATIONS=0 runs the suite on fully optimised programs.
os.environ.setdefault('JAX_DISABLE_MOST_OPTIMIZATIONS', '1')
# TensorFlow imports Keras 3 eagerly (~3 s) unless told to use the legacy tf_keras, which
# is not installed, so that it imports neither. ganjax uses no Keras.
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')

import jax  # pylint: disable=wrong-import-position
import pytest  # pylint: disable=wrong-import-position

from ganjax.data import embedded_mnist

jax.config.update('jax_num_cpu_devices', 4)
jax.config.update('jax_platforms', 'cpu')
jax.config.update('jax_compilation_cache_dir', os.environ['JAX_COMPILATION_CACHE_DIR'])
# Inherited by the entry points the tests start: nothing lands in ~/.cache.
os.environ['GANJAX_CACHE_DIR'] = tempfile.mkdtemp(prefix='ganjax-test-cache-')


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
