"""The learned decomposition: predict the complicating binaries, fix them, solve the reduced
MILP, repair when it fails; and the metrics that judge it on held-out instances.

Repair steps, in order, so that a plan always comes back when one exists:

1. ``predicted``: the reduced MILP with the binaries fixed to the prediction (probability >=
   0.5; a prediction of "infeasible" or of no binary at all skips this step);
2. ``next``: the prediction plus the most likely binary it left out, fixed (when that is still
   a valid choice);
3. ``neighbourhood``: the full MILP restricted to binaries within Hamming distance
   ``radius`` (2) of the prediction;
4. ``full``: the full MILP (which also proves infeasibility, when there is no plan).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

STEPS = ("predicted", "next", "neighbourhood", "full")


@dataclass
class Decomposed:
    """One instance planned by the learned decomposition: the step that gave the plan (or
    ``full`` that proved there is none), the plan's objective and labels, the steps tried, the
    seconds of all of them, and the size of the first reduced model."""

    step: str
    objective: float | None
    labels: list[int]
    tried: list[str]
    seconds: float
    reduced_size: dict[str, int] | None

    def to_dict(self) -> dict:
        return asdict(self)


def decide(probs: np.ndarray) -> list[int]:
    """Labels from probabilities: each >= 0.5."""
    return [int(p >= 0.5) for p in probs]


def decompose(problem, inst, probs: np.ndarray, radius: int = 2) -> Decomposed:
    """Plan ``inst`` by the repair steps of the module docstring from the classifier's
    probabilities ``probs`` (one per label, the infeasible flag last)."""
    t0 = time.perf_counter()
    probs = np.asarray(probs, float)
    pred = decide(probs)
    binaries = pred[:-1]
    tried: list[str] = []
    reduced_size = None
    if not pred[-1] and any(binaries):
        tried.append("predicted")
        s = problem.solve_fixed(inst, binaries)
        reduced_size = s.size or None
        if s.feasible:
            return Decomposed("predicted", s.objective, s.labels, tried,
                              time.perf_counter() - t0, reduced_size)
        left_out = [i for i, v in enumerate(binaries) if not v]
        if left_out:
            best = max(left_out, key=lambda i: probs[i])
            more = list(binaries)
            more[best] = 1
            tried.append("next")
            s = problem.solve_fixed(inst, more)
            if s.feasible:
                return Decomposed("next", s.objective, s.labels, tried,
                                  time.perf_counter() - t0, reduced_size)
        tried.append("neighbourhood")
        s = problem.solve_near(inst, binaries, radius)
        if s.feasible:
            return Decomposed("neighbourhood", s.objective, s.labels, tried,
                              time.perf_counter() - t0, reduced_size)
    tried.append("full")
    s = problem.solve(inst)
    return Decomposed("full", s.objective, s.labels, tried, time.perf_counter() - t0,
                      reduced_size)


def label_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Multi-label accuracy: ``label_accuracy`` (share of labels right), ``sample_accuracy``
    (share of instances with every label right), ``jaccard`` (mean |pred & true| / |pred |
    true| over instances, 1 when both are empty) and ``hamming_loss`` (1 - label accuracy)."""
    pred = np.asarray(pred, int)
    true = np.asarray(true, int)
    inter = (pred & true).sum(axis=1)
    union = (pred | true).sum(axis=1)
    jac = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    label = float((pred == true).mean())
    return {"label_accuracy": label, "sample_accuracy": float((pred == true).all(axis=1).mean()),
            "jaccard": float(jac.mean()), "hamming_loss": 1.0 - label}


