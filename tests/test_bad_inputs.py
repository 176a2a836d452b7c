"""The bad-input catalogue: every bad invocation gets one line that names the argument or file,
the value and what is allowed; exit status 1; no traceback; no work done first.

Each case is ``(files, argv, message)``: ``files`` are written into the test's folder first
(``{tmp}`` in argv is that folder).
"""

from __future__ import annotations

import json

import pytest

from scmgym.cli import main

HFS_HEADER = ("order_id,machine_type,date_basement_arrival,date_electrical_panel_arrival,"
              "date_delivery")
GOOD_TREE = {"format": "scmgym-policy", "version": 1, "kind": "tree",
             "schema": {"features": [{"name": "a", "low": 0, "high": 20}],
                        "actions": ["make", "buy"]},
             "tree": {"op": "<", "lhs": {"feature": 0}, "rhs": 5, "then": {"action": 0},
                      "else": {"action": 1}}, "meta": {}}


def tree(**changes) -> str:
    return json.dumps({**GOOD_TREE, **changes})


def deep_tree(depth: int) -> str:
    """A tree nested ``depth`` splits deep (built as text: too deep for ``json.dumps``)."""
    split = '{"op": "<", "lhs": {"feature": 0}, "rhs": 1, "then": '
    nested = split * depth + '{"action": 0}' + ', "else": {"action": 1}}' * depth
    return tree(tree="NODE").replace('"NODE"', nested)


