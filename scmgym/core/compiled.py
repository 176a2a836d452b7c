"""Compiled helpers that still work without numba.

:func:`jit` compiles a function with numba (``njit(cache=True)``) where numba imports, and
returns it unchanged otherwise: the helpers written for it are plain Python and numpy, so they
give the same results either way, only slower. The engines themselves (the compiled plants)
need numba and fall back to the SimPy models with a warning instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:
    from numba import njit as _njit
except ImportError:  # pragma: no cover  (numba is a dependency; this is the fallback)
    _njit = None

#: Whether numba is available in this process.
HAVE_NUMBA = _njit is not None


def jit(fn: F) -> F:
    """``numba.njit(cache=True)(fn)``, or ``fn`` itself without numba."""
    return fn if _njit is None else _njit(cache=True)(fn)

