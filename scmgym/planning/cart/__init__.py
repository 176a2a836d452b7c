"""The CAR T-cell therapy supply chain MILP (site opening and patient routing), after
Triantafyllou, Bernardi, Lakelin, Shah and Papathanasiou (Scientific Reports 12:17365, 2022), the
first model of the learned decomposition (:mod:`scmgym.planning.decomposition`).

>>> from scmgym.planning.cart import generate_cart_instance, solve_cart
>>> r = solve_cart(generate_cart_instance(40, "uniform", seed=0))
>>> r.status, r.sites
('optimal', ('m1',))
"""

from scmgym.planning.cart.data import TABLES, CARTInstance, published_network
from scmgym.planning.cart.generator import PROFILES, generate_cart_instance
from scmgym.planning.cart.model import COST_TERMS, FORMULATIONS, build_cart_model
from scmgym.planning.cart.solve import EXACT, CARTResult, solve_cart

__all__ = ["COST_TERMS", "EXACT", "FORMULATIONS", "PROFILES", "TABLES", "CARTInstance",
           "CARTResult", "build_cart_model", "generate_cart_instance", "published_network",
           "solve_cart"]
