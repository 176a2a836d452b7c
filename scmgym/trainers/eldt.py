"""ELDT: grammatical evolution of decision trees whose leaves learn by Q-learning.

An individual is an integer genotype. It is decoded, by a grammar of the plant's features, into
a decision tree whose leaves are epsilon-greedy Q-learners. Its fitness is the mean episode
return over ``episodes_per_evaluation`` episodes during which the leaves learn. The outer loop
is a simple evolutionary algorithm built from DEAP's operators (tournament selection, one-point
crossover, uniform integer mutation, hall of fame).

Modes (each documented in ``docs/trainers.md``):

* ``replacement="slotwise"`` (faithful default): offspring i replaces population member i when
  strictly fitter (the original code's effective rule). ``replacement="parents"``: an offspring
  replaces the worse of the population members it was bred from, when strictly fitter.
* ``lamarckian=False`` (faithful default): every evaluation starts from fresh random Q-tables.
  ``lamarckian=True``: leaf k of an offspring starts from the Q-values of leaf k of the
  individual it was cloned from (fresh values for leaves the parent did not have).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import base, tools

from scmgym.policies import DecisionTreePolicy
from scmgym.policies import tree as T
from scmgym.policies.batch import FlatTree, leaf_indices
from scmgym.simulators.compiled import jit
from scmgym.trainers.evolution import EvolutionaryTrainer, check_param

#: Depth at which a phenotype is rejected as invalid (the original formatter's nesting limit).
MAX_NESTING = 100


# ------------------------------------------------------------------------------------------------
# Grammar and decoding
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grammar:
    """The tree grammar of one plant.

    ``bt -> <if>``;
    ``if -> if <condition>: <action> else: <action>`` (and, when ``eq_feature`` is set, a second
    alternative ``if <condition_eq>: ...``; when ``pairs`` is set, a last alternative
    ``if <condition_pair>: ...``);
    ``condition -> _in_k <comp_op> <const_k>`` for each k in ``compare_features``;
    ``condition_eq -> _in_e == <const_e>``; ``condition_pair -> _in_i <comp_op> _in_j`` for
    each (i, j) in ``pairs``; ``action -> leaf | <if>``; ``comp_op -> < | >``.
    Each expansion of a nonterminal consumes one codon; alternative = codon mod (number of
    alternatives).

    Attributes:
        compare_features: features tested with < and >, in grammar order.
        constants: per feature, the number of constants m it is compared with: the values
            low, low + step, ..., low + (m - 1) step, with low its offset (0 unless
            ``offsets`` says otherwise) and step 1 unless ``steps`` says otherwise.
        eq_feature: the feature tested with == (the HFS machine type), or None.
        offsets: (feature, low) of the features whose constants do not start at 0.
        steps: (feature, step) of the features whose constants are not consecutive.
        pairs: (i, j) of the features compared with each other (same unit), or ().
    """

    compare_features: tuple[int, ...]
    constants: tuple[tuple[int, int], ...]  # (feature, count) pairs
    eq_feature: int | None = None
    offsets: tuple[tuple[int, int], ...] = ()
    steps: tuple[tuple[int, int], ...] = ()
    pairs: tuple[tuple[int, int], ...] = ()

    def n_constants(self, feature: int) -> int:
        return self._constant_counts[feature]

    def offset(self, feature: int) -> int:
        """The smallest constant of a feature's conditions."""
        return dict(self.offsets).get(feature, 0)

    def constant(self, feature: int, index: int) -> int:
        """Constant number ``index`` of a feature's conditions."""
        return self.offset(feature) + index * dict(self.steps).get(feature, 1)

    @functools.cached_property
    def _constant_counts(self) -> dict[int, int]:
        return dict(self.constants)

    @property
    def alternatives(self) -> int:
        """Alternatives of ``<if>``: constant conditions, then == (if any), then pairs."""
        return 1 + (self.eq_feature is not None) + bool(self.pairs)

    @classmethod
    def make_or_buy(cls) -> Grammar:
        """Conditions on a, b, c with constants 0..20."""
        return cls((0, 1, 2), ((0, 21), (1, 21), (2, 21)))

    @classmethod
    def hfs(cls, schema: T.TreeSchema, num_machine_types: int = 12) -> Grammar:
        """Machine-type equality; < and > on every other feature of the observation
        (basement, panel, due date and remaining orders in the study's), with constants
        low..max-1 of each feature over the dataset (the original's ``range(max)``; low is 0
        but for a feature that can be negative)."""
        others = tuple(range(1, len(schema.features)))
        lows = {k: min(0, int(schema.features[k].low)) for k in others}
        consts = ((0, num_machine_types),) + tuple(
            (k, max(1, schema.features[k].high - lows[k])) for k in others)
        offsets = tuple((k, low) for k, low in lows.items() if low)
        return cls(others, consts, eq_feature=0, offsets=offsets)

    @classmethod
    def from_schema(cls, schema: T.TreeSchema, *, pairs: bool = False) -> Grammar:
        """The grammar of any tree schema: < and > on every non-categorical feature, with the
        constants it declares (:meth:`~scmgym.core.schema.Feature.constants`: its thresholds
        in its step); == on the first categorical feature, if any; with ``pairs``, < and > between
        two features of the same unit (:meth:`~scmgym.core.schema.TreeSchema.comparable_pairs`).

        Raises:
            ValueError: ``pairs`` but no two features share a unit.
        """
        feats = schema.features
        cats = [k for k, f in enumerate(feats) if f.categories is not None]
        compare = tuple(k for k, f in enumerate(feats) if f.categories is None)
        if not compare:
            raise ValueError("the tree schema has no feature to compare with a constant")
        values = {k: feats[k].constants() for k in (*compare, *cats[:1])}
        consts = tuple((k, len(values[k])) for k in (*cats[:1], *compare))
        offsets = tuple((k, v[0]) for k, v in values.items() if v[0] != 0)
        steps = tuple((k, feats[k].step) for k in compare if feats[k].step != 1)
        pair_list = schema.pairs_for("pairs" if pairs else "constant")
        return cls(compare, consts, eq_feature=cats[0] if cats else None, offsets=offsets,
                   steps=steps, pairs=pair_list)

    @classmethod
    def for_plant(cls, plant: str, schema: T.TreeSchema) -> Grammar:
        """The study's grammar of a registered plant's env (schema: that env's tree schema)."""
        builders = {"hfs": cls.hfs, "make-or-buy": lambda _schema: cls.make_or_buy()}
        if plant not in builders:
            raise ValueError(f"ELDT has no grammar for plant {plant!r}; allowed: "
                             f"{', '.join(builders)}")
        return builders[plant](schema)


