"""Thin runnable entry points: ``python -m experiments.<name> --config=...``."""
