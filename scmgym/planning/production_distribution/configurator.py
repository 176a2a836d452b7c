"""The capstone's configurator of metaheuristics (its Figure 7): a GA per plant, escalating to a
PSO refinement and then to a joint plan with transfers only when capacity runs short.

Phases, as :func:`run_configurator` takes them:

1. A GA per plant (DEAP operators; population, generations and rates are settings, 50
   generations by default as in the capstone), then the capacity check of each plant
   (:func:`~scmgym.planning.production_distribution.model.capacity_position` at the full
   target). If both plants fit: a second GA per plant with the minimum order quantities
   (MOQ) enforced, started from the first GA's population. Done.
2. Otherwise, for each plant that does not fit, reduce its safety stock: the largest level in
   ``levels`` (a share of the target inventory) at which it passes the check; re-run its GA
   planning to the reduced targets. If every plant now fits: refine each plant's plan with a
   particle swarm inside the bounds the GA found (per gene, the range over the GA's best
   ``bounds_from`` individuals, widened by ``bounds_margin``), with MOQs. Done.
3. Otherwise (a plant cannot meet even its demand): a joint GA over both plants with transfers
   between them, the plants that still do not fit at the lowest level in ``levels``, then a
   joint PSO inside its bounds.

**Encoding.** A gene per line, SKU the line makes, and day, in [0, 1]: the share of the line's
hours that day given to the SKU. **Decoding** (one numpy pass for a whole population):
production is rate x hours; each day each plant ships to each of its DCs what brings the DC's
projected stock on the arrival day up to its target (pro rata when the plant has less); in
phase 3, a transfer gene per SKU, plant pair and day sends that share of what a plant has left
after its own DCs to the other plant. A plan's fitness is the model's cost of the decoded plan
(:func:`~scmgym.planning.production_distribution.model.simulate`), with the targets scaled by
the phase's safety-stock level.

**Constraint handling** (``constraint_handling``):

* ``"repair"`` (default): a line's shares that add up to more than 1 are scaled down to 1 (the
  line never exceeds its hours), and a run below its SKU's MOQ is dropped (made 0) when MOQs
  are enforced. Every decoded plan is feasible.
* ``"penalty"``: shares are used as they are and MOQs are not repaired; each hour over a line's
  capacity and each unit a run falls short of its MOQ costs ``penalty`` in the fitness. The
  final plan can then break a constraint.

**The final plan.** The best production plan is given to the distribution problem (the LP of
:func:`~scmgym.planning.production_distribution.solve.solve_distribution`, the capstone's
Eq. 12-14 with the inventory terms), or kept with the rule's distribution when
``distribution="rule"``, and checked against every constraint of the MILP
(:func:`~scmgym.planning.production_distribution.model.evaluate_plan`). An infeasible plan is
reported as infeasible, without a cost. Costs are always the true model costs (full targets).

Randomness: DEAP's operators use Python's global ``random``, seeded with ``seed`` for the run
and restored afterwards; initial populations and the swarm use a numpy generator from the same
seed. The same seed gives the same plan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from deap import algorithms, base, tools

from scmgym.baselines.ga import seeded_global_random
from scmgym.baselines.milp.common import SolverOptions
from scmgym.planning.production_distribution.data import Arrays, PDInstance
from scmgym.planning.production_distribution.model import (
    COST_TERMS,
    Decisions,
    evaluate_plan,
    plant_fits,
    simulate,
)
from scmgym.planning.production_distribution.solve import (
    PDResult,
    result_from_report,
    solve_distribution,
)

log = logging.getLogger(__name__)

CONSTRAINT_HANDLING = ("repair", "penalty")
DISTRIBUTION = ("lp", "rule")


@dataclass(frozen=True)
class ConfiguratorSettings:
    """The configurator's parameters (module docstring)."""

    population: int = 50
    generations: int = 50
    crossover_rate: float = 0.7
    mutation_rate: float = 0.3
    gene_mutation_rate: float = 0.05
    mutation_sigma: float = 0.2
    tournament: int = 3
    elite: int = 1
    particles: int = 30
    iterations: int = 50
    inertia: float = 0.7
    cognitive: float = 1.5
    social: float = 1.5
    bounds_from: int = 10
    bounds_margin: float = 0.05
    levels: tuple[float, ...] = (0.75, 0.5, 0.25, 0.0)
    constraint_handling: str = "repair"
    penalty: float = 1000.0
    distribution: str = "lp"
    seed_heuristic: bool = True

    def __post_init__(self) -> None:
        for name in ("population", "generations", "particles", "iterations", "tournament",
                     "bounds_from"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name}={value!r}; allowed: an integer >= 1")
        for name in ("crossover_rate", "mutation_rate", "gene_mutation_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name}={value!r}; allowed: a number in [0, 1]")
        if not 0 <= self.elite < self.population:
            raise ValueError(f"elite={self.elite!r}; allowed: 0 <= elite < population")
        if any(not 0 <= x <= 1 for x in self.levels):
            raise ValueError(f"levels={self.levels!r}; allowed: shares in [0, 1]")
        if self.constraint_handling not in CONSTRAINT_HANDLING:
            raise ValueError(f"constraint_handling={self.constraint_handling!r}; allowed: "
                             f"{', '.join(CONSTRAINT_HANDLING)}")
        if self.distribution not in DISTRIBUTION:
            raise ValueError(f"distribution={self.distribution!r}; allowed: "
                             f"{', '.join(DISTRIBUTION)}")
        if self.mutation_sigma <= 0 or self.penalty < 0 or self.bounds_margin < 0:
            raise ValueError("mutation_sigma must be > 0, penalty and bounds_margin >= 0")


