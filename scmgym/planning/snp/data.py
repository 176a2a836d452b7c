"""The supply network planning (SNP) instance: its tables, their meaning, loading and checks.

An instance is a network of locations (suppliers, plants, warehouses, customers), products with
bills of materials, production processes at plants, transport lanes, resources with a capacity
per day, demands with priority classes, and a horizon of time buckets of any length. It is kept
as a set of typed pandas tables, checked once on construction (:meth:`SNPInstance.check`) and
never changed afterwards; :meth:`SNPInstance.restrict` derives the sub-instances that the
decompositions solve.

On disk an instance is a folder with one CSV file per table, or one ``.xlsx`` workbook with one
sheet per table (:func:`load_snp_instance`, :func:`write_snp_instance`). ``docs/planning.md``
describes every column; :data:`TABLES` is the same description in code.

Units: quantities are in product units, capacities and the procurement limit per day (a bucket
of ``days`` days holds ``days`` times as much), holding and safety-stock costs per unit and day,
lateness cost per unit and day late, lead times in buckets.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from scmgym.errors import DataError
from scmgym.planning.tables import Column, Table, TableSet, source_of

LOCATION_KINDS = ("supplier", "plant", "warehouse", "customer")
RESOURCE_KINDS = ("machine", "labour", "transport")

_NONNEG = {"low": 0.0}

TABLES: tuple[Table, ...] = (
    Table("buckets", (
        Column("bucket", "int", low=0, doc="0, 1, 2, ... in order"),
        Column("days", "float", low=0.0, low_open=True, doc="length of the bucket in days"),
    ), key=("bucket",), doc="the time buckets, in order (telescopic lengths allowed)"),
    Table("locations", (
        Column("location", doc="name"),
        Column("kind", "choice", choices=LOCATION_KINDS),
    ), key=("location",)),
    Table("products", (
        Column("product", doc="name"),
        Column("family", default="", doc="product line for the product decomposition "
                                          "(empty: the product is its own line)"),
    ), key=("product",)),
    Table("stock", (
        Column("location"), Column("product"),
        Column("initial", "float", default=0.0, **_NONNEG, doc="stock before bucket 0"),
        Column("safety", "float", default=0.0, **_NONNEG, doc="safety stock target"),
        Column("holding_cost", "float", default=0.0, **_NONNEG, doc="per unit and day"),
        Column("safety_cost", "float", default=0.0, **_NONNEG,
               doc="per unit below the safety stock and day"),
        Column("max_stock", "float", blank=True, **_NONNEG,
               doc="storage limit (hard); empty: unlimited"),
    ), key=("location", "product"), optional=True),
    Table("procurement", (
        Column("location", doc="a supplier"), Column("product"),
        Column("cost", "float", default=0.0, **_NONNEG, doc="per unit"),
        Column("capacity", "float", blank=True, **_NONNEG,
               doc="units per day (hard); empty: unlimited"),
    ), key=("location", "product"), optional=True),
    Table("resources", (
        Column("resource"), Column("location"),
        Column("kind", "choice", choices=RESOURCE_KINDS),
        Column("capacity", "float", **_NONNEG, doc="per day, in the resource's unit"),
    ), key=("resource",), optional=True),
    Table("capacity", (
        Column("resource"), Column("bucket", "int", low=0),
        Column("capacity", "float", **_NONNEG, doc="for the whole bucket (overrides "
                                                   "resources.capacity x days)"),
    ), key=("resource", "bucket"), optional=True),
    Table("processes", (
        Column("process"), Column("location", doc="a plant"),
        Column("product", doc="what it makes, one unit per unit of activity"),
        Column("cost", "float", default=0.0, **_NONNEG, doc="per unit made"),
        Column("resource", default="", doc="empty: uses no resource"),
        Column("usage", "float", default=0.0, **_NONNEG, doc="resource use per unit made"),
        Column("min_lot", "float", default=0.0, **_NONNEG,
               doc="smallest quantity per bucket when it runs at all"),
        Column("lot_size", "float", default=0.0, **_NONNEG,
               doc="the quantity is a multiple of it (0: any quantity)"),
        Column("fixed_cost", "float", default=0.0, **_NONNEG,
               doc="per bucket in which it runs"),
    ), key=("process",), optional=True),
    Table("bom", (
        Column("process"), Column("component"),
        Column("quantity", "float", low=0.0, low_open=True,
               doc="units of component per unit made"),
    ), key=("process", "component"), optional=True),
    Table("lanes", (
        Column("lane"), Column("origin"), Column("destination"), Column("product"),
        Column("lead_time", "int", default=0, low=0, doc="buckets in transit"),
        Column("cost", "float", default=0.0, **_NONNEG, doc="per unit"),
        Column("resource", default="", doc="a transport resource, or empty"),
        Column("usage", "float", default=0.0, **_NONNEG),
        Column("min_lot", "float", default=0.0, **_NONNEG),
        Column("lot_size", "float", default=0.0, **_NONNEG),
        Column("fixed_cost", "float", default=0.0, **_NONNEG, doc="per bucket it is used"),
    ), key=("lane",), optional=True),
    Table("priorities", (
        Column("priority", "int", low=1, doc="1 is the most important class"),
        Column("nondelivery_cost", "float", blank=True, **_NONNEG,
               doc="per unit never delivered; empty: the demand is hard (must be met)"),
        Column("lateness_cost", "float", default=0.0, **_NONNEG, doc="per unit and day late"),
        Column("max_lateness", "float", default=0.0, **_NONNEG,
               doc="days a delivery may be late"),
    ), key=("priority",)),
    Table("demands", (
        Column("demand"), Column("location"), Column("product"),
        Column("bucket", "int", low=0, doc="due bucket"),
        Column("quantity", "float", low=0.0, low_open=True),
        Column("priority", "int", default=1, low=1),
    ), key=("demand",)),
)

TABLE_NAMES = tuple(t.name for t in TABLES)
_BY_NAME = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    return _BY_NAME[name]


class SNPInstance(TableSet):
    """A checked SNP instance: one pandas DataFrame per table of :data:`TABLES`.

    Build one with :func:`load_snp_instance`, :func:`~scmgym.planning.snp.generate_snp_instance`
    or from DataFrames (``SNPInstance.from_frames(name, frames)``, which fills optional tables
    and columns and checks everything).
    """

    TABLES = TABLES

    # ---- derived facts ------------------------------------------------------------------
    @property
    def n_buckets(self) -> int:
        return len(self.frames["buckets"])

    def days(self) -> np.ndarray:
        return self.frames["buckets"]["days"].to_numpy(float)

    def starts(self) -> np.ndarray:
        """Day on which each bucket starts (bucket 0 starts on day 0)."""
        d = self.days()
        return np.concatenate([[0.0], np.cumsum(d)[:-1]])

    def summary(self) -> dict[str, int]:
        f = self.frames
        return {"products": len(f["products"]), "locations": len(f["locations"]),
                "buckets": self.n_buckets, "processes": len(f["processes"]),
                "lanes": len(f["lanes"]), "resources": len(f["resources"]),
                "demands": len(f["demands"])}

    def end_products(self) -> list[str]:
        """Products no process consumes, in the order of the products table."""
        used = set(self.frames["bom"]["component"])
        return [p for p in self.frames["products"]["product"] if p not in used]

    def components_of(self, products: Iterable[str]) -> set[str]:
        """``products`` and every product their processes need, directly or further down."""
        made_by = self.frames["processes"].groupby("product")["process"].apply(list).to_dict()
        needs = self.frames["bom"].groupby("process")["component"].apply(list).to_dict()
        seen: set[str] = set()
        stack = list(products)
        while stack:
            p = stack.pop()
            if p in seen:
                continue
            seen.add(p)
            for proc in made_by.get(p, ()):
                stack.extend(needs.get(proc, ()))
        return seen

    def penalty(self) -> pd.Series:
        """Non-delivery cost per unit of each demand (NaN for a hard demand)."""
        pri = self.frames["priorities"].set_index("priority")["nondelivery_cost"]
        return self.frames["demands"]["priority"].map(pri)

    # ---- sub-instances -------------------------------------------------------------------
    def restrict(self, *, products: Iterable[str] | None = None,
                 demands: Iterable[str] | None = None,
                 last_bucket: int | None = None, name: str | None = None) -> SNPInstance:
        """The instance limited to ``products`` (their processes, lanes, procurement and
        stock), to the ``demands`` named (of those products) and to the buckets up to
        ``last_bucket``. Resources stay whole: their capacity is shared by whatever remains."""
        f = {k: v for k, v in self.frames.items()}
        if products is not None:
            keep = set(products)
            f["products"] = f["products"][f["products"]["product"].isin(keep)]
            for t in ("stock", "procurement", "processes", "lanes", "demands"):
                f[t] = f[t][f[t]["product"].isin(keep)]
            f["bom"] = f["bom"][f["bom"]["process"].isin(set(f["processes"]["process"]))]
        if demands is not None:
            f["demands"] = f["demands"][f["demands"]["demand"].isin(set(demands))]
        if last_bucket is not None:
            f["buckets"] = f["buckets"][f["buckets"]["bucket"] <= last_bucket]
            f["demands"] = f["demands"][f["demands"]["bucket"] <= last_bucket]
            f["capacity"] = f["capacity"][f["capacity"]["bucket"] <= last_bucket]
        frames = {k: v.reset_index(drop=True) for k, v in f.items()}
        return SNPInstance(name=name or self.name, frames=frames, source=self.source,
                           meta=self.meta)

    # ---- checks ---------------------------------------------------------------------------
    def _kind(self, tab: str, column: str, kinds: tuple[str, ...], what: str) -> None:
        kind = self.frames["locations"].set_index("location")["kind"]
        got = self.frames[tab][column].map(kind)
        bad = ~got.isin(kinds)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{what} (location {self.frames[tab][column].iloc[i]!r} is a "
                            f"{got.iloc[i]})", **self._where(tab, i), column=column,
                            value=self.frames[tab][column].iloc[i],
                            allowed=f"a location of kind {' or '.join(kinds)}")

    def check(self) -> None:
        """Check references between tables; raise DataError naming the first bad row."""
        f = self.frames
        b = f["buckets"]["bucket"].to_numpy()
        if len(b) == 0:
            raise DataError("no time buckets", source=source_of(self.source, "buckets"),
                            allowed="at least one row")
        bad = np.flatnonzero(b != np.arange(len(b)))
        if len(bad):
            i = int(bad[0])
            raise DataError("buckets out of order", **self._where("buckets", i), column="bucket",
                            value=int(b[i]), allowed=str(i))
        locs = set(f["locations"]["location"])
        prods = set(f["products"]["product"])
        res = set(f["resources"]["resource"])
        procs = set(f["processes"]["process"])
        n = len(b)
        for tab in ("stock", "procurement", "resources", "processes", "demands"):
            self._refs(tab, "location", locs, "location")
        for tab in ("stock", "procurement", "processes", "lanes", "demands"):
            self._refs(tab, "product", prods, "product")
        self._refs("lanes", "origin", locs, "location")
        self._refs("lanes", "destination", locs, "location")
        self._refs("bom", "process", procs, "process")
        self._refs("bom", "component", prods, "product")
        self._refs("capacity", "resource", res, "resource")
        self._refs("processes", "resource", res, "resource", optional=True)
        self._refs("lanes", "resource", res, "resource", optional=True)
        self._refs("demands", "priority", set(f["priorities"]["priority"]), "priority class")
        self._kind("procurement", "location", ("supplier",), "procurement only at a supplier")
        self._kind("processes", "location", ("plant",), "production only at a plant")
        self._kind("lanes", "destination", ("plant", "warehouse", "customer"),
                   "a lane into a supplier")
        self._kind("lanes", "origin", ("supplier", "plant", "warehouse"),
                   "a lane out of a customer")
        for tab in ("capacity", "demands"):
            over = f[tab]["bucket"].to_numpy() >= n
            if over.any():
                i = int(np.flatnonzero(over)[0])
                raise DataError("bucket beyond the horizon", **self._where(tab, i),
                                column="bucket", value=int(f[tab]["bucket"].iloc[i]),
                                allowed=f"0..{n - 1}")
        same = (f["lanes"]["origin"] == f["lanes"]["destination"]).to_numpy()
        if same.any():
            i = int(np.flatnonzero(same)[0])
            raise DataError("a lane from a location to itself", **self._where("lanes", i),
                            column="destination", value=f["lanes"]["destination"].iloc[i],
                            allowed="a location other than the origin")
        rkind = f["resources"].set_index("resource")["kind"]
        rloc = f["resources"].set_index("resource")["location"]
        pr = f["processes"]
        uses = pr["resource"] != ""
        wrong = uses & (pr["resource"].map(rkind) == "transport")
        wrong |= uses & (pr["resource"].map(rloc) != pr["location"])
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise DataError("a process uses a resource of another location or a transport "
                            "resource", **self._where("processes", i), column="resource",
                            value=pr["resource"].iloc[i],
                            allowed=f"a machine or labour resource at {pr['location'].iloc[i]!r}")
        ln = f["lanes"]
        wrong = (ln["resource"] != "") & (ln["resource"].map(rkind) != "transport")
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise DataError("a lane uses a resource that is not a transport resource",
                            **self._where("lanes", i), column="resource",
                            value=ln["resource"].iloc[i], allowed="a resource of kind transport")
        selfuse = f["bom"].merge(pr[["process", "product"]], on="process")
        loop = selfuse["component"] == selfuse["product"]
        if loop.any():
            i = int(np.flatnonzero(loop.to_numpy())[0])
            raise DataError("a process consumes its own product", **self._where("bom", i),
                            column="component", value=selfuse["component"].iloc[i],
                            allowed="a product other than the one the process makes")
        self._check_bom_cycle()

    def _check_bom_cycle(self) -> None:
        """A product may not need itself through a chain of processes (a BOM cycle)."""
        f = self.frames
        edges = f["bom"].merge(f["processes"][["process", "product"]], on="process")
        graph: dict[str, list[tuple[str, int]]] = {}
        for i, (out, comp) in enumerate(zip(edges["product"], edges["component"], strict=True)):
            graph.setdefault(out, []).append((comp, i))
        state: dict[str, int] = {}
        for root in graph:
            if state.get(root):
                continue
            stack = [(root, iter(graph.get(root, ())), [root])]
            state[root] = 1
            while stack:
                node, it, path = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[node] = 2
                    stack.pop()
                    continue
                comp, i = nxt
                if state.get(comp) == 1:
                    cycle = path[path.index(comp):] + [comp]
                    row = edges.index[i]
                    bom_row = int(f["bom"].index[(f["bom"]["process"] == edges["process"].iloc[row])
                                                 & (f["bom"]["component"] == comp)][0])
                    raise DataError("a BOM cycle: " + " needs ".join(cycle),
                                    **self._where("bom", bom_row), column="component",
                                    value=comp, allowed="bills of materials without cycles")
                if not state.get(comp):
                    state[comp] = 1
                    stack.append((comp, iter(graph.get(comp, ())), path + [comp]))


def load_snp_instance(path: str | Path, *, name: str | None = None) -> SNPInstance:
    """Read an instance from a folder of CSV tables or an ``.xlsx`` workbook and check it.

    Raises:
        DataError: naming the file (and sheet), row, column, value and what is allowed.
    """
    return SNPInstance.load(path, name=name)


def write_snp_instance(instance: SNPInstance, path: str | Path) -> Path:
    """Write ``instance`` as a folder of CSV tables, or a workbook if ``path`` ends in .xlsx."""
    return instance.write(path)


def telescopic_buckets(scheme: str | Iterable[float]) -> pd.DataFrame:
    """The buckets table of a scheme: ``"14x1,8x7,9x30"`` is 14 daily, 8 weekly and 9 monthly
    (30-day) buckets; a list gives the lengths in days one by one.

    >>> telescopic_buckets("2x1,1x7")["days"].tolist()
    [1.0, 1.0, 7.0]
    """
    if isinstance(scheme, str):
        lengths: list[float] = []
        for part in scheme.replace(" ", "").split(","):
            count, _, days = part.partition("x")
            try:
                c, d = int(count), float(days)
            except ValueError:
                raise DataError("bad bucket scheme part", value=part,
                                allowed="COUNTxDAYS parts separated by commas, e.g. "
                                        "14x1,8x7,9x30") from None
            if c < 1 or d <= 0:
                raise DataError("bad bucket scheme part", value=part,
                                allowed="a count >= 1 and a length > 0 days")
            lengths += [d] * c
    else:
        lengths = [float(x) for x in scheme]
    return pd.DataFrame({"bucket": np.arange(len(lengths), dtype=np.int64),
                         "days": np.asarray(lengths, float)})
