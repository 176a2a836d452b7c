"""Production-distribution planning: two plants' lines, their DCs and transfers between the
plants, planned by the integrated MILP and by a three-phase GA + PSO configurator, after
Arancibia Bruce and Esparza Colin, "Optimization Strategy for End-to-End Supply Chain Planning"
(MIT Supply Chain Management capstone, 2025).
"""

from scmgym.planning.production_distribution.data import TABLES, Arrays, PDInstance
from scmgym.planning.production_distribution.generator import (
    SCENARIOS,
    generate_production_distribution_instance,
)
from scmgym.planning.production_distribution.model import (
    COST_TERMS,
    FAMILIES,
    Decisions,
    PlanReport,
    build_pd_model,
    capacity_position,
    evaluate_plan,
    plant_fits,
)
from scmgym.planning.production_distribution.solve import PDResult, solve_distribution, solve_milp

__all__ = [
    "COST_TERMS", "FAMILIES", "SCENARIOS", "TABLES", "Arrays", "Decisions", "PDInstance",
    "PDResult", "PlanReport", "build_pd_model", "capacity_position", "evaluate_plan",
    "generate_production_distribution_instance", "plant_fits", "solve_distribution",
    "solve_milp",
]