# ---- decoding ------------------------------------------------------------------------------

@dataclass
class Scope:
    """What one metaheuristic decides: the production genes of ``lines`` (every SKU each
    makes, every day) and, with ``transfers``, a transfer gene per SKU, ordered plant pair and
    day. The other lines' production is ``base`` (L, S, T). ``level`` scales the targets of
    each plant in the fitness (reduced safety stock); ``moq`` enforces the MOQs."""

    a: Arrays
    lines: np.ndarray
    base: np.ndarray
    level: np.ndarray
    moq: bool
    transfers: bool
    handling: str
    penalty: float
    cells: tuple[np.ndarray, np.ndarray] = field(init=False)
    fit_arrays: Arrays = field(init=False)
    n_make: int = field(init=False)
    n_move: int = field(init=False)

    def __post_init__(self) -> None:
        a = self.a
        # the fitness counts the DCs of the plants in scope only (their demand, targets and
        # transport), with targets scaled by the plant's level
        plants = np.zeros(a.initial_plant.shape[1], bool)
        plants[a.line_plant[self.lines]] = True
        dcs = plants[a.dc_plant]
        self.fit_arrays = replace(
            a, target=a.target * self.level[a.dc_plant][None, :],
            held=a.held & dcs[None, :], demand=a.demand * dcs[None, :, None],
            initial_dc=a.initial_dc * dcs[None, :], transport_cost=a.transport_cost * dcs[None])
        mask = np.zeros_like(a.rate, bool)
        mask[self.lines] = a.rate[self.lines] > 0
        ls = np.argwhere(mask)                                # (k, 2) line, sku
        self.cells = (ls[:, 0], ls[:, 1])
        self.n_make = len(ls) * a.horizon
        n_p = a.initial_plant.shape[1]
        self.n_move = (a.rate.shape[1] * n_p * (n_p - 1) * a.horizon) if self.transfers else 0

    @property
    def size(self) -> int:
        return self.n_make + self.n_move

    def production(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, L, S, T) production of a population's genes, and the penalty per plan."""
        a = self.a
        n, T = genes.shape[0], a.horizon
        share = np.zeros((n,) + a.rate.shape + (T,))
        share[:, self.cells[0], self.cells[1], :] = genes[:, :self.n_make].reshape(n, -1, T)
        penalty = np.zeros(n)
        if self.handling == "repair":
            total = share.sum(axis=2, keepdims=True)
            share = share / np.maximum(total, 1.0)
        hours = share * a.hours[None, :, None, :]
        make = hours * a.rate[None, :, :, None]
        if self.handling == "penalty":
            over = hours.sum(axis=2) - a.hours[None]
            penalty += self.penalty * np.maximum(over, 0.0).sum(axis=(1, 2))
        if self.moq:
            moq = a.moq[None, None, :, None]
            small = (make > 0) & (make < moq)
            if self.handling == "repair":
                make = np.where(small, 0.0, make)
            else:
                penalty += self.penalty * np.where(small, moq - make, 0.0).sum(axis=(1, 2, 3))
        keep = np.zeros(a.rate.shape[0], bool)
        keep[self.lines] = True
        make = np.where(keep[None, :, None, None], make, self.base[None])
        return make, penalty

    def decode(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                 np.ndarray]:
        """A population's plans: make (n, L, S, T), ship (n, S, D, T), transfer
        (n, S, P, P, T) and the constraint penalty (n,)."""
        make, penalty = self.production(genes)
        ship, move = distribute(self.a, make, self.transfer_shares(genes))
        return make, ship, move, penalty

    def transfer_shares(self, genes: np.ndarray) -> np.ndarray | None:
        if not self.transfers:
            return None
        a = self.a
        n_s, n_p = a.rate.shape[1], a.initial_plant.shape[1]
        pairs = genes[:, self.n_make:].reshape(len(genes), n_s, n_p, n_p - 1, a.horizon)
        shares = np.zeros((len(genes), n_s, n_p, n_p, a.horizon))
        for p in range(n_p):
            others = [q for q in range(n_p) if q != p]
            shares[:, :, p, others, :] = pairs[:, :, p]
        return shares

    def fitness(self, genes: np.ndarray) -> np.ndarray:
        """Cost of each plan at the DCs of the plants in scope (targets scaled by the level),
        plus its penalty."""
        make, ship, move, penalty = self.decode(genes)
        return simulate(self.fit_arrays, make, ship, move)["costs"].sum(axis=1) + penalty


