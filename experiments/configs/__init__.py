"""ml_collections config files: ``--config=experiments/configs/<name>.py[:arg]``."""
