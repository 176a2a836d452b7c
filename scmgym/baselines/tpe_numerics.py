"""Compiled, bit-identical replacements for two functions inside Optuna's TPE.

Optuna 5's TPE evaluates, for every candidate and every kernel of its Parzen estimators, the
log of a truncated normal's mass (``optuna.samplers._tpe._truncnorm._log_gauss_mass``). That
calls the log normal CDF ``_log_ndtr``, which applies a Python function to each element
(``np.frompyfunc``), and the normal CDF ``_ndtr``, whose ``erf`` calls ``math.erf`` on each
element of a small array. On hfs d5 (345 integer variables) the two interpreted loops are most
of a trial's time.

:func:`log_ndtr` and :func:`ndtr` compute the same functions in numba kernels, with the same
operations in the same order and the same C library calls (``erf``, ``erfc``, ``log`` and
``pow``), so every result has the same bits as Optuna's. ``pow`` is the one trap: Python
evaluates ``a**2`` with the C library's ``pow``, which is not always the correctly rounded
``a * a``, and LLVM rewrites ``pow(a, 2.0)`` with a constant exponent into ``a * a``; the kernel
therefore receives the exponent as an argument. Inputs outside the range where the two are known
equal go to Optuna's own functions, so they give Optuna's results or errors: for ``log_ndtr``
anything non-finite or below ``-1e150`` (where Python's ``a**2`` raises ``OverflowError``), for
``ndtr`` arrays of 2000 values or more (where Optuna's ``erf`` switches to its own polynomial).

:func:`optuna_numerics` swaps both into Optuna's module for the duration of a ``with`` block
(the TPE sampler of :mod:`scmgym.baselines.simple` wraps each sampling in it). It changes the
cost of a trial, never its suggestions: ``tests/test_tpe.py`` compares the functions bit for bit
and whole TPE runs trial for trial. If the installed Optuna lacks either function, the block
changes nothing.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from numba import njit

__all__ = ["log_ndtr", "ndtr", "optuna_numerics"]

_SQRT2 = 2**0.5
_INV_SQRT2 = 1 / 2**0.5
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_EPS = sys.float_info.epsilon
#: Below this, Python's ``a**2`` overflows; such inputs go to Optuna's function.
_LOWEST = -1e150
#: Optuna's ``erf`` applies the C library's to each element of arrays smaller than this.
_ERF_ELEMENTWISE = 2000


@njit(cache=True)
def _ndtr_one(a: float) -> float:
    x = a / _SQRT2
    if x < -_INV_SQRT2:
        return 0.5 * math.erfc(-x)
    if x < _INV_SQRT2:
        return 0.5 + 0.5 * math.erf(x)
    return 1.0 - 0.5 * math.erfc(x)


@njit(cache=True)
def _log_ndtr_one(a: float, two: float) -> float:
    if a > 6:
        return -_ndtr_one(-a)
    if a > -20:
        return math.log(_ndtr_one(a))
    # The asymptotic series of the far left tail, summed until it stops changing.
    log_lhs = -0.5 * a**two - math.log(-a) - _HALF_LOG_2PI
    last = 0.0
    total = 1.0
    numerator = 1.0
    denominator = 1.0
    ratio = 1 / a**two
    sign = 1
    i = 0
    while abs(last - total) > _EPS:
        i += 1
        last = total
        sign = -sign
        denominator *= ratio
        numerator *= 2 * i - 1
        total += sign * numerator * denominator
    return log_lhs + math.log(total)


@njit(cache=True)
def _log_ndtr_kernel(a, out, two):
    """Fills ``out``; False (and ``out`` unfinished) if ``a`` holds a value left to Optuna."""
    for k in range(a.size):
        if not (_LOWEST <= a[k] < math.inf):  # also False for NaN
            return False
    for k in range(a.size):
        out[k] = _log_ndtr_one(a[k], two)
    return True


@njit(cache=True)
def _ndtr_kernel(a, out, unused):
    for k in range(a.size):
        out[k] = 0.5 + 0.5 * math.erf(a[k] / _SQRT2)
    return True


def _optuna_module():
    """Optuna's truncated-normal module, or None without Optuna."""
    try:
        from optuna.samplers._tpe import _truncnorm
    except ImportError:
        return None
    return _truncnorm