def distribute(a: Arrays, make: np.ndarray, transfer_share: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The rule's distribution of a batch of production plans (n, L, S, T): each day each plant
    ships to each DC it serves what brings the DC's projected stock on the arrival day up to
    its target, pro rata when it has less; then, with ``transfer_share`` (n, S, P, P, T), it
    sends that share of what it has left to each other plant. Returns ship (n, S, D, T) and
    transfer (n, S, P, P, T), by dispatch day."""
    n, T = make.shape[0], a.horizon
    n_s, n_d = a.target.shape
    n_p = a.initial_plant.shape[1]
    plant_of_line = np.eye(n_p)[a.line_plant]
    made = np.einsum("nlst,lp->nspt", make, plant_of_line)
    stock = np.repeat(a.initial_plant[None], n, axis=0).astype(float)
    net = np.repeat(a.initial_dc[None], n, axis=0).astype(float)
    ship = np.zeros((n, n_s, n_d, T))
    move = np.zeros((n, n_s, n_p, n_p, T))
    incoming = np.zeros((n, n_s, n_p, T + a.transfer_lead + 1))
    dc_of_plant = np.eye(n_p)[a.dc_plant]                  # (D, P)
    cum = np.concatenate([np.zeros(a.demand.shape[:2] + (1,)), np.cumsum(a.demand, axis=2)],
                         axis=2)
    held = a.held[None]
    for t in range(T):
        stock += made[..., t] + incoming[..., t]
        arrive = t + a.lead                                # (D,)
        open_ = (arrive < T)[None, None, :] & held
        pipeline = np.zeros((n, n_s, n_d))
        for d, lead in enumerate(a.lead):
            if lead:
                pipeline[:, :, d] = ship[:, :, d, max(0, t - lead):t].sum(axis=2)
        last = np.minimum(arrive, T - 1) + 1
        due = cum[:, np.arange(n_d), last] - cum[:, :, t]  # demand from t to arrival
        need = np.where(open_, np.maximum(a.target[None] + due[None] - net - pipeline, 0.0),
                        0.0)
        want = np.einsum("nsd,dp->nsp", need, dc_of_plant)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(want > 0, np.minimum(1.0, stock / np.where(want > 0, want, 1)),
                             0.0)
        sent = need * ratio[:, :, a.dc_plant]
        ship[..., t] = sent
        stock -= np.einsum("nsd,dp->nsp", sent, dc_of_plant)
        if transfer_share is not None and t + a.transfer_lead < T:
            out = transfer_share[..., t] * stock[:, :, :, None]   # (n, S, P, Q)
            move[..., t] = out
            stock -= out.sum(axis=3)
            incoming[..., t + a.transfer_lead] += out.sum(axis=2)
        arrived = np.zeros((n, n_s, n_d))
        for d, lead in enumerate(a.lead):
            if t - lead >= 0:
                arrived[:, :, d] = ship[:, :, d, t - lead]
        net += arrived - a.demand[None, :, :, t]
    return ship, move


def heuristic_genes(scope: Scope) -> np.ndarray:
    """A starting individual: each line's hours shared among its SKUs in proportion to their
    demand at the DCs of the line's plant (ties evenly)."""
    a = scope.a
    demand = np.zeros((a.rate.shape[0], a.rate.shape[1]))
    for ln in range(a.rate.shape[0]):
        dcs = a.dc_plant == a.line_plant[ln]
        demand[ln] = a.demand[:, dcs, :].sum(axis=(1, 2)) + a.target[:, dcs].sum(axis=1)
    weight = np.where(a.rate > 0, demand, 0.0)
    total = weight.sum(axis=1, keepdims=True)
    share = np.where(total > 0, weight / np.where(total > 0, total, 1), 0.0)
    genes = np.repeat(share[scope.cells][:, None], a.horizon, axis=1).ravel()
    return np.concatenate([genes, np.zeros(scope.n_move)])


# ---- the metaheuristics --------------------------------------------------------------------

@dataclass
class Search:
    """A metaheuristic's outcome: the best genes, their fitness, the final population (for
    the PSO's bounds and a second GA's start) and the best fitness per generation."""

    best: np.ndarray
    fitness: float
    population: np.ndarray
    scores: np.ndarray
    history: list[float]


class _MinCost(base.Fitness):
    """DEAP fitness of a plan: its cost, minimised (no global ``creator`` class needed)."""

    weights = (-1.0,)


class _Genes(list):
    """A DEAP individual: a list of genes and its fitness."""

    def __init__(self, genes, cost: float | None = None) -> None:
        super().__init__(genes)
        self.fitness = _MinCost()
        if cost is not None:
            self.fitness.values = (float(cost),)


def run_ga(scope: Scope, s: ConfiguratorSettings, rng: np.random.Generator,
           start: np.ndarray | None = None) -> Search:
    """A generational GA on DEAP's operators: tournament selection, blend crossover and
    Gaussian mutation applied by ``algorithms.varAnd``, the ``elite`` best kept, genes clipped
    to [0, 1]; only changed individuals are evaluated, a whole generation in one decoding.
    ``start`` seeds the population (its first rows), else it is random with the heuristic
    individual first (``seed_heuristic``)."""
    toolbox = base.Toolbox()
    toolbox.register("mate", tools.cxBlend, alpha=0.3)
    toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=s.mutation_sigma,
                     indpb=s.gene_mutation_rate)
    pop = rng.random((s.population, scope.size))
    if start is not None:
        k = min(len(start), s.population)
        pop[:k] = start[:k]
    elif s.seed_heuristic:
        pop[0] = heuristic_genes(scope)
    inds = [_Genes(row, cost) for row, cost in zip(pop.tolist(), scope.fitness(pop),
                                                   strict=True)]
    history = [min(i.fitness.values[0] for i in inds)]
    for _ in range(s.generations):
        elite = [toolbox.clone(i) for i in tools.selBest(inds, s.elite)]
        chosen = tools.selTournament(inds, s.population - s.elite, tournsize=s.tournament)
        offspring = algorithms.varAnd(chosen, toolbox, s.crossover_rate, s.mutation_rate)
        fresh = [i for i in offspring if not i.fitness.valid]
        if fresh:
            genes = np.clip(np.array(fresh, float), 0.0, 1.0)
            for ind, row, cost in zip(fresh, genes.tolist(), scope.fitness(genes),
                                      strict=True):
                ind[:] = row
                ind.fitness.values = (float(cost),)
        inds = elite + offspring
        history.append(min(i.fitness.values[0] for i in inds))
    pop = np.array(inds, float)
    scores = np.array([i.fitness.values[0] for i in inds])
    best = int(np.argmin(scores))
    return Search(best=pop[best].copy(), fitness=float(scores[best]), population=pop,
                  scores=scores, history=history)


