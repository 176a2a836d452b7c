"""A deterministic surrogate of a made order's processing time, for the make-or-buy MILP.

The *processing time* of a made order is what the simulator measures as ``completion - start``:
``start`` is the completion of the previous made order (bought orders take no time), so the
completion of a made order is the sum of the processing times of the made orders up to and
including it. It depends on the order's counts (a, b, c), on the run's truck speed (one random
value per run, spec §4.4) and on where the truck is in its loop when the order starts.

The surrogate is linear in five features of (a, b, c) (:func:`features`):

* ``intercept``;
* ``max`` = max(a, b, c): the longest line sets the pace (~14.3 days per component after the
  first, which arrives after ~27 days);
* ``sum`` = a + b + c: every component is one truck trip;
* ``nonzero``: the number of types with a count > 0;
* ``ties``: the number of *other* types whose count equals the maximum (0, 1 or 2). The order is
  complete when the slowest of the longest lines is done, and the expected maximum of two or
  three equally long lines is several days above one line's (about +4.7 days per tie).

The coefficients below were fitted by least squares on simulated processing times, for the mean
and for the empirical quantiles (0.5, 0.75, 0.9, 0.95) per (a, b, c), by
``tools/fit_make_or_buy_surrogate.py`` (default settings: 400 combinations of (a, b, c), each made
once in each of 200 runs in shuffled sequences, seed 0); its residual report is
``docs/make_or_buy_surrogate.md``. Re-run the script and paste its printed coefficients here if
the simulator changes.

An order with a = b = c = 0 completes at the next assembly tick in the simulator (its default
``empty_orders="next_tick"``): an Exp(12 per day) time, mean 1/12 day, quantile
``-ln(1 - q) / 12``. The surrogate returns exactly that for such an order.

>>> round(surrogate_time(1, 0, 0), 1), round(surrogate_time(20, 20, 20), 1)
(31.2, 313.8)
>>> surrogate_time(20, 20, 20, quantile=0.9) > surrogate_time(20, 20, 20)
True
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from scmgym.errors import DataError
from scmgym.simulators.make_or_buy import ASSEMBLY_RATE, MAX_COUNT, MakeOrBuyInstance

__all__ = [
    "COEFFICIENTS",
    "FEATURES",
    "SUPPORTED_QUANTILES",
    "check_quantile",
    "features",
    "surrogate_time",
    "surrogate_times",
]

#: Names of the features returned by :func:`features`, in order.
FEATURES = ("intercept", "max", "sum", "nonzero", "ties")

# Produced by tools/fit_make_or_buy_surrogate.py (defaults: --seeds 200 --combos 400 --seed 0);
# residual report: docs/make_or_buy_surrogate.md. Key None = the mean; a float = that quantile.
# Days, one coefficient per feature of FEATURES.
COEFFICIENTS: dict[float | None, tuple[float, ...]] = {
    None: (17.2880, 14.1998, 0.0688, -0.3590, 4.7378),
    0.5: (16.9628, 14.2229, 0.0612, -0.3100, 4.5718),
    0.75: (20.9145, 14.4454, 0.0412, -0.1855, 3.9656),
    0.9: (24.1208, 14.6506, 0.0280, -0.0314, 3.7147),
    0.95: (25.9897, 14.8033, -0.0021, 0.1458, 3.7851),
}

#: The quantiles :func:`surrogate_time` supports besides the mean (``None``).
SUPPORTED_QUANTILES: tuple[float, ...] = tuple(q for q in COEFFICIENTS if q is not None)


def check_quantile(quantile: float | None) -> float | None:
    """Validate a quantile: ``None`` (the mean) or one of :data:`SUPPORTED_QUANTILES`.

    Returns the matching key of :data:`COEFFICIENTS` (so ``0.90`` and ``0.9`` are the same).

    Raises:
        DataError: any other value.

    >>> check_quantile(0.90)
    0.9
    """
    if quantile is None:
        return None
    if isinstance(quantile, (int, float)) and not isinstance(quantile, bool):
        for q in SUPPORTED_QUANTILES:
            if math.isclose(float(quantile), q, rel_tol=0.0, abs_tol=1e-9):
                return q
    raise DataError("quantile not supported by the make-or-buy surrogate", column="quantile",
                    value=quantile,
                    allowed="None (the mean) or one of "
                    + ", ".join(str(q) for q in SUPPORTED_QUANTILES))


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        try:
            ok = not isinstance(value, bool) and float(value).is_integer() \
                and 0 <= int(value) <= MAX_COUNT
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise DataError("component count out of range", column=name, value=value,
                            allowed=f"an integer in [0, {MAX_COUNT}]")
    return int(value)


def features(a: int, b: int, c: int) -> tuple[float, ...]:
    """The surrogate's features of an order with counts (a, b, c), in the order of
    :data:`FEATURES`.

    >>> features(5, 5, 0)
    (1.0, 5.0, 10.0, 2.0, 1.0)
    """
    counts = (_count(a, "a"), _count(b, "b"), _count(c, "c"))
    top = max(counts)
    nonzero = sum(1 for x in counts if x > 0)
    ties = sum(1 for x in counts if x == top) - 1 if top > 0 else 0
    return (1.0, float(top), float(sum(counts)), float(nonzero), float(ties))


def surrogate_time(a: int, b: int, c: int, quantile: float | None = None) -> float:
    """Surrogate processing time (days) of a made order with counts (a, b, c).

    Args:
        a, b, c: component counts, integers 0..20.
        quantile: ``None`` for the mean, or one of :data:`SUPPORTED_QUANTILES` (0.5, 0.75,
            0.9, 0.95) for that quantile of the processing time.

    Raises:
        DataError: a count out of range or an unsupported quantile.

    >>> round(surrogate_time(0, 0, 0), 4), round(surrogate_time(0, 0, 0, quantile=0.9), 4)
    (0.0833, 0.1919)
    """
    key = check_quantile(quantile)
    x = features(a, b, c)
    if x[1] == 0:  # a = b = c = 0: complete at the next assembly tick, Exp(ASSEMBLY_RATE)
        return 1.0 / ASSEMBLY_RATE if key is None else -math.log1p(-key) / ASSEMBLY_RATE
    return float(sum(w * f for w, f in zip(COEFFICIENTS[key], x, strict=True)))


def surrogate_times(
    instance: MakeOrBuyInstance | Sequence[tuple[int, int, int]], quantile: float | None = None
) -> list[float]:
    """:func:`surrogate_time` of every order of an instance (or of (a, b, c) triples), in order.

    >>> [round(t, 1) for t in surrogate_times([(1, 0, 0), (0, 2, 0)])]
    [31.2, 45.5]
    """
    triples = [o.counts for o in instance.orders] if isinstance(instance, MakeOrBuyInstance) \
        else list(instance)
    return [surrogate_time(a, b, c, quantile) for a, b, c in triples]
