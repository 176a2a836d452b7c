"""Suites and ``scmgym reproduce``: checked files, one resumable command, identical results
whatever the process count, nothing run or recorded twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scmgym.cli import main
from scmgym.errors import DataError
from scmgym.experiments.backends import check_address
from scmgym.experiments.crews import rule_crew
from scmgym.experiments.records import read_records
from scmgym.experiments.suite import load_suite

TINY = """\
name = "tiny"
version = 1
budget = 30
runs = 2
reeval_seeds = 3

[[problems]]
id = "hfs:d1"
workers = [2, 5, 2]

[[problems]]
id = "make-or-buy:list1"

[methods.random]
[methods.edd]
[methods.gp]
"""


def write_suite(folder: Path, text: str = TINY) -> Path:
    path = folder / "suite.toml"
    path.write_text(text)
    return path


def reproduce(*argv: str) -> int:
    return main(["reproduce", *argv])


def test_bundled_suites_load_and_the_paper_suite_is_the_study_protocol():
    paper = load_suite("paper")
    assert [p.id for p in paper.problems] == ["hfs:d1", "hfs:d2", "hfs:d3", "hfs:d4", "hfs:d5",
                                             "make-or-buy:list1", "make-or-buy:list2",
                                             "make-or-buy:list3"]
    assert (paper.budget, paper.runs) == (5000, 10)
    assert "edd" in paper.problems[0].methods and "edd" not in paper.problems[5].methods
    assert all(p.crew == "rule" for p in paper.problems[:5])
    assert load_suite("smoke").budget < 100


def test_the_crew_rule_gives_the_documented_crews():
    """docs/experiments.md and scmgym/experiments/crews.py list these values."""
    expected = {"d1": ((2, 5, 2), 472), "d2": ((1, 5, 1), 487), "d3": ((2, 5, 2), 472),
                "d4": ((1, 4, 1), 610), "d5": ((1, 3, 1), 2426)}
    for dataset, (workers, makespan) in expected.items():
        choice = rule_crew(dataset)
        assert (choice.workers, choice.edd_makespan) == (workers, makespan), dataset
        assert choice.edd_makespan <= choice.max_makespan
    assert rule_crew("d1", 600).workers != (2, 5, 2)  # a looser limit: a smaller crew


@pytest.mark.parametrize("old, new, expected", [
    ("[methods.gp]", "[methods.gpx]", ["line 16", "methods.gpx", "unknown method", "eldt"]),
    ("[methods.gp]", "[methods.gp]\nbogus = 1",
     ["line 17", "methods.gp.bogus", "no hyperparameter bogus"]),
    ("budget = 30", "budget = 0", ["line 3", "'budget'", "positive number"]),
    ("budget = 30", "budgets = 30", ["line 3", "'budgets'", "unknown key"]),
    ('id = "hfs:d1"', 'id = "hfs:d9"', ["line 8", "problems[0].id", "d9"]),
    ("workers = [2, 5, 2]", "workers = [2, 5]", ["line 9", "problems[0].workers"]),
    ('id = "make-or-buy:list1"', 'id = "make-or-buy:list1"\nworkers = [1, 2, 3]',
     ["line 13", "problems[1].workers", "no crew"]),
    ("runs = 2", "runs = 2\nruns = 3", ["not valid TOML", "line 5"]),
])
def test_a_bad_suite_names_file_line_key_and_what_is_allowed(tmp_path, old, new, expected):
    path = write_suite(tmp_path, TINY.replace(old, new, 1))
    with pytest.raises(DataError) as info:
        load_suite(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)


def test_a_bad_suite_fails_before_anything_runs(tmp_path, capsys):
    path = write_suite(tmp_path, TINY.replace("[methods.gp]", "[methods.gp]\nnope = 1"))
    assert reproduce("--suite", str(path), "--out", str(tmp_path / "out")) == 1
    assert "no hyperparameter nope" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_reproduce_end_to_end_resumes_and_records_each_run_once(tmp_path, capsys):
    suite, out = write_suite(tmp_path), tmp_path / "out"
    assert reproduce("--suite", str(suite), "--out", str(out)) == 0
    captured = capsys.readouterr()
    # hfs: random 2 + edd 1 (deterministic) + gp 2; make-or-buy: random 2 + gp 2
    assert "tiny: 9 run(s): 9 run now" in captured.out
    assert captured.err.count("[") >= 9 and "[9/9]" in captured.err
    # no terminal here: each line carries the elapsed time, and an ETA until the last run
    assert "[8/9]" in captured.err and ", ETA " in captured.err.split("[9/9]")[0]
    assert "elapsed " in captured.err.split("[9/9]")[1].splitlines()[0]
    assert ", ETA" not in captured.err.split("[9/9]")[1].splitlines()[0]
    records = read_records(out)
    assert len(records) == 9 and len({r["key"] for r in records}) == 9
    assert len(list((out / "runs").glob("*__*"))) == 9
    for name in ("report.md", "report.html", "results.csv", "timing.csv", "ranks.csv"):
        assert (out / "report" / name).is_file(), name
    edd = next(r for r in records if r["method"] == "edd")
    assert edd["value"] == 472.0 and edd["deterministic"]
    mob = [r for r in records if r["plant"] == "make-or-buy"]
    assert all(r["value"] == r["evaluation_mean"] for r in mob)

    # a second call runs nothing
    assert reproduce("--suite", str(suite), "--out", str(out)) == 0
    assert "0 run now, 9 already recorded" in capsys.readouterr().out

    # killed between a run's end and its record: the run is recorded, not rerun
    lines = (out / "records.jsonl").read_text().splitlines()
    (out / "records.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:25])
    assert len(read_records(out)) == 8  # the torn last line is ignored
    assert reproduce("--suite", str(suite), "--out", str(out)) == 0
    assert "0 run now, 8 already recorded, 1 found finished and recorded" in \
        capsys.readouterr().out
    assert len(read_records(out)) == 9 and len(list((out / "runs").glob("*__*"))) == 9

    # more seeds extend the suite; another budget is another suite
    assert reproduce("--suite", str(suite), "--runs", "3", "--methods", "random",
                     "--problems", "hfs:d1", "--out", str(out)) == 0
    assert "1 run now" in capsys.readouterr().out and len(read_records(out)) == 10
    # the folder's description is still the whole suite's, digest included
    assert json.loads((out / "suite.json").read_text())["digest"] == load_suite(suite).digest()
    assert reproduce("--suite", str(suite), "--budget", "40", "--out", str(out)) == 1
    assert "another budget" in capsys.readouterr().err

    # the report is rebuilt from the records alone
    results = (out / "report" / "results.csv").read_bytes()
    (out / "report" / "results.csv").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report" / "results.csv").read_bytes() == results


@pytest.mark.slow
def test_the_process_count_never_changes_a_number(tmp_path):
    suite = write_suite(tmp_path)
    tables = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        assert reproduce("--suite", str(suite), "--jobs", str(jobs), "--out", str(out)) == 0
        tables.append(((out / "report" / "results.csv").read_bytes(),
                       (out / "report" / "ranks.csv").read_bytes()))
    assert tables[0] == tables[1]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kills a process group")
def test_kill_9_of_the_whole_tree_then_resume_runs_only_what_is_missing(tmp_path):
    suite = write_suite(tmp_path, TINY.replace("budget = 30", "budget = 400")
                        .replace("runs = 2", "runs = 3"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "scmgym.cli", "reproduce", "--suite", str(suite), "--jobs", "2",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(read_records(out)) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(read_records(out))
    assert 3 <= before < 13
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    records = read_records(out)
    raw = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()
           if line.strip().endswith("}")]
    assert len(records) == 13 and len({r["key"] for r in raw}) == len(raw)  # no duplicate
    run_dirs = [p for p in (out / "runs").iterdir() if p.is_dir()]
    assert len(run_dirs) == 13 and all((p / "result.json").is_file() for p in run_dirs)


def test_ray_backend_without_ray_says_how_to_install_it_and_exits_2(tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert reproduce("--suite", str(write_suite(tmp_path)), "--backend", "ray",
                     "--out", str(tmp_path / "out")) == 2
    assert "pip install 'scmgym[ray]'" in capsys.readouterr().err


def test_an_unreachable_ray_address_fails_within_seconds():
    start = time.monotonic()
    with pytest.raises(DataError, match="no Ray head answers at 127.0.0.1:1"):
        check_address("127.0.0.1:1", timeout=2.0)
    assert time.monotonic() - start < 5
    with pytest.raises(DataError, match="HOST:PORT"):
        check_address("nowhere")


def test_a_failing_run_does_not_stop_the_others_and_is_retried(tmp_path, capsys, monkeypatch):
    """A run that raises is reported (a FAILED line and exit 1), not recorded; every other
    run finishes and is recorded; the next call runs only the failed one."""
    from scmgym.experiments import compare

    real = compare.run_one

    def flaky(method, problem, budget, seed, *args, **kwargs):
        if method == "gp" and seed == 1 and problem.plant == "hfs":
            raise ValueError("a broken run")
        return real(method, problem, budget, seed, *args, **kwargs)

    suite, out = write_suite(tmp_path), tmp_path / "out"
    monkeypatch.setattr(compare, "run_one", flaky)
    assert reproduce("--suite", str(suite), "--no-report", "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "hfs:d1 gp seed 1: FAILED (ValueError: a broken run)" in err
    assert "1 run(s) failed" in err and len(read_records(out)) == 8
    monkeypatch.setattr(compare, "run_one", real)
    assert reproduce("--suite", str(suite), "--no-report", "--out", str(out)) == 0
    assert "1 run now, 8 already recorded" in capsys.readouterr().out
    assert len(read_records(out)) == 9


TESTED = """\
name = "tested"
version = 1
budget = 40
runs = 2
reeval_seeds = 2
test_seeds = 2

