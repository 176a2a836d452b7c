"""``scmgym evaluate``: a saved policy on instances it never saw, against per-instance
references, end to end through the CLI."""

from __future__ import annotations

import json

import pytest

from scmgym.cli import main
from scmgym.experiments.generalisation import evaluate_on, read_policy


def _train(tmp_path, capsys, *argv) -> str:
    out = tmp_path / "runs"
    assert main(["train", *argv, "--seed", "0", "--eval-episodes", "2", "--out", str(out),
                 "--no-progress"]) == 0
    capsys.readouterr()
    (run,) = sorted(out.iterdir())
    return str(run)


@pytest.fixture(scope="module")
def mob_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mob")
    out = tmp / "runs"
    assert main(["train", "gp", "--env", "make-or-buy", "--dataset", "list1,generated:train:3",
                 "--budget", "60", "--generations", "2", "--rotation", "generation",
                 "--episodes", "2", "--seed", "0", "--eval-episodes", "2", "--out", str(out),
                 "--no-progress"]) == 0
    (run,) = sorted(out.iterdir())
    return run


@pytest.mark.slow
def test_evaluate_make_or_buy_against_the_milp_plan(mob_run, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "result.json"
    argv = ["evaluate", str(mob_run), "--on", "list1,list2,generated(n=20):test:2",
            "--seeds", "4", "--milp-time-limit", "20", "--cache", str(cache), "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["trained_on"] == "list1,generated:train:3" and result["reference"] == "milp"
    rows = [r for t in result["targets"].values() for r in t["rows"]]
    assert [r["instance"] for r in rows] == ["list1", "list2", "generated(n=20):test#0",
                                            "generated(n=20):test#1"]
    assert [r["seen_in_training"] for r in rows] == [True, False, False, False]
    for r in rows:
        assert r["seeds"] == 4 and r["baseline"] == "all-buy"
        assert r["baseline_value"] == 70 * r["orders"]  # buying everything is certain
        assert r["pct_of_reference"] == pytest.approx(100 * r["policy_mean"] / r["reference_value"])
        assert r["reference_value"] >= r["baseline_value"]  # the MILP plan beats all-buy
    assert "(seen in training)" in text and "% of the reference" in text
    agg = result["targets"]["generated(n=20):test:2"]["aggregate"]
    assert agg["instances"] == 2 and agg["worst_pct_of_reference"] <= agg["pct_of_reference"]
    assert 0 < agg["baseline_pct_of_reference"] <= 100  # all-buy never beats the MILP plan
    # the references are cached: a second call solves nothing and gives the same numbers
    cached = sorted((cache / "references").iterdir())
    assert len(cached) == 4
    assert main([*argv, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["targets"] == result["targets"]
    assert sorted((cache / "references").iterdir()) == cached


def test_evaluate_hfs_against_a_search_and_the_bound(tmp_path, capsys):
    run = _train(tmp_path, capsys, "eldt", "--env", "hfs", "--dataset", "d1", "--budget", "50",
                 "--generations", "1", "--workers", "2,5,2")
    result = evaluate_on(read_policy(run), "d2,generated(n=20):test:2", seeds=3,
                         search_budget=40, cache=None, jobs=2)
    rows = [r for t in result["targets"].values() for r in t["rows"]]
    assert len(rows) == 3 and result["reference"] == "search"
    for r in rows:
        assert r["lower_bound"] <= r["reference_value"] and r["lower_bound"] <= r["policy_mean"]
        assert r["gap_to_bound_pct"] >= 0 and r["baseline"] == "edd"
    assert result["overall"]["instances"] == 3
    # parallel and serial give the same rows
    serial = evaluate_on(read_policy(run), "d2,generated(n=20):test:2", seeds=3,
                         search_budget=40, cache=None, jobs=1)
    def numbers(res):  # everything but the time a reference took to solve
        return [{k: v for k, v in r.items() if k != "reference_seconds"}
                for t in res["targets"].values() for r in t["rows"]]

    assert numbers(serial) == numbers(result)


def test_evaluate_refuses_what_it_cannot_do(mob_run, tmp_path, capsys):
    plan = _train(tmp_path, capsys, "random", "--env", "make-or-buy", "--budget", "5")
    assert main(["evaluate", plan, "--on", "list2"]) == 1
    assert "a plan is the solution of one instance" in capsys.readouterr().err
    assert main(["evaluate", str(mob_run), "--on", "generated:test", "--no-cache"]) == 1
    assert "a test set must be finite" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nothing"), "--on", "list2"]) == 1
    assert "no policy here" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", str(mob_run), "--on", "list2", "--reference", "bogus"])
    assert main(["evaluate", str(mob_run), "--on", "list2", "--reference", "search",
                 "--seeds", "0", "--no-cache"]) == 1
    assert "seeds must be a positive integer" in capsys.readouterr().err


def test_a_relative_policy_is_evaluated_on_its_own_observation(tmp_path, capsys):
    run = _train(tmp_path, capsys, "gp", "--env", "hfs", "--dataset", "generated(n=20):train",
                 "--observation", "relative", "--budget", "60", "--generations", "2",
                 "--workers", "2,5,2")
    saved = read_policy(run)
    assert saved.env_kwargs == {"observation": "relative"}
    assert saved.trained_on == "generated(n=20):train"
    result = evaluate_on(saved, "generated(n=20):test:2", seeds=2, reference="none")
    rows = result["targets"]["generated(n=20):test:2"]["rows"]
    assert [r["seen_in_training"] for r in rows] == [None, None]  # an unbounded stream
    assert all("reference_value" not in r and r["gap_to_bound_pct"] >= 0 for r in rows)
    assert main(["train", "random", "--env", "hfs", "--observation", "relative",
                 "--budget", "5", "--out", str(tmp_path / "r"), "--no-progress"]) == 1
    assert "--observation applies to the policy methods" in capsys.readouterr().err


def test_a_numeric_priority_policy_runs_on_other_sizes(tmp_path, capsys):
    """PPO's HFS variant (Discrete(n) priorities) trained on 20 orders, applied to 10 and 40:
    the env keeps the trained range of priorities (only their order matters)."""
    run = _train(tmp_path, capsys, "ppo", "--env", "hfs", "--dataset", "generated(n=20):train",
                 "--budget", "20", "--workers", "2,5,2", "--hp", "n_steps=64",
                 "--hp", "batch_size=32")
    result = evaluate_on(read_policy(run), "generated(n=10):test:1,generated(n=40):test:1",
                         seeds=2, reference="none")
    rows = [r for t in result["targets"].values() for r in t["rows"]]
    assert [r["orders"] for r in rows] == [10, 40]
    assert all(r["policy_mean"] >= r["lower_bound"] for r in rows)
