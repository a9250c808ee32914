"""Reporting, a building block any layer may use: metric logs (``metrics.jsonl``,
TensorBoard), progress lines, image grids, PNGs and plots. Knows nothing of training."""
