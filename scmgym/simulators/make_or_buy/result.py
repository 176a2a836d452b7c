"""What a run returns: one record per order and the run's totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class OrderRecord:
    """What happened to one order (times in model days).

    Attributes:
        order_id: the order (1..n).
        decision: 0 made, 1 bought.
        start: the time it was dispatched (the previous made order's completion, 0 first).
        completion: made: the assembly tick that took its last component; bought: ``start``.
        last_delivery: made: when the truck delivered the order's last component to the
            assembly input (``start`` for an order without components); bought: ``start``.
        deadline_days: its deadline in model days.
        on_time: made: ``completion <= deadline_days``; bought: always True.
        lateness: days after the deadline, ``max(0, completion - deadline_days)``; 0 when on
            time and for bought orders.
    """

    order_id: int
    decision: int
    start: float
    completion: float
    last_delivery: float
    deadline_days: int
    on_time: bool
    lateness: float


@dataclass(frozen=True)
class MakeOrBuyResult:
    """The outcome of one make-or-buy simulation.

    Attributes:
        revenue: ``100 * on_time + 50 * late - 30 * bought``.
        on_time: orders counted on time, bought ones included (the model's counter).
        late: made orders completed after their deadline day.
        bought: bought orders.
        end_time: time at which the last order was done (the run's end).
        truck_speed: the truck speed in metres per day for the whole run.
        records: one :class:`OrderRecord` per order, in id order.
    """

    revenue: int
    on_time: int
    late: int
    bought: int
    end_time: float
    truck_speed: float
    records: tuple[OrderRecord, ...] = field(repr=False)

    @property
    def made(self) -> int:
        """Number of made orders."""
        return self.on_time + self.late - self.bought

    @property
    def made_on_time(self) -> int:
        """Made orders completed on time."""
        return self.on_time - self.bought

    @property
    def decisions(self) -> tuple[int, ...]:
        """The decision vector simulated."""
        return tuple(r.decision for r in self.records)

    def completion_times(self) -> np.ndarray:
        """Completion time per order (float array, id order)."""
        return np.array([r.completion for r in self.records], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the per-order records."""
        return {
            "revenue": self.revenue,
            "on_time": self.on_time,
            "late": self.late,
            "bought": self.bought,
            "made": self.made,
            "made_on_time": self.made_on_time,
            "end_time": self.end_time,
            "truck_speed": self.truck_speed,
            "orders": [r.__dict__.copy() for r in self.records],
        }
