"""Suites: a named, versioned list of problems and methods with their budget and seeds.

A suite is a small TOML file (the format is in ``docs/experiments.md``); ``paper`` (the study's
protocol) and ``smoke`` (a minute-long check) ship with the package. :func:`load_suite` checks
all of it before anything runs: every key, value, problem, method and hyperparameter. An error
names the file, the line, the key and what is allowed.

>>> suite = load_suite("paper")
>>> suite.name, suite.budget, suite.runs, len(suite.problems), len(suite.methods)
('paper', 5000, 10, 8, 9)
>>> [p.id for p in suite.problems][:2], suite.problems[3].problem.workers
(['hfs:d1', 'hfs:d2'], (1, 4, 1))
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from scmgym.core import Problem
from scmgym.core.io import jsonable
from scmgym.errors import DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: The suites that ship with the package.
BUNDLED = ("paper", "smoke", "generalisation", "trees", "trees-hfs")

_TOP = {  # key: (type, check, allowed)
    "name": (str, lambda v: bool(v.strip()), "a non-empty string"),
    "version": (int, lambda v: v >= 1, "an integer >= 1"),
    "description": (str, lambda v: True, "a string"),
    "budget": (int, lambda v: v >= 1, "a positive number of simulations"),
    "runs": (int, lambda v: v >= 1, "a positive number of seeds"),
    "first_seed": (int, lambda v: v >= 0, "an integer >= 0"),
    "reeval_seeds": (int, lambda v: v >= 1, "a positive number of episodes"),
    "test_seeds": (int, lambda v: v >= 1, "a positive number of episodes"),
    "engine": (str, lambda v: v in ("fast", "simpy"), "fast or simpy"),
}
_REQUIRED_TOP = ("name", "version", "budget", "runs")
_PROBLEM_KEYS = ("id", "name", "workers", "max_makespan", "best_known", "best_known_source",
                 "methods", "test")


@dataclass(frozen=True)
class SuiteProblem:
    """A problem of a suite.

    Attributes:
        id: its name in the suite, commands and reports (``hfs:d1`` unless the file names it).
        problem: the :class:`~scmgym.core.Problem` (crew resolved).
        methods: the methods that run on it, in table order.
        crew: how the HFS crew was chosen (``"rule"`` or ``"given"``), None on other plants.
        best_known: a best-known mean of a stochastic objective (make-or-buy), or None.
        best_known_source: where ``best_known`` comes from.
        test: instances the policy methods' results are applied to after training (a
            bounded dataset text, e.g. ``"list2,list3,generated:test:50"``), or None.
    """

    id: str
    problem: Problem
    methods: tuple[str, ...]
    crew: str | None = None
    best_known: float | None = None
    best_known_source: str | None = None
    test: str | None = None

    def info(self) -> dict[str, Any]:
        """What the report needs of the problem, as plain data."""
        p = self.problem
        return {"id": self.id, "label": p.label, "problem": p.to_dict(), "plant": p.plant,
                "direction": p.direction, "objective": p.objective.name,
                "stochastic": p.stochastic, "lower_bound": p.lower_bound(), "crew": self.crew,
                "best_known": self.best_known, "best_known_source": self.best_known_source,
                "methods": list(self.methods), **({"test": self.test} if self.test else {})}


@dataclass(frozen=True)
class Suite:
    """A loaded, checked suite (see the module docstring)."""

    name: str
    version: int
    budget: int
    runs: int
    problems: tuple[SuiteProblem, ...]
    methods: dict[str, dict[str, Any]]
    first_seed: int = 0
    reeval_seeds: int = 100
    test_seeds: int = 100
    engine: str = "fast"
    description: str = ""
    source: str = ""
    text: str = field(default="", repr=False)

    @property
    def seeds(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.runs))

    def identity(self) -> dict[str, Any]:
        """Everything that changes a number (not the runs: more seeds extend a suite)."""
        return {"name": self.name, "version": self.version, "budget": self.budget,
                "first_seed": self.first_seed, "reeval_seeds": self.reeval_seeds,
                **({"test_seeds": self.test_seeds} if any(p.test for p in self.problems)
                   else {}),
                "problems": [p.info() for p in self.problems],
                "methods": jsonable(self.methods)}

    def base(self, label: str) -> str:
        """The registered method of a method label (a variant's ``method``, else itself)."""
        return str(self.methods.get(label, {}).get("method", label))

    def digest(self) -> str:
        data = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def info(self) -> dict[str, Any]:
        """``suite.json``: the resolved suite, as the report reads it."""
        return {**self.identity(), "runs": self.runs, "engine": self.engine,
                "description": self.description, "source": self.source,
                "digest": self.digest()}

    def subset(self, problems: str | None = None, methods: str | None = None) -> Suite:
        """The suite restricted to a comma list of problem ids and/or method names (each must be
        in the suite)."""
        chosen = self.problems
        if problems:
            ids = _names(problems, [p.id for p in self.problems], "--problems")
            chosen = tuple(p for p in self.problems if p.id in ids)
        method_table = self.methods
        if methods:
            names = _names(methods, list(self.methods), "--methods")
            method_table = {m: h for m, h in self.methods.items() if m in names}
            chosen = tuple(replace(p, methods=tuple(m for m in p.methods if m in names))
                           for p in chosen)
            empty = [p.id for p in chosen if not p.methods]
            if len(empty) == len(chosen):
                raise DataError(f"none of the methods {methods} applies to the problems "
                                f"{', '.join(empty)}", column="--methods", value=methods)
        return replace(self, problems=chosen, methods=method_table)


def _names(text: str, allowed: list[str], option: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    unknown = [n for n in names if n not in allowed]
    if not names or unknown or any(not n for n in names):
        raise DataError(f"{option} names {', '.join(unknown) or 'an empty name'}, not in the "
                        "suite", column=option, value=text, allowed=", ".join(allowed))
    return names


class _Locator:
    """Line numbers of keys in a TOML text (``tomllib`` keeps none): the line of a key inside a
    table header, the n-th ``[[problems]]`` or a top-level key."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _header(self, header: str, nth: int = 0) -> int | None:
        pattern = re.compile(r"^\s*" + re.escape(header) + r"\s*(#.*)?$")
        hits = [i for i, line in enumerate(self.lines) if pattern.match(line)]
        return hits[nth] if nth < len(hits) else None

    def line(self, key: str | None = None, header: str | None = None,
             nth: int = 0) -> int | None:
        start = 0
        if header is not None:
            found = self._header(header, nth)
            if found is None:
                return None
            if key is None:
                return found + 1
            start = found + 1
        pattern = re.compile(r"^\s*" + re.escape(key or "") + r"\s*=")
        for i in range(start, len(self.lines)):
            if i > start and self.lines[i].lstrip().startswith("[") and header is not None:
                break
            if header is None and self.lines[i].lstrip().startswith("["):
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return start if header is not None else None


def suite_path(name_or_path: str | Path) -> tuple[str, str]:
    """The text and the source name of a bundled suite or a suite file."""
    if str(name_or_path) in BUNDLED:
        ref = resources.files("scmgym.experiments") / "suites" / f"{name_or_path}.toml"
        return ref.read_text(), f"{name_or_path} (bundled: scmgym/experiments/suites/" \
            f"{name_or_path}.toml)"
    path = Path(name_or_path)
    if not path.is_file():
        raise DataError("no such suite", source=str(path),
                        allowed=f"{', '.join(BUNDLED)} or the path of a TOML file")
    return path.read_text(), str(path)


def load_suite(name_or_path: str | Path) -> Suite:
    """Load and check a suite: a bundled name (:data:`BUNDLED`) or a TOML file."""
    text, source = suite_path(name_or_path)
    base = Path(name_or_path).parent if str(name_or_path) not in BUNDLED else None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"not valid TOML: {exc}", source=source) from None
    return _SuiteReader(data, text, source, base).suite()


class _SuiteReader:
    """Checks a parsed suite key by key, each error with its line."""

    def __init__(self, data: dict, text: str, source: str, base: Path | None) -> None:
        self.data, self.text, self.source, self.base = data, text, source, base
        self.where = _Locator(text)

    def error(self, problem: str, *, key: str | None, line: int | None, value: Any = None,
              allowed: str | None = None) -> DataError:
        return DataError(problem, source=self.source, line=line, column=key, value=value,
                         allowed=allowed)

    def suite(self) -> Suite:
        top = self._top()
        methods = self._methods()
        problems = self._problems(top["budget"], methods)
        return Suite(name=top["name"], version=top["version"], budget=top["budget"],
                     runs=top["runs"], problems=tuple(problems), methods=methods,
                     first_seed=top.get("first_seed", 0),
                     reeval_seeds=top.get("reeval_seeds", 100),
                     test_seeds=top.get("test_seeds", 100),
                     engine=top.get("engine", "fast"), description=top.get("description", ""),
                     source=self.source, text=self.text)

    def _top(self) -> dict[str, Any]:
        top = {}
        for key, value in self.data.items():
            if key in ("problems", "methods"):
                continue
            if key not in _TOP:
                raise self.error("unknown key", key=key, line=self.where.line(key),
                                 allowed=", ".join([*_TOP, "[[problems]]", "[methods.NAME]"]))
            kind, check, allowed = _TOP[key]
            if not isinstance(value, kind) or isinstance(value, bool) or not check(value):
                raise self.error("bad value", key=key, line=self.where.line(key), value=value,
                                 allowed=allowed)
            top[key] = value
        for key in _REQUIRED_TOP:
            if key not in top:
                raise self.error("missing key", key=key, line=None, allowed=_TOP[key][2])
        return top

    def _methods(self) -> dict[str, dict[str, Any]]:
        from scmgym.experiments.methods import METHODS

        table = self.data.get("methods")
        if not isinstance(table, dict) or not table:
            raise self.error("a suite needs at least one [methods.NAME] table", key="methods",
                             line=None, allowed=", ".join(METHODS))
        for name, hparams in table.items():
            line = self.where.line(header=f"[methods.{name}]")
            if not isinstance(hparams, dict):
                raise self.error("a method is a table of hyperparameters", line=line,
                                 key=f"methods.{name}", value=hparams)
            if "method" in hparams:  # a variant: a label of its own for a method's settings
                base = hparams["method"]
                if base not in METHODS:
                    raise self.error("unknown method", key=f"methods.{name}.method",
                                     line=self.where.line("method", f"[methods.{name}]"),
                                     value=base, allowed=", ".join(METHODS))
                if not re.fullmatch(r"[a-z][a-z0-9_-]*", name) or "__" in name:
                    raise self.error("a variant's label is lower-case letters, digits, - and _ "
                                     "(no __)", key=f"methods.{name}", line=line, value=name,
                                     allowed='e.g. [methods.eldt-strong] with method = "eldt"')
            elif name not in METHODS:
                raise self.error("unknown method", key=f"methods.{name}", line=line,
                                 value=name, allowed=", ".join(METHODS) + ', or a variant '
                                 'with method = "NAME" in its table')
        return {name: dict(h) for name, h in table.items()}

    def _problems(self, budget: int, methods: dict[str, dict[str, Any]]) -> list[SuiteProblem]:
        entries = self.data.get("problems")
        if not isinstance(entries, list) or not entries:
            raise self.error("a suite needs at least one [[problems]] entry", key="problems",
                             line=None, allowed='[[problems]] with id = "PLANT:DATASET"')
        problems = [self._problem(i, entry, budget, methods) for i, entry in enumerate(entries)]
        ids = [p.id for p in problems]
        for i, pid in enumerate(ids):
            if ids.index(pid) != i:
                raise self.error("two problems with one id (give one a name)", key="id",
                                 line=self.where.line("id", "[[problems]]", i), value=pid)
        return problems

    def _problem(self, i: int, entry: dict, budget: int,
                 methods: dict[str, dict[str, Any]]) -> SuiteProblem:
        def err(problem: str, key: str | None, value: Any = None,
                allowed: str | None = None) -> DataError:
            line = self.where.line(key, "[[problems]]", i)
            return self.error(problem, key=f"problems[{i}].{key}" if key else f"problems[{i}]",
                              line=line, value=value, allowed=allowed)

        for key in entry:
            if key not in _PROBLEM_KEYS:
                raise err("unknown key", key, allowed=", ".join(_PROBLEM_KEYS))
        pid = entry.get("id")
        if not isinstance(pid, str) or ":" not in pid:
            raise err("each problem needs an id", "id" if "id" in entry else None, pid,
                      'a string "PLANT:DATASET", e.g. "hfs:d1" or "make-or-buy:list1"')
        plant, dataset = pid.split(":", 1)
        if self.base is not None and (self.base / dataset).is_file():
            dataset = str(self.base / dataset)  # a dataset path relative to the suite file
        try:
            problem, crew = self._make_problem(plant, dataset, entry)
        except DataError as exc:
            key = exc.column if exc.column in entry else (
                "workers" if "workers" in entry and "workers" in str(exc) else "id")
            raise err(str(exc), key) from None
        best_known = entry.get("best_known")
        if best_known is not None and (isinstance(best_known, bool) or not isinstance(
                best_known, int | float) or not problem.stochastic):
            raise err("best_known is a number, for a stochastic plant (make-or-buy)",
                      "best_known", best_known)
        names = entry.get("methods", list(methods))
        if not isinstance(names, list) or any(n not in methods for n in names):
            raise err("methods must name methods of the suite's [methods.NAME] tables",
                      "methods", names, ", ".join(methods))
        if "methods" not in entry:
            from scmgym.experiments.methods import METHODS

            names = [n for n in names
                     if METHODS[str(methods[n].get("method", n))].applies_to(problem)]
        self._check_methods(i, problem, names, budget, methods)
        test = entry.get("test")
        if test is not None:
            from scmgym.core.instances import parse_source

            if not isinstance(test, str) or not test.strip():
                raise err("test is a dataset text", "test", test,
                          'e.g. "list2,list3,generated:test:50"')
            try:
                source = parse_source(plant, test)
            except DataError as exc:
                raise err(str(exc), "test") from None
            if not source.bounded:
                raise err("a test set must be finite", "test", test,
                          "a split with a count, e.g. generated:test:50")
        return SuiteProblem(id=entry.get("name", pid), problem=problem, methods=tuple(names),
                            crew=crew, best_known=None if best_known is None else
                            float(best_known), best_known_source=entry.get("best_known_source"),
                            test=test)

    def _make_problem(self, plant: str, dataset: str, entry: dict):
        from scmgym.core.registry import get_plant

        workers = entry.get("workers", "rule")
        if "workers" not in get_plant(plant).settings:
            if "workers" in entry or "max_makespan" in entry:
                key = "workers" if "workers" in entry else "max_makespan"
                raise DataError(f"the {plant} plant has no crew", column=key,
                                value=entry[key], allowed="no such key for this plant")
            return Problem(plant, dataset), None
        if workers == "rule":
            from scmgym.experiments.crews import rule_crew

            if "," in dataset or dataset.startswith("generated"):
                raise DataError("the crew rule sizes one dataset's crew; a distribution needs "
                                "its crew", column="workers", value=dataset,
                                allowed="workers = [M, E, R], e.g. [2, 5, 2]")

            limit = entry.get("max_makespan")
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                      or limit < 1):
                raise DataError("bad value", column="max_makespan", value=limit,
                                allowed="a positive number of days")
            return Problem(plant, dataset, rule_crew(dataset, limit).workers), "rule"
        if "max_makespan" in entry:
            raise DataError("max_makespan only sizes the crew rule; it does nothing beside "
                            "workers", column="max_makespan", value=entry["max_makespan"],
                            allowed='workers = "rule" (the default) with max_makespan')
        if not isinstance(workers, list) or isinstance(workers, str):
            raise DataError("bad value", column="workers", value=workers,
                            allowed='"rule" or [M, E, R], e.g. [2, 5, 2]')
        return Problem(plant, dataset, tuple(workers)), "given"

    def _check_methods(self, i: int, problem: Problem, names: list[str], budget: int,
                       methods: dict[str, dict[str, Any]]) -> None:
        from scmgym.experiments.methods import METHODS, check_method, split_variant

        for name in names:
            base, hparams = split_variant(name, methods[name])
            if not METHODS[base].applies_to(problem):
                raise self.error(f"method {name} does not apply to the {problem.plant} plant",
                                 key=f"problems[{i}].methods",
                                 line=self.where.line("methods", "[[problems]]", i))
            try:
                check_method(base, problem, budget, hparams)
            except (DataError, TypeError, ValueError) as exc:
                said = str(exc).split("allowed:")[0]
                key = next((k for k in methods[name] if k in said), None)
                line = self.where.line(key, f"[methods.{name}]")
                raise self.error(f"{name} on {problem.label}: {exc}",
                                 key=f"methods.{name}" + (f".{key}" if key else ""),
                                 line=line) from None
