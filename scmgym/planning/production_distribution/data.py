"""The production-distribution instance: two plants with production lines, their distribution
centres (DCs), SKUs of two product types, daily demand, and the costs of inventory off target.

After Arancibia Bruce and Esparza Colin, "Optimization Strategy for End-to-End Supply Chain
Planning" (MIT Supply Chain Management capstone, 2025): a consumer-goods company plans 14 days
of production on plant A (6 lines) and plant B (4 lines), each line making SKUs of one product
type, and the distribution from each plant to its own DCs; inventory can be moved between the
plants at a cost.

On disk an instance is a folder of CSV tables or one ``.xlsx`` workbook with a sheet per table
(:meth:`PDInstance.load`, :meth:`PDInstance.write`); :data:`TABLES` describes every column and
``docs/planning.md`` repeats it. Units: quantities in units, rates in units per hour, hours per
day, inventory costs per unit and day, transport and transfer costs per unit, lead times in
days.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from scmgym.errors import DataError
from scmgym.planning.tables import Column, Table, TableSet, source_of

_NONNEG = {"low": 0.0}

#: defaults of the settings table (one row)
HORIZON_DAYS = 14
MIN_SHARE = 0.9

TABLES: tuple[Table, ...] = (
    Table("settings", (
        Column("horizon", "int", default=HORIZON_DAYS, low=1, doc="days planned"),
        Column("min_share", "float", default=MIN_SHARE, low=0.0, high=1.0,
               doc="minimum inventory as a share of the target"),
        Column("transfer_lead_time", "int", default=1, low=0,
               doc="days a transfer between plants is in transit"),
    ), optional=True, doc="one row; absent: the defaults"),
    Table("plants", (
        Column("plant", doc="name"),
    ), key=("plant",)),
    Table("lines", (
        Column("line", doc="name"),
        Column("plant"),
        Column("type", doc="the product type it makes (SKUs of this type only)"),
        Column("hours", "float", default=24.0, low=0.0, high=24.0,
               doc="hours available per day"),
    ), key=("line",)),
    Table("line_hours", (
        Column("line"), Column("day", "int", low=0),
        Column("hours", "float", low=0.0, high=24.0,
               doc="hours available that day (planned maintenance, outages)"),
    ), key=("line", "day"), optional=True, doc="overrides of lines.hours for single days"),
    Table("skus", (
        Column("sku", doc="name"),
        Column("type", doc="product type"),
        Column("moq", "float", default=0.0, **_NONNEG,
               doc="minimum quantity of a production run (a line, a day); 0: none"),
        Column("over_cost", "float", default=0.0, **_NONNEG,
               doc="per unit above the target and day"),
        Column("under_cost", "float", default=0.0, **_NONNEG,
               doc="per unit below the target and day"),
        Column("min_cost", "float", default=0.0, **_NONNEG,
               doc="per unit below the minimum inventory and day (on top of under_cost)"),
        Column("stockout_cost", "float", **_NONNEG,
               doc="per unit of demand backlogged and day; at least under_cost + min_cost"),
        Column("transfer_cost", "float", default=0.0, **_NONNEG,
               doc="per unit moved between plants"),
    ), key=("sku",)),
    Table("rates", (
        Column("line"), Column("sku"),
        Column("rate", "float", low=0.0, low_open=True, doc="units per hour"),
    ), key=("line", "sku"), doc="which line makes which SKU, and how fast"),
    Table("dcs", (
        Column("dc", doc="name"),
        Column("plant", doc="the plant that serves it"),
        Column("lead_time", "int", default=1, low=0, doc="days from the plant to the DC"),
    ), key=("dc",)),
    Table("targets", (
        Column("sku"), Column("dc"),
        Column("target", "float", **_NONNEG, doc="target inventory"),
        Column("initial", "float", default=0.0, **_NONNEG, doc="inventory before day 0"),
        Column("transport_cost", "float", default=0.0, **_NONNEG,
               doc="per unit shipped from the plant to the DC"),
    ), key=("sku", "dc"), doc="one row per SKU held at a DC"),
    Table("plant_stock", (
        Column("sku"), Column("plant"),
        Column("initial", "float", default=0.0, **_NONNEG, doc="inventory before day 0"),
    ), key=("sku", "plant"), optional=True),
    Table("demands", (
        Column("sku"), Column("dc"), Column("day", "int", low=0),
        Column("quantity", "float", **_NONNEG),
    ), key=("sku", "dc", "day")),
)


@dataclass(frozen=True)
class Arrays:
    """The instance as dense arrays, indexed by the orders of :class:`PDInstance`'s names
    (``plants``, ``lines``, ``skus``, ``dcs``) and by day: what the model and the
    metaheuristics' decoder read."""

    horizon: int
    min_share: float
    transfer_lead: int
    types: tuple[str, ...]      # product types, in order of first appearance among the SKUs
    sku_type: np.ndarray        # (S,) type index
    line_type: np.ndarray       # (L,) type index (-1: a type no SKU has)
    line_plant: np.ndarray      # (L,) plant index
    hours: np.ndarray           # (L, T) hours available
    rate: np.ndarray            # (L, S) units/hour, 0 where the line cannot make the SKU
    moq: np.ndarray             # (S,)
    over_cost: np.ndarray       # (S,)
    under_cost: np.ndarray      # (S,)
    min_cost: np.ndarray        # (S,)
    stockout_cost: np.ndarray   # (S,)
    transfer_cost: np.ndarray   # (S,)
    dc_plant: np.ndarray        # (D,) plant index
    lead: np.ndarray            # (D,) days
    held: np.ndarray            # (S, D) bool: a targets row exists
    target: np.ndarray          # (S, D)
    initial_dc: np.ndarray      # (S, D)
    transport_cost: np.ndarray  # (S, D)
    initial_plant: np.ndarray   # (S, P)
    demand: np.ndarray          # (S, D, T)

    @property
    def minimum(self) -> np.ndarray:
        return self.min_share * self.target

    def capacity(self) -> np.ndarray:
        """(L, S, T) most units line l could make of SKU s on day t (all its hours)."""
        return self.rate[:, :, None] * self.hours[:, None, :]


