"""End-to-end tests of `scmgym train` and `scmgym show-tree`: run them, check what they wrote."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scmgym.cli import main
from scmgym.core.io import load_checkpoint
from scmgym.policies import load_policy


def train(capsys, tmp_path, *argv):
    code = main(["train", *argv, "--out", str(tmp_path / "runs"), "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def run_dirs(tmp_path):
    return sorted((tmp_path / "runs").iterdir())


def history(run_dir: Path) -> list[dict]:
    with (run_dir / "history.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_eldt_make_or_buy_run_directory(capsys, tmp_path):
    code, out, _ = train(capsys, tmp_path, "eldt", "--env", "make-or-buy", "--list", "list1",
                         "--budget", "200", "--seed", "0", "--generations", "3",
                         "--eval-episodes", "3")
    assert code == 0
    (run_dir,) = run_dirs(tmp_path)
    assert run_dir.name.startswith("make-or-buy-list1__eldt__s0__")
    for name in ("config.json", "history.csv", "policy.json", "tree.txt", "tree.png",
                 "convergence.png", "evaluation.json", "result.json"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "checkpoint.pkl").exists()  # only while a run is unfinished
    config = json.loads((run_dir / "config.json").read_text())
    assert config["method"] == "eldt" and config["budget"] == 200
    summary = json.loads((run_dir / "result.json").read_text())
    assert summary["extra"]["status"] == "done"
    rows = history(run_dir)
    assert summary["simulations"] == len(rows) <= 100
    assert summary["extra"]["nominal_simulations"] == 3 * 5 * 5
    assert [int(r["simulation"]) for r in rows] == list(range(1, len(rows) + 1))
    assert float(rows[-1]["best_so_far"]) == max(float(r["value"]) for r in rows)
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["n_episodes"] == 3 and len(evaluation["values"]) == 3
    coverage = (run_dir / "tree.txt").read_text().split("# Leaf coverage")[1]
    assert sum(int(line.split()[-2]) for line in coverage.splitlines()[1:] if line) == 100
    policy = load_policy(run_dir / "policy.json")
    assert policy.kind == "eldt"
    assert policy.to_text() in (run_dir / "tree.txt").read_text()
    assert (run_dir / "tree.png").read_bytes()[:4] == b"\x89PNG"
    assert "best tree (simplified):" in out and str(run_dir) in out


def test_gp_hfs_run(capsys, tmp_path):
    code, out, _ = train(capsys, tmp_path, "gp", "--env", "hfs", "--dataset", "d1",
                         "--workers", "2,5,2", "--budget", "40", "--seed", "1",
                         "--generations", "3", "--population", "8", "--eval-episodes", "2")
    assert code == 0
    (run_dir,) = run_dirs(tmp_path)
    assert run_dir.name.startswith("hfs-d1__gp__s1__")
    summary = json.loads((run_dir / "result.json").read_text())
    rows = history(run_dir)
    assert float(rows[-1]["best_so_far"]) == min(float(r["value"]) for r in rows)
    assert summary["best_value"] == min(float(r["value"]) for r in rows)
    policy = load_policy(run_dir / "policy.json")
    assert policy.kind == "gp" and policy.expression.startswith(("if_then_else", "level_"))


def test_interrupt_then_resume_equals_uninterrupted_run(capsys, tmp_path,
                                                       interrupter):
    args = ["eldt", "--env", "hfs", "--budget", "100", "--seed", "3", "--generations", "4",
            "--eval-episodes", "2"]
    ref_code, _, _ = train(capsys, tmp_path / "ref", *args)
    (ref_dir,) = run_dirs(tmp_path / "ref")
    interrupter.arm(23)
    code, out, _ = train(capsys, tmp_path, *args)
    assert code == 130 and "--resume" in out
    (run_dir,) = run_dirs(tmp_path)
    assert not (run_dir / "result.json").exists()  # not a finished run
    assert len(history(run_dir)) == 20
    interrupter.disarm()
    code = main(["train", "--resume", str(run_dir), "--no-progress"])
    assert code == 0 and ref_code == 0
    assert (run_dir / "history.csv").read_text() == (ref_dir / "history.csv").read_text()
    assert (run_dir / "policy.json").read_text() == (ref_dir / "policy.json").read_text()


def test_sigterm_leaves_a_consistent_run_directory(tmp_path):
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scmgym.cli", "train", "eldt", "--env", "hfs", "--budget",
         "100000", "--out", str(out), "--no-progress", "--eval-episodes", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    run_dir = None
    while time.time() < deadline:
        dirs = list(out.glob("*")) if out.exists() else []
        if dirs and (dirs[0] / "history.csv").exists() and \
                len((dirs[0] / "history.csv").read_text().splitlines()) > 30:
            run_dir = dirs[0]
            break
        time.sleep(0.2)
    assert run_dir is not None, "training did not start"
    os.kill(proc.pid, signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130
    state = load_checkpoint(run_dir / "checkpoint.pkl")
    rows = len((run_dir / "history.csv").read_text().splitlines()) - 1
    assert rows == state["simulations"] > 0
    assert (run_dir / "policy.json").is_file() and "--resume" in stdout
    code = main(["train", "--resume", str(run_dir), "--budget", str(rows + 10),
                 "--no-progress"])
    assert code == 0
    assert len((run_dir / "history.csv").read_text().splitlines()) - 1 == rows + 10


@pytest.mark.parametrize("argv, message", [
    (["eldt", "--env", "hfs", "--workers", "2,1,2"], "E pool has 1"),
    (["eldt", "--population", "1"], "population_size=1; allowed: an integer >= 2"),
    (["gp", "--budget", "0"], "--budget must be positive"),
    (["--resume", "nowhere"], "not a run directory"),
    ([], "a method is required"),
])
def test_train_errors(capsys, tmp_path, argv, message):
    code = main(["train", *argv, "--out", str(tmp_path / "runs")])
    _, err = capsys.readouterr()
    assert code == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_show_tree_formats(capsys, tmp_path):
    train(capsys, tmp_path, "gp", "--budget", "30", "--generations", "2", "--population", "6",
          "--eval-episodes", "1")
    (run_dir,) = run_dirs(tmp_path)
    policy = load_policy(run_dir / "policy.json")
    for fmt, check in (("text", lambda s: s == policy.to_text()),
                       ("python", lambda s: s.startswith("ACTIONS = ('make', 'buy')")),
                       ("dot", lambda s: s.startswith("digraph")),
                       ("json", lambda s: json.loads(s)["kind"] == "gp")):
        assert main(["show-tree", str(run_dir / "policy.json"), "--format", fmt]) == 0
        assert check(capsys.readouterr().out.rstrip("\n")), fmt
    assert main(["show-tree", str(run_dir / "policy.json"), "--simplify", "--png",
                 str(tmp_path / "t.png")]) == 0
    assert capsys.readouterr().out.strip() == policy.simplify().to_text()
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["show-tree", str(tmp_path / "missing.json")]) == 1
    assert "no such policy file" in capsys.readouterr().err


def test_train_runs_a_baseline_into_the_same_run_directory(capsys, tmp_path):
    code, out, _ = train(capsys, tmp_path, "ga", "--env", "hfs", "--dataset", "d4",
                         "--budget", "30", "--seed", "2", "--generations", "4",
                         "--hp", "faithful=true", "--eval-episodes", "2")
    assert code == 0
    (run_dir,) = run_dirs(tmp_path)
    names = {p.name for p in run_dir.iterdir()}
    assert names == {"config.json", "history.csv", "policy.json", "evaluation.json",
                     "convergence.png", "result.json"}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["hparams"] == {"generations": 4, "faithful": True}
    policy = load_policy(run_dir / "policy.json")
    result = json.loads((run_dir / "result.json").read_text())
    assert policy.kind == "plan" and policy.solution == result["best_solution"]
    rows = history(run_dir)
    assert len(rows) == result["simulations"] == 30  # GA of 10 individuals: 10 + 4 x 10 > 30
    assert float(rows[-1]["best_so_far"]) == result["best_value"]
    assert f"best makespan during the run: {result['best_value']}" in out


def test_train_and_compare_write_the_same_files(capsys, tmp_path):
    train(capsys, tmp_path, "gp", "--env", "hfs", "--dataset", "d4", "--budget", "30",
          "--generations", "2", "--population", "6", "--eval-episodes", "3")
    (trained,) = run_dirs(tmp_path)
    assert main(["compare", "--problem", "hfs:d4", "--methods", "gp", "--runs", "1",
                 "--budget", "30", "--reeval-seeds", "3", "--out", str(tmp_path / "cmp")]) == 0
    capsys.readouterr()
    (compared,) = [p for p in (tmp_path / "cmp").iterdir() if p.is_dir()]
    assert {p.name for p in trained.iterdir()} == {p.name for p in compared.iterdir()}
    for name in ("history.csv",):
        assert (trained / name).read_text().splitlines()[0] == \
            (compared / name).read_text().splitlines()[0]


@pytest.mark.parametrize("argv, message", [
    (["random", "--generations", "3"], "--generations does not apply to random"),
    (["edd", "--env", "make-or-buy"], "does not apply to this plant"),
    (["ga", "--hp", "nonsense"], "--hp takes NAME=VALUE"),
    (["ga", "--levels", "3"], "--levels applies to the policy methods"),
])
def test_train_method_argument_errors(capsys, tmp_path, argv, message):
    code = main(["train", *argv, "--out", str(tmp_path / "runs"), "--budget", "5"])
    _, err = capsys.readouterr()
    assert code == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_resume_refuses_a_foreign_config(capsys, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text(json.dumps({"method": "eldt",
                                                              "problem": "hfs:d1"}))
    assert main(["train", "--resume", str(tmp_path / "old")]) == 1
    err = capsys.readouterr().err
    assert "not a run configuration" in err and "Traceback" not in err
