"""Every method gives the same run on either simulator engine (the compiled one is the default)."""

from __future__ import annotations

import csv
import json

import pytest

from scmgym.cli import main
from scmgym.core import Problem
from scmgym.experiments.methods import METHODS, run_method

#: (method, plant, budget, hyperparameters): small runs of every method that simulates.
CASES = [
    ("random", "make-or-buy", 40, {}),
    ("ga", "make-or-buy", 40, {}),
    ("aco", "make-or-buy", 40, {}),
    ("tpe", "make-or-buy", 25, {}),
    ("eldt", "make-or-buy", 30, {"generations": 2, "population_size": 3}),
    ("gp", "make-or-buy", 30, {"generations": 2, "population_size": 4}),
    ("random", "hfs", 40, {}),
    ("ga", "hfs", 40, {}),
    ("aco", "hfs", 40, {}),
    ("edd", "hfs", 1, {}),
    ("eldt", "hfs", 30, {"generations": 2, "population_size": 3}),
    ("gp", "hfs", 30, {"generations": 2, "population_size": 4}),
]


@pytest.mark.parametrize("method, plant, budget, hp", CASES,
                         ids=[f"{m}-{p}" for m, p, _, _ in CASES])
def test_same_run_on_both_engines(method, plant, budget, hp):
    assert method in METHODS
    dataset = "list1" if plant == "make-or-buy" else "d1"
    runs = {}
    for engine in ("simpy", "fast"):
        problem = Problem(plant, dataset, engine=engine)
        result = run_method(method, problem, budget, seed=3, eval_episodes=3, **hp)
        runs[engine] = (result.best_value, result.best_solution, result.simulations,
                        result.evaluation)
    assert runs["simpy"] == runs["fast"]


def _history(run_dir):
    with (run_dir / "history.csv").open() as fh:
        return [(r["value"], r["best_so_far"]) for r in csv.DictReader(fh)]


def test_cli_engine_flag_config_and_resume(capsys, tmp_path):
    out = {}
    for engine in ("simpy", "fast"):
        code = main(["train", "ga", "--env", "make-or-buy", "--budget", "30", "--engine", engine,
                     "--eval-episodes", "2", "--out", str(tmp_path / engine), "--no-progress"])
        assert code == 0
        (run_dir,) = (tmp_path / engine).iterdir()
        config = json.loads((run_dir / "config.json").read_text())
        assert config["engine"] == engine
        out[engine] = (_history(run_dir), json.loads((run_dir / "evaluation.json").read_text()))
    assert out["simpy"] == out["fast"]
    capsys.readouterr()
    # --engine may be given with --resume (the same results); it is the only new flag allowed.
    (run_dir,) = (tmp_path / "fast").iterdir()
    assert main(["train", "--resume", str(run_dir), "--engine", "simpy", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "the run is finished" in err and "cannot change it" not in err
    assert main(["train", "--resume", str(run_dir), "--seed", "3"]) == 1
    assert "--engine E" in capsys.readouterr().err


def test_compare_engine_flag(capsys, tmp_path):
    tables = {}
    for engine in ("simpy", "fast"):
        code = main(["compare", "--problem", "make-or-buy:list1", "--methods", "random,ga",
                     "--runs", "1", "--budget", "20", "--reeval-seeds", "3", "--engine", engine,
                     "--out", str(tmp_path / engine)])
        assert code == 0
        tables[engine] = (tmp_path / engine / "results.csv").read_text()
    capsys.readouterr()
    strip = [[c for i, c in enumerate(row.split(",")) if i not in _time_columns(tables)]
             for row in tables["simpy"].splitlines()]
    assert strip == [[c for i, c in enumerate(row.split(",")) if i not in _time_columns(tables)]
                     for row in tables["fast"].splitlines()]


def _time_columns(tables) -> set[int]:
    header = tables["fast"].splitlines()[0].split(",")
    return {i for i, name in enumerate(header) if "time" in name or "second" in name}