#: How ELDT's conditions compare: with constants only (the study), or also two features of a
#: unit (``slack < 0`` needs no pair, ``deadline < plant_time`` does).
CONDITIONS = ("constant", "pairs")


def grammar_for_env(env, plant: str, schema: T.TreeSchema, conditions: str = "constant"
                    ) -> Grammar:
    """The study's grammar on the study's observation with constant conditions; the
    schema-driven one (:meth:`Grammar.from_schema`) on any other observation or with pairs."""
    if getattr(env.unwrapped, "observation_mode", "paper") == "paper" and \
            conditions == "constant":
        return Grammar.for_plant(plant, schema)
    return Grammar.from_schema(schema, pairs=conditions == "pairs")


class _Invalid(Exception):
    pass


def decode(genotype: Sequence[int], grammar: Grammar, max_wraps: int = 10) -> T.Node | None:
    """Map a genotype to a tree by leftmost derivation, or None if the mapping fails.

    Codons are read in order and wrap around to the start; a mapping that would need
    ``max_wraps * len(genotype)`` codons or more (the original's limit of 10 passes) or that nests
    100 conditions deep is invalid. Leaves get action 0 (their Q-tables decide).
    """
    n = len(genotype)
    limit = max_wraps * n
    pos = 0

    def codon(alternatives: int) -> int:
        nonlocal pos
        if pos >= limit:
            raise _Invalid
        value = genotype[pos % n]
        pos += 1
        return value % alternatives

    def expand_if(level: int) -> T.Node:
        if level >= MAX_NESTING:
            raise _Invalid
        alt = codon(grammar.alternatives)
        rhs: T.Operand
        if alt == 0:
            k = grammar.compare_features[codon(len(grammar.compare_features))]
            op = ("<", ">")[codon(2)]
            rhs = grammar.constant(k, codon(grammar.n_constants(k)))
        elif alt == 1 and grammar.eq_feature is not None:
            k = grammar.eq_feature
            codon(1)  # condition_eq has one production
            op = "=="
            rhs = grammar.constant(k, codon(grammar.n_constants(k)))
        else:
            k, j = grammar.pairs[codon(len(grammar.pairs))]
            op = ("<", ">")[codon(2)]
            rhs = T.Var(j)
        then = expand_action(level)
        other = expand_action(level)
        return T.Split(T.Var(k), op, rhs, then, other)

    def expand_action(level: int) -> T.Node:
        return T.Leaf(0) if codon(2) == 0 else expand_if(level + 1)

    try:
        codon(1)  # bt -> <if>
        root = expand_if(0)
    except _Invalid:
        return None
    # The original's mapping loop rejects a derivation that ends exactly on its last codon.
    if pos >= limit:
        return None
    return root


