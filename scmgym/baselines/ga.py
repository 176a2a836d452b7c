"""Genetic algorithm baseline: rank selection, generational replacement, weak elitism.

The operators depend on the solution space of the problem:

- HFS (permutations, highest priority first): order crossover (OX) and swap mutation.
- Make-or-buy (0/1 vectors, 1 = buy): one-point crossover and bit-flip mutation.

The defaults are the paper's settings (population 10, 500 generations, crossover and mutation
rate 1.0, one elite). That gives 10 + 500 × 10 = 5010 simulations. The original scripts have
quirks; with ``faithful=False`` (the default) they are fixed, and ``faithful=True`` reproduces them.
The table below lists them; see also docs/baselines.md.

================  ===========================================  ==================================
plant             original script (``faithful=True``)          default (``faithful=False``)
================  ===========================================  ==================================
HFS               ``crossover_rate`` ignored: OX always        OX with probability
                  applied; OX cut points c1 < c2 drawn from    ``crossover_rate``; DEAP's
                  0..n-1, segment ``[c1, c2)``                 ``cxOrdered`` (segment ``[a, b]``)
make-or-buy       rates never reach the GA: crossover rate     ``crossover_rate`` per pair,
                  1.0 and bit-flip 0.1 per gene; inspyred's    ``mutation_rate`` per child,
                  "n-point" crossover swaps only the gene at   ``flip_rate`` per gene; DEAP's
                  the cut (a one-gene swap)                    ``cxOnePoint`` (tail swap)
================  ===========================================  ==================================

Randomness: the hand-written operators (rank selection, swap mutation, the faithful crossovers)
and every rate draw use a local ``random.Random`` seeded from ``seed``. DEAP's operators
(``cxOrdered``, ``cxOnePoint``, ``mutFlipBit``) use Python's global ``random`` module, so the
method calls ``random.seed(seed)`` when it starts. When it ends, even through
:class:`~scmgym.errors.BudgetExhausted`, it restores the global state it found. The same
seed therefore gives the same run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from deap import tools

from scmgym.core import BudgetedEvaluator, check_param

log = logging.getLogger(__name__)

#: Redraws of an initial individual that duplicates one already in the population.
_DIVERSIFY_TRIES = 100


@contextmanager
def seeded_global_random(seed: int) -> Iterator[None]:
    """Seed Python's global ``random`` (which DEAP uses) and restore its prior state on exit."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def rank_selection(scores: Sequence[float], k: int, rng: random.Random) -> list[int]:
    """Draw ``k`` indices with replacement, with probability proportional to rank.

    Rank 1 is the worst score and rank N the best, so larger scores are better. Equal scores
    keep their index order in the ranking. DEAP has no rank selection, so it is written here.

    >>> sorted(set(rank_selection([5.0, 1.0], 50, random.Random(0))))
    [0, 1]
    """
    order = sorted(range(len(scores)), key=scores.__getitem__)  # worst first, stable
    return rng.choices(order, weights=range(1, len(order) + 1), k=k)


def swap_mutation(ind: list[int], rng: random.Random, max_swaps: int = 1) -> list[int]:
    """Swap two distinct random positions, ``randint(1, max_swaps)`` times, in place.

    DEAP's ``mutShuffleIndexes`` swaps each position with a given probability, which is not
    the same operator, so this one is written here.
    """
    for _ in range(rng.randint(1, max_swaps)):
        i, j = rng.sample(range(len(ind)), 2)
        ind[i], ind[j] = ind[j], ind[i]
    return ind


def ox_child(keep: Sequence[int], fill: Sequence[int], c1: int, c2: int) -> list[int]:
    """Order crossover child: ``keep[c1:c2]`` in place, then the genes of ``fill`` not yet used.

    The rest is filled from position ``c2`` onwards, wrapping around. The genes of ``fill`` are
    read from its position ``c2`` onwards, wrapping around too. These are the original HFS
    script's semantics.

    >>> ox_child([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], 1, 3)
    [3, 1, 2, 0, 4]
    """
    n = len(keep)
    child: list[int | None] = [None] * n
    child[c1:c2] = keep[c1:c2]
    used = set(keep[c1:c2])
    pos = c2 % n
    for step in range(n):
        gene = fill[(c2 + step) % n]
        if gene in used:
            continue
        child[pos] = gene
        used.add(gene)
        pos = (pos + 1) % n
    return child  # type: ignore[return-value]


def ox_original(p1: list[int], p2: list[int], rng: random.Random) -> tuple[list[int], list[int]]:
    """The original HFS script's OX: cuts ``c1 < c2`` drawn from 0..n-1, segment ``[c1, c2)``."""
    c1, c2 = sorted(rng.sample(range(len(p1)), 2))
    return ox_child(p1, p2, c1, c2), ox_child(p2, p1, c1, c2)


def one_gene_swap(p1: list[int], p2: list[int],
                  rng: random.Random) -> tuple[list[int], list[int]]:
    """inspyred's one-cut "n-point" crossover as it behaves: only the gene at the cut is swapped.

    The cut is drawn from 1..n-1. Each child is a copy of its own parent except at that position.
    """
    cut = rng.randint(1, len(p1) - 1)
    c1, c2 = list(p1), list(p2)
    c1[cut], c2[cut] = p2[cut], p1[cut]
    return c1, c2


