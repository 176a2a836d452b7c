"""The report of a suite (scmgym.experiments.report, `scmgym report`): from synthetic records
(no simulation), and once from real run directories."""

from __future__ import annotations

import argparse
import csv
import json
import random

import pytest

from scmgym.errors import DataError
from scmgym.experiments.report import simplified_section, write_report

HFS1 = {"id": "hfs:d1", "label": "hfs:d1 (2,5,2)",
        "problem": {"plant": "hfs", "dataset": "d1", "workers": [2, 5, 2]}, "plant": "hfs",
        "direction": "min", "objective": "makespan", "stochastic": False, "lower_bound": 440,
        "best_known": None}
HFS2 = {**HFS1, "id": "hfs:d2", "label": "hfs:d2 (2,5,2)",
        "problem": {"plant": "hfs", "dataset": "d2", "workers": [2, 5, 2]}, "lower_bound": 600}
MOB = {"id": "make-or-buy:list1", "label": "make-or-buy:list1",
       "problem": {"plant": "make-or-buy", "dataset": "list1"}, "plant": "make-or-buy",
       "direction": "max", "objective": "revenue", "stochastic": True, "lower_bound": None,
       "best_known": 8089.6, "best_known_source": "the study"}
METHODS = ["random", "ga", "eldt", "milp", "gp"]


def record(info, method, seed, value, *, deterministic=False, bound=None, wall=2.0,
           simulations=50, run_dir=None, budget=50):
    return {"key": f"{info['id']}|{method}|{seed}", "problem": info["id"],
            "label": info["label"], "plant": info["plant"], "direction": info["direction"],
            "stochastic": info["stochastic"], "method": method, "seed": seed,
            "deterministic": deterministic, "budget": budget, "hparams": {},
            "run_dir": run_dir or f"runs/{info['id'].replace(':', '_')}__{method}__s{seed}",
            "value": value, "best_value": value, "evaluation_mean": None,
            "best_episode_plan": None, "bound": bound, "simulations": simulations,
            "wall_seconds": wall, "cpu_seconds": 0.9 * wall}


def synthetic_records(wall=2.0):
    """Three problems; on hfs:d1 the exact milp is best and ga clearly worse, milp found no
    solution in its one run on hfs:d2."""
    recs = []
    for s in range(8):  # 8 runs: the Wilcoxon test of 8 can reach p < 0.05 / 3
        recs += [record(HFS1, "random", s, 500.0 + s, wall=wall),
                 record(HFS1, "ga", s, 560.0 + s, wall=wall),
                 record(HFS1, "eldt", s, 505.0 + 2 * s, wall=5 * wall),
                 record(HFS2, "random", s, 700.0 + s, wall=wall),
                 record(HFS2, "ga", s, 690.0 + s, wall=wall),
                 record(HFS2, "eldt", s, 720.0 - s, wall=5 * wall),
                 record(MOB, "random", s, 7000.0 + 10 * s, wall=wall),
                 record(MOB, "ga", s, 7500.0 - 10 * s, wall=wall),
                 record(MOB, "gp", s, 7700.0 + s, wall=3 * wall)]
    recs += [record(HFS1, "milp", 0, 480.0, deterministic=True, bound=470, wall=30 * wall),
             record(HFS2, "milp", 0, None, deterministic=True, wall=30 * wall)]
    return recs


def suite_of(problems=(HFS1, HFS2, MOB)):
    return {"name": "demo", "version": 3, "budget": 50, "runs": 8,
            "problems": list(problems), "methods": METHODS}


def write_suite(folder, records, suite=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "records.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n"
                                                  for r in records))
    (folder / "suite.json").write_text(json.dumps(suite or suite_of()))
    return folder


