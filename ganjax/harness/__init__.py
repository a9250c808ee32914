"""The experiment harness: config validation, ``train_and_evaluate`` (the trainer) and
what the entry points under ``experiments/`` share (flags, workdirs, one-line errors)."""
