"""Instance B of the bi-level planning: crew sizes per week over the Adige HFS plant."""

from __future__ import annotations

import itertools
import json

import pytest

from scmgym.errors import ScmgymError
from scmgym.planning.bilevel.core import evaluate
from scmgym.planning.bilevel.hfs_case import (
    PRODUCTS,
    STAFF_COST,
    TARDINESS_COST,
    HFSCase,
    constant_crew_baseline,
    hfs_problem,
    split_weeks,
)
from scmgym.simulators import hfs


@pytest.fixture(scope="module")
def d1_problem():
    return hfs_problem("d1", weeks=4)


@pytest.fixture(scope="module")
def small():
    """The first 12 orders of d1."""
    d1 = hfs.load_instance("d1")
    return hfs.make_instance([tuple(row.values()) for row in d1.to_rows()[:12]], "d1first12")


def test_tiny_week_matches_the_simulator_by_hand():
    # one lt7 order, every date day 1: 28 production days on updates 1..28, found finished and
    # picked up on day 29, delivered two days later: makespan D + 3 = 31, 30 days late
    inst = hfs.make_instance([(0, "lt7", 1, 1, 1)], "tiny")
    problem = hfs_problem(inst, weeks=1)
    result = problem.followers[0].solve({"M": 1, "E": 2, "R": 1})
    assert result.status == "feasible" and not result.proven
    assert result.metrics == {"makespan": 31.0, "lateness": 30.0, "late_orders": 1.0}
    assert hfs.simulate(inst, [0], workers=(1, 2, 1)).makespan == 31
    assert result.cost == pytest.approx(TARDINESS_COST * 30)
    assert result.solution["orders"] == [{"order_id": 0, "due_day": 1, "delivery_day": 31,
                                          "lateness": 30}]


def test_weeks_split_by_due_date_and_names_differ(d1_problem):
    d1 = hfs.load_instance("d1")
    weeks = split_weeks(d1, 4)
    assert [len(w) for w in weeks] == [25] * 4
    assert sorted(itertools.chain(*weeks)) == list(range(100))
    due = [[d1.orders[i].due_day for i in w] for w in weeks]
    assert all(max(a) <= min(b) for a, b in itertools.pairwise(due))
    names = [f.name for f in d1_problem.followers]
    assert len(set(names)) == 4 and all("d1" in n and "edd" in n for n in names)
    assert all(f"w{w}" in n for w, n in enumerate(names, start=1))
    assert all(f.products == PRODUCTS == ("M", "E", "R") for f in d1_problem.followers)
    assert d1_problem.leader.targets([2, 5, 2] * 4)[0] == {"M": 2, "E": 5, "R": 2}


def test_more_workers_reduce_lateness_under_edd(d1_problem):
    # a much larger crew is later in no week (d1, EDD)
    crews = [(1, 2, 1), (2, 5, 2), (3, 10, 3)]
    for follower in d1_problem.followers:
        late = [follower.solve(dict(zip(PRODUCTS, c, strict=True))).metrics["lateness"]
                for c in crews]
        assert late[0] > late[1] > late[2]


def test_the_plant_is_not_monotone_in_workers(d1_problem):
    # first-fit grants make the plant non-monotone: one more M worker, one day later in total
    week1 = d1_problem.followers[0]
    fewer = week1.solve({"M": 3, "E": 8, "R": 2}).metrics["lateness"]
    more = week1.solve({"M": 4, "E": 8, "R": 2}).metrics["lateness"]
    assert more == fewer + 1


def test_impossible_crew_is_infeasible_not_raised(d1_problem):
    result = d1_problem.followers[0].solve({"M": 2, "E": 1, "R": 2})  # _p types need E = 2
    assert result.status == "infeasible" and result.cost is None and not result.feasible
    assert "E" in result.solution["reason"]
    ev = evaluate(d1_problem, [2, 1, 2] * 4)
    assert not ev.feasible and ev.total is None and ev.infeasible_periods == [0, 1, 2, 3]


def test_a_missed_horizon_is_reported_not_raised(small):
    problem = hfs_problem(small, weeks=1, case=HFSCase(horizon=40))
    result = problem.followers[0].solve({"M": 1, "E": 2, "R": 1})
    assert result.status == "no_solution" and result.cost is None


