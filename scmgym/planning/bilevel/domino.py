"""DOMINO: data-driven optimisation of a bi-level problem (Beykal et al., J. Glob. Optim. 78,
2020; extended to several followers by Beykal, Avraamidou and Pistikopoulos, ESCAPE 31, 2021).

One run:

1. **Sample** ``samples`` leader points (Latin hypercube or scrambled Sobol, seeded; integers
   rounded; moved by the leader's ``repair`` to meet its own constraints, which for the
   cyclic plan a random point almost never does) and solve every period's follower at each
   (in parallel through a runner, and
   remembered in the :class:`~scmgym.planning.bilevel.core.FollowerCache`).
2. **Optimise** the leader over that input-output data with a derivative-free optimiser, each
   new point again solving every follower, for ``budget`` more evaluations:

   - ``nomad``: NOMAD's mesh adaptive direct search (``PyNomad``, package ``pynomadbbo``),
     started from the best sampled point. Constraints use NOMAD's **progressive barrier**: the
     leader's inequalities ``g(x) <= 0`` and the number of infeasible periods are ``PB``
     outputs, so an infeasible point is kept and ranked by how infeasible it is.
   - ``optuna`` (TPE) and ``cmaes`` (Optuna's CMA-ES sampler): the sampled points are added
     as the first trials; TPE receives the constraints as each trial's constraint values
     (``Trial.set_constraint``; feasibility-aware), CMA-ES minimises the **penalty** form
     (the total plus ``penalty`` per unit of violation and per infeasible period).

The best point of a run is the cheapest guaranteed-feasible point it evaluated (feasible, if
none is guaranteed); it is then verified by solving every follower again from scratch.
"""

from __future__ import annotations

import math
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from scmgym.errors import MissingExtra, ScmgymError
from scmgym.planning.bilevel.core import (
    BilevelProblem,
    Evaluation,
    FollowerCache,
    evaluate,
    quiet_stdout,
    solve_pending,
    verify,
)

OPTIMISERS = ("nomad", "optuna", "cmaes")
#: NOMAD's seed is the run's seed modulo this (see ``_nomad``)
NOMAD_SEEDS = 1_000_000
SAMPLERS = ("lhs", "sobol")


@dataclass(frozen=True)
class DominoSettings:
    """``samples`` sampled points, then ``budget`` optimiser evaluations per run."""

    samples: int = 40
    budget: int = 160
    sampler: str = "lhs"
    optimiser: str = "nomad"
    penalty: float = 1e4

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ScmgymError(f"sampler {self.sampler!r}; allowed: {', '.join(SAMPLERS)}")
        if self.optimiser not in OPTIMISERS:
            raise ScmgymError(f"optimiser {self.optimiser!r}; allowed: {', '.join(OPTIMISERS)}")
        if self.samples < 1 or self.budget < 0:
            raise ScmgymError(f"samples={self.samples}, budget={self.budget}: need at least "
                              f"1 sample and a budget >= 0")
        if not self.penalty > 0:
            raise ScmgymError(f"penalty={self.penalty}: must be > 0")


def sample(problem: BilevelProblem, n: int, method: str = "lhs", seed: int = 0) -> np.ndarray:
    """``n`` leader points spread over the bounds (scipy's quasi-Monte Carlo designs)."""
    from scipy.stats import qmc

    leader = problem.leader
    d = leader.dimension
    if method == "lhs":
        unit = qmc.LatinHypercube(d=d, seed=seed).random(n)
    elif method == "sobol":
        unit = qmc.Sobol(d=d, scramble=True, seed=seed).random(n)
    else:
        raise ScmgymError(f"sampler {method!r}; allowed: {', '.join(SAMPLERS)}")
    lo, hi = leader.lower, leader.upper
    if leader.integer:  # each integer value gets an equal share of [0, 1)
        pts = np.floor(lo + unit * (hi - lo + 1))
    else:
        pts = qmc.scale(unit, lo, hi)
    return np.array([leader.repair(leader.clip(p)) for p in pts])


@dataclass
class DominoRun:
    """One run: its seed, the best point (verified), and one row per evaluation (index, phase,
    total or None, feasible, guaranteed, best guaranteed total so far)."""

    seed: int
    best: dict | None
    verified: bool
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    evaluations: int = 0

    @property
    def objective(self) -> float | None:
        return None if self.best is None else self.best["total"]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["objective"] = self.objective
        return out