def genetic_algorithm(ev: BudgetedEvaluator, seed: int, *, population_size: int = 10,
                      generations: int = 500, crossover_rate: float = 1.0,
                      mutation_rate: float = 1.0, max_swaps: int = 1, flip_rate: float = 0.1,
                      elites: int = 1, faithful: bool = False) -> dict[str, Any]:
    """A generational GA with rank selection and weak elitism, on either plant.

    Each generation:

    1. Rank-select ``population_size`` parents, with replacement.
    2. Cross the pairs (0, 1), (2, 3), ...; with an odd population the last parent passes
       unchanged.
    3. Mutate each child with probability ``mutation_rate``.
    4. Evaluate the children.
    5. The survivors are the best ``population_size`` of the children plus the best ``elites`` of
       the old population. On a tie a child is kept before an elite.

    The initial population holds random solutions; a duplicate is redrawn up to 100 times.
    Budget: ``population_size + generations × population_size`` simulations.

    Args:
        ev: the budgeted evaluator of the problem. When the budget is spent,
            :class:`~scmgym.errors.BudgetExhausted` propagates out: that is the normal
            end of a run shorter than the GA's own budget.
        seed: seeds the local RNG and Python's global ``random`` (see the module docstring).
        population_size: individuals per generation, also the offspring per generation (>= 2).
        generations: generations after the initial population (>= 0).
        crossover_rate: probability that a pair is crossed (HFS: OX; make-or-buy: one point).
        mutation_rate: probability that a child is mutated (HFS: swap; make-or-buy: bit flips).
        max_swaps: HFS, swaps per mutation, drawn uniformly from 1..max_swaps (>= 1).
        flip_rate: make-or-buy, per-gene flip probability of a mutated child.
        elites: the best old individuals that compete with the children (0..population_size).
        faithful: reproduce the original scripts' quirks (module docstring table). False by
            default: the fixed behaviour.

    Returns:
        When all generations ran: ``generations``, ``faithful`` and ``population_best``, the
        objective of the best individual of the population after each generation (index 0: the
        initial population).

    Raises:
        ValueError: a hyperparameter out of range, naming it, its value and the allowed range.
    """
    check_param("population_size", population_size,
                isinstance(population_size, int) and population_size >= 2, "an integer >= 2")
    check_param("generations", generations, isinstance(generations, int) and generations >= 0,
                "an integer >= 0")
    for name, rate in (("crossover_rate", crossover_rate), ("mutation_rate", mutation_rate),
                       ("flip_rate", flip_rate)):
        check_param(name, rate, isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0,
                    "a number in [0, 1]")
    check_param("max_swaps", max_swaps, isinstance(max_swaps, int) and max_swaps >= 1,
                "an integer >= 1")
    check_param("elites", elites, isinstance(elites, int) and 0 <= elites <= population_size,
                f"an integer in 0..population_size ({population_size})")
    check_param("faithful", faithful, isinstance(faithful, bool), "True or False")

    problem = ev.problem
    n = problem.size
    permutation = problem.kind == "permutation"
    if n < 2:
        raise ValueError(f"the GA needs at least 2 orders; the problem has {n}")
    sign = 1.0 if problem.direction == "max" else -1.0  # score: larger is better
    rng = random.Random(f"scmgym.ga:{seed}")  # a stream distinct from the global one

    if faithful:
        if not permutation:  # inspyred's defaults, since the script never passed its rates
            crossover_rate, mutation_rate, flip_rate = 1.0, 1.0, 0.1
        log.debug("GA faithful mode: crossover_rate=%s, mutation_rate=%s, flip_rate=%s",
                  crossover_rate, mutation_rate, flip_rate)

    def random_solution() -> list[int]:
        if permutation:
            x = list(range(n))
            rng.shuffle(x)
            return x
        return [rng.randint(0, 1) for _ in range(n)]

    def crossover(p1: list[int], p2: list[int]) -> tuple[list[int], list[int]]:
        if permutation:
            if faithful:  # always applied, whatever crossover_rate says
                return ox_original(p1, p2, rng)
            if rng.random() < crossover_rate:
                return tools.cxOrdered(p1, p2)
            return p1, p2
        if rng.random() < crossover_rate:
            return one_gene_swap(p1, p2, rng) if faithful else tools.cxOnePoint(p1, p2)
        return p1, p2

    def mutate(child: list[int]) -> list[int]:
        if rng.random() < mutation_rate:
            if permutation:
                return swap_mutation(child, rng, max_swaps)
            return tools.mutFlipBit(child, indpb=flip_rate)[0]
        return child

    with seeded_global_random(seed):
        population: list[list[int]] = []
        for _ in range(population_size):
            x = random_solution()
            for _ in range(_DIVERSIFY_TRIES):
                if x not in population:
                    break
                x = random_solution()
            population.append(x)
        scores = [sign * v for v in ev.many(population)]
        population_best = [sign * max(scores)]

        for gen in range(1, generations + 1):
            parents = [list(population[i])
                       for i in rank_selection(scores, population_size, rng)]
            children: list[list[int]] = []
            for k in range(0, population_size - 1, 2):
                children.extend(crossover(parents[k], parents[k + 1]))
            if population_size % 2:
                children.append(parents[-1])
            children = [mutate(c) for c in children]
            child_scores = [sign * v for v in ev.many(children)]

            best_old = sorted(range(population_size), key=scores.__getitem__,
                              reverse=True)[:elites]
            pool = list(zip(child_scores, children, strict=True)) + [
                (scores[i], population[i]) for i in best_old]
            pool.sort(key=lambda item: item[0], reverse=True)  # stable: children win ties
            scores = [s for s, _ in pool[:population_size]]
            population = [x for _, x in pool[:population_size]]
            population_best.append(sign * scores[0])
            log.debug("GA generation %d: best %s", gen, population_best[-1])
    return {"generations": generations, "faithful": faithful, "population_best": population_best}
