"""Random HFS instances shaped like the bundled datasets, for training and testing on orders a
policy has never seen.

Two profiles, each fitted to bundled datasets (the numbers below were read off the CSV files;
``tests/test_instances.py`` checks that generated instances match them):

``"short"`` (d1-d3: 100 orders whose materials all arrive within three weeks)
    ===================  ===================================================================
    machine type         uniform over a family: ``"all"`` 12 types (d1), ``"lt7"`` 4 types
                         (d2), ``"lt8"`` 8 types (d3), or any list / {type: weight} mapping
    basement arrival     uniform integer day in [1, 19] (d1-d3: min 1, max 19, mean 8.7-9.2)
    panel arrival        uniform integer day in [1, 19], independent of the basement
                         (d1-d3: correlation -0.14 to -0.20)
    due date             basement + a uniform integer in [20, 49] days (d1-d3: due - basement
                         from 20 to 49, mean 35.0-35.1)
    ===================  ===================================================================

``"long"`` (d5: 345 orders released over three years, two types)
    ===================  ===================================================================
    machine type         lt8 with probability 300/345, else lt7 (d5's mix)
    basement arrival     uniform integer day in [56, 56 + 3.13 n] (d5: 56 to 1137 for 345
                         orders, 3.13 days per order)
    panel arrival        basement + a normal(32.3, 14.7) lag rounded and clipped to [5, 70]
                         (d5: 5 to 70, mean 32.3, sd 14.7)
    due date             basement + a normal(55.7, 42.2) offset, rounded, at least day 1
                         (d5: mean 55.7, sd 42.2; some orders are due before their basement)
    order ids            by due date (d5's ids follow the due dates: correlation 0.94)
    ===================  ===================================================================

``due_scale`` multiplies the due offsets (the load axis: below 1 the due dates are tighter).
The instance size ``n_orders`` is free in both profiles; the short profile keeps its three-week
release window at any size (so a larger instance is a more loaded plant), the long profile
stretches its release window with the size. The crew is not part of an instance: it is the
problem's ``workers`` setting (fewer workers is the other half of the load axis).

>>> inst = generate_hfs_instance(8, seed=1)
>>> inst.n, inst.name, all(1 <= o.basement_day <= 19 for o in inst.orders)
(8, 'generated-short-n8-s1', True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scmgym.errors import DataError
from scmgym.simulators.hfs import MACHINE_TYPES, MAX_DATE_DAY, HFSInstance, make_instance

#: The machine-type families of the short profile (d1: all, d2: lt7, d3: lt8).
TYPE_FAMILIES: dict[str, tuple[str, ...]] = {
    "all": tuple(MACHINE_TYPES),
    "lt7": tuple(t for t in MACHINE_TYPES if t.startswith("lt7")),
    "lt8": tuple(t for t in MACHINE_TYPES if t.startswith("lt8")),
}

#: The profiles and their fitted parameters (days).
PROFILES: dict[str, dict[str, Any]] = {
    "short": {"release": (1, 19), "due_offset": (20, 49)},
    "long": {"first_release": 56, "days_per_order": 3.13, "panel_lag": (32.3, 14.7, 5, 70),
             "due_offset": (55.7, 42.2), "mix": {"lt8": 300, "lt7": 45}},
}


def _type_weights(types: str | Sequence[str] | Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    if isinstance(types, str):
        if types not in TYPE_FAMILIES:
            raise DataError("unknown machine-type family", column="types", value=types,
                            allowed=f"one of {', '.join(TYPE_FAMILIES)}, a list of types or "
                            "a {type: weight} mapping")
        names, weights = list(TYPE_FAMILIES[types]), [1.0] * len(TYPE_FAMILIES[types])
    elif isinstance(types, Mapping):
        names, weights = list(types), [float(w) for w in types.values()]
    else:
        names = list(types)
        weights = [1.0] * len(names)
    for name in names:
        if name not in MACHINE_TYPES:
            raise DataError("unknown machine type", column="types", value=name,
                            allowed=", ".join(MACHINE_TYPES))
    w = np.array(weights, dtype=float)
    if not names or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise DataError("machine-type weights must be non-negative with a positive sum",
                        column="types", value=types, allowed="at least one type of weight > 0")
    return names, w / w.sum()


def generate_hfs_instance(
    n_orders: int,
    seed: int | np.random.Generator | None = 0,
    *,
    profile: str = "short",
    types: str | Sequence[str] | Mapping[str, float] | None = None,
    due_scale: float = 1.0,
    name: str | None = None,
) -> HFSInstance:
    """A random HFS instance drawn from a profile fitted to the bundled datasets.

    Args:
        n_orders: number of orders (>= 1).
        seed: seed or Generator (the same seed gives the same instance).
        profile: ``"short"`` (d1-d3) or ``"long"`` (d5); see the module docstring.
        types: the machine-type mix: a family (``"all"``, ``"lt7"``, ``"lt8"``), a list of
            types (uniform) or a {type: weight} mapping. Default: ``"all"`` for the short
            profile, d5's lt8/lt7 mix for the long one.
        due_scale: multiplies every due offset (> 0; below 1 is tighter).
        name: the instance name (default ``"generated-<profile>-n<n>-s<seed>"``).

    Raises:
        DataError: naming the parameter, its value and what is allowed.
    """
    if isinstance(n_orders, bool) or not isinstance(n_orders, (int, np.integer)) or n_orders < 1:
        raise DataError("n_orders must be a positive integer", column="n_orders",
                        value=n_orders, allowed="an integer >= 1")
    if profile not in PROFILES:
        raise DataError("unknown profile", column="profile", value=profile,
                        allowed=" or ".join(PROFILES))
    if isinstance(due_scale, bool) or not isinstance(due_scale, (int, float)) \
            or not math.isfinite(due_scale) or due_scale <= 0:
        raise DataError("due_scale must be positive", column="due_scale", value=due_scale,
                        allowed="a finite number > 0")
    par = PROFILES[profile]
    if types is None:
        types = "all" if profile == "short" else par["mix"]
    names, weights = _type_weights(types)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(n_orders)
    kinds = rng.choice(len(names), size=n, p=weights)
    if profile == "short":
        lo, hi = par["release"]
        basement = rng.integers(lo, hi + 1, size=n)
        panel = rng.integers(lo, hi + 1, size=n)
        olo, ohi = par["due_offset"]
        due = basement + np.rint(rng.integers(olo, ohi + 1, size=n) * due_scale).astype(int)
    else:
        first = par["first_release"]
        basement = rng.integers(first, first + round(par["days_per_order"] * n) + 1, size=n)
        mean, sd, lo, hi = par["panel_lag"]
        panel = basement + np.clip(np.rint(rng.normal(mean, sd, size=n)), lo, hi).astype(int)
        mean, sd = par["due_offset"]
        due = np.maximum(basement + np.rint(rng.normal(mean, sd, size=n) * due_scale), 1)
        due = due.astype(int)
        by_due = np.argsort(due, kind="stable")
        kinds, basement, panel, due = kinds[by_due], basement[by_due], panel[by_due], due[by_due]
    due = np.minimum(due, MAX_DATE_DAY)
    tag = "rng" if isinstance(seed, np.random.Generator) else seed
    label = name or f"generated-{profile}-n{n}-s{tag}"
    rows = [(i, names[int(k)], int(b), int(p), int(d))
            for i, (k, b, p, d) in enumerate(zip(kinds, basement, panel, due, strict=True))]
    return make_instance(rows, name=label)
