"""The core every method stands on: the plant registry, the problem view, the one budgeted
evaluator and history, run results and files, named seed streams, parameter validation.

It imports only the simulators (on first use), the errors and the datasets; everything above
(envs, policies, trainers, baselines, experiments, cli) imports it.
"""

from scmgym.core.evaluator import HISTORY_COLUMNS, BudgetedEvaluator, read_history
from scmgym.core.params import check_param
from scmgym.core.problem import Problem
from scmgym.core.registry import PLANTS, Objective, PlantSpec, get_plant, plant_of_env
from scmgym.core.result import RunResult
from scmgym.core.schema import Feature, TreeSchema
from scmgym.core.seeds import stream_seed, stream_seeds
from scmgym.errors import BudgetExhausted

__all__ = [
    "HISTORY_COLUMNS",
    "PLANTS",
    "BudgetExhausted",
    "BudgetedEvaluator",
    "Feature",
    "Objective",
    "PlantSpec",
    "Problem",
    "RunResult",
    "TreeSchema",
    "check_param",
    "get_plant",
    "plant_of_env",
    "read_history",
    "stream_seed",
    "stream_seeds",
]
