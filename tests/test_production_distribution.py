"""Production-distribution planning: a hand-checked toy, the plan check, the generator's
scenarios, the configurator's three paths, bad input and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scmgym.baselines.milp.common import SolverOptions
from scmgym.cli import main
from scmgym.errors import DataError
from scmgym.planning.production_distribution import (
    COST_TERMS,
    Decisions,
    PDInstance,
    capacity_position,
    evaluate_plan,
    generate_production_distribution_instance,
    plant_fits,
    solve_milp,
)
from scmgym.planning.production_distribution.configurator import (
    ConfiguratorSettings,
    Scope,
    distribute,
    run_configurator,
)
from scmgym.planning.production_distribution.solve import result_from_report

EXACT = SolverOptions(time_limit=60, mip_rel_gap=1e-9, threads=1)
QUICK = SolverOptions(time_limit=30, mip_rel_gap=1e-3, threads=1)
#: a configurator small enough for tests (the defaults are the capstone's 50 generations)
TINY = ConfiguratorSettings(population=8, generations=4, particles=6, iterations=4)


def toy_frames(*, hours=8.0, moq_y=0.0):
    """One plant, one line (``hours`` a day) making X at 10/h and Y at 5/h, one DC with no
    lead time; X is wanted 50 a day, Y 30 on day 1; targets 0; transport 1 per X, 2 per Y;
    a stockout costs 100 per unit and day."""
    return {
        "settings": pd.DataFrame({"horizon": [2], "transfer_lead_time": [0]}),
        "plants": pd.DataFrame({"plant": ["P"]}),
        "lines": pd.DataFrame({"line": ["L"], "plant": ["P"], "type": ["t"],
                               "hours": [hours]}),
        "skus": pd.DataFrame({"sku": ["X", "Y"], "type": ["t", "t"], "moq": [0.0, moq_y],
                              "stockout_cost": [100.0, 100.0]}),
        "rates": pd.DataFrame({"line": ["L", "L"], "sku": ["X", "Y"], "rate": [10.0, 5.0]}),
        "dcs": pd.DataFrame({"dc": ["D"], "plant": ["P"], "lead_time": [0]}),
        "targets": pd.DataFrame({"sku": ["X", "Y"], "dc": ["D", "D"], "target": [0.0, 0.0],
                                 "transport_cost": [1.0, 2.0]}),
        "demands": pd.DataFrame({"sku": ["X", "X", "Y"], "dc": ["D"] * 3, "day": [0, 1, 1],
                                 "quantity": [50.0, 50.0, 30.0]}),
    }


def toy(**kw) -> PDInstance:
    return PDInstance.from_frames("toy", toy_frames(**kw))


# ---- the model ------------------------------------------------------------------------------

def test_toy_optimum_without_moq_meets_all_demand():
    # 16 line-hours; X needs 10 h, Y 6 h: everything is made and shipped, transport only
    r = solve_milp(toy(), EXACT)
    assert r.status == "optimal" and r.feasible
    assert r.cost == pytest.approx(50 + 50 + 2 * 30)
    assert r.costs["stockout"] == pytest.approx(0.0)
    assert r.kpis["utilisation"]["L"] == pytest.approx(1.0)


def test_toy_optimum_with_a_binding_moq():
    # Y's run must be >= 35 units (7 h): 17 h of work in 16 h. Best: X 80 on day 0, Y 35 and
    # X 10 on day 1, so 10 X are backlogged on day 1 (1000) and 90 X + 30 Y shipped (150).
    # Skipping Y instead would cost 30 x 100 + 100.
    r = solve_milp(toy(moq_y=35.0), EXACT)
    assert r.status == "optimal" and r.cost == pytest.approx(1150.0)
    made = r.report.tables["production"].set_index(["sku", "day"])["quantity"]
    assert made[("Y", 1)] == pytest.approx(35.0)
    # without the MOQ the same instance meets all demand
    assert solve_milp(toy(moq_y=35.0), EXACT, moq=False).cost == pytest.approx(160.0)


@pytest.fixture(scope="module")
def small():
    return generate_production_distribution_instance(3, 4, seed=2)


@pytest.fixture(scope="module")
def small_milp(small):
    return solve_milp(small, QUICK)


def test_milp_plan_is_checked_and_its_cost_recomputed(small_milp):
    r = small_milp
    assert r.feasible and not r.violations
    assert set(r.costs) == set(COST_TERMS)
    assert r.bound is not None and r.bound <= r.cost * (1 + 1e-6)
    assert r.gap is not None and r.gap >= 0
    if r.status == "optimal":  # within the 1e-3 relative gap asked (not at the time limit)
        assert r.gap <= 2e-3
    assert r.costs["transfer"] > 0  # scenario 3: plant B cannot meet its demand alone


def test_plan_check_finds_every_kind_of_violation(small, small_milp):
    d = small_milp.report.decisions
    a = small.arrays
    bad = Decisions(make=d.make.copy(), ship=d.ship.copy(), transfer=d.transfer.copy())
    line, sku = map(int, np.argwhere(a.rate > 0)[0])
    bad.make[line, sku, 0] = a.rate[line, sku] * (a.hours[line, 0] + 5)   # over the hours
    line2, sku2 = map(int, np.argwhere(a.rate > 0)[-1])
    bad.make[line2, sku2, 1] = 0.5 * a.moq[sku2]                            # below the MOQ
    bad.ship[0, 0, 2] += 10 * d.make.sum()                                  # more than stock
    r = evaluate_plan(small, bad)
    text = "\n".join(r.violations)
    assert "line_capacity" in text and "moq_min" in text and "plant_balance" in text
    res = result_from_report("configurator", "infeasible", small, r, 0.0)
    assert not res.feasible and res.cost is None  # never reported as a cost


# ---- generator and scenarios ----------------------------------------------------------------

def test_generator_is_deterministic_and_shaped_like_the_capstone():
    a1 = generate_production_distribution_instance(1, 10, seed=4)
    a2 = generate_production_distribution_instance(1, 10, seed=4)
    for name, frame in a1.frames.items():
        pd.testing.assert_frame_equal(frame, a2.frames[name])
    arr = a1.arrays
    daily = arr.demand.sum(axis=(0, 1))
    assert 85_000 < daily.mean() < 115_000
    per_sku = arr.demand.sum(axis=1)
    cv = per_sku.std(axis=1) / per_sku.mean(axis=1)
    assert (cv < 0.3).all()
    assert a1.summary() == {"plants": 2, "lines": 10, "skus": 10, "dcs": 11, "days": 14}
    lines = a1.frames["lines"].set_index("line")["type"]
    assert {ln for ln, k in lines.items() if k == "type 2"} == {"1A", "4A", "5A", "3B", "4B"}
    # the scenarios change only the rates: the same seed gives the same demand
    a3 = generate_production_distribution_instance(3, 10, seed=4)
    pd.testing.assert_frame_equal(a1.frames["demands"], a3.frames["demands"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_scenario_meets_its_capacity_story(seed):
    s1, s2, s3 = (generate_production_distribution_instance(k, 6, seed=seed) for k in (1, 2, 3))
    assert plant_fits(s1, "A") and plant_fits(s1, "B")
    assert not plant_fits(s2, "A", 1.0) and not plant_fits(s2, "B", 1.0)
    assert plant_fits(s2, "A", 0.25) and plant_fits(s2, "B", 0.25)
    assert plant_fits(s3, "A") and not plant_fits(s3, "B", 0.0)
    pos = capacity_position(s3, 0.0)
    spare = sum(v["available"] - capacity_position(s3, 1.0)[k]["needed"]
                for k, v in pos.items() if k[0] == "A")
    short = sum(v["needed"] - v["available"] for k, v in pos.items() if k[0] == "B")
    assert spare > short > 0


# ---- the configurator -----------------------------------------------------------------------

@pytest.mark.parametrize("scenario, expect, absent", [
    (1, "phase 1: with MOQ, GA plant B", "phase 2: reduce safety stock"),
    (2, "phase 2: PSO plant B", "phase 3: joint GA with transfers"),
    (3, "phase 3: joint PSO", "phase 2: PSO plant A"),
])
def test_configurator_takes_the_path_built_for_each_scenario(scenario, expect, absent):
    inst = generate_production_distribution_instance(scenario, 4, seed=1)
    r = run_configurator(inst, TINY, seed=3, options=QUICK)
    phases = [step["phase"] for step in r.path]
    assert expect in phases and absent not in phases
    assert r.feasible and not r.violations and r.cost == pytest.approx(r.report.cost)
    assert phases[-1] == "distribution LP"


def test_configurator_same_seed_same_plan(small):
    r1 = run_configurator(small, TINY, seed=5, options=QUICK)
    r2 = run_configurator(small, TINY, seed=5, options=QUICK)
    assert r1.cost == r2.cost
    np.testing.assert_array_equal(r1.report.decisions.make, r2.report.decisions.make)
    r3 = run_configurator(small, TINY, seed=6, options=QUICK)
    assert not np.array_equal(r1.report.decisions.make, r3.report.decisions.make)


def test_configurator_is_never_better_than_the_milp_bound(small, small_milp):
    r = run_configurator(small, TINY, seed=0, options=QUICK)
    assert r.cost >= small_milp.bound - 1e-6


def test_penalty_handling_can_end_infeasible_and_says_so(small):
    s = ConfiguratorSettings(population=6, generations=1, particles=4, iterations=1,
                             constraint_handling="penalty", seed_heuristic=False,
                             distribution="rule")
    r = run_configurator(small, s, seed=0)
    # random shares over 1 per line exceed the hours: the check reports it
    assert not r.feasible and r.cost is None
    assert any("line_capacity" in v for v in r.violations)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), transfers=st.booleans())
def test_decoded_plans_keep_hours_and_never_ship_stock_they_lack(small, seed, transfers):
    a = small.arrays
    scope = Scope(a, np.arange(a.rate.shape[0]), np.zeros(a.rate.shape + (a.horizon,)),
                  np.ones(2), True, transfers, "repair", 0.0)
    genes = np.random.default_rng(seed).random((3, scope.size))
    make, ship, move, penalty = scope.decode(genes)
    hours = np.einsum("nlst,ls->nlt", make, np.where(a.rate > 0, 1 / np.maximum(a.rate, 1e-9),
                                                     0))
    assert (hours <= a.hours[None] + 1e-6).all() and (penalty == 0).all()
    moq = a.moq[None, None, :, None]
    assert not ((make > 1e-9) & (make < moq - 1e-6)).any()
    for k in range(3):
        r = evaluate_plan(small, Decisions(make[k], ship[k], move[k]))
        assert r.feasible, r.violations[:3]


def test_distribution_rule_ships_nothing_without_production():
    inst = toy()
    a = inst.arrays
    ship, _ = distribute(a, np.zeros((1,) + a.rate.shape + (a.horizon,)))
    assert not ship.any()


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="constraint_handling='fix'"):
        ConfiguratorSettings(constraint_handling="fix")
    with pytest.raises(ValueError, match="generations=0"):
        ConfiguratorSettings(generations=0)


# ---- data on disk and bad input -------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".xlsx"])
def test_round_trip_csv_and_excel(tmp_path, suffix):
    inst = generate_production_distribution_instance(2, 4, seed=0)
    path = inst.write(tmp_path / f"pd{suffix}")
    back = PDInstance.load(path)
    for field in ("demand", "rate", "hours", "target", "initial_dc", "moq"):
        np.testing.assert_allclose(getattr(back.arrays, field), getattr(inst.arrays, field))


@pytest.mark.parametrize("table, edit, expect", [
    ("lines", lambda f: f.assign(plant=["Q"]),
     "lines.csv, row 2, column 'plant': unknown plant \\(got 'Q'\\); allowed: P"),
    ("rates", lambda f: f.assign(sku=["X", "Z"]),
     "rates.csv, row 3, column 'sku': unknown SKU \\(got 'Z'\\); allowed: X, Y"),
    ("demands", lambda f: f.assign(day=[0, 1, 5]),
     "demands.csv, row 4, column 'day': day beyond the horizon \\(got 5\\); allowed: 0..1"),
    ("skus", lambda f: f.assign(stockout_cost=[100.0, 0.1], under_cost=[0.0, 0.5]),
     "skus.csv, row 3, column 'stockout_cost': a stockout must cost at least .*"
     "\\(got 0.1\\); allowed: >= under_cost \\+ min_cost = 0.5"),
    ("lines", lambda f: f.assign(hours=[30.0]),
     "lines.csv, row 2, column 'hours': bad value \\(got '30'\\); allowed: .*<= 24"),
    ("targets", lambda f: f.iloc[:1],
     "demands.csv, row 4, column 'sku': demand for a SKU the DC does not hold \\(got 'Y'\\)"),
])
def test_bad_input_names_file_row_column_value(tmp_path, table, edit, expect):
    frames = toy_frames()
    frames[table] = edit(frames[table])
    path = tmp_path / "bad"
    from scmgym.planning.tables import write_tables

    write_tables(path, frames)
    with pytest.raises(DataError, match=expect):
        PDInstance.load(path)


def test_a_line_making_another_type_is_rejected():
    frames = toy_frames()
    frames["skus"] = frames["skus"].assign(type=["t", "u"])
    with pytest.raises(DataError, match="makes SKUs of its own type only.*'Y' is of type 'u'"):
        PDInstance.from_frames("x", frames)


def test_excel_error_names_the_sheet(tmp_path):
    frames = toy_frames()
    frames["dcs"] = frames["dcs"].assign(lead_time=[-1])
    from scmgym.planning.tables import write_tables

    path = write_tables(tmp_path / "bad.xlsx", frames)
    with pytest.raises(DataError, match="sheet 'dcs', row 2, column 'lead_time': bad value"):
        PDInstance.load(path)


# ---- CLI --------------------------------------------------------------------------------------

def test_cli_both_methods_json_and_files(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["plan", "production-distribution", "--scenario", "2", "--skus", "4",
                 "--seed", "1", "--method", "both", "--generations", "3", "--population", "6",
                 "--iterations", "3", "--particles", "4", "--time-limit", "20", "--threads",
                 "1", "--json", "--out", str(out)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    for method in ("milp", "configurator"):
        assert {"cost", "feasible", "seconds"} <= set(data[method])
        assert data[method]["feasible"] is True and data[method]["cost"] > 0
    assert data["configurator"]["path"][0]["phase"] == "phase 1: GA plant A"
    assert data["gap"] == pytest.approx((data["configurator"]["cost"] - data["milp"]["cost"])
                                        / data["milp"]["cost"])
    util = pd.read_csv(out / "milp" / "utilisation.csv")
    assert set(util["line"]) == {"1A", "2A", "3A", "4A", "5A", "6A", "1B", "2B", "3B", "4B"}
    assert (util["hours_used"] <= util["hours_available"] + 1e-6).all()
    assert (out / "configurator.png").stat().st_size > 10_000
    back = PDInstance.load(out / "instance")
    assert back.summary()["skus"] == 4


def test_cli_table_and_bad_arguments(capsys, tmp_path):
    path = toy().write(tmp_path / "toy")
    assert main(["plan", "production-distribution", "--instance", str(path), "--method",
                 "milp", "--mip-gap", "0"]) == 0
    out = capsys.readouterr().out
    assert "cost" in out and "160" in out and "utilisation L 100%" in out
    assert main(["plan", "production-distribution", "--scenario", "1", "--skus", "1"]) != 0
    assert "bad --skus" in capsys.readouterr().err
