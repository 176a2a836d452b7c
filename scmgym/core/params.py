"""Validation of method and run parameters: one error shape everywhere."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_param(name: str, value: Any, ok: bool, allowed: str) -> None:
    """Raise ValueError naming the parameter, its value and what is allowed.

    >>> check_param("budget", 0, False, "a positive number of simulations")
    Traceback (most recent call last):
    ...
    ValueError: budget=0; allowed: a positive number of simulations
    """
    if not ok:
        raise ValueError(f"{name}={value!r}; allowed: {allowed}")


def is_int(x: Any) -> bool:
    """An integer that is not a bool (Python or numpy)."""
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def is_number(x: Any) -> bool:
    """A real number that is not a bool (Python or numpy)."""
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)