def evaluate(problem, clf, rows: list[dict], *, radius: int = 2,
             progress=None) -> tuple[dict, list[dict]]:
    """Judge ``clf`` on solved dataset ``rows`` (held out): label metrics, then every instance
    planned by :func:`decompose` and compared with its full optimum. Returns the summary and one
    record per instance."""
    seqs = np.array([r["sequence"] for r in rows], float)
    true = np.array([r["labels"] for r in rows], int)
    t0 = time.perf_counter()
    probs = clf.predict_proba(seqs)
    predict_seconds = time.perf_counter() - t0
    pred = np.array([decide(p) for p in probs], int)
    summary = label_metrics(pred, true)
    records = []
    for k, (row, p) in enumerate(zip(rows, probs, strict=True)):
        inst = problem.instance(row["params"])
        d = decompose(problem, inst, p, radius)
        full = row["objective"]
        regret = None
        if full is not None and d.objective is not None:
            regret = (d.objective - full) / abs(full) if full else 0.0
        records.append({"index": row["index"], "hash": row["hash"], "true": row["labels"],
                        "predicted": pred[k].tolist(), "step": d.step, "tried": d.tried,
                        "objective": d.objective, "full_objective": full, "regret": regret,
                        "seconds": d.seconds, "full_seconds": row["seconds"],
                        "reduced_size": d.reduced_size, "full_size": row["size"]})
        if progress is not None:
            progress(k + 1, len(rows))
    feasible = [r for r in records if r["full_objective"] is not None]
    regrets = [r["regret"] for r in feasible if r["regret"] is not None]
    reductions = [r for r in records if r["reduced_size"] and r["full_size"]]
    summary.update({
        "instances": len(records),
        "feasible_instances": len(feasible),
        "optimal_share": (float(np.mean([abs(x) <= 1e-6 for x in regrets]))
                          if feasible else None),
        "mean_regret": float(np.mean(regrets)) if regrets else None,
        "worst_regret": float(np.max(regrets)) if regrets else None,
        "infeasible_before_repair": float(np.mean([r["step"] != "predicted"
                                                   for r in feasible])) if feasible else None,
        "plans_returned": (float(np.mean([r["objective"] is not None for r in feasible]))
                           if feasible else None),
        "steps": {s: sum(r["step"] == s for r in records) for s in STEPS},
        "constraint_reduction": (float(np.mean([
            1 - r["reduced_size"]["constraints"] / r["full_size"]["constraints"]
            for r in reductions])) if reductions else None),
        "binary_reduction": (float(np.mean([
            1 - r["reduced_size"]["integers"] / r["full_size"]["integers"]
            for r in reductions])) if reductions else None),
        "seconds": float(sum(r["seconds"] for r in records)) + predict_seconds,
        "full_seconds": float(sum(r["full_seconds"] for r in records)),
    })
    summary["time_ratio"] = (summary["seconds"] / summary["full_seconds"]
                             if summary["full_seconds"] else None)
    return summary, records


def split_counts(n: int) -> dict[str, int]:
    """80 / 10 / 10 of ``n`` instances (at least one of each)."""
    val = max(1, round(0.1 * n))
    test = max(1, round(0.1 * n))
    return {"train": max(1, n - val - test), "validation": val, "test": test}


def learn_decomposition(problem, out, n_instances: int, *, seed: int = 0,
                        classifiers=("cnn", "tree", "majority", "knn"), epochs: int = 200,
                        runner=None, progress=None) -> dict:
    """Solve (or reuse) ``n_instances`` instances of ``problem`` (a problem or its name) split
    80/10/10 into ``out/data``, train each classifier on the training split (the CNN stops on
    the validation split), judge it on the test split with :func:`evaluate`, and write
    ``out/<classifier>/`` (the model, ``metrics.json``, ``test.jsonl``) and
    ``out/metrics.json`` (all of them). ``runner`` solves the instances (see
    :func:`~scmgym.planning.decomposition.dataset.generate_dataset`). Returns that summary."""
    import json
    from pathlib import Path

    from scmgym.planning.decomposition.classifiers import make_classifier, save_classifier
    from scmgym.planning.decomposition.dataset import arrays, generate_dataset
    from scmgym.planning.decomposition.problems import get_problem

    out = Path(out)
    if isinstance(problem, str):
        problem = get_problem(problem)
    data = generate_dataset(problem, out / "data", split_counts(n_instances), seed=seed,
                            runner=runner, progress=None if progress is None else
                            lambda split, done, n: progress(f"solve {split}", done, n))
    if problem.kind == "orders":
        from scmgym.planning.decomposition.orders import learn_orders

        summary = learn_orders(problem, out, data, classifiers=classifiers, seed=seed,
                               progress=progress)
        (out / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
        return summary
    train_x, train_y = arrays(data["train"])
    val = arrays(data["validation"])
    labels = train_y.sum(axis=0)
    summary = {"model": problem.name, "seed": seed,
               "instances": {k: len(v) for k, v in data.items()},
               "label_counts_train": dict(zip(problem.labels, map(int, labels), strict=True)),
               "full_seconds_mean": float(np.mean([r["seconds"] for r in data["test"]])),
               "results": {}}
    for name in classifiers:
        t0 = time.perf_counter()
        clf = make_classifier(name, problem, seed=seed, epochs=epochs)
        clf.fit(train_x, train_y, validation=val)
        fit_seconds = time.perf_counter() - t0
        result, records = evaluate(problem, clf, data["test"], progress=None if progress is None
                                   else lambda done, n, name=name: progress(f"test {name}",
                                                                             done, n))
        result["fit_seconds"] = fit_seconds
        folder = save_classifier(clf, problem, out / name)
        (folder / "metrics.json").write_text(json.dumps(result, indent=1) + "\n")
        with (folder / "test.jsonl").open("w") as fh:
            for rec in records:
                fh.write(json.dumps(rec) + "\n")
        summary["results"][name] = result
    (out / "metrics.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