class _Tracker:
    """Evaluations of one run: the history rows and the best points so far."""

    def __init__(self, problem, cache, progress) -> None:
        self.problem, self.cache, self.progress = problem, cache, progress
        self.rows: list[dict] = []
        self.best: Evaluation | None = None  # cheapest guaranteed (else feasible) point

    def __call__(self, x, phase: str) -> Evaluation:
        ev = evaluate(self.problem, x, self.cache)
        if ev.feasible and (self.best is None or _better(ev, self.best)):
            self.best = ev
        self.rows.append({"evaluation": len(self.rows) + 1, "phase": phase, "total": ev.total,
                          "feasible": ev.feasible, "guaranteed": ev.guaranteed,
                          "best": None if self.best is None else self.best.total})
        if self.progress is not None:
            self.progress(1)
        return ev


def _better(a: Evaluation, b: Evaluation) -> bool:
    return (a.guaranteed, -a.total) > (b.guaranteed, -b.total)


def run_domino(problem: BilevelProblem, settings: DominoSettings, seed: int,
               cache: FollowerCache | None = None, runner=None,
               progress: Callable[[int], None] | None = None) -> DominoRun:
    """One DOMINO run (see the module docstring)."""
    start = time.perf_counter()
    cache = cache if cache is not None else FollowerCache()
    points = sample(problem, settings.samples, settings.sampler, seed)
    solve_pending(problem, points, cache, runner)
    track = _Tracker(problem, cache, progress)
    evals = [track(x, "sample") for x in points]
    if settings.budget:
        _OPTIMISERS[settings.optimiser](problem, settings, seed, points, evals, track)
    best, verified = None, False
    if track.best is not None:
        check = verify(problem, track.best.x)
        verified = check.total is not None and math.isclose(check.total, track.best.total,
                                                             rel_tol=1e-6, abs_tol=1e-6)
        best = check.to_dict()
        best["plan"] = problem.leader.plan(np.asarray(check.x))
    return DominoRun(seed=seed, best=best, verified=verified, history=track.rows,
                     seconds=round(time.perf_counter() - start, 3), evaluations=len(track.rows))


def _nomad(problem, settings, seed, points, evals, track) -> None:
    try:
        import PyNomad
    except ImportError as err:
        raise MissingExtra("--optimiser nomad needs PyNomad: pip install pynomadbbo (or use "
                           "--optimiser optuna or cmaes)") from err
    leader = problem.leader
    start = min(range(len(evals)), key=lambda i: _rank(evals[i], settings.penalty))
    n_g = len(evals[0].violations) + 1

    def blackbox(point) -> int:
        x = [point.get_coord(i) for i in range(point.size())]
        ev = track(x, "optimise")
        outputs = [ev.leader_cost + ev.follower_cost, *ev.violations,
                   float(len(ev.infeasible_periods))]
        point.setBBO(" ".join(repr(float(v)) for v in outputs).encode())
        return 1

    d = leader.dimension
    kind = "I" if leader.integer else "R"
    # NOMAD 4.6 starts its random generator by stepping it ``SEED`` times (a seed near 2**31
    # cost 10 s before the first evaluation here), so the run's seed is folded to below 1e6
    nomad_seed = seed % NOMAD_SEEDS
    params = [f"DIMENSION {d}", "BB_OUTPUT_TYPE OBJ " + " ".join(["PB"] * n_g),
              f"BB_INPUT_TYPE ( {' '.join([kind] * d)} )", f"MAX_BB_EVAL {settings.budget}",
              f"SEED {nomad_seed}", "DISPLAY_DEGREE 0"]
    PyNomad.setSeed(nomad_seed)
    with quiet_stdout(), _nomad_sigint():  # NOMAD prints notes to C++'s stdout
        out = PyNomad.optimize(blackbox, [float(v) for v in points[start]],
                               list(map(float, leader.lower)), list(map(float, leader.upper)),
                               params)
    if "ctrl-c" in str(out.get("stop_reason", "")).lower():
        raise KeyboardInterrupt("Ctrl-C during NOMAD")


@contextmanager
def _nomad_sigint() -> Iterator[None]:
    """Put Python's SIGINT handler back after NOMAD.

    NOMAD 4.6 installs its own C-level SIGINT handler when it starts and leaves it in place:
    afterwards Ctrl-C no longer reaches Python anywhere in the process, and once NOMAD has
    caught one it ignores SIGINT, which every later child process inherits. During the
    optimisation NOMAD's handler stops it cleanly (its stop reason then says Ctrl-C, and
    ``_nomad`` raises KeyboardInterrupt); after it, ``signal.signal`` reinstates Python's
    handler (a no-op outside the main thread, where Python cannot set handlers)."""
    previous = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        if previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)