_ORIGINAL: dict[str, Any] = {}  # Optuna's own functions, noted on first use


def _optuna(name: str):
    """Optuna's own ``_truncnorm.<name>`` (None without it), as it was before any swap."""
    if not _ORIGINAL:
        module = _optuna_module()
        if module is None:
            return None
        _ORIGINAL.update({key: getattr(module, key, None) for key in _SWAPPED})
    return _ORIGINAL[name]


def log_ndtr(a: np.ndarray) -> np.ndarray:
    """``log(Phi(a))`` element-wise, with the bits of Optuna's ``_truncnorm._log_ndtr``.

    A float64 array of finite values >= -1e150 is computed by the compiled kernel; anything else
    is passed to Optuna's function (needs Optuna installed).
    """
    out = _compiled(_log_ndtr_kernel, a, 2.0)
    if out is None:
        return _fallback("_log_ndtr", a, f"a float64 array of finite values >= {_LOWEST:g}")
    return out


def ndtr(a: np.ndarray) -> np.ndarray:
    """``Phi(a)`` element-wise, with the bits of Optuna's ``_truncnorm._ndtr``.

    Optuna computes ``0.5 + 0.5 * erf(a / sqrt(2))`` with the C library's ``erf`` applied to each
    element of an array of fewer than 2000 values, and with its own polynomial approximation
    otherwise. A float64 array of fewer than 2000 values is computed by the compiled kernel
    (the same ``erf``); anything else is passed to Optuna's function.
    """
    out = _compiled(_ndtr_kernel, a, 0.0) if getattr(a, "size", 0) < _ERF_ELEMENTWISE else None
    if out is None:
        return _fallback("_ndtr", a, f"a float64 array of fewer than {_ERF_ELEMENTWISE} values")
    return out


def _compiled(kernel, a, arg: float) -> np.ndarray | None:
    """The kernel's result for a float64 array (its shape kept), or None if it is not one or
    the kernel declines it."""
    if not (isinstance(a, np.ndarray) and a.dtype == np.float64):
        return None
    flat = a.ravel()  # the array itself when it is one contiguous row
    out = np.empty(flat.size)
    if not kernel(flat, out, arg):
        return None
    return out if a.ndim == 1 else out.reshape(a.shape)


def _fallback(name: str, a, compiled: str) -> np.ndarray:
    original = _optuna(name)
    if original is None:
        raise TypeError(f"{name.lstrip('_')}: {compiled} is needed without Optuna's "
                        f"_truncnorm.{name}; got {type(a).__name__} {getattr(a, 'dtype', '')}")
    return original(a)


@contextmanager
def optuna_numerics() -> Iterator[bool]:
    """Within the block, Optuna's TPE uses :func:`log_ndtr` and :func:`ndtr`; yields whether it
    could swap them in (False if the installed Optuna lacks either).

    Restores what was there before on exit, also on an exception. Because the functions return
    the same bits as Optuna's, a thread that sees either version during the block gets the same
    numbers.
    """
    module = _optuna_module()
    if module is None or any(_optuna(name) is None for name in _SWAPPED):
        yield False
        return
    before = {name: getattr(module, name) for name in _SWAPPED}
    for name, fn in _SWAPPED.items():
        setattr(module, name, fn)
    try:
        yield True
    finally:
        for name, fn in before.items():
            setattr(module, name, fn)


#: Optuna's function name -> the compiled one with the same bits.
_SWAPPED = {"_log_ndtr": log_ndtr, "_ndtr": ndtr}
