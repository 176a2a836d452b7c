"""The plant's numbers, with their units (plant specification §2-§4).

Times are in days (the model time unit), distances in metres, speeds in metres per day. A
triangular distribution is written ``(min, mode, max)``; AnyLogic's ``triangular(x, y)`` is
``(x, (x + y) / 2, y)`` and ``triangular(p, q, r)`` sorts its arguments (spec §4.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

# -- calendar and orders (§2, §3.1) -----------------------------------------------------------

#: Model time 0 (the AnyLogic experiment's start date); deadlines are counted in days from it.
START_DATE = date(2024, 6, 19)
#: Largest component count per type (the original lists use RANDBETWEEN(0, 20)).
MAX_COUNT = 20

# -- revenue (§4.1, §4.5) ---------------------------------------------------------------------

#: Revenue of an order made on time, made late, and bought (100 revenue - 30 cost).
REVENUE_ON_TIME, REVENUE_LATE, REVENUE_BOUGHT = 100, 50, 70

# -- time units, in days ----------------------------------------------------------------------

MINUTE, HOUR, SECOND = 1 / 1440, 1 / 24, 1 / 86400

# -- production lines (§4.2): triangular (min, mode, max), days -------------------------------

#: Input queue -> stage 1 (trip time 1-2 minutes).
MOVE_IN = (1 * MINUTE, 1.5 * MINUTE, 2 * MINUTE)
#: Stage -> next stage (0.5-1.5 hours).
MOVE_STAGE = (0.5 * HOUR, 1 * HOUR, 1.5 * HOUR)
#: Last stage -> output buffer (1-2 hours).
MOVE_OUT = (1 * HOUR, 1.5 * HOUR, 2 * HOUR)
#: Stages 1 and 2 of every line (5-20 days).
STAGE_LONG = (5.0, 12.5, 20.0)
#: Stage 3 of lines A and C (1-2 days).
STAGE_SHORT = (1.0, 1.5, 2.0)
#: The draws of one component, in order, for a three-stage line (A, C) and for line B:
#: (m1, S1, m2, S2, m3, S3, m4) and (m1, S1, m2, S2, m4) in the notation of §4.2.
LINE3 = (MOVE_IN, STAGE_LONG, MOVE_STAGE, STAGE_LONG, MOVE_STAGE, STAGE_SHORT, MOVE_OUT)
LINE2 = (MOVE_IN, STAGE_LONG, MOVE_STAGE, STAGE_LONG, MOVE_OUT)
#: Per line A, B, C: its number of stages and the draws of one component.
STAGES = (3, 2, 3)
LINE_DRAWS = (LINE3, LINE2, LINE3)

# -- truck (§4.4) -----------------------------------------------------------------------------

#: The truck's first move, truck area -> node1: a trip-time move of 0.5-1.5 days.
TRUCK_PARK = (0.5, 1.0, 1.5)
#: Loading at an output buffer (0.5-1.5 hours).
LOADING = (0.5 * HOUR, 1 * HOUR, 1.5 * HOUR)
#: Unloading at an assembly input (0.5-1.5 seconds, the Delay block's default).
UNLOADING = (0.5 * SECOND, 1 * SECOND, 1.5 * SECOND)
#: Mean of the exponential time at which the truck is created (AnyLogic Source default, 1 s).
TRUCK_CREATE_MEAN = SECOND
#: The truck speed when the latch is off: 1 m/s in metres per day.
DEFAULT_SPEED = 86400.0

# -- assembly (§4.5) --------------------------------------------------------------------------

#: Assembly ticks per day (AnyLogic rate 0.5 per hour).
ASSEMBLY_RATE = 12.0

# -- network geometry (§4.6; 10 px = 1 m) -----------------------------------------------------


@dataclass(frozen=True)
class Rect:
    """A rectangle node (metres) and the point where its path attaches."""

    x0: float
    x1: float
    y0: float
    y1: float
    ax: float
    ay: float

    def interior(self, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
        """Distance from uniform points (given by uniforms ux, uy) to the attachment point."""
        x = self.x0 + ux * (self.x1 - self.x0)
        y = self.y0 + uy * (self.y1 - self.y0)
        return np.hypot(x - self.ax, y - self.ay)


#: Where the truck is created (a uniform point of it) and the fixed metres from its exit point
#: to node1 (14 m path + 1 m into the node).
TRUCK_AREA = Rect(5, 40, 1, 11, 40, 5)
TRUCK_AREA_EXIT = 15.0
#: Per type A, B, C (checked at node2, node3, node4): output rectangle, assembly-input
#: rectangle, fixed metres check node -> output, output -> input (besides the two interiors),
#: input -> check node.
SERVE = (
    (Rect(40, 48, 15, 35, 48, 25), Rect(59, 67, 15, 35, 59, 25), 7.0, 11.0, 4.0),
    (Rect(67, 102, 49, 55, 85, 49), Rect(67, 102, 35, 41, 85, 41), 4.0, 8.0, 4.0),
    (Rect(117, 125, 15, 35, 117, 25), Rect(102, 110, 15, 35, 110, 25), 4.0, 7.0, 3.0),
)
#: Loop legs (metres) after an empty check: A (node2) -> B (node3), B -> C (node4),
#: C -> node1 -> A (the park move from node1 to node1 is zero-length).
LOOP_LEGS = ((50.0,), (48.0,), (78.0, 20.0))
#: node1 -> node2 (metres), the leg after the first park move.
NODE1_TO_NODE2 = 20.0
#: The whole idle loop (metres).
LOOP_M = 196.0