def _rank(ev: Evaluation, penalty: float) -> tuple:
    return (not ev.feasible, ev.penalised(penalty))


def _optuna(problem, settings, seed, points, evals, track, cma: bool = False) -> None:
    import optuna

    leader = problem.leader
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if cma:
        try:
            import cmaes  # noqa: F401
        except ImportError as err:
            raise MissingExtra("--optimiser cmaes needs the cmaes package: pip install cmaes"
                               ) from err
        sampler = optuna.samplers.CmaEsSampler(seed=seed % 2**31, n_startup_trials=0,
                                               warn_independent_sampling=False)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed % 2**31)  # reads trial.constraints
    study = optuna.create_study(sampler=sampler)
    names = leader.names

    def params(x):
        return {n: (int(v) if leader.integer else float(v)) for n, v in zip(names, x, strict=True)}

    def constraints(ev: Evaluation) -> dict[str, float]:
        """The leader's ``g(x)`` and the infeasible periods, as Optuna constraints (<= 0)."""
        out = {f"g{i}": float(v) for i, v in enumerate(ev.violations)}
        out["infeasible_periods"] = float(len(ev.infeasible_periods))
        return out

    def record(trial, ev: Evaluation) -> float:
        if not cma:  # CMA-ES ignores constraints: it minimises the penalty form alone
            for key, value in constraints(ev).items():
                trial.set_constraint(key, value)
        return ev.penalised(settings.penalty)

    # the sampled points are the first trials (their answers are known; no re-solving)
    for x, ev in zip(points, evals, strict=True):
        dists = {n: (optuna.distributions.IntDistribution(int(lo), int(hi)) if leader.integer
                     else optuna.distributions.FloatDistribution(float(lo), float(hi)))
                 for n, lo, hi in zip(names, leader.lower, leader.upper, strict=True)}
        trial = optuna.trial.create_trial(
            params=params(x), distributions=dists, value=ev.penalised(settings.penalty),
            constraints=None if cma else constraints(ev))
        study.add_trial(trial)

    def objective(trial) -> float:
        x = [trial.suggest_int(n, int(lo), int(hi)) if leader.integer
             else trial.suggest_float(n, float(lo), float(hi))
             for n, lo, hi in zip(names, leader.lower, leader.upper, strict=True)]
        return record(trial, track(x, "optimise"))

    study.optimize(objective, n_trials=settings.budget)


_OPTIMISERS: dict[str, Callable[..., None]] = {
    "nomad": _nomad,
    "optuna": _optuna,
    "cmaes": lambda *a: _optuna(*a, cma=True),
}


@dataclass
class DominoResult:
    """Several runs: the best verified plan over runs, the mean and standard error of the runs'
    best totals (runs without a feasible point are counted apart)."""

    problem: str
    settings: dict
    runs: list[DominoRun]
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> DominoRun | None:
        ok = [r for r in self.runs if r.objective is not None]
        if not ok:
            return None
        return min(ok, key=lambda r: (not r.best["guaranteed_feasible"], r.objective))

    def summary(self) -> dict[str, Any]:
        vals = [r.objective for r in self.runs if r.objective is not None]
        best = self.best
        return {
            "runs": len(self.runs), "runs_feasible": len(vals),
            "runs_guaranteed": sum(1 for r in self.runs if r.best and
                                   r.best["guaranteed_feasible"] and r.verified),
            "objective": None if best is None else best.objective,
            "guaranteed_feasible": bool(best and best.best["guaranteed_feasible"]
                                        and best.verified),
            "mean": statistics.fmean(vals) if vals else None,
            "stderr": (statistics.stdev(vals) / math.sqrt(len(vals))) if len(vals) > 1 else None,
            "worst": max(vals) if vals else None,
            "evaluations_per_run": statistics.fmean(r.evaluations for r in self.runs)
            if self.runs else 0,
            "seconds": self.seconds,
        }

    def to_dict(self) -> dict:
        best = self.best
        return {"problem": self.problem, "settings": self.settings, **self.summary(),
                "plan": None if best is None else best.best["plan"],
                "best": None if best is None else best.best,
                "run_results": [r.to_dict() for r in self.runs], **self.extra}
