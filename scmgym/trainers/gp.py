"""Strongly typed genetic programming of decision trees (DEAP ``PrimitiveSetTyped``).

A GP individual is an expression of ``if_then_else`` over typed comparisons; it is converted to
the shared tree form (:mod:`scmgym.policies.tree`) to act, render and simplify. One fitness
evaluation is one episode (one real simulation) of the env with the tree deciding every step:

* make-or-buy: inputs ``a, b, c``; ``lt``/``gt`` on integers, ``if_then_else`` returning
  ``"outsource"`` (buy) or ``"not_outsource"`` (make); ephemeral constants 1..20; optional
  ``and``/``or``/``not`` (``boolean_ops=True``; the published code had them commented out).
* HFS: inputs machine type, basement, panel and due day (not the remaining-orders feature);
  ``eq`` on the machine type, ``lt``/``gt`` on each date; constants 0..max-1 of each date over the
  dataset; priority levels 0..L-1. The machine type reaches the tree as its integer code. (The
  original passed the type *string*, so its machine-type tests were always false; that bug is
  fixed here and has no faithful mode.)

Every type has a terminal and an identity primitive, so DEAP's generators can always complete a
tree of any requested depth.
"""

from __future__ import annotations

import operator
import random
import re
from functools import partial

import numpy as np
from deap import base, gp, tools

from scmgym.policies import GPTreePolicy
from scmgym.policies import tree as T
from scmgym.policies.batch import FlatTree, leaf_actions
from scmgym.trainers.evolution import EvolutionaryTrainer, check_param

# Types of the HFS primitive set (marker classes; values are plain ints at run time).


class MachineTypeIn:
    pass


class MachineType:
    pass


class BasementIn:
    pass


class Basement:
    pass


class PanelIn:
    pass


class Panel:
    pass


class DueIn:
    pass


class Due:
    pass


class Level:
    pass


class SlackIn:
    pass


class Slack:
    pass


class DueRankIn:
    pass


class DueRank:
    pass


class LoadIn:
    pass


class Load:
    pass


class RemainingIn:
    pass


class Remaining:
    pass


class Bool:
    pass


class Num:
    """Make-or-buy numbers: the inputs a, b, c and constants (kept apart from Bool)."""


class Decision:
    """Make-or-buy decisions: ``"outsource"`` (buy) or ``"not_outsource"`` (make)."""


def _identity(x):
    return x


def _if_then_else(cond, a, b):
    return a if cond else b


def _and(a, b):
    return a and b


def _or(a, b):
    return a or b


def _not(a):
    return not a


#: Inputs of each plant's trees -> the observation index they read.
HFS_INPUTS = {"mt": 0, "db": 1, "de": 2, "dd": 3}
#: The HFS relative observation's extra inputs (``observation="relative"``): name -> (index,
#: input type, constant type, constant step).
HFS_RELATIVE_INPUTS = {"sl": (5, SlackIn, Slack, 1), "dr": (6, DueRankIn, DueRank, 5),
                       "ld": (7, LoadIn, Load, 1), "rp": (8, RemainingIn, Remaining, 5)}
MOB_INPUTS = {"a": 0, "b": 1, "c": 2}
COMPARISONS = {"lt": "<", "gt": ">", "eq": "=="}
#: GP's selection: the study's tournament, or a double tournament with parsimony pressure.
SELECTIONS = ("tournament", "parsimony")
DECISIONS = {"not_outsource": 0, "outsource": 1}  # make-or-buy: 0 make, 1 buy