# ------------------------------------------------------------------------------------------------
# Q-learning leaves
# ------------------------------------------------------------------------------------------------


@jit
def _q_steps(rng, leaves, q, visits, last_action, last_leaf, reward, lr, gamma, eps):
    """:meth:`QTree.act` for every step of an open-loop episode (reward 0.0 between steps),
    with the same random draws from ``rng``; returns (actions, the last leaf)."""
    n_actions = q.shape[1]
    actions = np.empty(leaves.shape[0], dtype=np.int64)
    prev = last_leaf
    for t in range(leaves.shape[0]):
        k = leaves[t]
        if prev >= 0:
            a = last_action[prev]
            target = reward + gamma * q[k].max()
            step = lr if lr > 0.0 else 1.0 / (visits[prev, a] - 1)
            q[prev, a] += step * (target - q[prev, a])
        prev = k
        if rng.uniform() < eps:
            action = rng.integers(0, n_actions)
        else:
            top = q[k].max()
            best = np.flatnonzero(q[k] == top)
            action = best[0] if best.size == 1 else best[rng.integers(0, best.size)]
        last_action[k] = action
        visits[k, action] += 1
        actions[t] = action
        reward = 0.0
    return actions, prev


class QTree:
    """A decoded tree whose leaves are epsilon-greedy Q-learners (one evaluation's learner).

    ``q`` (leaves x actions) and ``visits`` are arrays; :meth:`act` decides one step and
    :meth:`act_many` a whole open-loop episode with the same updates and random draws (numpy's
    ``choice`` among tied actions is ``best[integers(0, len(best))]``, the draw it makes).

    ``learning_rate="auto"``: the n-th update of a leaf's action value steps by 1/n, so the value
    is the mean of the targets it has seen (the first update replaces the random initial value);
    ``visits`` starts at 1 and counts the choices, so the n-th update sees ``visits = n + 1``.
    """

    def __init__(self, root: T.Node, n_actions: int, rng: np.random.Generator, *,
                 learning_rate: float | str, discount: float, epsilon: float,
                 init_q: Sequence[Sequence[float] | None] | None = None) -> None:
        self.root = root
        self.n_leaves = T.count_leaves(root)
        self.q = np.array([np.asarray(init_q[k], dtype=float)
                           if init_q is not None and k < len(init_q) and init_q[k] is not None
                           else rng.uniform(-1.0, 1.0, n_actions)
                           for k in range(self.n_leaves)], dtype=float).reshape(-1, n_actions)
        self.visits = np.ones((self.n_leaves, n_actions), dtype=np.int64)
        self.last_action = np.zeros(self.n_leaves, dtype=np.int64)
        self._flat: FlatTree | None = None
        self.rng = rng
        self.n_actions = n_actions
        # lr 0.0 stands for "auto" (1/n) in the compiled update
        self.lr = 0.0 if learning_rate == "auto" else float(learning_rate)
        self.gamma, self.eps = discount, epsilon
        self.last_leaf: int | None = None
        self.reward = 0.0

    def new_episode(self) -> None:
        self.last_leaf = None

    def act(self, obs: Sequence[float]) -> int:
        """Choose an action; first update the previous leaf with the stored reward."""
        k = T.leaf_index(self.root, obs)
        if self.last_leaf is not None:
            j = self.last_leaf
            a = self.last_action[j]
            target = self.reward + self.gamma * float(self.q[k].max())
            step = self.lr if self.lr > 0.0 else 1.0 / (self.visits[j][a] - 1)
            self.q[j][a] += step * (target - self.q[j][a])
        self.last_leaf = k
        if self.rng.uniform() < self.eps:
            action = int(self.rng.integers(self.n_actions))
        else:
            q = self.q[k]
            best = np.flatnonzero(q == q.max())
            action = int(best[0] if best.size == 1 else self.rng.choice(best))
        self.last_action[k] = action
        self.visits[k][action] += 1
        return action

    def act_many(self, observations: np.ndarray) -> np.ndarray:
        """:meth:`act` on every row of an open-loop episode, with reward 0.0 between steps."""
        if self._flat is None:
            self._flat = FlatTree.of(self.root)
        leaves = leaf_indices(self._flat, observations)
        last = -1 if self.last_leaf is None else self.last_leaf
        actions, last = _q_steps(self.rng, leaves, self.q, self.visits, self.last_action, last,
                                 float(self.reward), float(self.lr), float(self.gamma),
                                 float(self.eps))
        self.last_leaf = int(last)
        self.reward = 0.0
        return actions

    def greedy_tree(self) -> T.Node:
        """The tree with each leaf's action set to the argmax of its Q-values."""
        it = iter(range(self.n_leaves))

        def fix(leaf: T.Leaf) -> T.Leaf:
            k = next(it)
            return T.Leaf(int(np.argmax(self.q[k])), tuple(float(v) for v in self.q[k]))

        return T.map_leaves(self.root, fix)


