"""What a tree policy reads and decides: observation features and action names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Feature:
    """One observation feature: its name and integer domain ``[low, high]``.

    ``categories``, if given, names the values ``low..high`` (e.g. machine types), so conditions
    render as ``machine_type == lt8_p``.
    """

    name: str
    low: int
    high: int
    categories: tuple[str, ...] | None = None

    def format_value(self, value: int) -> str:
        if self.categories is not None and self.low <= value <= self.high:
            return self.categories[value - self.low]
        return str(value)


@dataclass(frozen=True)
class TreeSchema:
    """What a tree reads and what it decides: the features and the action names."""

    features: tuple[Feature, ...]
    actions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [
                {"name": f.name, "low": f.low, "high": f.high,
                 **({"categories": list(f.categories)} if f.categories else {})}
                for f in self.features
            ],
            "actions": list(self.actions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeSchema:
        feats = tuple(
            Feature(f["name"], int(f["low"]), int(f["high"]),
                    tuple(f["categories"]) if f.get("categories") else None)
            for f in data["features"]
        )
        return cls(feats, tuple(data["actions"]))