def hfs_primitive_set(schema: T.TreeSchema, levels: int,
                      num_machine_types: int = 12) -> gp.PrimitiveSetTyped:
    """The HFS primitive set (built on demand, never at import).

    With the relative observation (9 features) the trees also read the slack, the due rank,
    the load and the remaining share (:data:`HFS_RELATIVE_INPUTS`), compared with constants
    over each feature's range (steps of 5 for the two percentages)."""
    relative = len(schema.features) > 5
    extra = HFS_RELATIVE_INPUTS if relative else {}
    pset = gp.PrimitiveSetTyped("hfs", [MachineTypeIn, BasementIn, PanelIn, DueIn,
                                        *(t for _, t, _, _ in extra.values())], Level)
    pset.renameArguments(ARG0="mt", ARG1="db", ARG2="de", ARG3="dd",
                         **{f"ARG{4 + i}": name for i, name in enumerate(extra)})
    pset.addPrimitive(operator.eq, [MachineTypeIn, MachineType], Bool, name="eq")
    for tin, tconst, feat, tag in ((BasementIn, Basement, 1, "db"), (PanelIn, Panel, 2, "de"),
                                   (DueIn, Due, 3, "dd")):
        pset.addPrimitive(operator.lt, [tin, tconst], Bool, name=f"lt_{tag}")
        pset.addPrimitive(operator.gt, [tin, tconst], Bool, name=f"gt_{tag}")
        for v in range(max(1, schema.features[feat].high)):
            pset.addTerminal(v, tconst, name=f"{tag}_{v}")
    for tag, (feat, tin, tconst, step) in extra.items():
        pset.addPrimitive(operator.lt, [tin, tconst], Bool, name=f"lt_{tag}")
        pset.addPrimitive(operator.gt, [tin, tconst], Bool, name=f"gt_{tag}")
        low, high = schema.features[feat].low, schema.features[feat].high
        for v in range(low - low % step, max(high, low + 1), step):
            pset.addTerminal(v, tconst, name=f"{tag}_{v}".replace("-", "m"))
    pset.addPrimitive(_if_then_else, [Bool, Level, Level], Level, name="if_then_else")
    for t in (MachineTypeIn, MachineType, BasementIn, Basement, PanelIn, Panel, DueIn, Due,
              *(x for _, tin, tc, _ in extra.values() for x in (tin, tc))):
        pset.addPrimitive(_identity, [t], t, name=f"id_{t.__name__}")
    for v in range(num_machine_types):
        pset.addTerminal(v, MachineType, name=f"mt_{v}")
    for v in range(levels):
        pset.addTerminal(v, Level, name=f"level_{v}")
    pset.addTerminal(False, Bool, name="False")
    pset.addTerminal(True, Bool, name="True")
    return pset


def mob_primitive_set(boolean_ops: bool = False) -> gp.PrimitiveSetTyped:
    """The make-or-buy primitive set (built on demand, never at import).

    Numbers and conditions are distinct types (the original used Python's ``int`` and ``bool``,
    and as ``bool`` is a subclass of ``int`` its trees could compare comparison results, e.g.
    ``lt(c, True)``; here every condition compares numbers).
    """
    pset = gp.PrimitiveSetTyped("mob", [Num, Num, Num], Decision)
    pset.renameArguments(ARG0="a", ARG1="b", ARG2="c")
    pset.addPrimitive(operator.lt, [Num, Num], Bool, name="lt")
    pset.addPrimitive(operator.gt, [Num, Num], Bool, name="gt")
    pset.addPrimitive(_if_then_else, [Bool, Decision, Decision], Decision, name="if_then_else")
    pset.addPrimitive(_identity, [Num], Num, name="integer")
    if boolean_ops:
        pset.addPrimitive(_and, [Bool, Bool], Bool, name="and_")
        pset.addPrimitive(_or, [Bool, Bool], Bool, name="or_")
        pset.addPrimitive(_not, [Bool], Bool, name="not_")
    pset.addEphemeralConstant("mob_number", partial(random.randint, 1, 20), Num)
    pset.addTerminal("outsource", Decision, name="outsource")
    pset.addTerminal("not_outsource", Decision, name="not_outsource")
    pset.addTerminal(False, Bool, name="False")
    pset.addTerminal(True, Bool, name="True")
    return pset


def _type(name: str) -> type:
    """A marker type of a schema-driven primitive set (named, so that typed crossover orders
    types by name: :func:`cx_one_point`)."""
    cls = type(name, (), {"__module__": __name__})
    cls.__qualname__ = f"schema.{name}"
    return cls


