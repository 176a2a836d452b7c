"""Generated CAR-T demand: patients per year, a profile over the quarter, a seed.

One instance is a quarter (90 collection days) of a year's demand: ``round(patients_per_year /
4)`` patients, each collected at one of the leukapheresis centres (uniformly) on a day drawn from
the profile:

* ``"uniform"``: every day of 1..90 alike;
* ``"left"``: left-triangular, demand front-loaded (density falling linearly from day 1 to day
  90), the decreasing profiles of the published training data;
* ``"right"``: right-triangular, demand back-loaded (rising linearly to day 90).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scmgym.errors import DataError
from scmgym.planning.cart import network as net
from scmgym.planning.cart.data import CARTInstance

PROFILES = ("uniform", "left", "right")


def generate_cart_instance(patients_per_year: int, profile: str = "uniform",
                           seed: int = 0) -> CARTInstance:
    """A quarter of ``patients_per_year`` (10 to 2,400 in the published study) with the
    published network."""
    if profile not in PROFILES:
        raise DataError("unknown demand profile", value=profile, allowed=", ".join(PROFILES))
    if not 1 <= patients_per_year <= 100_000:
        raise DataError("bad patients per year", value=patients_per_year,
                        allowed="an integer from 1 to 100000")
    rng = np.random.default_rng(seed)
    n = max(1, round(patients_per_year / 4))
    days = net.ARRIVAL_DAYS
    if profile == "uniform":
        day = rng.integers(1, days + 1, n)
    else:
        mode = 0.0 if profile == "left" else float(days)
        day = np.minimum(days, 1 + np.floor(rng.triangular(0.0, mode, float(days), n))).astype(int)
    centre = rng.choice(np.array(net.CENTRES), n)
    order = np.lexsort((centre, day))
    patients = pd.DataFrame({"patient": [f"p{i + 1}" for i in range(n)],
                             "centre": centre[order], "day": day[order].astype(np.int64)})
    return CARTInstance.from_frames(f"cart-{patients_per_year}-{profile}-s{seed}",
                                    {"patients": patients},
                                    meta={"patients_per_year": patients_per_year,
                                          "profile": profile, "seed": seed})