[[problems]]
id = "make-or-buy:list1"
name = "mob-list1"
test = "list2,generated(n=20):test:2"

[[problems]]
id = "hfs:generated(n=20):train"
name = "hfs-gen"
workers = [2, 5, 2]
test = "generated(n=20):test:2,generated(n=40):test:2"

[methods.gp]
generations = 1
population_size = 10
rotation = "generation"
[methods.random]
"""


@pytest.mark.slow
def test_a_suite_with_test_sets_reports_generalisation(tmp_path, capsys):
    suite, out = write_suite(tmp_path, TESTED), tmp_path / "out"
    assert reproduce("--suite", str(suite), "--jobs", "2", "--out", str(out)) == 0
    records = read_records(out)
    # random is a schedule method: it runs on the one-instance problem only
    assert sorted((r["problem"], r["method"]) for r in records) == sorted(
        [("mob-list1", "gp")] * 2 + [("mob-list1", "random")] * 2 + [("hfs-gen", "gp")] * 2)
    for r in records:
        gen = r.get("generalisation")
        assert (gen is not None) == (r["method"] == "gp")
        if gen:
            assert (out / r["run_dir"] / "generalisation.json").is_file()
            assert r["test_cpu_seconds"] > 0
    mob = next(r for r in records if r["problem"] == "mob-list1" and r["method"] == "gp")
    assert set(mob["generalisation"]["targets"]) == {"list2", "generated(n=20):test:2"}
    hfs = next(r for r in records if r["problem"] == "hfs-gen")
    assert set(hfs["generalisation"]["sizes"]) == {"20", "40"}
    rows = (out / "report" / "generalisation.csv").read_text().splitlines()
    assert rows[0].startswith("problem,method,test,runs,instances,metric")
    assert len(rows) == 1 + 3 + 3  # (2 targets + all) per (problem, gp)
    md = (out / "report" / "report.md").read_text()
    assert "Generalisation: policies on instances they never saw" in md
    assert (out / "report" / "figures" / "size_curve_hfs.png").is_file()
    # the references, cached: 3 MILP plans (make-or-buy), 4 GA searches (HFS)
    assert len(list((out / "references").iterdir())) == 7
    # rebuilt from the records alone, the same table
    csv_before = (out / "report" / "generalisation.csv").read_bytes()
    assert main(["report", str(out)]) == 0
    assert (out / "report" / "generalisation.csv").read_bytes() == csv_before


def test_a_test_set_must_be_finite_and_a_distribution_needs_its_crew(tmp_path):
    bad = TESTED.replace('test = "list2,generated(n=20):test:2"', 'test = "generated:test"')
    with pytest.raises(DataError, match="line 11.*a test set must be finite"):
        load_suite(write_suite(tmp_path, bad))
    bad = TESTED.replace("workers = [2, 5, 2]\n", "")
    with pytest.raises(DataError, match="a distribution needs its crew"):
        load_suite(write_suite(tmp_path, bad))
