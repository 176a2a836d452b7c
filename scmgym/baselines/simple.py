"""Random search, the EDD greedy heuristic and Optuna TPE: schedule-as-a-whole baselines.

Each method is ``method(evaluator, seed, **hyperparameters)``: it proposes whole solutions to the
:class:`~scmgym.core.BudgetedEvaluator` until it is done or the budget is spent.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from scmgym.core import BudgetedEvaluator
from scmgym.errors import BudgetExhausted

log = logging.getLogger(__name__)
#: Candidates random search simulates per batch.
_RANDOM_BATCH = 64


def random_search(ev: BudgetedEvaluator, seed: int) -> dict[str, Any]:
    """Uniformly random solutions (shuffled permutations / fair coin flips) until the budget."""
    rng = np.random.default_rng(seed)
    n = ev.problem.size
    while True:  # batches through the plant's batch path; the same candidates one by one
        batch = max(1, min(_RANDOM_BATCH, ev.remaining))
        if ev.problem.kind == "permutation":
            ev.many([rng.permutation(n).tolist() for _ in range(batch)])
        else:
            ev.many([rng.integers(0, 2, size=n).tolist() for _ in range(batch)])


def edd_greedy(ev: BudgetedEvaluator, seed: int, tie_break: str = "stable") -> dict[str, Any]:
    """HFS only: earliest due date first; one simulation.

    ``tie_break="stable"`` (default) keeps CSV order among equal due dates; ``"quicksort"`` is
    the original script's unstable pandas default sort (implementation-defined ties).
    """
    from scmgym.simulators import hfs

    if not isinstance(ev.problem.instance, hfs.HFSInstance):
        raise ValueError("edd_greedy applies to the HFS plant only (it orders by due date)")

    ev(list(hfs.edd_order(ev.problem.instance, tie_break=tie_break)))
    return {"tie_break": tie_break}


#: Checked by :func:`optuna_tpe`: ``None`` keeps Optuna's default, else the range named.
_TPE_OPTIONS = {
    "n_startup_trials": (0, "None (Optuna's default, 10) or an integer >= 0"),
    "n_ei_candidates": (1, "None (Optuna's default, 24) or an integer >= 1"),
    "window": (1, "None (every trial, the default) or an integer >= 1"),
}


def optuna_tpe(ev: BudgetedEvaluator, seed: int, *, batch: int = 1,
               n_startup_trials: int | None = None, n_ei_candidates: int | None = None,
               multivariate: bool | None = None, window: int | None = None) -> dict[str, Any]:
    """Optuna's TPE sampler, one study per run seeded with ``seed``.

    Make-or-buy: one 0/1 variable per order. HFS: one integer priority 0..n per order; the ids are
    stably sorted by priority, descending (ties keep CSV order), as in the original script.

    The defaults are ``TPESampler(seed=seed)`` with Optuna's own settings, and give the same
    trials as ``study.optimize`` with one ``suggest_int`` per variable. The loop is
    ``study.ask(search_space)`` / ``study.tell`` with the search space defined once, and the
    sampler computes the internal representation of each finished trial once instead of at
    every trial and evaluates Optuna's normal CDFs compiled, with the same bits (see
    :func:`_tpe_sampler`); all of this changes the cost, not the suggestions.

    The other options change the algorithm (variants, off by default):

    - ``batch``: ask this many trials before simulating them in one batch and telling them (the
      pending ones enter the estimators through Optuna's constant liar).
    - ``n_startup_trials``, ``n_ei_candidates``, ``multivariate``: ``TPESampler`` arguments;
      ``None`` keeps Optuna's default (10, 24, and multivariate for one objective in Optuna 5).
    - ``window``: the estimators see only the last ``window`` finished trials (plus pending
      ones), which bounds the cost per trial.
    """
    import optuna

    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
        raise ValueError(f"batch={batch!r}; allowed: an integer >= 1 (1, the default: one trial "
                         "at a time)")
    given = {"n_startup_trials": n_startup_trials, "n_ei_candidates": n_ei_candidates,
             "window": window}
    for name, value in given.items():
        low, allowed = _TPE_OPTIONS[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)
                                  or value < low):
            raise ValueError(f"{name}={value!r}; allowed: {allowed}")
    if not (multivariate is None or isinstance(multivariate, bool | np.bool_)):
        raise ValueError(f"multivariate={multivariate!r}; allowed: None (Optuna's default), "
                         "true or false")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = ev.problem
    n = problem.size
    binary = problem.kind == "binary"
    # The variables in the order the old objective suggested them (the startup trials' random
    # draws follow this order).
    space = {(f"x{k}" if binary else str(k)): optuna.distributions.IntDistribution(0, 1 if binary
                                                                                   else n)
             for k in range(n)}
    kwargs = {name: value for name, value in (("n_startup_trials", n_startup_trials),
                                              ("n_ei_candidates", n_ei_candidates),
                                              ("multivariate", multivariate))
              if value is not None}
    sampler = _tpe_sampler(space, seed=seed, window=window, **kwargs)
    study = optuna.create_study(direction="minimize" if problem.direction == "min" else "maximize",
                                sampler=sampler)
    names = list(space)

    def solution(trial: optuna.Trial) -> list[int]:
        params = trial.params
        if binary:
            return [int(params[name]) for name in names]
        values = [params[name] for name in names]
        return sorted(range(n), key=lambda k: -values[k])

    told = 0
    try:
        while ev.remaining > 0:
            trials = [study.ask(space) for _ in range(min(int(batch), ev.remaining))]
            solutions = [solution(trial) for trial in trials]
            values = [ev(solutions[0])] if len(trials) == 1 else ev.many(solutions)
            for trial, value in zip(trials, values, strict=True):
                study.tell(trial, value)
                told += 1
    except BudgetExhausted:  # an evaluator shared with another consumer: its budget ends it
        pass
    return {"trials": told}


def optuna_tpe_reference(ev: BudgetedEvaluator, seed: int) -> dict[str, Any]:
    """The plain Optuna path :func:`optuna_tpe` must equal: ``study.optimize`` with Optuna's own
    ``TPESampler(seed=seed)`` and one ``suggest_int`` per variable, as the original script did.

    Not a registered method: the test of the default path and ``benchmarks/bench_tpe.py`` compare
    against it (same trials, and the cost per trial of both).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = ev.problem
    n = problem.size
    study = optuna.create_study(direction="minimize" if problem.direction == "min" else "maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))

    def objective(trial: optuna.Trial) -> float:
        if problem.kind == "binary":
            x = [trial.suggest_int(f"x{k}", 0, 1) for k in range(n)]
        else:
            values = [trial.suggest_int(str(k), 0, n) for k in range(n)]
            x = sorted(range(n), key=lambda k: -values[k])
        return ev(x)

    try:
        study.optimize(objective, n_trials=ev.remaining, catch=())
    except BudgetExhausted:
        pass
    return {"trials": len(study.trials)}


def _tpe_sampler(space: dict[str, Any], *, seed: int, window: int | None = None,
                 **kwargs: Any):
    """``TPESampler(seed=seed, **kwargs)`` that memoises the internal representation of finished
    trials (and keeps only the last ``window`` finished trials when ``window`` is set).

    Optuna's TPE rebuilds, at every trial, a Python list of every parameter of every previous
    trial (``TPESampler._get_internal_repr``), which costs O(trials x parameters) interpreted
    steps per trial. With the search space fixed up front, each finished trial's row is the same
    at every later trial; :class:`_MemoTPESampler` computes it once and returns the same
    float64 arrays. Each sampling also runs with Optuna's log normal CDF replaced by a compiled
    one with the same bits (:mod:`scmgym.baselines.tpe_numerics`). If this Optuna's sampler does
    not have the hooks it overrides (a private API), the plain ``TPESampler`` is used (``window``
    then raises).
    """
    import optuna

    cls = _memo_sampler_class()
    if cls is None:
        if window is not None:
            raise ValueError(f"window={window!r} needs optuna's TPESampler._sample hook, absent "
                             f"in optuna {optuna.__version__}; allowed: None")
        return optuna.samplers.TPESampler(seed=seed, **kwargs)
    return cls(space, window=window, seed=seed, **kwargs)


_MEMO_CLASS: list[Any] = []


def _memo_sampler_class():
    """The :class:`TPESampler` subclass (built on first use), or None if the hooks it needs
    are not those of the installed Optuna."""
    if _MEMO_CLASS:
        return _MEMO_CLASS[0]
    import inspect

    from optuna.samplers import TPESampler

    from scmgym.baselines.tpe_numerics import optuna_numerics

    def params(name: str) -> list[str] | None:
        fn = getattr(TPESampler, name, None)
        return None if fn is None else list(inspect.signature(fn).parameters)

    if (params("_get_internal_repr") != ["self", "trials", "search_space", "study"]
            or params("_sample") != ["self", "study", "trial", "search_space"]
            or params("_get_params") != ["self", "trial", "study"]):
        _MEMO_CLASS.append(None)
        return None

    class _MemoTPESampler(TPESampler):
        """TPESampler computing each finished trial's internal representation once."""

        def __init__(self, space: dict[str, Any], *, window: int | None = None,
                     **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._space = dict(space)
            self._column = {name: j for j, name in enumerate(self._space)}
            self._rows = np.empty((64, len(self._space)))  # row k: trial number k
            self._known = np.zeros(64, dtype=bool)
            self._columns_of: dict[tuple, np.ndarray | None] = {}
            self._window = window

        def _columns(self, search_space: dict[str, Any]) -> np.ndarray | None:
            key = tuple(search_space.items())
            if key not in self._columns_of:
                fits = all(self._space.get(name) == dist for name, dist in key)
                self._columns_of[key] = (np.array([self._column[name] for name, _ in key],
                                                  dtype=np.intp) if fits else None)
            return self._columns_of[key]

        def _known_row(self, trial) -> bool:
            """Whether the trial's row is stored (storing it if the trial is one of ours)."""
            k = trial.number
            if k < len(self._known) and self._known[k]:
                return True
            if trial.distributions != self._space:
                return False
            while k >= len(self._known):
                self._rows = np.concatenate([self._rows, np.empty_like(self._rows)])
                self._known = np.concatenate([self._known, np.zeros_like(self._known)])
            params = trial.params
            self._rows[k] = [dist.to_internal_repr(params[name])
                             for name, dist in self._space.items()]
            self._known[k] = True
            return True

        def _get_internal_repr(self, trials, search_space, study):
            columns = self._columns(search_space)
            if columns is None:
                return super()._get_internal_repr(trials, search_space, study)
            index: list[int] = []  # a stored row, or -1 - j for pending[j]
            pending: list[list[float]] = []
            for trial in trials:
                if trial.state.is_finished():
                    if not self._known_row(trial):
                        return super()._get_internal_repr(trials, search_space, study)
                    index.append(trial.number)
                    continue
                params = self._get_params(trial, study)  # a running trial, as Optuna does
                if search_space.keys() <= params.keys():
                    pending.append([dist.to_internal_repr(params[name])
                                    for name, dist in search_space.items()])
                    index.append(-1 - (len(pending) - 1))
            at = np.asarray(index, dtype=np.intp)
            out = np.empty((len(at), len(columns)))
            stored = at >= 0
            out[stored] = self._rows[np.ix_(at[stored], columns)]
            if pending:
                out[~stored] = np.asarray(pending)[-1 - at[~stored]]
            return {name: np.ascontiguousarray(out[:, j]) for j, name in enumerate(search_space)}

        def _sample(self, study, trial, search_space):
            if self._window is not None:
                study = _WindowedStudy(study, self._window)
            with optuna_numerics():  # compiled, same bits (scmgym.baselines.tpe_numerics)
                return super()._sample(study, trial, search_space)

    _MEMO_CLASS.append(_MemoTPESampler)
    return _MemoTPESampler


class _WindowedStudy:
    """A study seen by TPE's estimators through a window: only its last ``window`` finished
    trials (and the running ones) are returned by ``_get_trials``; all else is the study's."""

    def __init__(self, study: Any, window: int) -> None:
        self._study = study
        self._window = window

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def _get_trials(self, deepcopy: bool = True, states=None, use_cache: bool = False):
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)
        finished = [t for t in trials if t.state.is_finished()]
        if len(finished) <= self._window:
            return trials
        keep = {t.number for t in finished[-self._window:]}
        return [t for t in trials if not t.state.is_finished() or t.number in keep]
