"""Evaluation: feature networks and their shipped weights, the evaluation config
(``eval_config``, no TensorFlow) and the evaluators, the mode-collapse benchmarks and
sampling from runs."""
