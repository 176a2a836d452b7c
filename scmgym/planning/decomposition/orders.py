"""The learned decomposition on the make-or-buy MILP: one binary per order.

The make-or-buy MILP (:mod:`scmgym.baselines.milp.make_or_buy`) decides, order by order, whether
to make or to buy under surrogate processing times. Here a classifier reads each order's
features (``a``, ``b``, ``c``, ``deadline`` in days, ``position`` in the list, ``slack``: the
deadline less the surrogate completion of the order if every order up to it were made) and
predicts the MILP's decision; the orders it is confident about (probability of "buy" at most
``1 - confidence`` or at least ``confidence``) are fixed and the MILP decides the rest. Every
plan is feasible (a made order may be late, a bought one never is), so no repair is needed; the
price of a wrong fix is regret. The plans are also simulated (common seeds) against the full
MILP's plan: the revenue a planner would see.

Classifiers (one probability of "buy" per order): ``tree`` (a scikit-learn decision tree of
depth <= 4 on the six features, printed as rules through :mod:`scmgym.policies.tree`),
``majority`` (the training share of bought orders) and ``knn`` (the share of bought orders among
the 5 nearest training orders, features standardised).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from scmgym.baselines.milp.common import SolverOptions, solve
from scmgym.core.schema import Feature, TreeSchema
from scmgym.errors import DataError

EXACT = SolverOptions(time_limit=600.0, mip_rel_gap=0.0, threads=1)
FEATURES = ("a", "b", "c", "deadline", "position", "slack")
ORDER_CLASSIFIERS = ("tree", "majority", "knn")


class MakeOrBuyProblem:
    """Generated order lists of ``orders`` orders (20 to 60 by default: each solves to proven
    optimality in seconds), deadlines scaled to the list length as the generator does."""

    name = "make-or-buy"
    kind = "orders"

    def __init__(self, orders: tuple[int, int] = (20, 60),
                 options: SolverOptions = EXACT) -> None:
        self.orders = orders
        self.options = options
        self.labels = ("buy",)

    def setup(self) -> dict:
        return {"orders": list(self.orders)}

    def draw(self, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        return {"n_orders": int(rng.integers(self.orders[0], self.orders[1] + 1)),
                "seed": int(rng.integers(0, 2**31))}

    def instance(self, params: dict):
        from scmgym.simulators.make_or_buy.data import generate_make_or_buy_instance

        return generate_make_or_buy_instance(params["n_orders"], params["seed"])

    def digest(self, inst) -> str:
        text = json.dumps([(o.a, o.b, o.c, o.deadline_days) for o in inst.orders])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def features(self, inst) -> np.ndarray:
        """(n, 6) integer features of the orders, in :data:`FEATURES` order."""
        from scmgym.baselines.milp.make_or_buy import build_make_or_buy_model

        times = np.asarray(build_make_or_buy_model(inst).data.times, float)
        reach = np.cumsum(times)
        return np.array([[o.a, o.b, o.c, o.deadline_days, k, round(o.deadline_days - reach[k])]
                         for k, o in enumerate(inst.orders)], float)

    schema = TreeSchema(
        features=(Feature("a", 0, 20, unit="components"), Feature("b", 0, 20, unit="components"),
                  Feature("c", 0, 20, unit="components"),
                  Feature("deadline", 0, 100_000, unit="days"),
                  Feature("position", 0, 100_000), Feature("slack", -100_000, 100_000,
                                                           unit="days")),
        actions=("make", "buy"))

    def solve(self, inst, fixed: dict[int, int] | None = None) -> dict:
        """The MILP (with the orders of ``fixed`` set to their decision, 1 = buy): decisions,
        surrogate objective, status, seconds, and how many make binaries were left free."""
        from scmgym.baselines.milp.make_or_buy import (
            build_make_or_buy_model,
            decisions_from_model,
        )

        t0 = time.perf_counter()
        m = build_make_or_buy_model(inst)
        for k, buy in (fixed or {}).items():
            m.make[k].fix(0 if buy else 1)
            if buy:
                m.on_time[k].fix(0)
        info = solve(m, self.options)
        if info.objective is None:  # never for this model: buying everything is a plan
            raise RuntimeError(f"the make-or-buy MILP ended without a plan ({info.status})")
        return {"decisions": list(decisions_from_model(m)), "objective": info.objective,
                "status": info.status, "seconds": time.perf_counter() - t0,
                "free": inst.n - len(fixed or {})}

    def row(self, inst) -> dict:
        solved = self.solve(inst)
        return {"features": self.features(inst).astype(int).tolist(),
                "labels": solved["decisions"], "objective": solved["objective"],
                "status": solved["status"], "seconds": round(solved["seconds"], 4),
                "size": {"integers": 2 * inst.n}}


# ---- per-order classifiers -----------------------------------------------------------------

class OrderMajority:
    name = "majority"

    def fit(self, x, y):
        self.p = float(np.mean(y))
        return self

    def predict_proba(self, x):
        return np.full(len(x), self.p)


class OrderKNN:
    name = "knn"

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def fit(self, x, y):
        from sklearn.neighbors import KNeighborsClassifier

        x = np.asarray(x, float)
        self.mean, self.sd = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
        self.model = KNeighborsClassifier(n_neighbors=self.k).fit((x - self.mean) / self.sd, y)
        return self

    def predict_proba(self, x):
        x = (np.asarray(x, float) - self.mean) / self.sd
        proba = self.model.predict_proba(x)
        classes = list(self.model.classes_)
        return proba[:, classes.index(1)] if 1 in classes else np.zeros(len(x))


class OrderTree:
    name = "tree"

    def __init__(self, schema: TreeSchema, max_depth: int = 4, seed: int = 0) -> None:
        self.schema = schema
        self.max_depth = max_depth
        self.seed = seed

    def fit(self, x, y):
        from sklearn.tree import DecisionTreeClassifier

        from scmgym.policies.tree import Leaf, Split, Var

        self.model = DecisionTreeClassifier(max_depth=self.max_depth, random_state=self.seed)
        self.model.fit(np.asarray(x, float), np.asarray(y, int))
        t = self.model.tree_
        classes = list(self.model.classes_)

        def walk(i: int):
            if t.children_left[i] == -1:
                counts = t.value[i][0]
                return Leaf(int(classes[int(np.argmax(counts))]),
                            q=tuple(float(c) for c in counts / counts.sum()))
            return Split(Var(int(t.feature[i])), "<", int(np.ceil(t.threshold[i])),
                         walk(t.children_left[i]), walk(t.children_right[i]))

        self.node = walk(0)
        return self

    def predict_proba(self, x):
        proba = self.model.predict_proba(np.asarray(x, float))
        classes = list(self.model.classes_)
        return proba[:, classes.index(1)] if 1 in classes else np.zeros(len(x))

    def rules(self) -> str:
        from scmgym.policies.tree import simplify, to_text

        schema = replace(self.schema, actions=("make", "buy"))
        return to_text(simplify(self.node, schema), schema)


def make_order_classifier(name: str, problem: MakeOrBuyProblem, seed: int = 0):
    if name == "tree":
        return OrderTree(problem.schema, seed=seed)
    if name == "majority":
        return OrderMajority()
    if name == "knn":
        return OrderKNN()
    raise DataError("unknown classifier for make-or-buy", value=name,
                    allowed=", ".join(ORDER_CLASSIFIERS))


# ---- judging -------------------------------------------------------------------------------

def evaluate_orders(problem: MakeOrBuyProblem, clf, rows: list[dict], *,
                    confidence: float = 0.9, sim_seeds: int = 20, progress=None
                    ) -> tuple[dict, list[dict]]:
    """Fix the confident orders of each held-out list, solve the rest, compare with the full
    MILP (surrogate objective and simulated revenue on common seeds). Label metrics count
    every order (``sample_accuracy``: lists with every order right; ``jaccard``: of the sets
    of bought orders)."""
    from scmgym.planning.decomposition.learned import label_metrics
    from scmgym.simulators.make_or_buy import simulate_many

    records, preds, trues = [], [], []
    for k, row in enumerate(rows):
        inst = problem.instance(row["params"])
        x = np.asarray(row["features"], float)
        t0 = time.perf_counter()
        p = clf.predict_proba(x)
        pred = (p >= 0.5).astype(int)
        fixed = {i: int(p[i] >= 0.5) for i in range(len(p))
                 if p[i] >= confidence or p[i] <= 1 - confidence}
        solved = problem.solve(inst, fixed)
        seconds = time.perf_counter() - t0
        seeds = list(range(sim_seeds))
        full_rev = float(np.mean(simulate_many(inst, row["labels"], seeds)))
        dec_rev = float(np.mean(simulate_many(inst, solved["decisions"], seeds)))
        full = row["objective"]
        records.append({"index": row["index"], "orders": inst.n, "fixed": len(fixed),
                        "wrong_fixed": sum(int(v != row["labels"][i]) for i, v in fixed.items()),
                        "objective": solved["objective"], "full_objective": full,
                        "regret": (full - solved["objective"]) / full,
                        "simulated": dec_rev, "full_simulated": full_rev,
                        "seconds": seconds, "full_seconds": row["seconds"]})
        preds.append(pred)
        trues.append(np.asarray(row["labels"], int))
        if progress is not None:
            progress(k + 1, len(rows))
    flat = label_metrics(np.concatenate(preds)[:, None], np.concatenate(trues)[:, None])
    per_list = [bool((a == b).all()) for a, b in zip(preds, trues, strict=True)]
    jac = []
    for a, b in zip(preds, trues, strict=True):
        union = (a | b).sum()
        jac.append(1.0 if union == 0 else float((a & b).sum() / union))
    regrets = [r["regret"] for r in records]
    summary = {
        "label_accuracy": flat["label_accuracy"], "hamming_loss": flat["hamming_loss"],
        "sample_accuracy": float(np.mean(per_list)), "jaccard": float(np.mean(jac)),
        "instances": len(records), "feasible_instances": len(records),
        "confidence": confidence,
        "optimal_share": float(np.mean([abs(x) <= 1e-9 for x in regrets])),
        "mean_regret": float(np.mean(regrets)), "worst_regret": float(np.max(regrets)),
        "infeasible_before_repair": 0.0, "plans_returned": 1.0,
        "binary_reduction": float(np.mean([r["fixed"] / r["orders"] for r in records])),
        "wrong_fixes_per_list": float(np.mean([r["wrong_fixed"] for r in records])),
        "simulated_revenue": float(np.mean([r["simulated"] for r in records])),
        "full_simulated_revenue": float(np.mean([r["full_simulated"] for r in records])),
        "sim_seeds": sim_seeds,
        "seconds": float(sum(r["seconds"] for r in records)),
        "full_seconds": float(sum(r["full_seconds"] for r in records)),
    }
    summary["time_ratio"] = (summary["seconds"] / summary["full_seconds"]
                             if summary["full_seconds"] else None)
    return summary, records


def learn_orders(problem: MakeOrBuyProblem, out, data: dict[str, list[dict]], *,
                 classifiers=ORDER_CLASSIFIERS, seed: int = 0, confidence: float = 0.9,
                 progress=None) -> dict:
    """Train each per-order classifier on the training lists and judge it on the test
    lists; write ``out/<classifier>/metrics.json`` (and the tree's rules)."""
    x = np.concatenate([np.asarray(r["features"], float) for r in data["train"]])
    y = np.concatenate([np.asarray(r["labels"], int) for r in data["train"]])
    summary = {"model": problem.name, "seed": seed,
               "instances": {k: len(v) for k, v in data.items()},
               "orders_train": int(len(y)), "bought_share_train": float(y.mean()),
               "results": {}}
    out = Path(out)
    for name in classifiers:
        t0 = time.perf_counter()
        clf = make_order_classifier(name, problem, seed).fit(x, y)
        fit_seconds = time.perf_counter() - t0
        result, records = evaluate_orders(problem, clf, data["test"], confidence=confidence,
                                          progress=None if progress is None else
                                          lambda d, n, name=name: progress(f"test {name}", d, n))
        result["fit_seconds"] = fit_seconds
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(result, indent=1) + "\n")
        with (folder / "test.jsonl").open("w") as fh:
            for rec in records:
                fh.write(json.dumps(rec) + "\n")
        if name == "tree":
            (folder / "tree.txt").write_text(clf.rules() + "\n")
        summary["results"][name] = result
    return summary
