"""The errors a user can cause, and the checks that raise them.

Every error a person can fix (a bad config value, an unusable workdir, data that cannot
be prepared, incomplete multi-process flags, tampered weights, a diverged run) derives
from ``UserError``; the entry points print any of them as one ``error: ...`` line, without
a traceback. Each also derives from the built-in class callers would expect
(``ValueError``, ``OSError``, ``RuntimeError``).

``require``, ``positive_int`` and ``known_keys`` are the one way config checks phrase
their message: "config.<key> must <requirement>, got <value>".
"""
import dataclasses
import math
from typing import Any


class UserError(Exception):
    """An error the user can fix; its message names what to change."""


class ConfigError(UserError, ValueError):
    """A config value that cannot work; the message names the key."""


def require(condition: bool, key: str, value: Any, requirement: str) -> None:
    """Raises ``ConfigError`` "config.<key> must <requirement>, got <value>" unless
    ``condition``."""
    if not condition:
        raise ConfigError(f'config.{key} must {requirement}, got {value!r}')


def config_value(config, key: str) -> Any:
    """``config.<key>`` for a dotted key; ``ConfigError`` if any part is missing."""
    node = config
    for part in key.split('.'):
        if part not in node:
            raise ConfigError(f'config.{key} is missing')
        node = node[part]
    return node


def is_finite_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number: an int or float, not a bool, not inf or
    NaN (what a numeric config key may hold)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def is_int_at_least(value: Any, least: int) -> bool:
    """Whether ``value`` is an int, not a bool, and at least ``least`` (what a count or a
    size config key may hold)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def require_finite_nonnegative(value: Any, key: str) -> None:
    """Raises ``ConfigError`` naming ``key`` unless ``value`` is a finite number >= 0."""
    require(is_finite_number(value) and value >= 0, key, value, 'be finite and >= 0')


def require_finite_positive(value: Any, key: str) -> None:
    """Raises ``ConfigError`` naming ``key`` unless ``value`` is a finite number > 0."""
    require(is_finite_number(value) and value > 0, key, value, 'be finite and > 0')


def positive_int(config, key: str) -> None:
    """Raises ``ConfigError`` unless ``config.<key>`` (dotted) is a positive int."""
    value = config_value(config, key)
    require(is_int_at_least(value, 1), key, value, 'be a positive integer')


def known_keys(config, section: str, fields_of) -> None:
    """Raises ``ConfigError`` if the optional section ``config.<section>`` has a key that
    is not a field of the dataclass ``fields_of`` (the section's reader)."""
    unknown = sorted(set(config.get(section) or {})
                     - {field.name for field in dataclasses.fields(fields_of)})
    require(not unknown, section, unknown, 'have no unknown keys')
