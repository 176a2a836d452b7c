"""The published CAR T-cell therapy network: sites, lines, times and costs.

The numbers are those of the i-SHIPMENT model of Triantafyllou, Bernardi, Lakelin, Shah and
Papathanasiou ("A digital platform for the design of patient-centric supply chains", Scientific
Reports 12:17365, 2022), as published with its instance files, and used again by the learned
decomposition of Triantafyllou and Papathanasiou (Computers & Chemical Engineering 187:108725,
2024). What the published material does not give, and is assumed here:

* the sites' names and places: they are kept as the published ids (leukapheresis centres c1-c4,
  hospitals h1-h4, candidate manufacturing sites m1-m6); the transport costs suggest that m2
  lies next to c2/h2 and that m5 and m6 are the farthest (overseas);
* the transport modes: ``j1`` takes 1 day per leg and costs more, ``j2`` takes 2 days and costs
  less (read as express and standard courier; their names are not published);
* the currency: US dollars.

Every patient returns to the hospital paired with the centre where the cells were collected
(c1 with h1, ..., c4 with h4). A therapy moves without waiting: 1 day of leukapheresis, the
outbound leg, 7 days of manufacturing on one of the site's parallel lines, 7 days of quality
control (QC, not on a line), the return leg. The vein-to-vein (return) time may not exceed 18
days, so at most one of the two legs can take the slow mode.
"""

from __future__ import annotations

CENTRES = ("c1", "c2", "c3", "c4")
HOSPITAL_OF = {"c1": "h1", "c2": "h2", "c3": "h3", "c4": "h4"}
SITES = ("m1", "m2", "m3", "m4", "m5", "m6")
MODES = ("j1", "j2")

#: parallel manufacturing lines per site (one patient's batch per line for 7 days)
LINES = {"m1": 4, "m2": 31, "m3": 10, "m4": 4, "m5": 31, "m6": 10}
#: facility costs per day of the horizon ($): capital investment and fixed running costs
CAPITAL_PER_DAY = {"m1": 2216.13, "m2": 16621.00, "m3": 5540.33,
                   "m4": 2216.13, "m5": 16621.00, "m6": 5540.33}
RUNNING_PER_DAY = {"m1": 20920.0, "m2": 156900.0, "m3": 52300.0,
                   "m4": 20920.0, "m5": 156900.0, "m6": 52300.0}
#: per therapy ($)
MATERIAL_COST = 10476.0
QC_COST = 9312.0

#: days
HORIZON = 130
ARRIVAL_DAYS = 90
LEUKAPHERESIS_DAYS = 1
MANUFACTURING_DAYS = 7
QC_DAYS = 7
MAX_RETURN_DAYS = 18
LEG_DAYS = {"j1": 1, "j2": 2}
#: at most this many sites may be opened (the published model's centralised network)
MAX_SITES = 2

#: cost per shipment ($), centre -> site, by mode
OUT_COST = {
    "j1": {"c1": (1040, 2600, 2600, 2900, 3500, 3500), "c2": (2600, 200, 2600, 2900, 3500, 3500),
           "c3": (1840, 2000, 2900, 2900, 3500, 3500), "c4": (1640, 1820, 2900, 2900, 3500, 3500)},
    "j2": {"c1": (520, 520, 520, 936, 1053, 1053), "c2": (520, 100, 520, 936, 1053, 1053),
           "c3": (520, 520, 936, 936, 1053, 1053), "c4": (520, 520, 936, 936, 1053, 1053)},
}
#: cost per shipment ($), site -> hospital (h1..h4), by mode; m5 -> h4 by j2 is 1755 in the
#: published data (1855 for m5's other hospitals), kept as published
BACK_COST = {
    "j1": {"m1": (1910, 1910, 2910, 1910), "m2": (2910, 400, 1910, 1910),
           "m3": (2910, 2910, 2910, 2910), "m4": (2910, 2910, 2910, 2910),
           "m5": (2910, 2910, 2910, 2910), "m6": (2910, 2910, 2910, 2910)},
    "j2": {"m1": (910, 910, 910, 910), "m2": (910, 300, 910, 910),
           "m3": (1755, 1755, 1755, 1755), "m4": (1755, 1755, 1755, 1755),
           "m5": (1855, 1855, 1855, 1755), "m6": (1855, 1855, 1855, 1855)},
}
