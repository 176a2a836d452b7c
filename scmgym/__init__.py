"""scmgym: simulation-based optimisation of supply-chain decisions with interpretable policies.

Importing the package registers its Gymnasium environments (``scmgym/HybridFlowShop-v0``,
``scmgym/MakeOrBuy-v0``). The names below are the public surface; each is imported on first
use, so ``import scmgym`` stays light:

* ``Problem``, ``get_plant``, ``PLANTS``: a plant instance and the plant registry;
* ``run_method``, ``METHODS``: run any registered method (the one method interface);
* ``compare``: the comparison of methods under one budget;
* ``evaluate``, ``load_policy``, ``PlanPolicy``, ``TreePolicy``: policies and their evaluation;
* ``HybridFlowShopEnv``, ``MakeOrBuyEnv``: the env classes.

>>> import scmgym
>>> scmgym.Problem.parse("hfs:d1").label
'hfs:d1 (2,5,2)'
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from scmgym import envs as _envs  # noqa: E402  (registers the environments)

_PUBLIC = {
    "Problem": "scmgym.core:Problem",
    "get_plant": "scmgym.core:get_plant",
    "PLANTS": "scmgym.core:PLANTS",
    "run_method": "scmgym.experiments.methods:run_method",
    "METHODS": "scmgym.experiments.methods:METHODS",
    "compare": "scmgym.experiments.compare:compare",
    "evaluate": "scmgym.policies:evaluate",
    "load_policy": "scmgym.policies:load_policy",
    "PlanPolicy": "scmgym.policies:PlanPolicy",
    "TreePolicy": "scmgym.policies:TreePolicy",
    "HybridFlowShopEnv": "scmgym.envs.hfs:HybridFlowShopEnv",
    "MakeOrBuyEnv": "scmgym.envs.make_or_buy:MakeOrBuyEnv",
}

__all__ = ["__version__", *_PUBLIC]

del _envs


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'scmgym' has no attribute {name!r}")
    from scmgym.core.registry import resolve

    value = resolve(_PUBLIC[name])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