# ------------------------------------------------------------------------------------------------
# The trainer
# ------------------------------------------------------------------------------------------------


class _Fitness(base.Fitness):
    weights = (1.0,)


class Individual(list):
    """A genotype with its DEAP fitness, its breeding parents and its learned Q-tables."""

    def __init__(self, genes=()):
        super().__init__(genes)
        self.fitness = _Fitness()
        self.parents: list[int] = []
        self.q: list[list[float]] | None = None


class ELDT(EvolutionaryTrainer):
    """Evolutionary learning of decision trees (GE + Q-learned leaves) on an scmgym env.

    Args:
        env: a make-or-buy env or an HFS env with ``action="level"``; the trainer resets it.
        population_size, generations: the outer loop (published: 5 and 200).
        genotype_length, codon_max: genotypes of ``genotype_length`` codons in 0..codon_max.
        crossover_prob, mutation_prob, mutation_indpb, tournament_size: DEAP operators
            (published: 0.5, 0.5, 0.1, 2).
        episodes_per_evaluation: episodes per fitness evaluation (published: 5).
        learning_rate, discount, epsilon: the leaves' Q-learning (0.001, 0.05, 0.05);
            ``learning_rate="auto"`` steps the n-th update of a leaf's value by 1/n
            (:class:`QTree`).
        max_wraps: codon wraps allowed when decoding (10).
        replacement: ``"slotwise"`` (faithful) or ``"parents"``.
        lamarckian: offspring inherit their parent's Q-tables.
        conditions: ``"constant"`` (the study: a feature against a constant) or ``"pairs"``
            (also two features of the same unit; :data:`CONDITIONS`). The study's grammar is
            used on the study's observation with constant conditions, the schema-driven one
            (:meth:`Grammar.from_schema`) otherwise.
        leaf_fit: the share of the budget kept for a final leaf-fitting pass (0: none, the
            study), which sets each leaf of the best tree to its best action by simulation
            (:meth:`~scmgym.trainers.evolution.EvolutionaryTrainer._fit_leaves`);
            leaf_fit_episodes: the episodes each candidate is played on (20).
        rotation: on a distribution of instances, ``"episode"`` (each episode draws its
            instance) or ``"generation"`` (a generation's individuals play the same
            instances; :data:`~scmgym.trainers.evolution.ROTATIONS`).
        seed: seeds Python's ``random`` (DEAP's operators), the numpy Generator (leaves) and the
            env (episodes).
        verbose: 0 silent, 1 progress bar, 2 progress bar and a log line per generation.

    >>> from scmgym.envs.hfs import HybridFlowShopEnv
    >>> trainer = ELDT(HybridFlowShopEnv("d1"), generations=2, seed=0).learn(budget=100)
    >>> trainer.simulations <= 100, trainer.policy is not None
    (True, True)
    """

    method = "eldt"

    #: ``preset="paper"``: the study's settings (the defaults); ``"strong"``: what measures
    #: best (docs/trainers.md, "Presets"): Q-tables inherited and a leaf-fitting pass on a
    #: tenth of the budget (``learning_rate="auto"`` measured worse and is left out).
    PRESETS = {"paper": {}, "strong": {"lamarckian": True, "leaf_fit": 0.1,
                                       "leaf_fit_episodes": 20}}

    def __init__(self, env, *, population_size: int = 5, generations: int = 200,
                 genotype_length: int = 100, codon_max: int = 40000,
                 crossover_prob: float = 0.5, mutation_prob: float = 0.5,
                 mutation_indpb: float = 0.1, tournament_size: int = 2,
                 episodes_per_evaluation: int = 5,
                 learning_rate: float = 0.001, discount: float = 0.05, epsilon: float = 0.05,
                 max_wraps: int = 10, replacement: str = "slotwise", lamarckian: bool = False,
                 rotation: str = "episode", conditions: str = "constant",
                 leaf_fit: float = 0.0, leaf_fit_episodes: int = 20, seed: int = 0,
                 verbose: int = 0) -> None:
        check_param("genotype_length", genotype_length, genotype_length >= 1, "an integer >= 1")
        check_param("codon_max", codon_max, codon_max >= 1, "an integer >= 1")
        for name, p in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob),
                        ("mutation_indpb", mutation_indpb), ("epsilon", epsilon),
                        ("discount", discount)):
            check_param(name, p, 0.0 <= p <= 1.0, "a probability in [0, 1]")
        check_param("learning_rate", learning_rate, learning_rate == "auto" or (
            isinstance(learning_rate, (int, float)) and 0.0 < learning_rate <= 1.0),
            "a number in (0, 1] or 'auto'")
        check_param("conditions", conditions, conditions in CONDITIONS, " or ".join(CONDITIONS))
        check_param("tournament_size", tournament_size, tournament_size >= 1, "an integer >= 1")
        check_param("episodes_per_evaluation", episodes_per_evaluation,
                    episodes_per_evaluation >= 1, "an integer >= 1")
        check_param("max_wraps", max_wraps, max_wraps >= 1, "an integer >= 1")
        check_param("replacement", replacement, replacement in ("slotwise", "parents"),
                    "'slotwise' or 'parents'")
        if getattr(env.unwrapped, "action_mode", "level") != "level":
            raise ValueError("ELDT needs the HFS env with action='level' (Discrete(L) actions)")
        hparams = dict(
            population_size=population_size, generations=generations,
            genotype_length=genotype_length, codon_max=codon_max,
            crossover_prob=crossover_prob, mutation_prob=mutation_prob,
            mutation_indpb=mutation_indpb, tournament_size=tournament_size,
            episodes_per_evaluation=episodes_per_evaluation, learning_rate=learning_rate,
            discount=discount,
            epsilon=epsilon, max_wraps=max_wraps, replacement=replacement,
            lamarckian=lamarckian, rotation=rotation, conditions=conditions,
            leaf_fit=leaf_fit, leaf_fit_episodes=leaf_fit_episodes, seed=seed,
        )
        super().__init__(env, hparams, verbose)
        self.grammar = grammar_for_env(env, self.plant.name, self.schema, conditions)
        self.n_actions = int(env.action_space.n)
        self.toolbox = base.Toolbox()
        self.toolbox.register("mate", tools.cxOnePoint)
        self.toolbox.register("mutate", tools.mutUniformInt, low=0, up=codon_max,
                              indpb=mutation_indpb)
        self.toolbox.register("select", tools.selTournament, tournsize=tournament_size)

    # -- individuals and variation ---------------------------------------------------------------
    def _new_individual(self) -> Individual:
        hp = self.hparams
        return Individual(random.randint(0, hp["codon_max"]) for _ in range(hp["genotype_length"]))

    def _init_state(self, state: dict[str, Any]) -> None:
        state.update(best_fitness=None, best_tree=None, best_genotype=None)

    def _vary(self, population: list[Individual]) -> list[Individual]:
        """Tournament selection, then clone, pairwise crossover and mutation (DEAP varAnd),
        remembering which population slots each child was bred from."""
        hp = self.hparams
        chosen = self.toolbox.select(population, len(population))
        slot = {id(ind): i for i, ind in enumerate(population)}
        offspring = [self._clone(ind) for ind in chosen]
        for child, parent in zip(offspring, chosen, strict=True):
            child.parents = [slot[id(parent)]]
        for i in range(1, len(offspring), 2):
            if random.random() < hp["crossover_prob"]:
                self.toolbox.mate(offspring[i - 1], offspring[i])
                offspring[i - 1].parents.append(offspring[i].parents[0])
                offspring[i].parents.append(offspring[i - 1].parents[0])
                del offspring[i - 1].fitness.values, offspring[i].fitness.values
        for i in range(len(offspring)):
            if random.random() < hp["mutation_prob"]:
                self.toolbox.mutate(offspring[i])
                del offspring[i].fitness.values
        return offspring

    @staticmethod
    def _clone(ind: Individual) -> Individual:
        child = Individual(ind)
        if ind.fitness.valid:
            child.fitness.values = ind.fitness.values
        child.parents = list(ind.parents)
        child.q = None if ind.q is None else [list(q) for q in ind.q]
        return child

    def _pack(self, ind: Individual) -> Any:
        return list(ind), list(ind.parents), ind.q

    def _unpack(self, data: Any) -> Individual:
        ind = Individual(data[0])
        ind.parents, ind.q = list(data[1]), data[2]
        return ind

    def _replace(self, population: list[Individual], offspring: list[Individual]):
        population = list(population)
        if self.hparams["replacement"] == "slotwise":
            for i, child in enumerate(offspring):
                if child.fitness.values[0] > population[i].fitness.values[0]:
                    population[i] = child
        else:
            for child in offspring:
                worst = min(child.parents, key=lambda p: population[p].fitness.values[0])
                if child.fitness.values[0] > population[worst].fitness.values[0]:
                    population[worst] = child
        return population

    # -- evaluation ------------------------------------------------------------------------------
    def _evaluate(self, ind: Individual, generation: int) -> None:
        """Fitness = mean episode return over ``episodes_per_evaluation`` episodes while the
        leaves learn. An invalid genotype gets fitness 0 (the original's worst value) without
        simulating."""
        hp = self.hparams
        root = decode(ind, self.grammar, hp["max_wraps"])
        if root is None:
            ind.fitness.values = (0.0,)
            ind.q = None
            return
        self._room(hp["episodes_per_evaluation"])
        init = ind.q if hp["lamarckian"] else None
        learner = QTree(root, self.n_actions, self.rng, learning_rate=hp["learning_rate"],
                        discount=hp["discount"], epsilon=hp["epsilon"], init_q=init)
        returns = []
        for slot in range(hp["episodes_per_evaluation"]):
            learner.new_episode()
            total, _ = self._episode(learner.act, generation,
                                     on_reward=lambda r: setattr(learner, "reward", r),
                                     on_end=learner.act,  # terminal bootstrap call
                                     plan=learner.act_many, slot=slot)
            returns.append(total)
        ind.fitness.values = (float(np.mean(returns)),)
        ind.q = [list(map(float, q)) for q in learner.q]
        st = self.state
        if st["best_fitness"] is None or ind.fitness.values[0] > st["best_fitness"]:
            st.update(best_fitness=ind.fitness.values[0], best_tree=learner.greedy_tree(),
                      best_genotype=list(ind))

    def _tree_to_fit(self) -> T.Node | None:
        return self.state["best_tree"]

    def _make_policy(self) -> DecisionTreePolicy | None:
        st = self.state
        if st["best_tree"] is None:
            return None
        meta = {"trainer": "eldt", "fitness": st["best_fitness"], "hparams": self.hparams,
                "simulations": self.evaluator.used, "generations": st["generation"]}
        tree = st["best_tree"]
        if st.get("fitted_tree") is not None:
            tree = st["fitted_tree"]
            meta["leaf_fit"] = st["leaf_fit"]
        return DecisionTreePolicy(tree, self.schema, meta, st["best_genotype"])
