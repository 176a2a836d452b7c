"""Policies on instances they never saw: a saved policy, applied without retraining, against
per-instance references.

For every instance of the targets (any bounded dataset text of :mod:`scmgym.core.instances`,
e.g. ``list2,list3,generated:test:50``) the policy plays ``seeds`` episodes of the ``test``
seed stream, and is set beside:

* **the reference**, the best plan known for that instance alone:
  make-or-buy: the per-instance MILP plan (``"milp"``, default; HiGHS with a time limit)
  simulated on the same seeds (common random numbers); HFS: a per-instance search (``"search"``,
  default; the GA with ``search_budget`` simulations, seed 0);
  either plant can use the other's (``"milp"`` is make-or-buy only) or ``"none"``;
* **a baseline** that needs no learning: EDD (HFS) and all-buy (make-or-buy);
* HFS only: the instance's analytic lower bound.

Make-or-buy rows give the policy's mean revenue in % of the reference's mean (higher is
better; 100 % matches the plan that knew the instance), with a 95 % t-interval of the mean
over the seeds. HFS rows give the gap of the policy's mean makespan to the reference and to the
lower bound, in % (lower is better). The aggregate of a target is the mean over its instances
with a 95 % t-interval over the instances. References are cached by instance content
(:func:`~scmgym.core.instances.instance_digest`) and settings, so a second evaluation on the
same instances solves nothing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.core import Problem
from scmgym.core.instances import instance_digest, parse_source, split_top_level
from scmgym.core.io import write_json
from scmgym.errors import DataError

log = logging.getLogger(__name__)

#: The references per plant: the default first.
REFERENCES = {"make-or-buy": ("milp", "search", "none"), "hfs": ("search", "none")}
#: The seed stream of the episodes (held out from training and re-evaluation).
STREAM = "test"


@dataclass
class SavedPolicy:
    """A policy read from a run directory (or a ``policy.json``), with what it was trained
    on: ``plant``, ``settings`` (HFS workers), ``env_kwargs`` and ``trained_on`` (the
    training dataset text)."""

    path: Path
    data: dict[str, Any]
    plant: str
    settings: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    trained_on: str | None = None
    method: str | None = None

    def load(self):
        """The policy object (a tree, a plan or an SB3 model)."""
        from scmgym.experiments.methods import load_run_policy

        return load_run_policy(self.path, self.data)


def read_policy(path: str | Path, *, workers: Sequence[int] | str | None = None) -> SavedPolicy:
    """The policy of a run directory (``policy.json`` and ``config.json``) or of a
    ``policy.json`` file.

    Args:
        path: the run directory or the policy file.
        workers: the HFS crew to test with (default: the training run's).

    Raises:
        DataError: no policy there, a plan (a plan is one instance's solution, not a
            policy), or a policy of an unknown plant.
    """
    path = Path(path)
    run_dir = path if path.is_dir() else path.parent
    file = path / "policy.json" if path.is_dir() else path
    if not file.is_file():
        raise DataError("no policy here", source=str(path),
                        allowed="a run directory holding policy.json, or a policy.json file")
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"not a policy file ({exc})", source=str(file)) from None
    if data.get("kind") == "plan":
        raise DataError("a plan is the solution of one instance; it cannot be applied to "
                        "other instances", source=str(file), value="plan",
                        allowed="a policy: a tree (eldt, gp) or a PPO model")
    config_file = run_dir / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    problem = dict(config.get("problem") or {})
    plant = problem.get("plant") or data.get("plant")
    if plant is None:
        plant = "make-or-buy" if data.get("schema", {}).get("actions") == ["make", "buy"] \
            else "hfs"
    settings = {k: v for k, v in problem.items() if k not in ("plant", "dataset")}
    if workers is not None:
        from scmgym.core.problem import parse_workers

        settings["workers"] = list(parse_workers(workers))
    env_kwargs = dict(data.get("env_kwargs") or (config.get("hparams") or {})
                      .get("env_kwargs") or {})
    return SavedPolicy(run_dir, data, plant, settings, env_kwargs, problem.get("dataset"),
                       config.get("method") or data.get("kind"))


# -- references ------------------------------------------------------------------------------

def default_cache() -> Path:
    """``$SCMGYM_CACHE`` or ``~/.cache/scmgym``, where references are kept."""
    return Path(os.environ.get("SCMGYM_CACHE") or Path.home() / ".cache" / "scmgym")


def _cached(cache: Path | None, key: dict[str, Any], compute):
    if cache is None:
        return compute()
    name = json.dumps(key, sort_keys=True)
    import hashlib

    file = cache / "references" / (hashlib.sha256(name.encode()).hexdigest()[:20] + ".json")
    if file.is_file():
        try:
            saved = json.loads(file.read_text())
            if saved.get("key") == key:
                return saved["value"]
        except (OSError, ValueError):
            pass
    value = compute()
    file.parent.mkdir(parents=True, exist_ok=True)
    # a temporary file of this process's own: parallel runs may solve the same reference
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": key, "value": value}, indent=2))
    os.replace(tmp, file)
    return value


def reference_plan(problem: Problem, kind: str, *, search_budget: int = 5000,
                   milp_time_limit: float = 60.0, cache: Path | None = None) -> dict[str, Any]:
    """The per-instance reference plan: ``{"kind", "solution", "status", "seconds"}``."""
    key = {"plant": problem.plant, "instance": instance_digest(problem.instance),
           "settings": problem.settings, "kind": kind}
    if kind == "milp":
        key["time_limit"] = milp_time_limit
    elif kind == "search":
        key.update(method="ga", budget=search_budget, seed=0)

    def solve() -> dict[str, Any]:
        start = time.perf_counter()
        if kind == "milp":
            from scmgym.baselines.milp.common import SolverOptions
            from scmgym.baselines.milp.make_or_buy import solve_make_or_buy

            res = solve_make_or_buy(problem.instance, eval_seeds=0,
                                    options=SolverOptions(time_limit=milp_time_limit))
            if res.decisions is None:  # no plan within the time limit: buy everything
                solution, status = [1] * problem.instance.n, f"{res.status} (no plan: all-buy)"
            else:
                solution, status = [int(x) for x in res.decisions], str(res.status)
        else:
            from scmgym.experiments.methods import run_method

            res = run_method("ga", problem, search_budget, seed=0, eval_episodes=0)
            solution, status = [int(x) for x in res.best_solution], "budget"
        return {"kind": kind, "solution": solution, "status": status,
                "seconds": time.perf_counter() - start}

    return _cached(cache, key, solve)


# -- one instance ----------------------------------------------------------------------------

def _ci95(values: np.ndarray) -> float:
    """Half-width of the 95 % t-interval of the mean (0 for one value)."""
    from scipy import stats

    if values.size < 2:
        return 0.0
    return float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))


def evaluate_instance(saved: SavedPolicy, dataset: str, *, seeds: int = 100,
                      reference: str | None = None, search_budget: int = 5000,
                      milp_time_limit: float = 60.0, cache: Path | None = None,
                      policy=None, trained: set[str] | None = None) -> dict[str, Any]:
    """One row: the policy, the reference, the baseline (and the HFS bound) on one instance."""
    from scmgym.policies import PlanPolicy, evaluate

    problem = Problem(saved.plant, dataset, **{k: tuple(v) for k, v in saved.settings.items()})
    policy = saved.load() if policy is None else policy
    env_kwargs = dict(saved.env_kwargs)
    if env_kwargs.get("action") == "priority" and "priorities" not in env_kwargs:
        # numeric priorities (PPO's HFS variant) keep the range the policy was trained with
        # on an instance of another size: only their order matters
        env_kwargs["priorities"] = int(policy.action_space.n)
    ev = evaluate(policy, problem, seeds, stream=STREAM, env_kwargs=env_kwargs)
    values = np.asarray(ev["values"], dtype=float)
    inst = problem.instance
    row: dict[str, Any] = {"instance": inst.name, "orders": inst.n,
                           "digest": instance_digest(inst), "seeds": seeds,
                           "seen_in_training": None if trained is None
                           else instance_digest(inst) in trained,
                           "policy_mean": float(values.mean()),
                           "policy_sd": float(values.std(ddof=1)) if values.size > 1 else 0.0,
                           "policy_ci95": _ci95(values)}
    kind = reference or REFERENCES[saved.plant][0]
    if kind not in REFERENCES[saved.plant]:
        raise DataError(f"no reference {kind!r} for the {problem.spec.title}", value=kind,
                        allowed=", ".join(REFERENCES[saved.plant]))
    ref_value = None
    if kind != "none":
        ref = reference_plan(problem, kind, search_budget=search_budget,
                             milp_time_limit=milp_time_limit, cache=cache)
        ref_ev = evaluate(PlanPolicy(ref["solution"]), problem, seeds, stream=STREAM)
        ref_value = float(ref_ev["mean"])
        row.update(reference=kind, reference_value=ref_value, reference_status=ref["status"],
                   reference_seconds=ref["seconds"])
    if saved.plant == "hfs":
        from scmgym.simulators import hfs

        row["baseline"] = "edd"
        row["baseline_value"] = problem.evaluate(list(hfs.edd_order(inst)))
        bound = problem.lower_bound()
        row["lower_bound"] = bound
        row["gap_to_bound_pct"] = 100.0 * (row["policy_mean"] - bound) / bound
        if ref_value is not None:
            row["gap_to_reference_pct"] = 100.0 * (row["policy_mean"] - ref_value) / ref_value
            row["gap_to_reference_ci95"] = 100.0 * row["policy_ci95"] / ref_value
    else:
        row["baseline"] = "all-buy"
        row["baseline_value"] = float(evaluate(PlanPolicy([1] * inst.n), problem, 1,
                                               stream=STREAM)["mean"])
        if ref_value is not None:
            row["pct_of_reference"] = 100.0 * row["policy_mean"] / ref_value
            row["pct_of_reference_ci95"] = 100.0 * row["policy_ci95"] / ref_value
    return row


def _instance_task(shared: dict[str, Any], task: tuple[int, str]) -> dict[str, Any]:
    """A backend task: one instance's row (the policy is loaded once per worker)."""
    saved: SavedPolicy = shared["saved"]
    cache_key = ("policy", str(saved.path))
    policy = _WORKER_CACHE.get(cache_key)
    if policy is None:
        policy = _WORKER_CACHE[cache_key] = saved.load()
    return evaluate_instance(saved, task[1], policy=policy, **shared["options"])


_WORKER_CACHE: dict[Any, Any] = {}


# -- many instances --------------------------------------------------------------------------

def aggregate(rows: list[dict[str, Any]], plant: str) -> dict[str, Any]:
    """The aggregate of some instances' rows: means, 95 % t-intervals over the instances, the
    worst instance and the baseline on the same scale."""
    key = "pct_of_reference" if plant == "make-or-buy" else "gap_to_reference_pct"
    out: dict[str, Any] = {"instances": len(rows),
                           "policy_mean": float(np.mean([r["policy_mean"] for r in rows])),
                           "baseline_mean": float(np.mean([r["baseline_value"] for r in rows]))}
    vals = np.array([r[key] for r in rows if r.get(key) is not None], dtype=float)
    if vals.size:
        out[key] = float(vals.mean())
        out[key + "_ci95"] = _ci95(vals)
        out["worst_" + key] = float(vals.min() if plant == "make-or-buy" else vals.max())
    refs = [r for r in rows if r.get("reference_value")]
    if refs:  # the baseline on the same scale (all-buy in %, EDD's gap in %)
        base = [100.0 * r["baseline_value"] / r["reference_value"] if plant == "make-or-buy"
                else 100.0 * (r["baseline_value"] - r["reference_value"]) / r["reference_value"]
                for r in refs]
        out["baseline_" + key] = float(np.mean(base))
    if plant == "hfs":
        gaps = np.array([r["gap_to_bound_pct"] for r in rows], dtype=float)
        out["gap_to_bound_pct"] = float(gaps.mean())
        out["gap_to_bound_pct_ci95"] = _ci95(gaps)
    return out


def evaluate_on(saved: SavedPolicy | str | Path, targets: str, *, seeds: int = 100,
                reference: str | None = None, search_budget: int = 5000,
                milp_time_limit: float = 60.0, cache: Path | None = None, jobs: int = 1,
                progress: bool | None = None) -> dict[str, Any]:
    """A saved policy on every instance of ``targets`` (see the module docstring).

    Args:
        saved: a :class:`SavedPolicy` or the path of a run directory / ``policy.json``.
        targets: a comma-separated list of bounded dataset texts (``list2,generated:test:50``);
            each is aggregated on its own and all together.
        seeds: episodes per instance (test stream).
        reference: ``"milp"``, ``"search"`` or ``"none"`` (default: the plant's first of
            :data:`REFERENCES`).
        search_budget, milp_time_limit: of the references.
        cache: where references are kept (None: not kept).
        jobs: instances evaluated in parallel (local processes).
        progress: a progress bar (default: when stderr is a terminal).

    Returns:
        ``{"policy", "plant", "trained_on", "targets": {target: {"rows", "aggregate"}},
        "overall"}``.
    """
    from scmgym.experiments.backends import LocalBackend

    if not isinstance(saved, SavedPolicy):
        saved = read_policy(saved)
    if not (isinstance(seeds, int) and seeds >= 1):
        raise DataError("seeds must be a positive integer", column="seeds", value=seeds,
                        allowed="an integer >= 1")
    kind = reference or REFERENCES[saved.plant][0]
    if kind not in REFERENCES[saved.plant]:
        raise DataError(f"no reference {kind!r} for this plant", column="reference", value=kind,
                        allowed=", ".join(REFERENCES[saved.plant]))
    members = split_top_level(targets)
    tasks: list[tuple[int, str]] = []
    spans: dict[str, range] = {}  # target -> the indices of its instances' tasks
    for m in members:
        source = parse_source(saved.plant, m)
        if not source.bounded:
            raise DataError("a test set must be finite", value=m,
                            allowed="a split with a count, e.g. generated:test:50")
        spans[m] = range(len(tasks), len(tasks) + source.size)
        tasks += [(i, name) for i, name in zip(spans[m], source.names, strict=True)]
    trained = _training_digests(saved)
    options = {"seeds": seeds, "reference": kind, "search_budget": search_budget,
               "milp_time_limit": milp_time_limit, "cache": cache, "trained": trained}
    shared = {"saved": saved, "options": options}
    rows: dict[int, dict[str, Any]] = {}
    bar = _bar(len(tasks), progress)
    for task, row in LocalBackend(jobs).run(_instance_task, tasks, shared):
        rows[task[0]] = row
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    out: dict[str, Any] = {"policy": str(saved.path), "method": saved.method,
                           "plant": saved.plant, "settings": saved.settings,
                           "trained_on": saved.trained_on, "seeds": seeds, "stream": STREAM,
                           "reference": kind, "targets": {}}
    for m, indices in spans.items():
        group = [rows[i] for i in indices]
        out["targets"][m] = {"rows": group, "aggregate": aggregate(group, saved.plant)}
    out["overall"] = aggregate([rows[i] for i in sorted(rows)], saved.plant)
    return out


#: The file a suite's policy run keeps its test results in.
GENERALISATION_FILE = "generalisation.json"


def generalise_run(run_dir: str | Path, targets: str, *, seeds: int = 100,
                   cache: Path | None = None) -> dict[str, Any]:
    """A run's policy on ``targets`` (:func:`evaluate_on`, default reference), written to
    ``run_dir/generalisation.json``; reused when that file holds the same targets and seeds."""
    file = Path(run_dir) / GENERALISATION_FILE
    if file.is_file():
        try:
            saved = json.loads(file.read_text())
            if (saved.get("test"), saved.get("seeds")) == (targets, seeds):
                return saved
        except (OSError, ValueError):
            pass
    result = evaluate_on(Path(run_dir), targets, seeds=seeds, cache=cache, progress=False)
    result["test"] = targets
    result["policy"] = Path(run_dir).name
    write_json(file, result)
    return result


def _training_digests(saved: SavedPolicy) -> set[str] | None:
    """The content digests of the training instances (None when unknown or unbounded)."""
    if not saved.trained_on:
        return None
    try:
        source = parse_source(saved.plant, saved.trained_on)
        if not source.bounded or (source.size or 0) > 1000:
            return None
        return {instance_digest(i) for i in source.instances()}
    except DataError:
        return None


def _bar(total: int, progress: bool | None):
    import sys

    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="instances", unit="instance")