def schema_primitive_set(schema: T.TreeSchema, *, pairs: bool = False,
                         boolean_ops: bool = False) -> tuple[gp.PrimitiveSetTyped, dict[str, int]]:
    """A primitive set of any tree schema, and its inputs (argument name -> feature index).

    Each feature ``f`` is an argument of its own type, compared with constants of its own
    type: ``lt_f`` / ``gt_f`` against the constants it declares
    (:meth:`~scmgym.core.schema.Feature.constants`, terminals ``f_<value>``), ``eq_f`` for a
    categorical feature; with ``pairs``, ``lt_f_g`` / ``gt_f_g`` compare two features of the
    same unit (:meth:`~scmgym.core.schema.TreeSchema.comparable_pairs`). Decisions are the
    schema's actions (terminals named after them). Every type has an identity primitive, so
    DEAP's generators complete a tree of any depth.

    Raises:
        ValueError: ``pairs`` but no two features share a unit.
    """
    names = [T.identifier(f.name) for f in schema.features]
    ins = [_type(f"In_{n}") for n in names]
    consts = [_type(f"Const_{n}") for n in names]
    decision, boolean = _type("Decision"), _type("Bool")
    pset = gp.PrimitiveSetTyped("schema", ins, decision)
    pset.renameArguments(**{f"ARG{k}": n for k, n in enumerate(names)})
    for k, feat in enumerate(schema.features):
        n = names[k]
        ops = (("eq", operator.eq),) if feat.categories is not None else \
            (("lt", operator.lt), ("gt", operator.gt))
        for tag, fn in ops:
            pset.addPrimitive(fn, [ins[k], consts[k]], boolean, name=f"{tag}_{n}")
        for v in feat.constants():
            pset.addTerminal(v, consts[k], name=f"{n}_{v}".replace("-", "m"))
        pset.addPrimitive(_identity, [ins[k]], ins[k], name=f"id_in_{n}")
        pset.addPrimitive(_identity, [consts[k]], consts[k], name=f"id_const_{n}")
    for i, j in schema.pairs_for("pairs" if pairs else "constant"):
        for tag, fn in (("lt", operator.lt), ("gt", operator.gt)):
            pset.addPrimitive(fn, [ins[i], ins[j]], boolean, name=f"{tag}_{names[i]}_{names[j]}")
    pset.addPrimitive(_if_then_else, [boolean, decision, decision], decision,
                      name="if_then_else")
    if boolean_ops:
        pset.addPrimitive(_and, [boolean, boolean], boolean, name="and_")
        pset.addPrimitive(_or, [boolean, boolean], boolean, name="or_")
        pset.addPrimitive(_not, [boolean], boolean, name="not_")
    for a, action in enumerate(schema.actions):
        pset.addTerminal(a, decision, name=f"do_{T.identifier(action)}")
    pset.addTerminal(False, boolean, name="False")
    pset.addTerminal(True, boolean, name="True")
    return pset, {n: k for k, n in enumerate(names)}


def pack_expression(expr: gp.PrimitiveTree) -> list[list]:
    """A plain-data form of an expression (ephemeral constants included) for checkpoints."""
    out = []
    for node in expr:
        if isinstance(node, gp.Primitive):
            out.append(["p", node.name])
        elif isinstance(type(node), gp.MetaEphemeral):
            out.append(["e", type(node).name, node.value])
        else:  # symbolic terminals (named constants, renamed arguments) are keyed by value
            out.append(["t", str(node.value) if node.conv_fct is str else node.name])
    return out


def _ephemeral(cls, value):
    node = cls.__new__(cls)  # no __init__: no new random draw
    node.value = value
    return node


def unpack_expression(data: list[list], pset: gp.PrimitiveSetTyped) -> list:
    """Inverse of :func:`pack_expression`, without drawing new ephemeral values."""
    return [_ephemeral(pset.mapping[item[1]], item[2]) if item[0] == "e"
            else pset.mapping[item[1]] for item in data]


