"""Gymnasium environments; importing this module registers them (lazy entry points)."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry


def _register(env_id: str, entry_point: str, **kwargs) -> None:
    if env_id not in registry:
        register(id=env_id, entry_point=entry_point, **kwargs)


# Adige hybrid flow shop ------------------------------------------------------------------------
_register("scmgym/HybridFlowShop-v0", "scmgym.envs.hfs:HybridFlowShopEnv",
          disable_env_checker=False)

# ABCD make-or-buy plant ------------------------------------------------------------------------
_register("scmgym/MakeOrBuy-v0", "scmgym.envs.make_or_buy:MakeOrBuyEnv",
          disable_env_checker=False)
