"""What the entry points need that is not part of the library: the timing harness and
the eager PyTorch twin of the benchmark, the MNIST classifier's training, and the
Markdown results tables."""
