"""Supply network planning (SNP): the tactical planning MIP of industrial planning systems, after
Gamrath, Gleixner, Koch, Miltenberger, Kniasew, Schlögel, Martin and Weninger, "Tackling
Industrial-Scale Supply Chain Problems by Mixed-Integer Programming" (ZIB report 16-45).

>>> from scmgym.planning.snp import generate_snp_instance, solve_snp
>>> inst = generate_snp_instance(3, 4, 6, seed=0)
>>> result = solve_snp(inst)
>>> result.status
'optimal'
"""

from scmgym.planning.snp.data import (
    LOCATION_KINDS,
    RESOURCE_KINDS,
    TABLES,
    SNPInstance,
    load_snp_instance,
    telescopic_buckets,
    write_snp_instance,
)
from scmgym.planning.snp.generator import generate_snp_instance
from scmgym.planning.snp.model import COST_TERMS, FAMILIES, Offsets, build_snp_model, model_size
from scmgym.planning.snp.plan import PlanCheck, SNPPlan, check_plan, combine_plans, extract_plan
from scmgym.planning.snp.solve import (
    DECOMPOSITIONS,
    SNPResult,
    connected_components,
    diagnose_infeasibility,
    product_lines,
    solve_snp,
)

__all__ = [
    "COST_TERMS", "DECOMPOSITIONS", "FAMILIES", "LOCATION_KINDS", "RESOURCE_KINDS", "TABLES",
    "Offsets", "PlanCheck", "SNPInstance", "SNPPlan", "SNPResult", "build_snp_model",
    "check_plan", "combine_plans", "connected_components", "diagnose_infeasibility",
    "extract_plan", "generate_snp_instance", "load_snp_instance", "model_size",
    "product_lines", "solve_snp", "telescopic_buckets", "write_snp_instance",
]