# -- text ------------------------------------------------------------------------------------

def format_result(result: dict[str, Any]) -> str:
    """The result as aligned text: a table per target, then the aggregates."""
    plant = result["plant"]
    mob = plant == "make-or-buy"
    lines = [f"policy {result['policy']} ({result['method']}), trained on "
             f"{result['trained_on']}; {result['seeds']} episodes per instance "
             f"(test seed stream); reference: {result['reference']}"]
    if mob:
        head = f"{'instance':<30} {'orders':>6} {'policy':>9} {'±95%':>6} {'reference':>9} " \
               f"{'% of ref':>8} {'all-buy':>8}"
    else:
        head = f"{'instance':<30} {'orders':>6} {'policy':>8} {'±95%':>6} {'reference':>9} " \
               f"{'gap %':>6} {'bound':>6} {'gap %':>6} {'EDD':>6}"
    for target, part in result["targets"].items():
        lines += ["", f"{target}:", head]
        for r in part["rows"]:
            seen = " (seen in training)" if r.get("seen_in_training") else ""
            ref = r.get("reference_value")
            if mob:
                pct = r.get("pct_of_reference")
                lines.append(f"{r['instance']:<30} {r['orders']:>6} {r['policy_mean']:>9.1f} "
                             f"{r['policy_ci95']:>6.1f} {_num(ref, 9, 1)} {_num(pct, 8, 2)} "
                             f"{r['baseline_value']:>8.0f}{seen}")
            else:
                lines.append(f"{r['instance']:<30} {r['orders']:>6} {r['policy_mean']:>8.1f} "
                             f"{r['policy_ci95']:>6.1f} {_num(ref, 9, 0)} "
                             f"{_num(r.get('gap_to_reference_pct'), 6, 2)} "
                             f"{r['lower_bound']:>6} {r['gap_to_bound_pct']:>6.2f} "
                             f"{r['baseline_value']:>6.0f}{seen}")
    lines.append("")
    for target, part in [*result["targets"].items(), ("all", {"aggregate": result["overall"]})]:
        a = part["aggregate"]
        if mob and "pct_of_reference" in a:
            lines.append(f"{target}: {a['instances']} instance(s), mean {a['pct_of_reference']:.2f}"
                         f" % of the reference (± {a['pct_of_reference_ci95']:.2f}, worst "
                         f"{a['worst_pct_of_reference']:.2f} %; all-buy "
                         f"{a['baseline_pct_of_reference']:.2f} %)")
        elif not mob:
            ref = (f"gap to the reference {a['gap_to_reference_pct']:.2f} % (± "
                   f"{a['gap_to_reference_pct_ci95']:.2f}, worst "
                   f"{a['worst_gap_to_reference_pct']:.2f} %; EDD "
                   f"{a['baseline_gap_to_reference_pct']:.2f} %), "
                   if "gap_to_reference_pct" in a else "")
            lines.append(f"{target}: {a['instances']} instance(s), {ref}gap to the lower bound "
                         f"{a['gap_to_bound_pct']:.2f} %")
        else:
            lines.append(f"{target}: {a['instances']} instance(s), mean revenue "
                         f"{a['policy_mean']:.1f}")
    return "\n".join(lines)


def _num(value: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"
