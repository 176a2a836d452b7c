"""Compiled helpers that still work without numba.

:func:`jit` compiles a function with numba (``njit(cache=True)``) where numba imports, and
returns it unchanged otherwise: the helpers written for it are plain Python and numpy, so they
give the same results either way, only slower. The engines themselves (the compiled plants)
need numba and fall back to the SimPy models with a warning instead.
"""

from __future__ import annotations

import contextlib
import functools
import signal
from collections.abc import Callable, Iterator
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:
    from numba import njit as _njit
except ImportError:  # pragma: no cover  (numba is a dependency; this is the fallback)
    _njit = None

#: Whether numba is available in this process.
HAVE_NUMBA = _njit is not None


#: The signals a run turns into an interrupt (Ctrl-C, and SIGTERM under
#: :func:`scmgym.core.io.terminate_as_interrupt`).
_DEFERRED = {signal.SIGINT, signal.SIGTERM}
_CAN_MASK = hasattr(signal, "pthread_sigmask")


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a compiled kernel runs; they are delivered when it returns.

    A Python signal handler that raises (Ctrl-C's ``KeyboardInterrupt``, the SIGTERM handler
    of a run) can run while numba's dispatcher converts arguments or results, and the
    dispatcher then returns with an exception set (``SystemError``) or crashes. Blocking the two
    signals for the call's duration (microseconds to milliseconds) moves the handler to the
    next line of Python after it. A no-op where ``pthread_sigmask`` is missing (Windows).
    """
    if not _CAN_MASK:
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def deferring(kernel: F) -> F:
    """``kernel`` called with :func:`signals_deferred` (the ``py_func`` is kept for tests)."""

    @functools.wraps(kernel)
    def call(*args):
        with signals_deferred():
            return kernel(*args)

    call.py_func = getattr(kernel, "py_func", kernel)  # type: ignore[attr-defined]
    return call  # type: ignore[return-value]


def jit(fn: F) -> F:
    """``numba.njit(cache=True)(fn)`` called with signals deferred (:func:`signals_deferred`),
    or ``fn`` itself without numba."""
    return fn if _njit is None else deferring(_njit(cache=True)(fn))