def parse_expression(text: str, pset: gp.PrimitiveSetTyped) -> gp.PrimitiveTree:
    """Parse an expression as printed by ``str(individual)``; bare integers become the set's
    ephemeral constants (make-or-buy numbers).

    >>> str(parse_expression("if_then_else(lt(a, 6), not_outsource, outsource)",
    ...                      mob_primitive_set()))
    'if_then_else(lt(a, 6), not_outsource, outsource)'
    """
    ephemerals = [t for terms in pset.terminals.values() for t in terms
                  if isinstance(t, gp.MetaEphemeral)]
    nodes = []
    for token in re.split(r"[\s(),]+", text.strip()):
        if not token:
            continue
        if token in pset.mapping:
            nodes.append(pset.mapping[token])
        elif ephemerals and re.fullmatch(r"-?\d+", token):
            nodes.append(_ephemeral(ephemerals[0], int(token)))
        else:
            raise ValueError(f"unknown token {token!r} in GP expression; allowed: the names of "
                             f"the primitive set {pset.name!r} and integers")
    return gp.PrimitiveTree(nodes)


def cx_one_point(ind1: gp.PrimitiveTree, ind2: gp.PrimitiveTree):
    """Typed one-point subtree crossover, deterministic for a given ``random`` state.

    The same operator as DEAP's ``gp.cxOnePoint``: pick a node type common to both trees
    (roots excluded), then one node of that type in each, and swap the subtrees rooted there.
    DEAP draws the type from a ``set`` of type classes, whose order depends on memory
    addresses, so the same seed gave different runs in different processes (DEAP issue #190).
    Here the common types are ordered by name before the draw.
    """
    if len(ind1) < 2 or len(ind2) < 2:
        return ind1, ind2
    types1: dict[type, list[int]] = {}
    types2: dict[type, list[int]] = {}
    for idx, node in enumerate(ind1[1:], 1):
        types1.setdefault(node.ret, []).append(idx)
    for idx, node in enumerate(ind2[1:], 1):
        types2.setdefault(node.ret, []).append(idx)
    common = sorted((t for t in types1 if t in types2),
                    key=lambda t: (t.__module__, t.__qualname__))
    if common:
        type_ = random.choice(common)
        slice1 = ind1.searchSubtree(random.choice(types1[type_]))
        slice2 = ind2.searchSubtree(random.choice(types2[type_]))
        ind1[slice1], ind2[slice2] = ind2[slice2], ind1[slice1]
    return ind1, ind2


# ------------------------------------------------------------------------------------------------
# Expression -> tree
# ------------------------------------------------------------------------------------------------


def _nest(expr: gp.PrimitiveTree) -> tuple:
    """Prefix list -> nested (node, children) tuples."""
    def build(i: int) -> tuple[tuple, int]:
        node = expr[i]
        children, j = [], i + 1
        for _ in range(node.arity):
            child, j = build(j)
            children.append(child)
        return (node, children), j

    nested, _ = build(0)
    return nested


def expression_to_tree(expr: gp.PrimitiveTree, pset: gp.PrimitiveSetTyped,
                       inputs: dict[str, int]) -> T.Node:
    """Convert a typed GP expression into the shared tree form (same decisions).

    ``and``/``or``/``not`` and constant conditions are expanded into plain splits.
    """

    def constant(node):
        value = node.value
        if isinstance(value, str) and value in pset.context:
            value = pset.context[value]
        return value

    def operand(item) -> T.Operand:
        node, children = item
        if isinstance(node, gp.Primitive):  # identity primitives
            return operand(children[0])
        if str(node.value) in inputs:
            return T.Var(inputs[str(node.value)])
        return int(constant(node))

    def branch(item, then: T.Node, other: T.Node) -> T.Node:
        node, children = item
        if isinstance(node, gp.Terminal):
            return then if bool(constant(node)) else other
        name = node.name
        if name.startswith(("lt", "gt", "eq")):
            lhs, op, rhs = operand(children[0]), COMPARISONS[name[:2]], operand(children[1])
            if not isinstance(lhs, T.Var) and isinstance(rhs, T.Var):  # "c > 14", not "14 < c"
                lhs, op, rhs = rhs, {"<": ">", ">": "<", "==": "=="}[op], lhs
            return T.Split(lhs, op, rhs, then, other)
        if name == "and_":
            return branch(children[0], branch(children[1], then, other), other)
        if name == "or_":
            return branch(children[0], then, branch(children[1], then, other))
        if name == "not_":
            return branch(children[0], other, then)
        raise ValueError(f"unexpected boolean primitive {name!r}")

    def decide(item) -> T.Node:
        node, children = item
        if isinstance(node, gp.Primitive):
            if node.name != "if_then_else":
                raise ValueError(f"unexpected primitive {node.name!r} at a decision")
            return branch(children[0], decide(children[1]), decide(children[2]))
        value = constant(node)
        return T.Leaf(DECISIONS[value] if isinstance(value, str) else int(value))

    return decide(_nest(expr))


