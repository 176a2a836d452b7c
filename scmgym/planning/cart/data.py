"""The CAR T-cell therapy instance: the network (by default the published one,
:mod:`scmgym.planning.cart.network`) and the patients, each collected at a leukapheresis centre
on a day.

On disk: a folder of CSV tables or one ``.xlsx`` workbook (:meth:`CARTInstance.load`,
:meth:`CARTInstance.write`). Only ``patients`` is required; a network table that is absent (or
empty) is the published one, so a file of patients is a complete instance. :data:`TABLES` and
``docs/learned_decomposition.md`` describe every column.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import numpy as np
import pandas as pd

from scmgym.errors import DataError
from scmgym.planning.cart import network as net
from scmgym.planning.tables import Column, Table, TableSet

_NONNEG = {"low": 0.0}

TABLES: tuple[Table, ...] = (
    Table("settings", (
        Column("horizon", "int", default=net.HORIZON, low=1, doc="days planned"),
        Column("leukapheresis_days", "int", default=net.LEUKAPHERESIS_DAYS, low=0),
        Column("manufacturing_days", "int", default=net.MANUFACTURING_DAYS, low=1,
               doc="days a batch holds a line"),
        Column("qc_days", "int", default=net.QC_DAYS, low=0),
        Column("max_return_days", "int", default=net.MAX_RETURN_DAYS, low=1,
               doc="vein-to-vein limit: collection day to arrival at the hospital"),
        Column("max_sites", "int", default=net.MAX_SITES, low=1,
               doc="most manufacturing sites open at once"),
        Column("material_cost", "float", default=net.MATERIAL_COST, **_NONNEG,
               doc="per therapy"),
        Column("qc_cost", "float", default=net.QC_COST, **_NONNEG, doc="per therapy"),
    ), optional=True, doc="one row; absent: the published values"),
    Table("sites", (
        Column("site", doc="candidate manufacturing site"),
        Column("lines", "int", low=0, doc="parallel manufacturing lines"),
        Column("capital_cost", "float", **_NONNEG, doc="per day of the horizon when open"),
        Column("running_cost", "float", **_NONNEG, doc="per day of the horizon when open"),
    ), key=("site",), optional=True),
    Table("centres", (
        Column("centre", doc="leukapheresis centre"),
        Column("hospital", doc="where its patients are treated"),
    ), key=("centre",), optional=True),
    Table("modes", (
        Column("mode"), Column("days", "int", low=0, doc="days per leg"),
    ), key=("mode",), optional=True),
    Table("out_costs", (
        Column("centre"), Column("site"), Column("mode"),
        Column("cost", "float", **_NONNEG, doc="per shipment, centre to site"),
    ), key=("centre", "site", "mode"), optional=True),
    Table("back_costs", (
        Column("site"), Column("hospital"), Column("mode"),
        Column("cost", "float", **_NONNEG, doc="per shipment, site to hospital"),
    ), key=("site", "hospital", "mode"), optional=True),
    Table("patients", (
        Column("patient", doc="id"),
        Column("centre", doc="where the cells are collected"),
        Column("day", "int", low=0, doc="collection day"),
    ), key=("patient",)),
)
NETWORK_TABLES = ("sites", "centres", "modes", "out_costs", "back_costs")


def published_network() -> dict[str, pd.DataFrame]:
    """The network tables of the published model."""
    sites = pd.DataFrame({"site": list(net.SITES),
                          "lines": [net.LINES[m] for m in net.SITES],
                          "capital_cost": [net.CAPITAL_PER_DAY[m] for m in net.SITES],
                          "running_cost": [net.RUNNING_PER_DAY[m] for m in net.SITES]})
    centres = pd.DataFrame({"centre": list(net.CENTRES),
                            "hospital": [net.HOSPITAL_OF[c] for c in net.CENTRES]})
    modes = pd.DataFrame({"mode": list(net.MODES), "days": [net.LEG_DAYS[j] for j in net.MODES]})
    out = pd.DataFrame([(c, m, j, float(net.OUT_COST[j][c][i])) for j in net.MODES
                        for c in net.CENTRES for i, m in enumerate(net.SITES)],
                       columns=["centre", "site", "mode", "cost"])
    hospitals = [net.HOSPITAL_OF[c] for c in net.CENTRES]
    back = pd.DataFrame([(m, h, j, float(net.BACK_COST[j][m][i])) for j in net.MODES
                         for m in net.SITES for i, h in enumerate(hospitals)],
                        columns=["site", "hospital", "mode", "cost"])
    return {"sites": sites, "centres": centres, "modes": modes, "out_costs": out,
            "back_costs": back}


class CARTInstance(TableSet):
    """A checked CAR-T instance (one DataFrame per table of :data:`TABLES`)."""

    TABLES = TABLES

    @classmethod
    def from_frames(cls, name: str, frames: Mapping[str, pd.DataFrame], **kw):
        full = dict(frames)
        default = published_network()
        for tab in NETWORK_TABLES:
            if full.get(tab) is None or not len(full[tab]):
                full[tab] = default[tab]
        return super().from_frames(name, full, **kw)

    @property
    def sites(self) -> list[str]:
        return list(self.frames["sites"]["site"])

    @property
    def n_patients(self) -> int:
        return len(self.frames["patients"])

    def summary(self) -> dict[str, int]:
        return {"patients": self.n_patients, "centres": len(self.frames["centres"]),
                "sites": len(self.sites), "days": self.setting("horizon")}

    def daily_demand(self, days: int = 90) -> np.ndarray:
        """Patients collected per day, days 1..``days`` (the classifiers' input)."""
        counts = np.bincount(self.frames["patients"]["day"].to_numpy(int), minlength=days + 1)
        return counts[1:days + 1].astype(float)

    @cached_property
    def routes(self) -> pd.DataFrame:
        """Every way a therapy collected at a centre can go: site, outbound and return mode,
        the day offsets (from collection) at which manufacturing starts and the therapy
        arrives, and the transport cost; only routes within the return-time limit."""
        f = self.frames
        days = dict(zip(f["modes"]["mode"], f["modes"]["days"], strict=True))
        out = f["out_costs"].set_index(["centre", "site", "mode"])["cost"]
        back = f["back_costs"].set_index(["site", "hospital", "mode"])["cost"]
        lk = self.setting("leukapheresis_days")
        mf = self.setting("manufacturing_days")
        qc = self.setting("qc_days")
        limit = self.setting("max_return_days")
        rows = []
        for centre, hospital in zip(f["centres"]["centre"], f["centres"]["hospital"],
                                    strict=True):
            for site in self.sites:
                for jo in days:
                    for jb in days:
                        if (centre, site, jo) not in out.index or \
                                (site, hospital, jb) not in back.index:
                            continue
                        start = lk + days[jo]
                        arrive = start + mf + qc + days[jb]
                        if arrive > limit:
                            continue
                        rows.append((centre, site, jo, jb, start, arrive,
                                     float(out[(centre, site, jo)] + back[(site, hospital, jb)])))
        return pd.DataFrame(rows, columns=["centre", "site", "out_mode", "back_mode", "start",
                                           "arrive", "cost"])

    def check(self) -> None:
        f = self.frames
        if len(f["settings"]) > 1:
            raise DataError("more than one settings row", **self._where("settings", 1),
                            allowed="one row (or no settings table: the published values)")
        sites, centres = set(self.sites), set(f["centres"]["centre"])
        hospitals, modes = set(f["centres"]["hospital"]), set(f["modes"]["mode"])
        self._refs("patients", "centre", centres, "leukapheresis centre")
        for tab in ("out_costs", "back_costs"):
            self._refs(tab, "site", sites, "site")
            self._refs(tab, "mode", modes, "transport mode")
        self._refs("out_costs", "centre", centres, "leukapheresis centre")
        self._refs("back_costs", "hospital", hospitals, "hospital")
        horizon = self.setting("horizon")
        limit = self.setting("max_return_days")
        late = f["patients"]["day"].to_numpy() + limit >= horizon
        self._fail("collected too late for the therapy to arrive within the horizon",
                   "patients", late, "day", f"a day <= {horizon - limit - 1} (horizon "
                   f"{horizon} days, return time up to {limit} days)")
        reach = set(self.routes["centre"])
        self._fail("no route from this centre meets the return-time limit", "patients",
                   ~f["patients"]["centre"].isin(reach).to_numpy(), "centre",
                   "a centre with a route within max_return_days")
