"""Gymnasium environments; importing this module registers them (lazy entry points).

The env classes are exported here too (``from scmgym.envs import HybridFlowShopEnv``), imported
on first use.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

__all__ = ["HybridFlowShopEnv", "MakeOrBuyEnv"]
_CLASSES = {"HybridFlowShopEnv": "scmgym.envs.hfs", "MakeOrBuyEnv": "scmgym.envs.make_or_buy"}


def __getattr__(name: str) -> Any:
    if name not in _CLASSES:
        raise AttributeError(f"module 'scmgym.envs' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_CLASSES[name]), name)


def _register(env_id: str, entry_point: str, **kwargs) -> None:
    if env_id not in registry:
        register(id=env_id, entry_point=entry_point, **kwargs)


# Adige hybrid flow shop ------------------------------------------------------------------------
_register("scmgym/HybridFlowShop-v0", "scmgym.envs.hfs:HybridFlowShopEnv",
          disable_env_checker=False)

# ABCD make-or-buy plant ------------------------------------------------------------------------
_register("scmgym/MakeOrBuy-v0", "scmgym.envs.make_or_buy:MakeOrBuyEnv",
          disable_env_checker=False)