# ------------------------------------------------------------------------------------------------
# The trainer
# ------------------------------------------------------------------------------------------------


class _FitnessMin(base.Fitness):
    weights = (-1.0,)


class _FitnessMax(base.Fitness):
    weights = (1.0,)


class GPIndividual(gp.PrimitiveTree):
    """A typed expression with its DEAP fitness."""

    def __init__(self, content, fitness_class=_FitnessMax):
        super().__init__(content)
        self.fitness = fitness_class()


class GPTrainer(EvolutionaryTrainer):
    """Strongly typed GP (DEAP ``eaSimple`` scheme) of tree policies on an scmgym env.

    Args:
        env: a make-or-buy env or an HFS env with ``action="level"``.
        population_size, generations: published 20 and 250.
        crossover_prob, mutation_prob, tournament_size: published 0.5, 0.2, 3.
        init_depth: (min, max) of ``genHalfAndHalf`` for the initial population (published
            (2, 5)); mutation_depth: (min, max) of the subtrees ``mutUniform`` grows ((0, 2)).
        max_height: optional static height limit on crossover and mutation (against bloat);
            None = no limit, as published.
        boolean_ops: add ``and``/``or``/``not`` (make-or-buy's study set and schema sets).
        num_machine_types: HFS only: machine-type constants 0..num-1 (12).
        episodes_per_evaluation: episodes per fitness evaluation; the fitness is the mean
            objective over them (published: 1).
        rotation: on a distribution of instances, ``"episode"`` (each episode draws its
            instance) or ``"generation"`` (a generation's individuals play the same
            instances; :data:`~scmgym.trainers.evolution.ROTATIONS`).
        conditions: ``"constant"`` (a feature against a constant; the study's sets on the
            study's observation) or ``"pairs"`` (also two features of a unit); any other
            observation, or pairs, uses the schema-driven set (:func:`schema_primitive_set`).
        selection: ``"tournament"`` (the study) or ``"parsimony"``: DEAP's double tournament
            (``selDoubleTournament``, fitness first, then a size tournament of
            ``parsimony_size`` in [1, 2]: the smaller tree wins with probability
            parsimony_size / 2), against bloat, so trees stay readable.
        leaf_fit, leaf_fit_episodes: a final leaf-fitting pass over the best tree, as ELDT's
            (0: none, the study).
        seed: seeds Python's ``random`` (DEAP) and the env.
        verbose: 0, 1 (progress bar) or 2.

    >>> from scmgym.envs.hfs import HybridFlowShopEnv
    >>> trainer = GPTrainer(HybridFlowShopEnv("d1"), generations=2, seed=0).learn(budget=40)
    >>> trainer.simulations <= 40, trainer.policy.kind
    (True, 'gp')
    """

    method = "gp"

    #: ``preset="paper"``: the study's settings (the defaults); ``"strong"``: what measures
    #: best (docs/trainers.md, "Presets"): parsimony pressure and a leaf-fitting pass on a
    #: tenth of the budget.
    PRESETS = {"paper": {}, "strong": {"selection": "parsimony", "leaf_fit": 0.1,
                                       "leaf_fit_episodes": 20}}

    def __init__(self, env, *, population_size: int = 20, generations: int = 250,
                 crossover_prob: float = 0.5, mutation_prob: float = 0.2,
                 tournament_size: int = 3, init_depth: tuple[int, int] = (2, 5),
                 mutation_depth: tuple[int, int] = (0, 2), max_height: int | None = None,
                 boolean_ops: bool = False, num_machine_types: int = 12,
                 episodes_per_evaluation: int = 1, rotation: str = "episode",
                 conditions: str = "constant", selection: str = "tournament",
                 parsimony_size: float = 1.4, leaf_fit: float = 0.0,
                 leaf_fit_episodes: int = 20, seed: int = 0, verbose: int = 0) -> None:
        for name, p in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
            check_param(name, p, 0.0 <= p <= 1.0, "a probability in [0, 1]")
        check_param("tournament_size", tournament_size, tournament_size >= 1, "an integer >= 1")
        for name, (lo, hi) in (("init_depth", init_depth), ("mutation_depth", mutation_depth)):
            check_param(name, (lo, hi), 0 <= lo <= hi <= 17,
                        "(min, max) with 0 <= min <= max <= 17")
        check_param("max_height", max_height, max_height is None or max_height >= init_depth[1],
                    f"None or an integer >= the initial max depth {init_depth[1]}")
        check_param("num_machine_types", num_machine_types, 1 <= num_machine_types <= 12,
                    "an integer in [1, 12]")
        check_param("episodes_per_evaluation", episodes_per_evaluation,
                    isinstance(episodes_per_evaluation, int) and episodes_per_evaluation >= 1,
                    "an integer >= 1")
        check_param("conditions", conditions, conditions in ("constant", "pairs"),
                    "'constant' or 'pairs'")
        check_param("selection", selection, selection in SELECTIONS, " or ".join(SELECTIONS))
        check_param("parsimony_size", parsimony_size, 1.0 <= parsimony_size <= 2.0,
                    "a number in [1, 2]")
        if getattr(env.unwrapped, "action_mode", "level") != "level":
            raise ValueError("GP needs the HFS env with action='level' (Discrete(L) actions)")
        hparams = dict(population_size=population_size, generations=generations,
                       crossover_prob=crossover_prob, mutation_prob=mutation_prob,
                       tournament_size=tournament_size, init_depth=list(init_depth),
                       mutation_depth=list(mutation_depth), max_height=max_height,
                       boolean_ops=boolean_ops, num_machine_types=num_machine_types,
                       episodes_per_evaluation=episodes_per_evaluation, rotation=rotation,
                       conditions=conditions, selection=selection,
                       parsimony_size=parsimony_size, leaf_fit=leaf_fit,
                       leaf_fit_episodes=leaf_fit_episodes, seed=seed)
        super().__init__(env, hparams, verbose)
        paper = getattr(env.unwrapped, "observation_mode", "paper") == "paper" and \
            conditions == "constant"
        builders = {
            "hfs": lambda: (hfs_primitive_set(self.schema, int(env.action_space.n),
                                              num_machine_types),
                            {**HFS_INPUTS, **({k: v[0] for k, v in HFS_RELATIVE_INPUTS.items()}
                                              if len(self.schema.features) > 5 else {})}),
            "make-or-buy": lambda: (mob_primitive_set(boolean_ops), MOB_INPUTS),
        }
        if not paper:
            self.pset, self.inputs = schema_primitive_set(
                self.schema, pairs=conditions == "pairs", boolean_ops=boolean_ops)
        else:
            if self.plant.name not in builders:
                raise ValueError(f"GP has no primitive set for plant {self.plant.name!r}; "
                                 f"allowed: {', '.join(builders)}")
            if boolean_ops and self.plant.name != "make-or-buy":
                raise ValueError(f"boolean_ops=True; allowed: only on the make-or-buy plant "
                                 f"or a schema-driven set (this env is the "
                                 f"{self.plant.title} on the study's observation)")
            self.pset, self.inputs = builders[self.plant.name]()
        self.fitness_class = _FitnessMin if self.objective.direction == "min" else _FitnessMax
        tb = base.Toolbox()
        tb.register("expr", gp.genHalfAndHalf, pset=self.pset, min_=init_depth[0],
                    max_=init_depth[1])
        tb.register("expr_mut", gp.genHalfAndHalf, min_=mutation_depth[0],
                    max_=mutation_depth[1])
        tb.register("mate", cx_one_point)
        tb.register("mutate", gp.mutUniform, expr=tb.expr_mut, pset=self.pset)
        if selection == "parsimony":
            tb.register("select", tools.selDoubleTournament, fitness_size=tournament_size,
                        parsimony_size=parsimony_size, fitness_first=True)
        else:
            tb.register("select", tools.selTournament, tournsize=tournament_size)
        if max_height is not None:
            limit = gp.staticLimit(key=operator.attrgetter("height"), max_value=max_height)
            tb.decorate("mate", limit)
            tb.decorate("mutate", limit)
        self.toolbox = tb

    def _new_individual(self) -> GPIndividual:
        return GPIndividual(self.toolbox.expr(), self.fitness_class)

    def _clone(self, ind: GPIndividual) -> GPIndividual:
        child = GPIndividual(list(ind), self.fitness_class)
        if ind.fitness.valid:
            child.fitness.values = ind.fitness.values
        return child

    def _vary(self, population: list[GPIndividual]) -> list[GPIndividual]:
        """Tournament selection, clone, crossover (pairs) and mutation, as DEAP's varAnd."""
        hp = self.hparams
        offspring = [self._clone(ind) for ind in self.toolbox.select(population,
                                                                     len(population))]
        for i in range(1, len(offspring), 2):
            if random.random() < hp["crossover_prob"]:
                offspring[i - 1], offspring[i] = self.toolbox.mate(offspring[i - 1], offspring[i])
                del offspring[i - 1].fitness.values, offspring[i].fitness.values
        for i in range(len(offspring)):
            if random.random() < hp["mutation_prob"]:
                (offspring[i],) = self.toolbox.mutate(offspring[i])
                del offspring[i].fitness.values
        return offspring

    def _replace(self, population, offspring):
        return list(offspring)  # generational: the offspring replace the population

    def _pack(self, ind: GPIndividual) -> list[list]:
        return pack_expression(ind)

    def _unpack(self, data: list[list]) -> GPIndividual:
        return GPIndividual(unpack_expression(data, self.pset), self.fitness_class)

    def tree_of(self, ind: gp.PrimitiveTree) -> T.Node:
        return expression_to_tree(ind, self.pset, self.inputs)

    def _evaluate(self, ind: GPIndividual, generation: int) -> None:
        """``episodes_per_evaluation`` episodes with the tree deciding every step; fitness =
        the mean plant objective over them."""
        episodes = self.hparams["episodes_per_evaluation"]
        self._room(episodes)
        root = self.tree_of(ind)
        flat = FlatTree.of(root)
        values = [self._episode(lambda obs: T.find_leaf(root, obs).action, generation,
                                plan=lambda steps: leaf_actions(flat, steps), slot=slot)[1]
                  for slot in range(episodes)]
        ind.fitness.values = (float(np.mean(values)) if episodes > 1 else values[0],)

    def _tree_to_fit(self) -> T.Node | None:
        hof = self.state["hof"]
        return self.tree_of(hof[0]) if len(hof) else None

    def _make_policy(self) -> GPTreePolicy | None:
        hof = self.state["hof"]
        if not len(hof):
            return None
        best = hof[0]
        meta = {"trainer": "gp", "objective": self.objective.name,
                "fitness": best.fitness.values[0], "hparams": self.hparams,
                "simulations": self.evaluator.used, "generations": self.state["generation"]}
        tree = self.tree_of(best)
        if self.state.get("fitted_tree") is not None:
            # the expression is the evolved one; the fitted tree's leaves may differ from it
            tree = self.state["fitted_tree"]
            meta["leaf_fit"] = self.state["leaf_fit"]
        return GPTreePolicy(tree, self.schema, meta, expression=str(best))