def run_pso(scope: Scope, s: ConfiguratorSettings, rng: np.random.Generator,
            around: Search) -> Search:
    """A particle swarm inside the bounds ``around``'s best individuals span (widened by
    ``bounds_margin``, within [0, 1]); the GA's best is the first particle, so the swarm never
    ends worse than the GA. Inertia and acceleration weights as in DEAP's PSO example."""
    order = np.argsort(around.scores, kind="stable")[:s.bounds_from]
    top = around.population[order]
    low = np.clip(top.min(axis=0) - s.bounds_margin, 0.0, 1.0)
    high = np.clip(top.max(axis=0) + s.bounds_margin, 0.0, 1.0)
    span = high - low
    x = low + rng.random((s.particles, scope.size)) * span
    x[0] = around.best
    v = (rng.random(x.shape) - 0.5) * span * 0.1
    scores = scope.fitness(x)
    best_x, best_f = x.copy(), scores.copy()
    g = int(np.argmin(best_f))
    history = [float(best_f[g])]
    for _ in range(s.iterations):
        r1, r2 = rng.random(x.shape), rng.random(x.shape)
        v = s.inertia * v + s.cognitive * r1 * (best_x - x) + s.social * r2 * (best_x[g] - x)
        v = np.clip(v, -span, span)
        x = np.clip(x + v, low, high)
        scores = scope.fitness(x)
        better = scores < best_f
        best_x[better], best_f[better] = x[better], scores[better]
        g = int(np.argmin(best_f))
        history.append(float(best_f[g]))
    return Search(best=best_x[g].copy(), fitness=float(best_f[g]), population=best_x,
                  scores=best_f, history=history)


