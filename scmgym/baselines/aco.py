"""Ant colony baseline: an ant colony system (ACS) built like the original scripts'.

**Components.** Ants pick components one at a time until every order has a decision.

- HFS: one component per job, valued with the heuristic η = 1/due date. A due date <= 0
  counts as 1. The order of the picks is the permutation, highest priority first.
- Make-or-buy: two components per order, "buy order i" (index i) and "make order i" (index
  n + i), both with η = 1. Picking one removes both. The result is a 0/1 vector, 1 = buy.

**Desirability.** A component's desirability is τ + η (pheromone plus heuristic). An ant's step
chooses among the components still feasible:

- with probability ``q0``, the exploitation rule: the most desirable component (``exploit="best"``);
- otherwise a roulette draw proportional to desirability (uniform if every desirability is 0).

**Pheromone update.** After every generation, including generation 0, the colony keeps the
best-ever ant (a strictly better one replaces it) with fitness f. f is 1/makespan on HFS and the
revenue on make-or-buy. Then:

1. Every component evaporates: τ ← (1 − ρ)·τ. The initial pheromone is 0.
2. The components of the best-ever ant are reinforced. On make-or-buy: τ ← (1 − α)·τ + α·f. On
   HFS the job at 0-based position p of the best-ever schedule gets the weight w = n − p. With
   ``pheromone_update="bounded"`` (the default) the update is τ ← (1 − α)·τ + α·f·w. It stays
   below α·f·w / (1 − (1 − α)(1 − ρ)), about 0.53·f·w at the defaults. With ``"original"`` the
   update is τ ← ((1 − α)·τ + α·f)·w. It grows about 0.81·n-fold per generation at position 0 and
   overflows to inf after roughly 160 generations for n = 100. After that the roulette
   degenerates as it did in the original: it always picks the least desirable feasible component.

**Quirks of the original scripts.** Each one has its own option. ``faithful=True`` turns all of
them on; an option given explicitly overrides the preset.

==================  ===================================  =======================================
option              default (fixed)                      ``faithful=True`` (the original)
==================  ===================================  =======================================
pheromone_update    ``"bounded"``                        ``"original"`` (HFS only; overflows)
eta_from_start      True: η is used in generation 0      False: every desirability is 0 until
                                                         the first update (η unused in gen. 0)
exploit             ``"best"``: the q0 rule takes the    ``"uniform"`` on make-or-buy (the
                    most desirable component             script picks uniformly at random);
                                                         ``"best"`` on HFS
tie_break           ``"random"`` among equally           ``"first"``: the first in the
                    desirable components                 component list (Python ``max``)
==================  ===================================  =======================================

With ``tie_break="first"``, the component list is re-sorted by desirability, descending and
stably, whenever the roulette runs at an ant's first step. This reproduces the in-place sort of
the original and changes which tied component comes first.

Budget: ``ants × (generations + 1)`` simulations, 10 × 501 = 5010 at the defaults. Randomness: one
numpy Generator seeded with ``seed``; the method does not touch Python's global ``random``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from scmgym.core import BudgetedEvaluator, Problem, check_param

log = logging.getLogger(__name__)

PHEROMONE_UPDATES = ("bounded", "original")
EXPLOIT_RULES = ("best", "uniform")
TIE_BREAKS = ("random", "first")


def heuristic(problem: Problem) -> np.ndarray:
    """η per component: 1/due date per HFS job; 1 for both components of a make-or-buy order."""
    if problem.kind == "permutation":
        due = problem.instance.column("date_delivery").astype(float)
        return 1.0 / np.maximum(due, 1.0)
    return np.ones(2 * problem.size)


def components_of(solution: list[int], permutation: bool) -> np.ndarray:
    """The component indices of a solution, in pick order for a permutation."""
    x = np.asarray(solution, dtype=np.int64)
    if permutation:
        return x
    n = len(x)
    return np.where(x == 1, np.arange(n), np.arange(n) + n)


def update_pheromone(tau: np.ndarray, best: list[int], fitness: float, *, alpha: float,
                     rho: float, permutation: bool, rule: str = "bounded") -> np.ndarray:
    """One generation's pheromone update (module docstring, steps 1 and 2); returns a new array.

    >>> update_pheromone(np.zeros(3), [2, 0, 1], 1.0, alpha=0.1, rho=0.1, permutation=True)
    array([0.2, 0.1, 0.3])
    """
    tau = (1.0 - rho) * np.asarray(tau, dtype=float)
    comps = components_of(best, permutation)
    if not permutation:
        tau[comps] = (1.0 - alpha) * tau[comps] + alpha * fitness
        return tau
    weight = (len(comps) - np.arange(len(comps))).astype(float)
    with np.errstate(over="ignore"):  # the original rule overflows to inf by design
        if rule == "original":
            tau[comps] = ((1.0 - alpha) * tau[comps] + alpha * fitness) * weight
        else:
            tau[comps] = (1.0 - alpha) * tau[comps] + alpha * fitness * weight
    return tau


def _pick_best(cand: np.ndarray, d: np.ndarray, tie_break: str, rng: np.random.Generator) -> int:
    values = d[cand]
    if tie_break == "first":
        return int(cand[int(np.argmax(values))])
    ties = cand[values == values.max()]
    return int(ties[0] if len(ties) == 1 else rng.choice(ties))


def _roulette(cand: np.ndarray, d: np.ndarray, rng: np.random.Generator) -> int:
    weights = d[cand]
    with np.errstate(over="ignore"):  # huge finite desirabilities (original rule) sum to inf
        cum = np.cumsum(weights)
    total = cum[-1]
    if total <= 0.0:
        return int(cand[rng.integers(len(cand))])
    if not np.isfinite(total):
        # The original's degenerate draw (the probabilities become NaN or 0 once the total is
        # inf): the last component of the list sorted by desirability, descending and stably,
        # i.e. the least desirable one.
        return int(cand[np.flatnonzero(weights == weights.min())[-1]])
    k = int(np.searchsorted(cum, rng.random() * total, side="right"))
    return int(cand[min(k, len(cand) - 1)])


def construct_ant(desirability: np.ndarray, n: int, *, permutation: bool, q0: float,
                  exploit: str, tie_break: str, rng: np.random.Generator,
                  order: np.ndarray | None = None) -> list[int]:
    """One ant: a permutation of 0..n-1 (HFS) or a 0/1 vector of length n (make-or-buy).

    Args:
        desirability: τ + η per component (n for a permutation, 2n for make-or-buy).
        n: the number of orders.
        permutation: HFS (True) or make-or-buy (False) components.
        q0: the probability of the exploitation rule at each step.
        exploit: ``"best"`` (most desirable component) or ``"uniform"`` (a uniform pick).
        tie_break: ``"random"`` or ``"first"`` (in list order) among equally desirable components.
        rng: the colony's Generator.
        order: the component list order. It is re-sorted in place by desirability when the
            roulette runs at step 0, as the original did. The default is index order, not kept.
    """
    m = len(desirability)
    if order is None:
        order = np.arange(m)
    d = np.asarray(desirability, dtype=float)
    feasible = np.ones(m, dtype=bool)
    picks: list[int] = []
    for step in range(n):
        exploit_step = rng.random() < q0
        if not exploit_step and step == 0:
            order[:] = order[np.argsort(-d[order], kind="stable")]
        cand = order[feasible[order]]
        if exploit_step:
            c = (int(cand[rng.integers(len(cand))]) if exploit == "uniform"
                 else _pick_best(cand, d, tie_break, rng))
        else:
            c = _roulette(cand, d, rng)
        picks.append(c)
        feasible[c] = False
        if not permutation:
            feasible[(c + n) % m] = False
    if permutation:
        return picks
    x = [0] * n
    for c in picks:
        if c < n:
            x[c] = 1
    return x


def ant_colony(ev: BudgetedEvaluator, seed: int, *, ants: int = 10, generations: int = 500,
               q0: float = 0.5, alpha: float = 0.1, rho: float = 0.1,
               pheromone_update: str | None = None, eta_from_start: bool | None = None,
               exploit: str | None = None, tie_break: str | None = None,
               faithful: bool = False) -> dict[str, Any]:
    """Ant colony system on either plant (see the module docstring for the model and quirks).

    Args:
        ev: the budgeted evaluator of the problem. When the budget is spent,
            :class:`~scmgym.errors.BudgetExhausted` propagates out: that is the normal
            end of a run shorter than the colony's own budget.
        seed: seeds the colony's numpy Generator.
        ants: ants (simulations) per generation (>= 1).
        generations: generations after generation 0 (>= 0). Budget ``ants × (generations + 1)``.
        q0: probability of the exploitation rule at each construction step, in [0, 1].
        alpha: learning rate of the reinforcement of the best-ever ant, in [0, 1].
        rho: evaporation rate, in [0, 1].
        pheromone_update: ``"bounded"`` (fixed; default) or ``"original"`` (overflows on HFS).
        eta_from_start: use η in generation 0 (default True); False is the original's zeros.
        exploit: ``"best"`` (default) or ``"uniform"`` (make-or-buy original).
        tie_break: ``"random"`` (default) or ``"first"`` (the original's list order).
        faithful: the preset for the four options above: the original scripts' behaviour when
            True. The default, False, is the fixed behaviour.

    Returns:
        When all generations ran: the resolved options, ``generations`` and
        ``best_by_generation``, the best-ever objective after each generation (index 0:
        generation 0).

    Raises:
        ValueError: a hyperparameter out of range, naming it, its value and the allowed range.
    """
    check_param("ants", ants, isinstance(ants, int) and ants >= 1, "an integer >= 1")
    check_param("generations", generations, isinstance(generations, int) and generations >= 0,
                "an integer >= 0")
    for name, value in (("q0", q0), ("alpha", alpha), ("rho", rho)):
        check_param(name, value, isinstance(value, (int, float)) and 0.0 <= value <= 1.0,
                    "a number in [0, 1]")
    check_param("faithful", faithful, isinstance(faithful, bool), "True or False")
    problem = ev.problem
    permutation = problem.kind == "permutation"
    if pheromone_update is None:
        pheromone_update = "original" if faithful else "bounded"
    if eta_from_start is None:
        eta_from_start = not faithful
    if exploit is None:
        exploit = "uniform" if faithful and not permutation else "best"
    if tie_break is None:
        tie_break = "first" if faithful else "random"
    check_param("pheromone_update", pheromone_update, pheromone_update in PHEROMONE_UPDATES,
                " or ".join(map(repr, PHEROMONE_UPDATES)))
    check_param("eta_from_start", eta_from_start, isinstance(eta_from_start, bool),
                "True or False")
    check_param("exploit", exploit, exploit in EXPLOIT_RULES, " or ".join(map(repr, EXPLOIT_RULES)))
    check_param("tie_break", tie_break, tie_break in TIE_BREAKS, " or ".join(map(repr, TIE_BREAKS)))

    n = problem.size
    rng = np.random.default_rng(seed)
    eta = heuristic(problem)
    tau = np.zeros(len(eta))
    order = np.arange(len(eta))
    desirability = eta.copy() if eta_from_start else np.zeros(len(eta))
    best: tuple[float, list[int], float] | None = None  # (fitness, solution, objective)
    best_by_generation: list[float] = []
    for gen in range(generations + 1):
        gen_best: tuple[float, list[int], float] | None = None
        colony = [construct_ant(desirability, n, permutation=permutation, q0=q0,
                                exploit=exploit, tie_break=tie_break, rng=rng, order=order)
                  for _ in range(ants)]
        # One batch per generation: the ants do not see each other's values while building.
        for x, value in zip(colony, ev.many(colony), strict=True):
            fitness = 1.0 / value if permutation else value
            if gen_best is None or fitness > gen_best[0]:
                gen_best = (fitness, x, value)
        assert gen_best is not None
        if best is None or gen_best[0] > best[0]:
            best = gen_best
        tau = update_pheromone(tau, best[1], best[0], alpha=alpha, rho=rho,
                               permutation=permutation, rule=pheromone_update)
        desirability = tau + eta
        best_by_generation.append(best[2])
        log.debug("ACO generation %d: best fitness %s, max pheromone %s", gen, best[0], tau.max())
    return {"generations": generations, "best_by_generation": best_by_generation,
            "pheromone_update": pheromone_update,
            "eta_from_start": eta_from_start, "exploit": exploit, "tie_break": tie_break}