def read_csv(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def synthetic(tmp_path):
    folder = write_suite(tmp_path / "suite", synthetic_records())
    return folder, write_report(folder)


def test_tables_of_a_synthetic_suite(synthetic):
    folder, files = synthetic
    rows = {(r["problem"], r["method"]): r for r in read_csv(files["results_csv"])}
    assert [k for k in rows if k[0] == "hfs:d1"] == [("hfs:d1", m) for m in
                                                     ("random", "ga", "eldt", "milp")]
    assert rows[("hfs:d1", "milp")]["mark"] == "best"
    assert rows[("hfs:d1", "ga")]["mark"] == "*"  # 560.. vs the exact 480: Wilcoxon
    assert rows[("hfs:d1", "random")]["test"] == "wilcoxon"
    assert rows[("hfs:d1", "random")]["bound"] == "470"  # the MILP's bound beats 440
    assert rows[("hfs:d2", "milp")]["no_solution"] == "1"
    assert rows[("hfs:d2", "milp")]["mean"] == "" and rows[("hfs:d2", "milp")]["mark"] == ""
    assert rows[("make-or-buy:list1", "gp")]["mark"] == "best"
    assert rows[("make-or-buy:list1", "gp")]["best_known"] == "8089.6"
    assert not any("wall" in c or "cpu" in c for c in read_csv(files["results_csv"])[0])
    timing = read_csv(files["timing_csv"])
    suite_total = next(t for t in timing if t["problem"] == t["method"] == "all")
    assert float(suite_total["wall_total"]) == pytest.approx(
        sum(r["wall_seconds"] for r in synthetic_records()))
    ranks = read_csv(files["ranks_csv"])
    hfs = {r["method"]: r for r in ranks if r["group"] == "hfs"}
    assert set(hfs) == {"random", "ga", "eldt"}  # milp has no value on hfs:d2
    assert float(hfs["random"]["average_rank"]) == pytest.approx(1.5)
    assert hfs["random"]["friedman_p"] != ""
    assert {r["group"] for r in ranks} == {"hfs", "make-or-buy", "all"}


def test_markdown_and_html_of_a_synthetic_suite(synthetic):
    folder, files = synthetic
    md = files["report_md"].read_text()
    assert md.startswith("# Suite demo (version 3)\n")
    assert "Budget 50 simulations per run; 8 run(s) per method and problem, seeds 0-7" in md
    assert "| method | runs | mean ± sd | median | best | worst | simulations | gap % | " \
           "p (Holm) | mark | wall s |" in md
    assert "% of best-known" in md and "best-known 8089.6 (suite: the study)" in md
    assert "best bound 470 (milp seed 0)" in md
    assert "milp: no solution in 1 of 1 run(s)" in md
    assert "no convergence plot" in md  # no run directory: said, not crashed
    assert "No Friedman test: Friedman's test needs at least 3 methods" in md
    assert "Left out of the ranks, which need a mean on every problem of the group: " \
           "milp (no mean on hfs:d2).\n" in md  # said, not silently dropped
    assert "Friedman chi-square = " in md and "CD = " in md
    assert "![critical difference hfs](figures/cd_hfs.png)" in md
    assert "![boxplot hfs:d1](figures/boxplot_hfs_d1.png)" in md
    assert "| milp | 2 | 120 | 108 | 28.3 | 28.3 |" in md  # the time table: 2 runs of 60 s
    for name in ("cd_hfs", "boxplot_hfs_d1", "boxplot_make-or-buy_list1"):
        assert files[name].is_file() and files[name].stat().st_size > 2000
    html = files["report_html"].read_text()
    assert html.count('src="data:image/png;base64,') == md.count("](figures/")
    assert "figures/" not in html and "<table>" in html and "<h3>" in html


def test_results_csv_is_byte_identical_whatever_the_order_and_the_times(tmp_path):
    recs = synthetic_records()
    first = write_report(write_suite(tmp_path / "a", recs))
    shuffled = synthetic_records(wall=7.5)
    random.Random(1).shuffle(shuffled)
    second = write_report(write_suite(tmp_path / "b", shuffled))
    for name in ("results_csv", "ranks_csv"):
        assert first[name].read_bytes() == second[name].read_bytes(), name
    assert first["timing_csv"].read_bytes() != second["timing_csv"].read_bytes()
    # the report before its time table differs in the wall s column only
    md = [[line.rsplit(" | ", 1)[0] if line.startswith("| ") else line
           for line in f["report_md"].read_text().split("## Time")[0].splitlines()]
          for f in (first, second)]
    assert md[0] == md[1]


def test_records_and_suite_may_be_given(tmp_path):
    files = write_report(tmp_path, records=synthetic_records(), suite=suite_of())
    assert files["report_md"].parent == tmp_path / "report"
    assert not (tmp_path / "records.jsonl").exists()
    # the suite's methods as {name: hyperparameters} (suite.json) keep their order
    table = {m: {} for m in reversed(METHODS)}
    again = write_report(tmp_path / "b", records=synthetic_records(),
                         suite={**suite_of(), "methods": table, "reeval_seeds": 100})
    methods = [r["method"] for r in read_csv(again["results_csv"]) if r["problem"] == "hfs:d1"]
    assert methods == ["milp", "eldt", "ga", "random"]
    assert "re-evaluated over 100 fresh seeds" in again["report_md"].read_text()


def test_simplified_section():
    text = ("# Best tree\nif a <= 1:\n  x\n\n# Simplified (same decisions)\nif a <= 1:\n"
            "  y\nelse:\n  z\n\n# Leaf coverage (orders)\nleaf 0: y 3 orders\n")
    assert simplified_section(text) == "if a <= 1:\n  y\nelse:\n  z"
    assert simplified_section("# Best tree\nx\n") is None


# -- the command -----------------------------------------------------------------------------


def _report_registered() -> bool:
    from scmgym.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return "report" in sub.choices


def test_run_writes_the_report_and_prints_its_paths(tmp_path, capsys):
    from scmgym.cli import report

    folder = write_suite(tmp_path / "s", synthetic_records())
    assert report.run(argparse.Namespace(dir=folder)) == 0
    printed = capsys.readouterr().out.splitlines()
    assert str(folder / "report" / "results.csv") in printed
    assert str(folder / "report" / "report.html") in printed


def test_run_names_the_missing_file(tmp_path):
    from scmgym.cli import report

    with pytest.raises(DataError, match="no such suite folder") as err:
        report.run(argparse.Namespace(dir=tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere") in str(err.value)
    (tmp_path / "records.jsonl").write_text("")
    with pytest.raises(DataError, match="no suite.json") as err:
        report.run(argparse.Namespace(dir=tmp_path))
    assert str(tmp_path / "suite.json") in str(err.value)
    (tmp_path / "suite.json").write_text(json.dumps(suite_of()))
    with pytest.raises(DataError, match="no run recorded yet"):
        report.run(argparse.Namespace(dir=tmp_path))


@pytest.mark.skipif(not _report_registered(), reason="scmgym report not registered yet")
def test_cli_exit_1_and_one_line_on_a_missing_folder(tmp_path, capsys):
    from scmgym.cli import main

    assert main(["report", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scmgym: error: ")
    assert str(tmp_path / "nowhere") in err[0]
    folder = write_suite(tmp_path / "s", synthetic_records())
    assert main(["report", str(folder)]) == 0
    assert (folder / "report" / "report.md").is_file()


# -- real run directories --------------------------------------------------------------------


def real_record(info, method, seed, result, run_dir, folder):
    """The record of a finished run, from its RunResult (value: the re-evaluated mean on a
    stochastic plant, the best value otherwise)."""
    ev = result.evaluation or {}
    value = ev.get("mean") if info["stochastic"] else result.best_value
    rec = record(info, method, seed, value, wall=result.wall_seconds,
                 simulations=result.simulations, run_dir=str(run_dir.relative_to(folder)),
                 budget=result.extra["budget"])
    rec.update(best_value=result.best_value, evaluation_mean=ev.get("mean"),
               best_episode_plan=ev.get("best_solution_mean"),
               bound=result.extra.get("bound"))
    return rec


def test_report_from_real_run_directories(tmp_path):
    from scmgym.core import Problem
    from scmgym.experiments.methods import check_method, run_method

    folder, budget, recs = tmp_path / "suite", 30, []
    plan = [(HFS1, ("random", "eldt")), (MOB, ("random", "gp"))]
    for info, methods in plan:
        problem = Problem.from_dict(info["problem"])
        for method in methods:
            check_method(method, problem, budget)  # eldt needs 25: 5 individuals x 5 episodes
            for seed in (0, 1):
                run_dir = folder / "runs" / f"{info['id'].replace(':', '_')}__{method}__s{seed}"
                result = run_method(method, problem, budget=budget, seed=seed, run_dir=run_dir,
                                    eval_episodes=2)
                recs.append(real_record(info, method, seed, result, run_dir, folder))
    suite = {**suite_of((HFS1, MOB)), "budget": budget, "runs": 2}
    files = write_report(write_suite(folder, recs[::-1], suite))
    for name in ("convergence_hfs_d1", "boxplot_hfs_d1", "gantt_hfs_d1",
                 "convergence_make-or-buy_list1", "boxplot_make-or-buy_list1"):
        assert files[name].suffix == ".png" and files[name].stat().st_size > 5000, name
        assert files[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = files["report_md"].read_text()
    assert "## Best trees (simplified)" in md
    assert "### hfs:d1 (2,5,2): eldt (seed " in md
    assert "### make-or-buy:list1: gp (seed " in md
    # the tree shown is the simplified tree of the best eldt run (best value, lowest seed)
    eldt = sorted((r for r in recs if r["method"] == "eldt"),
                  key=lambda r: (r["value"], r["seed"]))[0]
    tree = simplified_section((folder / eldt["run_dir"] / "tree.txt").read_text())
    assert f"(seed {eldt['seed']}," in md and "```\n" + tree + "\n```" in md
    assert "no convergence plot" not in md and "no Gantt chart" not in md
    html = files["report_html"].read_text()
    assert html.count('src="data:image/png;base64,') == md.count("](figures/") >= 5
