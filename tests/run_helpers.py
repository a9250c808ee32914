"""What tests that start training runs share: tiny configs, entry points as
subprocesses, the losses a run logged, whether code imports TensorFlow, generators
that replay given images, and states cast to float64 to compare two programs' steps."""
import os
import subprocess
import sys

import jax
import jax.numpy as jnp

from experiments.configs import mnist_mlp_gan
from ganjax.reporting import writers

LOSS_KEYS = ('train/d_loss', 'train/g_loss', 'train/d_real', 'train/d_fake')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def smoke_config(data_dir, **overrides):
    """The MLP GAN's smoke config on the embedded MNIST prepared in ``data_dir``."""
    config = mnist_mlp_gan.get_config('smoke')
    config.data.source = 'embedded'
    config.data.data_dir = data_dir
    config.update(overrides)
    return config


def losses_by_step(workdir):
    """{step: {loss key: value}} of the training records in ``workdir/metrics.jsonl``."""
    return {record['step']: {k: record[k] for k in LOSS_KEYS}
            for record in writers.read_metrics(os.path.join(workdir, 'metrics.jsonl'))
            if LOSS_KEYS[0] in record}  # not the evaluations' records


def run_module(module, *args, env=None):
    """``python -m module *args`` from the repository root; returns the completed process."""
    return subprocess.run([sys.executable, '-m', module, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})},
                          check=False)


def imports_tensorflow(code: str) -> bool:
    """Whether running ``code`` in a fresh interpreter, from the repository root, imports
    TensorFlow."""
    check = 'import sys; print("tensorflow" in sys.modules)'
    result = subprocess.run([sys.executable, '-c', f'{code}\n{check}'], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.splitlines()[-1] == 'True'


def replaying(images):
    """An evaluator's sampler whose generators return ``images`` in order, ignoring their
    latents and labels."""
    position = [0]

    def generate(z, labels):
        del labels
        start = position[0]
        position[0] += len(z)
        return images[start:start + len(z)]
    return lambda use_ema: generate


def to_float64(tree):
    """``tree`` with every floating-point leaf cast to float64 (under
    ``jax.enable_x64``): two programs' steps compared in float64 differ by ~1e-12 where
    float32 rounding, amplified by training, would hide a real difference."""
    return jax.tree.map(
        lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)
