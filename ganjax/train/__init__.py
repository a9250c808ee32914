"""Training: the train states and optimizers, the adversarial objectives, the GAN and
VAE steps, what a config builds (``setup``), compiling for devices (``parallel``),
multi-process runs, checkpoints, stopping on preemption, multi-seed training and the
prior of G's code. Knows nothing of files other than checkpoints, and nothing of
evaluation."""