# ---- the configurator ----------------------------------------------------------------------

def run_configurator(inst: PDInstance, settings: ConfiguratorSettings | None = None, *,
                     seed: int = 0, moq: bool = True, options: SolverOptions | None = None,
                     progress: Callable[[str], None] | None = None) -> PDResult:
    """Plan ``inst`` with the three-phase configurator (module docstring). The result's
    ``path`` lists each step taken with its fitness (the decoded plan's cost at the step's
    safety-stock level, plus any penalty) and seconds; its cost is the final plan's true cost."""
    s = settings or ConfiguratorSettings()
    a = inst.arrays
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_p = len(inst.plants)
    path: list[dict] = []
    zero = np.zeros(a.rate.shape + (a.horizon,))

    def step(name: str, t0: float, fitness: float, **extra) -> None:
        entry = {"phase": name, "fitness": round(fitness, 3),
                 "seconds": round(time.perf_counter() - t0, 3), **extra}
        path.append(entry)
        line = f"{name}: fitness {fitness:.6g} ({entry['seconds']:.1f} s)"
        log.info(line)
        if progress is not None:
            progress(line)

    def plant_scope(p: int, level: float, with_moq: bool, base_make: np.ndarray) -> Scope:
        levels = np.ones(n_p)
        levels[p] = level
        return Scope(a, np.flatnonzero(a.line_plant == p), base_make, levels, with_moq,
                     False, s.constraint_handling, s.penalty)

    def per_plant(levels: list[float], with_moq: bool, starts=None, label="") -> list[Search]:
        found: list[Search] = []
        base_make = zero
        for p, plant in enumerate(inst.plants):
            t0 = time.perf_counter()
            scope = plant_scope(p, levels[p], with_moq, base_make)
            found.append(run_ga(scope, s, rng, None if starts is None else
                                starts[p].population))
            step(f"{label} GA plant {plant}", t0, found[-1].fitness, level=levels[p],
                 moq=with_moq)
        return found

    def combine(found: list[Search], with_moq: bool, levels: list[float]) -> np.ndarray:
        make = zero.copy()
        for p, search in enumerate(found):
            scope = plant_scope(p, levels[p], with_moq, zero)
            made, _ = scope.production(search.best[None])
            mask = a.line_plant == p
            make[mask] = made[0][mask]
        return make

    rule_transfer = None
    with seeded_global_random(seed):
        # phase 1: a GA per plant, then the capacity check
        full = [1.0] * n_p
        first = per_plant(full, False, label="phase 1:")
        fits = [plant_fits(inst, plant, 1.0) for plant in inst.plants]
        path.append({"phase": "phase 1: capacity check", "fits": dict(zip(
            inst.plants, fits, strict=True))})
        transfers = False
        if all(fits):
            final = per_plant(full, moq, starts=first, label="phase 1: with MOQ,")
            make = combine(final, moq, full)
            levels = full
        else:
            # phase 2: reduce the safety stock of the plants that do not fit
            levels = []
            for plant, ok in zip(inst.plants, fits, strict=True):
                level = 1.0 if ok else next((x for x in s.levels if plant_fits(inst, plant, x)),
                                            None)
                levels.append(level)
            path.append({"phase": "phase 2: reduce safety stock", "levels": dict(zip(
                inst.plants, levels, strict=True))})
            if all(x is not None for x in levels):
                second = per_plant(levels, moq, label="phase 2:")
                refined = []
                for p, plant in enumerate(inst.plants):
                    t0 = time.perf_counter()
                    scope = plant_scope(p, levels[p], moq, zero)
                    refined.append(run_pso(scope, s, rng, second[p]))
                    step(f"phase 2: PSO plant {plant}", t0, refined[-1].fitness,
                         level=levels[p], moq=moq)
                make = combine(refined, moq, levels)
            else:
                # phase 3: a joint GA with transfers, then a joint PSO
                # the plants that still do not fit keep the lowest safety stock tried
                levels = [s.levels[-1] if x is None else x for x in levels]
                transfers = True
                scope = Scope(a, np.arange(a.rate.shape[0]), zero, np.array(levels), moq,
                              True, s.constraint_handling, s.penalty)
                shown = dict(zip(inst.plants, levels, strict=True))
                t0 = time.perf_counter()
                joint = run_ga(scope, s, rng)
                step("phase 3: joint GA with transfers", t0, joint.fitness, levels=shown,
                     moq=moq)
                t0 = time.perf_counter()
                swarm = run_pso(scope, s, rng, joint)
                step("phase 3: joint PSO", t0, swarm.fitness, levels=shown, moq=moq)
                make, _ = scope.production(swarm.best[None])
                make = make[0]
                rule_transfer = scope.transfer_shares(swarm.best[None])

    t0 = time.perf_counter()
    if s.distribution == "lp":
        decisions = solve_distribution(inst, make, options, transfers=transfers)
        name = "distribution LP"
    else:
        ship, move = distribute(a, make[None], rule_transfer if transfers else None)
        decisions = Decisions(make=make, ship=ship[0], transfer=move[0])
        name = "distribution rule"
    report = evaluate_plan(inst, decisions, moq=moq, transfers=True)
    step(name, t0, report.cost, feasible=report.feasible)  # the fitness is the true cost here
    result = result_from_report("configurator", "feasible" if report.feasible else
                                "infeasible", inst, report, time.perf_counter() - start,
                                path=path)
    result.settings = asdict(s)
    return result


__all__ = ["COST_TERMS", "CONSTRAINT_HANDLING", "DISTRIBUTION", "ConfiguratorSettings",
           "Scope", "distribute", "heuristic_genes", "run_configurator", "run_ga", "run_pso"]