class PDInstance(TableSet):
    """A checked production-distribution instance (one DataFrame per table of :data:`TABLES`).

    Build one with :meth:`load`, :func:`~scmgym.planning.production_distribution.
    generate_production_distribution_instance` or ``PDInstance.from_frames(name, frames)``.
    """

    TABLES = TABLES

    # ---- names and settings -------------------------------------------------------------
    @property
    def plants(self) -> list[str]:
        return list(self.frames["plants"]["plant"])

    @property
    def lines(self) -> list[str]:
        return list(self.frames["lines"]["line"])

    @property
    def skus(self) -> list[str]:
        return list(self.frames["skus"]["sku"])

    @property
    def dcs(self) -> list[str]:
        return list(self.frames["dcs"]["dc"])

    @property
    def horizon(self) -> int:
        return self.setting("horizon")

    def summary(self) -> dict[str, int]:
        return {"plants": len(self.plants), "lines": len(self.lines), "skus": len(self.skus),
                "dcs": len(self.dcs), "days": self.horizon}

    # ---- arrays ---------------------------------------------------------------------------
    @cached_property
    def arrays(self) -> Arrays:
        f = self.frames
        T = self.horizon
        P = {p: i for i, p in enumerate(self.plants)}
        L = {x: i for i, x in enumerate(self.lines)}
        S = {x: i for i, x in enumerate(self.skus)}
        D = {x: i for i, x in enumerate(self.dcs)}
        lines, skus, dcs = f["lines"], f["skus"], f["dcs"]
        hours = np.repeat(lines["hours"].to_numpy(float)[:, None], T, axis=1)
        for line, day, h in f["line_hours"][["line", "day", "hours"]].itertuples(index=False):
            hours[L[line], day] = h
        rate = np.zeros((len(L), len(S)))
        for line, sku, r in f["rates"][["line", "sku", "rate"]].itertuples(index=False):
            rate[L[line], S[sku]] = r
        held = np.zeros((len(S), len(D)), bool)
        target, initial, tcost = (np.zeros((len(S), len(D))) for _ in range(3))
        t = f["targets"]
        si = t["sku"].map(S).to_numpy(int)
        di = t["dc"].map(D).to_numpy(int)
        held[si, di] = True
        target[si, di] = t["target"].to_numpy(float)
        initial[si, di] = t["initial"].to_numpy(float)
        tcost[si, di] = t["transport_cost"].to_numpy(float)
        initial_plant = np.zeros((len(S), len(P)))
        ps = f["plant_stock"]
        initial_plant[ps["sku"].map(S).to_numpy(int), ps["plant"].map(P).to_numpy(int)] = \
            ps["initial"].to_numpy(float)
        demand = np.zeros((len(S), len(D), T))
        dm = f["demands"]
        np.add.at(demand, (dm["sku"].map(S).to_numpy(int), dm["dc"].map(D).to_numpy(int),
                           dm["day"].to_numpy(int)), dm["quantity"].to_numpy(float))
        types = tuple(dict.fromkeys(skus["type"]))
        type_index = {k: i for i, k in enumerate(types)}
        return Arrays(
            horizon=T, min_share=self.setting("min_share"),
            transfer_lead=self.setting("transfer_lead_time"), types=types,
            sku_type=skus["type"].map(type_index).to_numpy(int),
            line_type=lines["type"].map(type_index).fillna(-1).to_numpy(int),
            line_plant=lines["plant"].map(P).to_numpy(int), hours=hours, rate=rate,
            moq=skus["moq"].to_numpy(float), over_cost=skus["over_cost"].to_numpy(float),
            under_cost=skus["under_cost"].to_numpy(float),
            min_cost=skus["min_cost"].to_numpy(float),
            stockout_cost=skus["stockout_cost"].to_numpy(float),
            transfer_cost=skus["transfer_cost"].to_numpy(float),
            dc_plant=dcs["plant"].map(P).to_numpy(int), lead=dcs["lead_time"].to_numpy(int),
            held=held, target=target, initial_dc=initial, transport_cost=tcost,
            initial_plant=initial_plant, demand=demand)

    # ---- checks ---------------------------------------------------------------------------
    def check(self) -> None:
        """Check references between tables; raise DataError naming the first bad row."""
        f = self.frames
        if len(f["settings"]) > 1:
            raise DataError("more than one settings row", **self._where("settings", 1),
                            allowed="one row (or no settings table: the defaults)")
        if not len(f["plants"]):
            raise DataError("no plant", source=source_of(self.source, "plants"),
                            allowed="at least one row")
        plants, lines = set(self.plants), set(self.lines)
        skus, dcs = set(self.skus), set(self.dcs)
        self._refs("lines", "plant", plants, "plant")
        self._refs("line_hours", "line", lines, "line")
        self._refs("rates", "line", lines, "line")
        self._refs("rates", "sku", skus, "SKU")
        self._refs("dcs", "plant", plants, "plant")
        for tab in ("targets", "plant_stock", "demands"):
            self._refs(tab, "sku", skus, "SKU")
        for tab in ("targets", "demands"):
            self._refs(tab, "dc", dcs, "DC")
        self._refs("plant_stock", "plant", plants, "plant")
        T = self.horizon
        for tab in ("line_hours", "demands"):
            self._fail("day beyond the horizon", tab, f[tab]["day"].to_numpy() >= T, "day",
                       f"0..{T - 1} (settings.horizon is {T})")
        rt = f["rates"]
        line_type = f["lines"].set_index("line")["type"]
        sku_type = f["skus"].set_index("sku")["type"]
        wrong = (rt["line"].map(line_type) != rt["sku"].map(sku_type)).to_numpy()
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            line = rt["line"].iloc[i]
            self._fail(f"a line makes SKUs of its own type only (line {line!r} makes type "
                       f"{line_type[line]!r}, SKU {rt['sku'].iloc[i]!r} is of type "
                       f"{sku_type[rt['sku'].iloc[i]]!r})", "rates", wrong, "sku",
                       f"a SKU of type {line_type[line]!r}")
        made = set(rt["sku"])
        sk = f["skus"]
        self._fail("no line makes this SKU", "skus", ~sk["sku"].isin(made).to_numpy(), "sku",
                   "a SKU with at least one row in rates")
        low = (sk["stockout_cost"] < sk["under_cost"] + sk["min_cost"]).to_numpy()
        i = int(np.flatnonzero(low)[0]) if low.any() else 0
        self._fail("a stockout must cost at least as much as inventory below the minimum "
                   "(else a plan would keep stock and backlog at once)", "skus", low,
                   "stockout_cost", f">= under_cost + min_cost = "
                   f"{sk['under_cost'].iloc[i] + sk['min_cost'].iloc[i]:g}")
        pairs = set(zip(f["targets"]["sku"], f["targets"]["dc"], strict=True))
        dm = f["demands"]
        missing = np.array([(s, d) not in pairs for s, d in zip(dm["sku"], dm["dc"],
                                                                 strict=True)], bool)
        self._fail("demand for a SKU the DC does not hold", "demands", missing, "sku",
                   "a SKU with a row in targets for this DC")


def load_production_distribution_instance(path, *, name: str | None = None) -> PDInstance:
    """Read an instance from a folder of CSV tables or an ``.xlsx`` workbook and check it.

    Raises:
        DataError: naming the file (and sheet), row, column, value and what is allowed.
    """
    return PDInstance.load(path, name=name)
