"""Training: the train states and optimizers, the adversarial objectives, the GAN and
VAE steps, what a config builds (``setup``), compiling for devices (``parallel``),
multi-process runs, checkpoints and multi-seed training. Knows nothing of files other
than checkpoints, and nothing of evaluation."""
