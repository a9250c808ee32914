"""Data: the datasets ganjax knows and the data config (``datasets``, no TensorFlow),
TFDS sources with the embedded MNIST (``embedded_mnist``), the exactly resumable input
pipeline (``pipeline``) and PacGAN's 2-D Gaussian mixtures (``mixtures``)."""
