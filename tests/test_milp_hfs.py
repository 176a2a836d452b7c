"""The HFS time-indexed relaxation: validity (every simulated schedule satisfies it), exact
hand-checked optima, the CLI and the comparison runner's gap column."""

from __future__ import annotations

import csv
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scmgym.baselines.milp import SolverOptions
from scmgym.baselines.milp.hfs import (
    ORDER_RULES,
    build_hfs_model,
    order_from_solution,
    schedule_values,
    solve_hfs,
    violated_constraints,
)
from scmgym.cli import main
from scmgym.simulators import hfs

pyo = pytest.importorskip("pyomo.environ")
pytest.importorskip("highspy")

FAST = SolverOptions(time_limit=30, mip_rel_gap=0.0, threads=1)
TYPES = sorted(hfs.MACHINE_TYPES)


def two_lt7() -> hfs.HFSInstance:
    return hfs.make_instance([(0, "lt7", 1, 1, 1), (1, "lt7", 1, 1, 1)])


def test_contention_example_bound_is_the_optimum():
    # Spec §12.2: two lt7 orders, M = E = R = 1, makespan 51 under either order. By hand: the 40
    # E units can start on day 3 at one per day, so the last is worked on day 42 or later; it is
    # production day 22 of its order, 6 days before the end, then detection, pickup and two days
    # of transport: 42 + 6 + 3 = 51. The analytic bound is only 43 (E: 40 + 3).
    inst = two_lt7()
    assert hfs.lower_bound(inst, (1, 1, 1)) == 43
    res = solve_hfs(inst, (1, 1, 1), options=FAST)
    assert res.status == "optimal"
    assert res.bound == 51 and res.objective == 51
    assert res.simulated_makespan == 51 and res.gap == 0.0
    assert sorted(res.order) == [0, 1] and res.order_rule in ORDER_RULES


def test_single_order_closed_form():
    # Spec §12.1: one lt8 order with its panel on day 10: makespan 39.
    inst = hfs.make_instance([(0, "lt8", 1, 10, 1)])
    res = solve_hfs(inst, (1, 2, 1), options=FAST)
    assert res.bound == 39 == res.simulated_makespan


def test_model_builds_without_solving_and_admits_simulated_schedules():
    inst = hfs.load_instance("d1")
    m = build_hfs_model(inst, (2, 5, 2), upper_bound=468)
    data = m.data
    assert data.lower_bound == 440 and data.horizon_makespan == 468
    assert len(m.delta) == 468 - 440  # one binary per candidate makespan
    assert all(v.is_binary() for v in m.delta.values())
    assert sum(1 for v in m.component_data_objects(pyo.Var) if v.is_integer()) == 28
    # E is the only kind near the bound with (2, 5, 2): M and R are dropped by kinds="auto"
    assert list(m.K) == ["E"]
    assert list(build_hfs_model(inst, (2, 5, 2), upper_bound=468, kinds="all").K) == list("MER")
    # the EDD and identity runs satisfy every constraint, with delta set to their makespan
    for order in (hfs.edd_order(inst), hfs.identity_order(inst)):
        res = hfs.simulate(inst, order, workers=(2, 5, 2))
        m2 = build_hfs_model(inst, (2, 5, 2), upper_bound=res.makespan)
        schedule_values(m2, res)
        assert violated_constraints(m2) == []


def test_violations_are_detected():
    # A schedule checked against a horizon shorter than its makespan must break something:
    # the checker is not vacuous.
    inst = two_lt7()
    res = hfs.simulate(inst, (0, 1), workers=(1, 1, 1))
    m = build_hfs_model(inst, (1, 1, 1), upper_bound=res.makespan, kinds="all")
    schedule_values(m, res)
    assert violated_constraints(m) == []
    m.delta[res.makespan].set_value(0)  # claim the makespan is one day shorter
    assert violated_constraints(m)


MAX_ORDERS = 5
orders_strategy = st.lists(
    st.tuples(st.sampled_from(TYPES), st.integers(1, 12), st.integers(1, 12),
              st.integers(1, 60)),
    min_size=1, max_size=MAX_ORDERS,
)
# three priority orders, each a permutation of range(MAX_ORDERS) restricted to the ids present
# (plain values rather than st.data(), so that @example can give them)
perms_strategy = st.lists(st.permutations(range(MAX_ORDERS)), min_size=3, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=orders_strategy,
       workers=st.tuples(st.integers(1, 2), st.integers(2, 3), st.integers(1, 2)),
       stations=st.integers(1, 3), trucks=st.integers(1, 2),
       pickup=st.sampled_from(["same_update", "next_update"]),
       kinds=st.sampled_from(["auto", "all"]), perms=perms_strategy)