def test_evaluate_total_is_leader_plus_followers(d1_problem):
    x = [2, 5, 2, 3, 8, 3, 1, 4, 1, 3, 12, 3]
    ev = evaluate(d1_problem, x)
    staffing = sum(STAFF_COST[k] * v for k, v in zip(PRODUCTS * 4, x, strict=True))
    assert ev.leader_cost == pytest.approx(staffing)
    assert ev.feasible and not ev.guaranteed
    assert ev.total == pytest.approx(ev.leader_cost + sum(f.cost for f in ev.followers))
    for f in ev.followers:
        assert f.cost == pytest.approx(TARDINESS_COST * f.metrics["lateness"])
    plan = d1_problem.leader.plan(ev.x)
    json.dumps(plan)
    assert [w["crew"] for w in plan["weeks"]][1] == {"M": 3, "E": 8, "R": 3}
    assert plan["staffing_cost"] == pytest.approx(staffing)


def test_search_rule_is_seeded_and_no_worse_than_edd(small):
    crew = {"M": 1, "E": 3, "R": 1}
    a = hfs_problem(small, weeks=2, rule="search", seed=3)
    b = hfs_problem(small, weeks=2, rule="search", seed=3)
    edd = hfs_problem(small, weeks=2, rule="edd")
    assert a.followers[0].name != edd.followers[0].name
    for fa, fb, fe in zip(a.followers, b.followers, edd.followers, strict=True):
        ra, rb, re = fa.solve(crew), fb.solve(crew), fe.solve(crew)
        assert ra.cost == rb.cost and ra.solution == rb.solution
        assert ra.metrics["lateness"] <= re.metrics["lateness"]


def test_constant_crew_baseline_meets_due_dates_when_it_can(small):
    case = HFSCase(due_slack=40, upper={"M": 2, "E": 6, "R": 2})
    problem = hfs_problem(small, weeks=2, case=case)
    base = constant_crew_baseline(problem)
    assert base["crews_evaluated"] == 2 * 6 * 2
    meets, cheapest = base["meets_due_dates"], base["cheapest"]
    assert meets is not None and meets["lateness"] == 0
    assert all(w["lateness"] == 0 for w in meets["weeks"])
    # it is the cheapest on-time crew; the cheapest overall accepts some lateness
    for m, e, r in itertools.product(range(1, 3), range(1, 7), range(1, 3)):
        ev = evaluate(problem, [m, e, r] * 2)
        if ev.feasible:
            assert ev.total >= cheapest["total"] - 1e-9
            if sum(f.metrics["lateness"] for f in ev.followers) == 0:
                assert ev.total >= meets["total"] - 1e-9
    assert cheapest["total"] < meets["total"] and cheapest["lateness"] > 0


def test_constant_crew_baseline_on_d1_has_no_on_time_crew(d1_problem):
    # a third of d1's orders are late even alone in the plant: no crew meets every due date
    base = constant_crew_baseline(d1_problem)
    assert base["meets_due_dates"] is None and base["on_time_crews"] == 0
    assert base["cheapest"]["feasible"] and base["cheapest"]["total"] > 0
    assert base["least_late"]["lateness"] <= base["cheapest"]["lateness"]


def test_tree_rule_schedules_by_the_policy_and_needs_one(tmp_path, capsys):
    from scmgym.cli import main
    from scmgym.policies.base import load_policy

    with pytest.raises(ScmgymError, match="needs --policy"):
        hfs_problem("d1", weeks=2, rule="tree")
    with pytest.raises(ScmgymError, match="nope.json: no such file"):
        hfs_problem("d1", weeks=2, rule="tree", policy=tmp_path / "nope.json")
    assert main(["train", "eldt", "--env", "hfs", "--dataset", "d1", "--workers", "2,5,2",
                 "--budget", "40", "--seed", "0", "--eval-episodes", "1", "--no-progress",
                 "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    (path,) = tmp_path.glob("*/policy.json")
    problem = hfs_problem("d1", weeks=2, rule="tree", policy=path)
    edd = hfs_problem("d1", weeks=2)
    assert problem.followers[0].name != edd.followers[0].name  # other answers, other keys
    follower = problem.followers[0]
    crew = {"M": 2, "E": 5, "R": 2}
    first, again = follower.solve(crew), follower.solve(crew)
    assert first.status == "feasible"
    assert (first.cost, first.solution) == (again.cost, again.solution)  # deterministic
    order = follower._tree_order((2, 5, 2))
    result = hfs.simulate(follower.instance, order, workers=(2, 5, 2), engine="fast")
    assert first.metrics["makespan"] == result.makespan
    assert isinstance(load_policy(path), type(follower.policy))