CASES = [
    # -- data files ------------------------------------------------------------------------------
    ({}, ["simulate", "hfs", "--dataset", "d9"], "no such dataset (got 'd9')"),
    ({"x.csv": f"{HFS_HEADER}\n0,lt7,1,1,1000000000\n"},
     ["simulate", "hfs", "--dataset", "{tmp}/x.csv"],
     "row 2, column 'date_delivery': out of range (got 1000000000); allowed: an integer in "
     "[0, 10000]"),
    ({"x.csv": f"{HFS_HEADER}\n0,lt7,10000000,1,5\n"},
     ["simulate", "hfs", "--dataset", "{tmp}/x.csv"],
     "column 'date_basement_arrival': out of range (got 10000000)"),
    ({"x.csv": f"{HFS_HEADER}\n0,lt9,1,1,5\n"}, ["simulate", "hfs", "--dataset", "{tmp}/x.csv"],
     "column 'machine_type': unknown machine type (got 'lt9')"),
    ({"x.csv": ""}, ["simulate", "hfs", "--dataset", "{tmp}/x.csv"], "the file is empty"),
    ({"x.xlsx": "not a workbook"}, ["simulate", "hfs", "--dataset", "{tmp}/x.xlsx"],
     "x.xlsx: cannot read the file"),
    ({"x.xlsx": b"PK\x03\x04" + b"\x00" * 40}, ["simulate", "make-or-buy", "--dataset",
                                               "{tmp}/x.xlsx"],
     "x.xlsx: not a readable Excel workbook"),
    ({"x.csv": "id,a,b,c,deadline\n1,1,2,3,not-a-date\n"},
     ["simulate", "make-or-buy", "--dataset", "{tmp}/x.csv"], "column 'deadline'"),
    ({"x.csv": "id,a,b,c,deadline\n1,1,99,3,2025-01-01\n"},
     ["simulate", "make-or-buy", "--dataset", "{tmp}/x.csv"], "column 'b'"),
    ({}, ["simulate", "hfs", "--order", "sideways"], "sideways"),
    ({}, ["simulate", "make-or-buy", "--decisions", "0101"], "decisions"),
    ({}, ["simulate", "hfs", "--workers", "2,5"], "workers"),
    ({}, ["simulate", "hfs", "--workers", "2,1,2"], "E pool has 1"),
    # -- train -----------------------------------------------------------------------------------
    ({}, ["train"], "a method is required"),
    ({}, ["train", "eldt", "--budget", "0"], "--budget must be positive (got 0)"),
    ({}, ["train", "eldt", "--budget", "3"],
     "the budget is too small for eldt to evaluate its initial population (got 3); allowed: "
     "at least 25 (5 individuals x 5 episodes)"),
    ({}, ["train", "gp", "--budget", "10"], "allowed: at least 20 (20 individuals)"),
    ({}, ["train", "eldt", "--population", "1"], "population_size=1; allowed: an integer >= 2"),
    ({}, ["train", "eldt", "--episodes", "0"], "episodes_per_evaluation=0"),
    ({}, ["train", "random", "--generations", "3"], "--generations does not apply to random"),
    ({}, ["train", "eldt", "--max-height", "3"], "--max-height does not apply to eldt"),
    ({}, ["train", "gp", "--env", "hfs", "--boolean-ops"],
     "boolean_ops=True; allowed: only on the make-or-buy plant"),
    ({}, ["train", "eldt", "--env", "make-or-buy", "--workers", "9,9,9"],
     "column 'workers': the ABCD make-or-buy plant has no worker pools (got '9,9,9')"),
    ({}, ["train", "eldt", "--env", "make-or-buy", "--levels", "3"],
     "env takes no argument priority_levels"),
    ({}, ["train", "eldt", "--env", "make-or-buy", "--dataset", "d1"],
     "no such dataset (got 'd1'); allowed: one of list1, list2, list3"),
    ({}, ["train", "edd", "--env", "make-or-buy"], "does not apply to this plant"),
    ({}, ["train", "ga", "--hp", "oops"], "--hp takes NAME=VALUE (got 'oops')"),
    ({}, ["train", "ga", "--hp", "crossover_rate=2"], "crossover_rate"),
    ({}, ["train", "ga", "--hp", "mutation=0.5"],
     "ga has no hyperparameter mutation; allowed: population_size, generations"),
    ({}, ["train", "random", "--hp", "x=1"], "random has no hyperparameter x; allowed: none"),
    ({}, ["train", "eldt", "--hp", "foo=1"],
     "eldt has no hyperparameter foo; allowed: population_size, generations"),
    ({}, ["train", "ppo", "--hp", "foo=1", "--budget", "2"],
     "PPO.__init__() got an unexpected keyword argument 'foo'"),
    ({}, ["train", "ppo", "--hp", "gamma=1.5"], "gamma=1.5"),
    ({}, ["train", "ppo", "--hp", "learning_rat=0.1"], "learning_rat"),
    ({}, ["train", "--resume", "{tmp}/nowhere"], "not a run directory (no config.json)"),
    ({"old/config.json": '{"method": "eldt", "problem": "hfs:d1"}'},
     ["train", "--resume", "{tmp}/old"], "not a run configuration of this scmgym version"),
    # -- compare ---------------------------------------------------------------------------------
    ({}, ["compare", "--problem", "hfs"], "problem must be PLANT:DATASET (got 'hfs')"),
    ({}, ["compare", "--problem", "flowshop:d1"], "unknown plant (got 'flowshop')"),
    ({}, ["compare", "--problem", "make-or-buy:list1", "--methods", "edd"],
     "edd do not apply to the make-or-buy plant"),
    ({}, ["compare", "--problem", "hfs:d1", "--methods", ""], "empty method name"),
    ({}, ["compare", "--problem", "hfs:d1", "--methods", "random,random"],
     "named twice: random"),
    ({}, ["compare", "--problem", "hfs:d1", "--methods", "random,sa"], "unknown method(s) sa"),
    ({}, ["compare", "--problem", "make-or-buy:list1", "--workers", "9,9,9", "--methods",
          "random"], "has no worker pools"),
    ({}, ["compare", "--problem", "hfs:d1", "--methods", "eldt", "--budget", "10"],
     "too small for eldt"),
    ({}, ["compare", "--problem", "hfs:d1", "--runs", "0"], "--runs=0; allowed: a positive"),
    ({}, ["compare", "--problem", "hfs:d1", "--milp-time-limit", "0"], "--milp-time-limit=0"),
    # -- demo and milp ---------------------------------------------------------------------------
    ({}, ["demo", "--budget", "0"], "--budget must be a positive integer (got 0)"),
    ({}, ["demo", "--seeds", "0"], "--seeds must be a positive integer (got 0)"),
    ({}, ["demo", "--methods", "random,sa"], "unknown method(s) sa"),
    ({}, ["demo", "--methods", "eldt", "--budget", "10"], "too small for eldt"),
    ({}, ["milp", "make-or-buy", "--seeds", "0"], "--seeds must be a positive integer (got 0)"),
    ({}, ["milp", "make-or-buy", "--robust", "0.3"], "0.3"),
    # -- show-tree -------------------------------------------------------------------------------
    ({}, ["show-tree", "{tmp}/missing.json"], "no such policy file"),
    ({"run/x": ""}, ["show-tree", "{tmp}/run"], "the run directory has no policy.json"),
    ({"p.json": "[1, 2]"}, ["show-tree", "{tmp}/p.json"],
     "a policy file holds a JSON object, not a list"),
    ({"p.json": "{not json"}, ["show-tree", "{tmp}/p.json"], "not a readable policy"),
    ({"p.json": tree(version=99)}, ["show-tree", "{tmp}/p.json"],
     "policy format version 99; allowed: 1"),
    ({"p.json": tree(kind="nn")}, ["show-tree", "{tmp}/p.json"], "unknown policy kind 'nn'"),
    ({"p.json": tree(tree={"action": 7})}, ["show-tree", "{tmp}/p.json"],
     "leaf action 7; allowed: 0..1 (make, buy)"),
    ({"p.json": tree(tree={"op": "<", "lhs": {"feature": 3}, "rhs": 1, "then": {"action": 0},
                           "else": {"action": 1}})}, ["show-tree", "{tmp}/p.json"],
     "feature index 3; allowed: 0..0"),
    ({"p.json": tree(tree={"op": "<", "lhs": {"feature": 0}})},
     ["show-tree", "{tmp}/p.json"], "a split node needs op, lhs, rhs, then and else"),
    ({"p.json": deep_tree(3000)}, ["show-tree", "{tmp}/p.json"],
     "the tree is nested more than 200 levels deep"),
    ({"p.json": json.dumps({"format": "scmgym-policy", "version": 1, "kind": "plan",
                            "solution": [1, 0]})}, ["show-tree", "{tmp}/p.json"],
     "a policy of kind 'plan' is not a tree"),
]


