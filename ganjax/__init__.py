"""ganjax: generative adversarial networks in JAX/Flax.

Modules are imported explicitly (``from ganjax import losses``); importing the package
itself is cheap and pulls in nothing heavy.
"""
