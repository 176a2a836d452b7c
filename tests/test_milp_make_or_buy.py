"""The make-or-buy MILP and its processing-time surrogate."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scmgym.baselines.milp.common import SolverOptions, solve
from scmgym.baselines.milp.make_or_buy import (
    build_make_or_buy_model,
    decisions_from_model,
    solve_make_or_buy,
    surrogate_outcome,
)
from scmgym.baselines.milp.surrogate import (
    COEFFICIENTS,
    FEATURES,
    SUPPORTED_QUANTILES,
    surrogate_time,
    surrogate_times,
)
from scmgym.errors import DataError
from scmgym.simulators import make_or_buy as mob

pyo = pytest.importorskip("pyomo.environ")
pytest.importorskip("highspy")

ROOT = Path(__file__).resolve().parents[1]
FAST = SolverOptions(time_limit=20, mip_rel_gap=0.0, threads=1)


def _instance(deadlines: list[int]) -> mob.MakeOrBuyInstance:
    """Orders with counts (1, 0, 0) (irrelevant when times are given) and integer deadlines."""
    return mob.make_instance([(k + 1, 1, 0, 0, d) for k, d in enumerate(deadlines)])


def _solve(inst: mob.MakeOrBuyInstance, times: list[float] | None = None,
           quantile: float | None = None):
    model = build_make_or_buy_model(inst, quantile=quantile, times=times)
    info = solve(model, FAST)
    assert info.status == "optimal", info
    return model, info


def _brute_force(inst: mob.MakeOrBuyInstance, times: list[float]) -> float:
    """Best surrogate revenue over all 2^n decision vectors, computed independently."""
    best = -math.inf
    for x in itertools.product((0, 1), repeat=inst.n):  # 1 = buy
        now, value = 0.0, 70 * inst.n
        for k, order in enumerate(inst.orders):
            if x[k] == 0:
                now += times[k]
                value += 30 if now <= order.deadline_days else -20
        best = max(best, value)
    return best


# -- surrogate ---------------------------------------------------------------------------------


def test_surrogate_api_and_errors():
    assert FEATURES == ("intercept", "max", "sum", "nonzero", "ties")
    assert set(COEFFICIENTS) == {None, *SUPPORTED_QUANTILES}
    assert all(len(c) == len(FEATURES) for c in COEFFICIENTS.values())
    # Single-type order of one component: spec fact 7 says ~31 days (30-31.4 by line).
    assert 29 < surrogate_time(1, 0, 0) < 33
    assert 295 < surrogate_time(20, 0, 0) < 310 and 305 < surrogate_time(20, 20, 20) < 320
    assert surrogate_time(3, 7, 2, quantile=0.90) == surrogate_time(3, 7, 2, quantile=0.9)
    with pytest.raises(DataError, match=r"quantile.*0\.8.*allowed: None \(the mean\)"):
        surrogate_time(1, 1, 1, quantile=0.8)
    with pytest.raises(DataError, match=r"column 'b'.*21.*\[0, 20\]"):
        surrogate_time(1, 21, 1)
    with pytest.raises(DataError):
        surrogate_time(1, -1, 1)
    inst = mob.load_instance("list1")
    assert surrogate_times(inst)[0] == surrogate_time(*inst.orders[0].counts)


def test_surrogate_empty_order_matches_simulator():
    """a = b = c = 0 completes at the next assembly tick: Exp(12/day) in the simulator."""
    assert surrogate_time(0, 0, 0) == pytest.approx(1 / 12)
    assert surrogate_time(0, 0, 0, quantile=0.9) == pytest.approx(-math.log(0.1) / 12)
    inst = mob.make_instance([(1, 0, 0, 0, 10)])
    runs = 400
    done = np.array([mob.simulate(inst, [0], seed=s).records[0].completion
                     for s in range(runs)])
    assert abs(done.mean() - 1 / 12) < 4 * (1 / 12) / math.sqrt(runs)
    assert abs(np.mean(done <= surrogate_time(0, 0, 0, quantile=0.9)) - 0.9) < 0.06


def test_robust_quantiles_dominate_the_mean_on_the_whole_grid():
    """Every quantile >= 0.75 of the surrogate is at least its mean, for every (a, b, c)."""
    grid = list(itertools.product(range(21), repeat=3))
    mean = np.array([surrogate_time(*g) for g in grid])
    for q in (0.75, 0.9, 0.95):
        assert (np.array([surrogate_time(*g, quantile=q) for g in grid]) >= mean).all(), q


def test_fitting_script_writes_its_report(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "fit_make_or_buy_surrogate", ROOT / "tools" / "fit_make_or_buy_surrogate.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "report.md"
    assert tool.main(["--seeds", "3", "--combos", "12", "--check-seeds", "1",
                      "--report", str(out)]) == 0
    text = out.read_text()
    for section in ("## Features", "## Coefficients (days)", "## Fit quality",
                    "## Worst cases", "## Sequence check"):
        assert section in text
    assert "| q0.9 |" in text and "| list3 | 100 |" in text
    printed = capsys.readouterr().out
    assert "COEFFICIENTS" in printed and "0.95:" in printed
    # Deterministic given the seed.
    out2 = tmp_path / "again.md"
    tool.main(["--seeds", "3", "--combos", "12", "--check-seeds", "1", "--report", str(out2)])
    assert out2.read_text() == text


# -- model building (no solver) ----------------------------------------------------------------


def test_model_structure_and_objective_coefficients():
    from pyomo.repn import generate_standard_repn

    inst = mob.load_instance("list2")
    model = build_make_or_buy_model("list2")
    n = inst.n
    binaries = [v for v in model.component_data_objects(pyo.Var) if v.is_binary()]
    assert len(binaries) == 2 * n
    assert len(model.completion) == n and len(model.on_time_only_if_made) == n
    repn = generate_standard_repn(model.revenue.expr)
    assert repn.is_linear() and repn.constant == 70 * n
    coef = {id(v): c for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True)}
    assert all(coef[id(model.on_time[k])] == 50 for k in model.K)  # +30 on time, +20 not late
    assert all(coef[id(model.make[k])] == -20 for k in model.K)
    assert model.revenue.sense == pyo.maximize
    # Big-M: completion if everything up to k were made, minus the deadline (>= 0).
    times = surrogate_times(inst)
    cum = np.cumsum(times)
    for k in model.K:
        d = inst.orders[k].deadline_days
        assert model.big_m[k] == pytest.approx(max(0.0, cum[k] - d))
        assert model.completion[k].ub == pytest.approx(cum[k])
        assert (k in model.deadline_met) == (cum[k] > d)


def test_model_times_override_and_errors():
    inst = _instance([10, 20, 15])
    model = build_make_or_buy_model(inst, quantile=0.9, times=[10, 10, 10])
    assert [model.time[k] for k in model.K] == [10, 10, 10]
    assert model.data.quantile == 0.9
    assert list(model.deadline_met) == [2]  # only order 3 can miss its deadline
    with pytest.raises(DataError, match="wrong number of processing times"):
        build_make_or_buy_model(inst, times=[1, 2])
    with pytest.raises(DataError, match=r"times\[1\].*>= 0"):
        build_make_or_buy_model(inst, times=[1, -2, 3])
    with pytest.raises(DataError, match="allowed: None"):
        build_make_or_buy_model(inst, quantile=0.99)
    with pytest.raises(DataError, match="eval_seeds"):
        solve_make_or_buy(inst, eval_seeds=-1)


# -- hand-checked optima -------------------------------------------------------------------------


def test_making_the_first_two_is_optimal():
    """Times 10, 10, 10; deadlines 10, 20, 15. Make 1 and 2 (done at 10 and 20, both on time);
    order 3 would then finish at 30 > 15, and making it instead of 2 finishes it at 20 > 15.
    Revenue 3 * 70 + 2 * 30 = 270."""
    inst = _instance([10, 20, 15])
    model, info = _solve(inst, times=[10, 10, 10])
    assert info.objective == pytest.approx(270)
    assert decisions_from_model(model) == (0, 0, 1)
    assert [pyo.value(model.completion[k]) for k in model.K] == pytest.approx([10, 20, 20])
    assert [round(pyo.value(model.on_time[k])) for k in model.K] == [1, 1, 0]


def test_skipping_an_early_order_pays():
    """Times 30, 10, 10; deadlines 30, 15, 25. Making order 1 (on time) makes 2 and 3 late;
    buying it lets 2 and 3 finish at 10 and 20, both on time: 210 + 60 = 270 > 240."""
    inst = _instance([30, 15, 25])
    model, info = _solve(inst, times=[30, 10, 10])
    assert info.objective == pytest.approx(270)
    assert decisions_from_model(model) == (1, 0, 0)


def test_completion_on_the_deadline_is_on_time_and_late_orders_are_bought():
    inst = _instance([10, 20])
    _, info = _solve(inst, times=[10, 10])
    assert info.objective == pytest.approx(140 + 60)
    # Nothing fits: every order is bought, revenue 70 n.
    inst = _instance([5, 5, 5])
    model, info = _solve(inst, times=[6, 6, 6])
    assert info.objective == pytest.approx(210) and decisions_from_model(model) == (1, 1, 1)


def test_forced_late_order_is_counted_late():
    """Fixing make = 1 everywhere: the model's late count equals the surrogate's."""
    inst = _instance([10, 20, 15])
    model = build_make_or_buy_model(inst, times=[10, 10, 10])
    for k in model.K:
        model.make[k].fix(1)
    info = solve(model, FAST)
    assert info.objective == pytest.approx(surrogate_outcome(inst, [0, 0, 0], [10, 10, 10])[0])
    assert info.objective == pytest.approx(210 + 2 * 30 - 20)
    assert pyo.value(sum(model.late[k] for k in model.K)) == pytest.approx(1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(1, 8))
def test_milp_equals_brute_force(data, n):
    times = data.draw(st.lists(st.integers(0, 60), min_size=n, max_size=n), label="times")
    deadlines = data.draw(st.lists(st.integers(0, 150), min_size=n, max_size=n),
                          label="deadlines")
    inst = _instance(deadlines)
    model, info = _solve(inst, times=[float(t) for t in times])
    best = _brute_force(inst, times)
    assert info.objective == pytest.approx(best, abs=1e-6)
    # The plan read off the model earns that value, and an optimum never makes a late order.
    revenue, _, late = surrogate_outcome(inst, decisions_from_model(model), times)
    assert revenue == best and late == 0


# -- robust vs mean ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_robust_plan_claims_no_more_on_time_orders_than_the_mean_plan(seed):
    """True by construction: the 0.9 surrogate dominates the mean one for every (a, b, c), so
    the robust optimum's on-time set is also on time under the mean times, and the mean optimum
    (which never makes a late order) has at least as many on-time orders and as much revenue."""
    inst = mob.generate_make_or_buy_instance(8, seed=seed)
    results = {}
    for q in (None, 0.9):
        model, info = _solve(inst, quantile=q)
        x = decisions_from_model(model)
        revenue, on_time, late = surrogate_outcome(inst, x, surrogate_times(inst, q))
        assert revenue == pytest.approx(info.objective) and late == 0
        results[q] = (info.objective, on_time, x)
    assert results[0.9][1] <= results[None][1]
    assert results[0.9][0] <= results[None][0] + 1e-6
    # The robust plan is feasible (all on time) under the mean surrogate too.
    _, _, late_under_mean = surrogate_outcome(inst, results[0.9][2], surrogate_times(inst))
    assert late_under_mean == 0


# -- a bundled list --------------------------------------------------------------------------------


def test_list1_short_time_limit():
    r = solve_make_or_buy("list1", quantile=0.9,
                          options=SolverOptions(time_limit=4, threads=1), eval_seeds=10, seed=5)
    assert r.status in ("optimal", "feasible") and r.instance == "list1"
    assert r.decisions is not None and len(r.decisions) == 100
    assert set(r.decisions) <= {0, 1} and r.made == r.decisions.count(0)
    assert r.surrogate_on_time + r.surrogate_late == r.made
    assert r.objective == pytest.approx(7000 + 30 * r.surrogate_on_time - 20 * r.surrogate_late)
    # All-buy earns 7000 and the spec's DP oracle on expected times ~8040-8070 (fact 10); the
    # robust plan makes fewer orders but should still beat buying everything.
    assert 7000 < r.simulated_mean_revenue < 8300
    assert 0 <= r.simulated_sd_revenue < 150
    assert (r.eval_seeds, r.seed, r.quantile) == (10, 5, 0.9)
    # Same plan, same seeds -> the same simulated revenues through the public simulator.
    inst = mob.load_instance("list1")
    sims = [mob.simulate(inst, r.decisions, seed=s).revenue for s in range(5, 15)]
    assert r.simulated_mean_revenue == pytest.approx(np.mean(sims))
    data = json.loads(json.dumps(r.to_dict()))
    assert data["decisions"] == list(r.decisions) and data["quantile"] == 0.9


def test_cli_make_or_buy_json_and_text(capsys, tmp_path):
    from scmgym.cli import main

    path = tmp_path / "orders.csv"
    inst = mob.generate_make_or_buy_instance(6, seed=3)
    with path.open("w") as fh:
        fh.write("id,a,b,c,deadline\n")
        for o in inst.orders:
            fh.write(f"{o.order_id},{o.a},{o.b},{o.c},{o.deadline}\n")
    loaded = mob.load_instance(path)
    assert loaded.n == 6
    assert main(["milp", "make-or-buy", "--list", str(path), "--robust", "0.9", "--seeds", "5",
                 "--time-limit", "20", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("status", "objective", "bound", "solve_seconds", "simulated_mean_revenue"):
        assert key in out
    assert out["status"] == "optimal" and out["quantile"] == 0.9 and out["eval_seeds"] == 5
    assert len(out["decisions"]) == 6 and set(out["decisions"]) <= {0, 1}
    # the reported simulated mean is the mean of the plan's runs over seeds 0..4
    sims = [mob.simulate(loaded, out["decisions"], seed=s).revenue for s in range(5)]
    assert out["simulated_mean_revenue"] == pytest.approx(np.mean(sims))
    assert main(["milp", "make-or-buy", "--list", str(path), "--seeds", "2"]) == 0
    text = capsys.readouterr().out
    assert "MILP objective" in text and "simulated mean revenue" in text
    assert main(["milp", "make-or-buy", "--list", str(path), "--robust", "0.8"]) == 1
    assert "0.8" in capsys.readouterr().err
