"""What a tree policy reads and decides: observation features and action names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Feature:
    """One observation feature: its name and integer domain ``[low, high]``.

    ``categories``, if given, names the values ``low..high`` (e.g. machine types), so conditions
    render as ``machine_type == lt8_p``. ``unit`` (e.g. ``"days"``) is printed after the
    constants a condition compares the feature with (``slack < -12 days``); two features of the
    same unit may be compared with each other (:meth:`TreeSchema.comparable_pairs`).

    The constants that conditions on the feature use (:meth:`constants`, for the schema-driven
    grammars and primitive sets of the tree trainers) are every ``step``-th value of
    ``thresholds`` (``(low, high)`` unless given: the domain can be far wider than the values
    that matter, e.g. a plant time bounded by 1000 days per order).
    """

    name: str
    low: int
    high: int
    categories: tuple[str, ...] | None = None
    unit: str | None = None
    step: int = 1
    thresholds: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"feature {self.name!r}: low {self.low} > high {self.high}")
        if not (isinstance(self.step, int) and self.step >= 1):
            raise ValueError(f"feature {self.name!r}: step={self.step!r}; allowed: an "
                             "integer >= 1")
        if self.thresholds is not None and self.thresholds[0] > self.thresholds[1]:
            raise ValueError(f"feature {self.name!r}: thresholds {self.thresholds} are not "
                             "(low, high) with low <= high")

    def format_value(self, value: int) -> str:
        if self.categories is not None and self.low <= value <= self.high:
            return self.categories[value - self.low]
        return str(value)

    def format_constant(self, value: int) -> str:
        """A constant compared with this feature: its category name or its value and unit."""
        text = self.format_value(value)
        return text if self.categories is not None or not self.unit else f"{text} {self.unit}"

    def constants(self) -> tuple[int, ...]:
        """The constants conditions compare this feature with: from the thresholds' low
        (rounded down to a multiple of ``step``) to their high, every ``step``; a categorical
        feature's are its values."""
        lo, hi = (self.low, self.high) if self.categories is not None or \
            self.thresholds is None else self.thresholds
        if self.categories is not None:
            return tuple(range(lo, hi + 1))
        start = lo - lo % self.step
        return tuple(range(start, hi + 1, self.step))


@dataclass(frozen=True)
class TreeSchema:
    """What a tree reads and what it decides: the features and the action names."""

    features: tuple[Feature, ...]
    actions: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def comparable_pairs(self) -> tuple[tuple[int, int], ...]:
        """(i, j), i < j, of the non-categorical features that share a unit: the pairs a
        feature-vs-feature condition may compare (``deadline < plant_time``)."""
        feats = self.features
        return tuple((i, j) for i in range(len(feats)) for j in range(i + 1, len(feats))
                     if feats[i].unit and feats[i].unit == feats[j].unit
                     and feats[i].categories is None and feats[j].categories is None)

    def pairs_for(self, conditions: str) -> tuple[tuple[int, int], ...]:
        """The pairs the trainers' ``conditions`` compare: none for ``"constant"``, the
        :meth:`comparable_pairs` for ``"pairs"`` (an error when there are none)."""
        if conditions != "pairs":
            return ()
        pairs = self.comparable_pairs()
        if not pairs:
            raise ValueError(f"conditions='pairs' needs two features of the same unit; the "
                             f"observation's features ({', '.join(self.names)}) declare none; "
                             "allowed: conditions='constant', or an observation with units "
                             "(make-or-buy 'extended', HFS 'relative')")
        return pairs

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [
                {"name": f.name, "low": f.low, "high": f.high,
                 **({"categories": list(f.categories)} if f.categories else {}),
                 **({"unit": f.unit} if f.unit else {}),
                 **({"step": f.step} if f.step != 1 else {}),
                 **({"thresholds": list(f.thresholds)} if f.thresholds else {})}
                for f in self.features
            ],
            "actions": list(self.actions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeSchema:
        feats = tuple(
            Feature(f["name"], int(f["low"]), int(f["high"]),
                    tuple(f["categories"]) if f.get("categories") else None,
                    unit=f.get("unit"), step=int(f.get("step", 1)),
                    thresholds=(tuple(int(v) for v in f["thresholds"])
                                if f.get("thresholds") else None))
            for f in data["features"]
        )
        return cls(feats, tuple(data["actions"]))
