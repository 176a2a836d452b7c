"""Bi-level planning and scheduling (scmgym.planning.bilevel): the STN follower, the DOMINO
loop, the study (resume, determinism) and the CLI."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from scmgym.baselines.milp.common import SolverOptions, solve
from scmgym.cli import main
from scmgym.errors import ScmgymError
from scmgym.planning.bilevel.core import FollowerCache, evaluate, verify
from scmgym.planning.bilevel.domino import DominoSettings, run_domino, sample
from scmgym.planning.bilevel.stn import CompiledSTN, build_stn_model, kondili
from scmgym.planning.bilevel.stn_case import STNCase, STNFollower, sequential, stn_problem
from scmgym.planning.bilevel.study import run_study

pyo = pytest.importorskip("pyomo.environ")


@pytest.fixture(scope="module")
def problem():
    return stn_problem(events=4)


def test_kondili_capacity_is_the_published_optimum():
    """Most P1 + P2 in 8 hours: Ierapetritou and Floudas report a profit of 1498.19 at a
    price of 10 per unit (149.82 units)."""
    data = kondili(events=4)
    m = build_stn_model(data, {})
    m.cost.deactivate()
    last = data.events - 1
    m.most = pyo.Objective(expr=sum(m.deliver[p, n] for p in data.products for n in m.N) + sum(
        t.produces.get(p, 0.0) * m.B[t.name, last] for t in data.tasks for p in data.products),
        sense=pyo.maximize)
    info = solve(m, SolverOptions(threads=1, mip_rel_gap=0.0))
    assert info.status == "optimal"
    assert info.objective == pytest.approx(149.8185, abs=1e-3)


def test_a_single_batch_target_costs_its_hand_computed_schedule():
    """P1 = 4 and P2 = 0: the cheapest way is one batch of each of heating (4 of A), reaction 1
    (6 of B+C into IntBC) and reaction 2 (10: 4 HotA + 6 IntBC into 4 P1 and 6 IntAB); fixed
    costs 5 + 10 + 10, handling 0.10 * 4 + 0.25 * 6 + 0.25 * 10 = 4.4."""
    result = STNFollower(kondili(events=4)).solve({"P1": 4.0, "P2": 0.0})
    assert result.status == "optimal"
    assert result.cost == pytest.approx(29.4, abs=1e-6)
    tasks = sorted(r["task"].split("@")[0] for r in result.solution)
    assert tasks == ["heating", "reaction1", "reaction2"]
    for row in result.solution:  # within the horizon, duration = alpha + beta * batch
        assert 0 <= row["start"] <= row["finish"] <= 8.0 + 1e-6


def test_an_impossible_target_is_infeasible_not_an_error():
    result = STNFollower(kondili(events=4)).solve({"P1": 80.0, "P2": 80.0})  # > 149.8 in all
    assert result.status == "infeasible" and result.cost is None and not result.feasible


def test_bad_targets_are_refused_with_the_product_named():
    follower = STNFollower(kondili(events=4))
    with pytest.raises(ScmgymError, match="'P3'.*products"):
        follower.solve({"P3": 1.0})
    with pytest.raises(ScmgymError, match="P1=-1"):
        follower.solve({"P1": -1.0})


@pytest.mark.parametrize("events", [4, 5])
def test_the_compiled_follower_equals_the_pyomo_model(events):
    data = kondili(events=events)
    fast = CompiledSTN(data)
    rng = random.Random(events)
    points = [(rng.randint(0, 80), rng.randint(0, 80)) for _ in range(5)] + [(80, 80), (0, 0)]
    for a, b in points:
        targets = {"P1": float(a), "P2": float(b)}
        status, cost, _ = fast.solve(targets)
        info = solve(build_stn_model(data, targets), SolverOptions(threads=1, mip_rel_gap=0.0))
        assert (status, cost) == (info.status, info.objective), targets


def test_four_event_points_give_the_optima_of_five():
    """The studies run with 4 event points (a third of the time); on these targets the
    optimum is the one of the source's 5 (the benchmark checks 40 more)."""
    four, five = CompiledSTN(kondili(events=4)), CompiledSTN(kondili(events=5))
    for a, b in [(0, 80), (80, 0), (30, 60), (70, 79), (75, 70), (55, 45)]:
        targets = {"P1": float(a), "P2": float(b)}
        assert four.solve(targets)[:2] == five.solve(targets)[:2], targets


def test_leader_bookkeeping(problem):
    leader = problem.leader
    x = sample(problem, 1, "lhs", 3)[0]
    prd, inv = leader.production(x), leader.inventory(x)
    demand = np.array([leader.case.demand[p] for p in leader.case.products]).T
    start = x[-2:]
    assert np.allclose(inv[-1], start)  # cyclic: the week ends with the stock it began with
    assert np.allclose(np.diff(np.vstack([start, inv]), axis=0), prd - demand)  # balance
    assert np.all(leader.constraints(x) <= 1e-9)  # sampled points are repaired


def test_evaluate_adds_leader_and_follower_costs_and_verify_agrees(problem):
    x = sample(problem, 2, "sobol", 1)[1]
    ev = evaluate(problem, x)
    if ev.feasible:
        assert ev.total == pytest.approx(ev.leader_cost + sum(f.cost for f in ev.followers))
    again = verify(problem, x)
    assert again.to_dict() == ev.to_dict()


def test_sequential_plan_cannot_be_scheduled(problem):
    seq = sequential(problem)
    assert not seq["feasible"] and seq["infeasible_days"] == [3, 5]