@pytest.mark.parametrize("files, argv, message", CASES,
                         ids=[" ".join(c[1])[:60] for c in CASES])
def test_bad_input_gets_one_clear_line(capsys, tmp_path, files, argv, message):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    out_dir = tmp_path / "runs"
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if args[0] in ("train", "compare") and "--resume" not in args:
        args += ["--out", str(out_dir)]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 1, (code, out, err)
    assert "Traceback" not in err + out
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("scmgym: error: "), err
    assert message in lines[0], lines[0]
    assert not out_dir.exists() or not any(out_dir.iterdir())  # no work started


def test_the_catalogue_is_large_enough():
    assert len(CASES) >= 40


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(ValueError, match="budget"):
        main(["--debug", "train", "eldt", "--budget", "0"])


@pytest.fixture
def interrupted_run(tmp_path, capsys, interrupter):
    """An ELDT run stopped by Ctrl-C after 30 simulations (a checkpoint, no result.json)."""
    interrupter.arm(31)
    code = main(["train", "eldt", "--budget", "200", "--out", str(tmp_path / "runs"),
                 "--no-progress", "--eval-episodes", "1"])
    interrupter.disarm()
    capsys.readouterr()
    assert code == 130
    (run_dir,) = (tmp_path / "runs").iterdir()
    return run_dir


def edit_config(run_dir, **changes):
    path = run_dir / "config.json"
    config = json.loads(path.read_text())
    for key, value in changes.items():
        target = config
        *parents, last = key.split(".")
        for part in parents:
            target = target[part]
        target[last] = value
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("edit, argv, message", [
    (None, ["--seed", "5", "--env", "hfs"], "--env, --seed cannot change it"),
    (None, ["--hp", "x=1"], "--hp cannot change it"),
    (None, ["--budget", "3"], "--budget is below the 30 simulations the run has done"),
    ({"problem.dataset": "list2"}, [], "the checkpoint belongs to another run (instance differ"),
    ({"seed": 9}, [], "the checkpoint belongs to another run (hparams differ"),
    ({"method": "sa"}, [], "not a run configuration of this scmgym version"),
    ("truncate", [], "checkpoint.pkl: the checkpoint cannot be read (UnpicklingError"),
    ("short history", [], "history.csv: 10 rows, but the checkpoint counts 30 simulations"),
    ("finished", [], "the run is finished"),
])
def test_resume_refuses_what_it_cannot_continue(capsys, interrupted_run, edit, argv, message):
    run_dir = interrupted_run
    history_before = (run_dir / "history.csv").read_text()
    if isinstance(edit, dict):
        edit_config(run_dir, **edit)
    elif edit == "truncate":
        data = (run_dir / "checkpoint.pkl").read_bytes()
        (run_dir / "checkpoint.pkl").write_bytes(data[:100])
    elif edit == "short history":
        lines = history_before.splitlines()[:11]
        (run_dir / "history.csv").write_text("\n".join(lines) + "\n")
        history_before = (run_dir / "history.csv").read_text()
    elif edit == "finished":
        (run_dir / "result.json").write_text("{}")
    code = main(["train", "--resume", str(run_dir), *argv])
    _, err = capsys.readouterr()
    assert code == 1 and message in err and "Traceback" not in err, err
    assert (run_dir / "history.csv").read_text() == history_before  # nothing lost or added
