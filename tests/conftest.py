"""Test-wide setup: four fake CPU devices, so pmap and sharding tests see several.

This must run before JAX initialises its backends, which is why it lives here and not
in a fixture.
"""
import jax

jax.config.update('jax_num_cpu_devices', 4)
jax.config.update('jax_platforms', 'cpu')