def test_domino_best_point_is_reverified_and_guaranteed(problem):
    cache = FollowerCache()
    run = run_domino(problem, DominoSettings(samples=10, budget=8), seed=0, cache=cache)
    assert run.evaluations == 18 and len(run.history) == 18
    assert run.best is not None and run.verified
    check = verify(problem, run.best["x"])  # every follower solved again from scratch
    assert check.guaranteed and check.total == pytest.approx(run.objective)
    bests = [h["best"] for h in run.history if h["best"] is not None]
    assert bests == sorted(bests, reverse=True)  # the best so far never gets worse
    assert cache.hits > 0  # repeated follower problems are answered from the cache


@pytest.mark.parametrize("optimiser", ["nomad", "optuna", "cmaes"])
def test_same_seed_same_run(problem, optimiser):
    settings = DominoSettings(samples=4, budget=5, optimiser=optimiser)
    a = run_domino(problem, settings, seed=2)
    b = run_domino(problem, settings, seed=2)
    assert a.history == b.history and a.best == b.best


def test_a_study_resumes_to_the_same_result(tmp_path, problem):
    settings = DominoSettings(samples=3, budget=2)
    whole = run_study(problem, settings, runs=3, seed=1, out=tmp_path / "whole")
    part = tmp_path / "part"
    run_study(problem, settings, runs=2, seed=1, out=part)  # as if killed after two runs
    lines = (part / "runs.jsonl").read_text()
    (part / "runs.jsonl").write_text(lines + '{"seed": 1, "torn')  # and mid-write
    resumed = run_study(problem, settings, runs=3, seed=1, out=part)
    strip = [{k: v for k, v in r.to_dict().items() if k != "seconds"} for r in resumed.runs]
    assert strip == [{k: v for k, v in r.to_dict().items() if k != "seconds"}
                     for r in whole.runs]
    assert resumed.summary()["objective"] == whole.summary()["objective"]


def test_ctrl_c_reaches_python_after_and_during_nomad(problem):
    """NOMAD leaves its own SIGINT handler installed (and, once it has caught one, SIGINT
    ignored, inherited by child processes); the handler is put back after each run."""
    import os
    import signal
    import threading

    run_domino(problem, DominoSettings(samples=3, budget=2), seed=0)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):  # after NOMAD, Ctrl-C is Python's again
        os.kill(os.getpid(), signal.SIGINT)
        threading.Event().wait(2.0)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):  # during NOMAD: it stops and the run is interrupted
        timer.start()
        run_domino(problem, DominoSettings(samples=3, budget=400), seed=1)
    timer.join()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        threading.Event().wait(2.0)


def test_parallel_study_equals_the_serial_one(tmp_path, problem):
    from scmgym.experiments.backends import get_backend

    settings = DominoSettings(samples=4, budget=3)
    serial = run_study(problem, settings, runs=2, seed=4)
    parallel = run_study(problem, settings, runs=2, seed=4, runner=get_backend("local", 2))
    assert [r.history for r in serial.runs] == [r.history for r in parallel.runs]
    assert [r.best for r in serial.runs] == [r.best for r in parallel.runs]


def test_cli_hfs_case_reports_crews_and_the_constant_crew(tmp_path, capsys):
    argv = ["plan", "bilevel", "--case", "hfs", "--weeks", "2", "--runs", "2", "--samples",
            "4", "--budget", "4", "--references", "--json", "--no-progress"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["week"] for row in data["plan"]["weeks"]] == [1, 2]
    assert data["guaranteed_feasible"] is False  # a dispatching rule proves no optimality
    assert data["references"]["constant_crew"]["cheapest"]["total"] > 0


def test_settings_and_case_errors_name_the_value():
    with pytest.raises(ScmgymError, match="optimiser 'bogus'"):
        DominoSettings(optimiser="bogus")
    with pytest.raises(ScmgymError, match="variant 'cubic'"):
        stn_problem("cubic")
    with pytest.raises(ScmgymError, match="demand of P1"):
        STNCase(demand={"P1": (90,) * 7, "P2": (1,) * 7})


def test_cli_writes_the_result_plots_and_json(tmp_path, capsys):
    out = tmp_path / "bl"
    argv = ["plan", "bilevel", "--case", "stn", "--events", "4", "--runs", "2", "--samples",
            "8", "--budget", "2", "--seed", "3", "--out", str(out), "--json", "--no-progress"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runs"] == 2 and len(data["run_results"]) == 2
    found = [r["objective"] for r in data["run_results"] if r["objective"] is not None]
    assert found and data["objective"] == min(found)
    assert data["guaranteed_feasible"] is True
    assert set(data["plan"]) == {"P1", "P2"}
    for name in ("result.json", "runs.jsonl", "profiles.csv", "profiles.png", "plan.png",
                 "plan.csv"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "result.json").read_text())["objective"] == data["objective"]
    # a rerun resumes: nothing is solved again, the same answer
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["objective"] == data["objective"]


def test_nonlinear_variant_needs_scip_or_solves_with_it():
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        with pytest.raises(ScmgymError, match="SCIP"):
            stn_problem("nonlinear")
        return
    problem = stn_problem("nonlinear", events=4)
    result = problem.followers[0].solve({"P1": 4.0, "P2": 0.0})
    assert result.status == "optimal" and result.solver == "scip_direct"
    # the linear schedule's cost plus the quadratic batch cost q * (4^2 + 6^2 + 10^2)
    assert result.cost == pytest.approx(29.4 + 0.002 * (16 + 36 + 100), abs=1e-4)
