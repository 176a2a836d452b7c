"""scmgym: simulation-based optimisation of supply-chain decisions with interpretable policies.

Importing the package registers its Gymnasium environments (``scmgym/HybridFlowShop-v0``, ...).
"""

from __future__ import annotations

__version__ = "0.1.0"

from scmgym import envs as _envs  # noqa: E402  (registers the environments)

__all__ = ["__version__"]

del _envs
