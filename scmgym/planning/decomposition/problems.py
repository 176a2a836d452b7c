"""The problems a learned decomposition applies to: what an instance is, its labels (the
complicating binaries of its MILP, and "infeasible"), its features, and the full and reduced
solves.

A :class:`DecompositionProblem` is used in this order:

1. ``draw(seed)`` gives the parameters of a random instance and ``instance(params)`` builds it
   (the dataset stores the parameters, so every instance can be rebuilt);
2. ``solve(instance)`` solves the full MILP to proven optimality: a :class:`Solved` with the
   label vector (the optimal complicating binaries; all zero and ``infeasible`` = 1 when no plan
   exists), the objective, the seconds and the model size;
3. ``sequence(instance)`` (the CNN's input) and ``summary(instance)`` (the tree's readable
   features) describe the instance to the classifiers;
4. ``solve_fixed(instance, labels)`` solves the reduced model with the complicating binaries
   fixed to ``labels``, and ``solve_near(instance, labels, k)`` the full model restricted to
   label vectors within Hamming distance ``k`` of ``labels`` (a repair step).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

import numpy as np

from scmgym.baselines.milp.common import SolverOptions, model_size, solve
from scmgym.core.schema import Feature, TreeSchema

#: the full MILP is solved to proven optimality
EXACT = SolverOptions(time_limit=600.0, mip_rel_gap=0.0, threads=1)


@dataclass
class Solved:
    """A solve's outcome: ``status``; ``labels`` (the complicating binaries of the plan found,
    plus the infeasible flag last); ``objective`` (None without a plan); model ``size``;
    ``seconds`` (build and solve)."""

    status: str
    labels: list[int]
    objective: float | None
    seconds: float
    size: dict[str, int] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.objective is not None


class CartProblem:
    """The CAR-T supply chain (:mod:`scmgym.planning.cart`): labels are the sites opened.

    Instances: patients per year drawn uniformly from ``patients`` (10 to 2,400 by default, the
    published range), a profile drawn from ``profiles``, a generator seed."""

    name = "cart"
    kind = "sites"

    def __init__(self, patients: tuple[int, int] = (10, 2400),
                 profiles: tuple[str, ...] = ("uniform", "left", "right"),
                 options: SolverOptions = EXACT) -> None:
        from scmgym.planning.cart import network

        self.patients = patients
        self.profiles = profiles
        self.options = options
        self.sites = tuple(network.SITES)
        self.labels = self.sites + ("infeasible",)

    def setup(self) -> dict:
        """What the instances are drawn from (kept with a dataset, so a resumed dataset is
        never mixed with another)."""
        return {"patients": list(self.patients), "profiles": list(self.profiles)}

    # ---- instances -----------------------------------------------------------------------------
    def draw(self, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        return {"patients_per_year": int(rng.integers(self.patients[0], self.patients[1] + 1)),
                "profile": str(rng.choice(np.array(self.profiles))),
                "seed": int(rng.integers(0, 2**31))}

    def instance(self, params: dict):
        from scmgym.planning.cart import generate_cart_instance

        return generate_cart_instance(params["patients_per_year"], params["profile"],
                                      params["seed"])

    def digest(self, inst) -> str:
        """A hash of the instance's content (its patients), to check that splits share none."""
        p = inst.frames["patients"]
        text = json.dumps([list(p["centre"]), [int(d) for d in p["day"]]])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ---- features ------------------------------------------------------------------------------
    def sequence(self, inst) -> np.ndarray:
        """Patients collected per day over the 90 days (the CNN's input)."""
        return inst.daily_demand(90)

    summary_schema = TreeSchema(
        features=(Feature("patients", 0, 5000, unit="patients"),
                  Feature("days 1-30", 0, 5000, unit="patients"),
                  Feature("days 31-60", 0, 5000, unit="patients"),
                  Feature("days 61-90", 0, 5000, unit="patients"),
                  Feature("busiest week", 0, 5000, unit="patients"),
                  Feature("busiest day", 0, 5000, unit="patients")),
        actions=())

    def summary(self, seq: np.ndarray) -> np.ndarray:
        """Readable integer features of a daily sequence: total, per third of the quarter,
        the busiest 7 days (what the lines must hold at once) and the busiest day."""
        seq = np.asarray(seq, float)
        week = np.convolve(seq, np.ones(7), mode="valid").max() if len(seq) >= 7 else seq.sum()
        return np.array([seq.sum(), seq[:30].sum(), seq[30:60].sum(), seq[60:90].sum(), week,
                         seq.max()], float)

    # ---- solves --------------------------------------------------------------------------------
    def _solved(self, r, sites_fixed: bool) -> Solved:
        if not r.feasible:
            labels = [0] * len(self.sites) + [1]
        else:
            labels = [int(s in r.sites) for s in self.sites] + [0]
        return Solved(status=r.status, labels=labels, objective=r.cost,
                      seconds=r.build_seconds + r.solve_seconds, size=r.size)

    def solve(self, inst) -> Solved:
        from scmgym.planning.cart import solve_cart

        return self._solved(solve_cart(inst, options=self.options), False)

    def row(self, inst) -> dict:
        """A dataset row's problem part: the daily sequence and the solved labels."""
        solved = self.solve(inst)
        return {"sequence": [int(x) for x in self.sequence(inst)], "labels": solved.labels,
                "objective": solved.objective, "status": solved.status,
                "seconds": round(solved.seconds, 4), "size": solved.size}

    def solve_fixed(self, inst, labels) -> Solved:
        from scmgym.planning.cart import solve_cart

        sites = [s for s, v in zip(self.sites, labels, strict=False) if v]
        return self._solved(solve_cart(inst, sites=sites, options=self.options), True)

    def solve_near(self, inst, labels, k: int) -> Solved:
        """The full model with the sites within Hamming distance ``k`` of ``labels``."""
        import pyomo.environ as pyo

        from scmgym.planning.cart.model import build_cart_model

        t0 = time.perf_counter()
        m = build_cart_model(inst)
        chosen = [s for s, v in zip(self.sites, labels, strict=False) if v]
        m.near = pyo.Constraint(expr=sum(1 - m.y[s] for s in chosen)
                                + sum(m.y[s] for s in self.sites if s not in chosen) <= k)
        size = model_size(m)
        info = solve(m, self.options)
        seconds = time.perf_counter() - t0
        if info.objective is None:
            return Solved(info.status, [0] * len(self.sites) + [1], None, seconds, size)
        opened = [int(round(m.y[s].value or 0)) for s in self.sites]
        return Solved(info.status, opened + [0], float(pyo.value(m.total_cost)), seconds,
                      size)


def _make_or_buy(**kw):
    from scmgym.planning.decomposition.orders import MakeOrBuyProblem

    return MakeOrBuyProblem(**kw)


PROBLEMS = {"cart": CartProblem, "make-or-buy": _make_or_buy}


def get_problem(name: str, **kw):
    if name not in PROBLEMS:
        from scmgym.errors import DataError

        raise DataError("unknown decomposition model", value=name,
                        allowed=", ".join(PROBLEMS))
    return PROBLEMS[name](**kw)