# a model left without variables (see test_model_without_variables_is_solved)
@example(orders=[("lt8_p", 1, 1, 56)], workers=(1, 2, 1), stations=1, trucks=1,
         pickup="same_update", kinds="auto", perms=[list(range(MAX_ORDERS))] * 3)
def test_bound_never_exceeds_simulated_makespans(orders, workers, stations, trucks, pickup,
                                                 kinds, perms):
    inst = hfs.make_instance([(i, *row) for i, row in enumerate(orders)])
    perms = [[i for i in p if i < inst.n] for p in perms]
    runs = [hfs.simulate(inst, p, workers=workers, stations=stations, trucks_per_day=trucks,
                         pickup=pickup) for p in perms]
    # every simulated schedule satisfies the relaxation (built with its own makespan as horizon)
    for res in runs:
        m = build_hfs_model(inst, workers, stations=stations, trucks_per_day=trucks,
                            pickup=pickup, upper_bound=res.makespan, kinds=kinds, bucket=3)
        schedule_values(m, res)
        assert violated_constraints(m) == []
    # and the solved bound is below every one of them
    out = solve_hfs(inst, workers, options=FAST, stations=stations, trucks_per_day=trucks,
                    pickup=pickup, bucket=3)
    assert out.status == "optimal"
    assert out.analytic_bound <= out.bound <= min(r.makespan for r in runs)
    assert out.bound <= out.simulated_makespan


def test_model_without_variables_is_solved():
    # One lt8_p order due on day 56: the due date is the analytic bound and every order reaches
    # it, so the horizon equals the bound (no makespan indicator) and kinds="auto" drops every
    # worker kind: the model has no variable and no constraint. HiGHS reports such a model as
    # "empty" and Pyomo maps that to termination "unknown" without a solution; solve() decides
    # it itself.
    inst = hfs.make_instance([(0, "lt8_p", 1, 1, 56)])
    plant = dict(stations=1, trucks_per_day=1, pickup="same_update")
    m = build_hfs_model(inst, (1, 2, 1), bucket=3, **plant)
    assert m.data.lower_bound == m.data.horizon_makespan == 56
    assert next(m.component_data_objects(pyo.Var), None) is None
    res = solve_hfs(inst, (1, 2, 1), options=FAST, bucket=3, **plant)
    assert res.status == "optimal" and res.termination == "emptyModel"
    assert res.bound == 56 and res.objective == 56
    assert res.order == (0,) and res.simulated_makespan == 56 and res.gap == 0.0


def test_solve_decides_models_without_free_variables():
    from scmgym.baselines.milp import solve

    m = pyo.ConcreteModel()
    m.obj = pyo.Objective(expr=56)
    info = solve(m, FAST)
    assert (info.status, info.objective, info.bound) == ("optimal", 56, 56)
    # only fixed variables: the constraints are checked, the objective evaluated
    m.x = pyo.Var(bounds=(0, 1))
    m.x.fix(0)
    m.obj.deactivate()
    m.obj2 = pyo.Objective(expr=56 + m.x)
    m.c = pyo.Constraint(expr=m.x >= 1)
    info = solve(m, FAST)
    assert info.status == "infeasible" and info.objective is None
    m.x.fix(1)
    assert (solve(m, FAST).status, solve(m, FAST).objective) == ("optimal", 57)
    # the solver name is still checked first
    from scmgym.errors import ScmgymError

    with pytest.raises(ScmgymError, match="allowed: .*highs"):
        solve(m, SolverOptions(solver="nosuch"))


def test_order_rules_give_permutations():
    inst = hfs.make_instance([(0, "lt7", 1, 1, 40), (1, "lt8_p", 3, 5, 30), (2, "lt7", 1, 1, 1)])
    m = build_hfs_model(inst, (1, 2, 1), kinds="all")
    from scmgym.baselines.milp import solve

    assert solve(m, FAST).status == "optimal"
    for rule in ORDER_RULES:
        assert sorted(order_from_solution(m, rule)) == [0, 1, 2]
    with pytest.raises(ValueError, match="rule must be one of"):
        order_from_solution(m, "latest")


