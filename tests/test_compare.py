"""The comparison runner and `scmgym compare`: tables, plots, resume, stochastic re-evaluation."""

from __future__ import annotations

import csv
import json

import pytest

from scmgym.cli import main
from scmgym.core import Problem
from scmgym.experiments.compare import methods_for


def read_rows(path):
    with path.open() as fh:
        return {r["method"]: r for r in csv.DictReader(fh)}


def test_hfs_comparison_end_to_end_and_resume(capsys, tmp_path):
    argv = ["compare", "--problem", "hfs:d1", "--workers", "2,5,2", "--methods",
            "random,edd,eldt", "--runs", "2", "--budget", "30", "--jobs", "2",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| method | mean | sd | best | worst | simulations | wall_seconds | runs | gap |" in out
    rows = read_rows(tmp_path / "results.csv")
    assert set(rows) == {"random", "edd", "eldt"}
    assert float(rows["edd"]["mean"]) == 472.0 and float(rows["edd"]["simulations"]) == 1
    assert float(rows["random"]["simulations"]) == 30
    assert float(rows["random"]["best"]) <= float(rows["random"]["mean"]) <= float(
        rows["random"]["worst"])
    run_dirs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(run_dirs) == 5  # edd is deterministic: it runs once
    for d in run_dirs:
        result = json.loads((d / "result.json").read_text())
        hist = (d / "history.csv").read_text().splitlines()
        assert len(hist) - 1 == result["simulations"] <= 30
    for name in ("results.md", "convergence.png", "final_boxplot.png", "gantt_best.png"):
        assert (tmp_path / name).is_file(), name
    # resume: nothing is rerun
    assert main(argv) == 0
    assert "resumed: 5 finished run(s) reused" in capsys.readouterr().out
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 5
    # one more seed: only the new runs
    assert main(argv[:-6] + ["--runs", "3", "--budget", "30", "--jobs", "1",
                             "--out", str(tmp_path)]) == 0
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 7


def test_make_or_buy_reports_reevaluated_mean_and_single_draw(capsys, tmp_path):
    assert main(["compare", "--problem", "make-or-buy:list1", "--methods", "random,gp",
                 "--runs", "2", "--budget", "25", "--reeval-seeds", "5",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "re-evaluated over fresh seeds" in out
    rows = read_rows(tmp_path / "results.csv")
    assert "best_single_draw" in rows["random"]
    for r in rows.values():
        assert 5000 <= float(r["mean"]) <= 10000
        assert 5000 <= float(r["best_single_draw"]) <= 10000
    assert not (tmp_path / "gantt_best.png").exists()


def test_method_resolution():
    hfs, mob = Problem.parse("hfs:d1"), Problem.parse("make-or-buy:list1")
    assert "edd" in methods_for(hfs, "all") and "edd" not in methods_for(mob, "all")
    assert methods_for(mob, "random, gp") == ["random", "gp"]
    for names, message in (("random,edd,gp", "edd do not apply to the make-or-buy plant"),
                            ("", "empty method name"), ("random,", "empty method name"),
                            ("random,random", "named twice: random"),
                            ("random,sa", "unknown method")):
        with pytest.raises(ValueError, match=message):
            methods_for(mob if "edd" in names else hfs, names)


@pytest.mark.parametrize("argv, message", [
    (["--problem", "hfs:d1", "--methods", "nope"], "unknown method(s) nope"),
    (["--problem", "hfs"], "problem must be PLANT:DATASET"),
    (["--problem", "hfs:d1", "--runs", "0"], "--runs=0; allowed: a positive integer"),
    (["--problem", "hfs:d1", "--workers", "2,1,2"], "E pool has 1"),
])
def test_compare_errors(capsys, tmp_path, argv, message):
    assert main(["compare", *argv, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_interrupted_run_is_not_recorded_as_finished(capsys, tmp_path, interrupter):
    # Ctrl-C inside a trainer (ELDT here) stops the comparison with exit 130 and leaves no
    # result.json, so a rerun redoes that run instead of taking a partial run as finished.
    argv = ["compare", "--problem", "make-or-buy:list1", "--methods", "eldt", "--runs", "1",
            "--budget", "25", "--out", str(tmp_path)]
    interrupter.arm(7)
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not list(tmp_path.glob("*/result.json"))
    interrupter.disarm()
    assert main(argv) == 0
    assert len(list(tmp_path.glob("*/result.json"))) == 1


def test_a_new_number_of_reevaluation_seeds_reevaluates_without_rerunning(capsys, tmp_path):
    argv = ["compare", "--problem", "make-or-buy:list1", "--methods", "random,gp", "--runs",
            "1", "--budget", "25", "--out", str(tmp_path)]
    assert main([*argv, "--reeval-seeds", "3"]) == 0
    dirs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    histories = [(d / "history.csv").read_text() for d in dirs]
    assert main([*argv, "--reeval-seeds", "5"]) == 0
    assert "resumed: 2 finished run(s) reused" in capsys.readouterr().out
    assert sorted(p for p in tmp_path.iterdir() if p.is_dir()) == dirs
    assert [(d / "history.csv").read_text() for d in dirs] == histories
    for d in dirs:
        evaluation = json.loads((d / "evaluation.json").read_text())
        assert evaluation["n_episodes"] == 5 == len(evaluation["values"])
        assert json.loads((d / "result.json").read_text())["evaluation"] == evaluation
    # the first three episodes are the same scenarios as before: the stream is extended
    first = json.loads((dirs[0] / "evaluation.json").read_text())["values"][:3]
    assert main([*argv, "--reeval-seeds", "3"]) == 0
    assert json.loads((dirs[0] / "evaluation.json").read_text())["values"] == first


def test_a_method_without_a_solution_is_explained_under_the_table(capsys, tmp_path,
                                                                   monkeypatch):
    from scmgym.experiments import methods

    def no_solution(problem, options, evaluator):
        return {"status": "no_solution", "termination": "maxTimeLimit"}

    monkeypatch.setitem(methods.MILP_SOLVERS, "hfs", no_solution)
    assert main(["compare", "--problem", "hfs:d4", "--methods", "edd,milp", "--runs", "1",
                 "--milp-time-limit", "7", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| milp | nan |" in out
    assert ("Note: milp: no solution in 1 of 1 run(s): the solver ended with no_solution "
            "(maxTimeLimit) within its time limit of 7 s; its row shows nan.") in out