def test_bad_arguments():
    inst = two_lt7()
    with pytest.raises(ValueError, match="kinds must be"):
        build_hfs_model(inst, (1, 1, 1), kinds="X")
    with pytest.raises(ValueError, match="bucket must be"):
        build_hfs_model(inst, (1, 1, 1), bucket=0)
    with pytest.raises(ValueError, match="time_limit"):
        SolverOptions(time_limit=0)
    from scmgym.errors import InfeasibleError

    with pytest.raises(InfeasibleError):
        build_hfs_model(hfs.make_instance([(0, "lt7_p", 1, 1, 1)]), (1, 1, 1))


def write_tiny(path):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(hfs.COLUMNS)
        w.writerows([(0, "lt7", 1, 1, 1), (1, "lt7", 1, 1, 1), (2, "lt8_p", 2, 3, 20)])
    return path


def test_cli_json(capsys, tmp_path):
    data = write_tiny(tmp_path / "tiny.csv")
    assert main(["milp", "hfs", "--dataset", str(data), "--workers", "1,2,1",
                 "--time-limit", "30", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("status", "objective", "bound", "solve_seconds", "simulated_makespan"):
        assert key in out
    assert out["status"] == "optimal"
    assert out["analytic_bound"] <= out["bound"] <= out["simulated_makespan"]
    assert sorted(out["order"]) == [0, 1, 2]
    # the order it reports simulates to the makespan it reports
    inst = hfs.load_instance(data)
    assert hfs.simulate(inst, out["order"], workers=(1, 2, 1)).makespan == \
        out["simulated_makespan"]
    assert main(["milp", "hfs", "--dataset", str(data), "--workers", "1,2,1"]) == 0
    text = capsys.readouterr().out
    assert "lower bound" in text and "simulated makespan" in text
    assert main(["milp", "hfs", "--dataset", str(data), "--solver", "nosuch"]) == 1
    assert "unknown solver 'nosuch'" in capsys.readouterr().err


def test_compare_adds_milp_and_gap(capsys, tmp_path):
    data = write_tiny(tmp_path / "tiny.csv")
    out = tmp_path / "runs"
    argv = ["compare", "--problem", f"hfs:{data}", "--workers", "1,2,1", "--methods",
            "random,milp", "--runs", "2", "--budget", "10", "--milp-time-limit", "30",
            "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| gap |" in text and "best bound" in text
    with (out / "results.csv").open() as fh:
        rows = {r["method"]: r for r in csv.DictReader(fh)}
    milp = json.loads(next(out.glob("*__milp__s0__*/result.json")).read_text())
    bound = milp["extra"]["bound"]
    assert rows["milp"]["runs"] == "1"  # deterministic: run once
    assert milp["extra"]["status"] == "optimal" and milp["simulations"] == len(ORDER_RULES)
    for r in rows.values():
        mean = float(r["mean"])
        assert float(r["gap"]) == pytest.approx(100 * (mean - bound) / mean)
        assert float(r["gap"]) >= 0


def test_summary_of_a_run_without_solution():
    # a MILP stopped before any incumbent: no value, no simulations, and the table says nan
    from scmgym.core import Problem, RunResult
    from scmgym.experiments.compare import summarise

    problem = Problem.parse("hfs:d1", "2,5,2")
    empty = RunResult(method="milp", problem=problem.name, seed=0, best_value=None,
                      best_solution=None, simulations=0, wall_seconds=1.0, history=[],
                      extra={"bound": 449, "status": "no_solution"})
    done = RunResult(method="edd", problem=problem.name, seed=0, best_value=472.0,
                     best_solution=list(hfs.edd_order(problem.instance)), simulations=1,
                     wall_seconds=0.1, history=[(1, 472.0, 472.0)])
    rows = {r["method"]: r for r in summarise(problem, {"edd": [done], "milp": [empty]})}
    assert rows["milp"]["mean"] != rows["milp"]["mean"]  # nan
    assert rows["milp"]["simulations"] == 0
    # the MILP's bound still sets the gap of the others
    assert rows["edd"]["gap"] == pytest.approx(100 * (472 - 449) / 472)
