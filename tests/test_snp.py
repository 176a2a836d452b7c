"""Supply network planning: hand-checked toy optima, the plan check, every decomposition against
the monolithic model, bad input, infeasibility diagnosis, the generator and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scmgym.baselines.milp.common import SolverOptions
from scmgym.cli import main
from scmgym.errors import DataError, ScmgymError
from scmgym.planning.snp import (
    DECOMPOSITIONS,
    SNPInstance,
    check_plan,
    connected_components,
    generate_snp_instance,
    load_snp_instance,
    product_lines,
    solve_snp,
    telescopic_buckets,
    write_snp_instance,
)
from scmgym.planning.snp.plots import plot_stock_point

FAST = SolverOptions(time_limit=60, mip_rel_gap=1e-7)
#: generated instances: a plan within 0.5 % is enough to check decompositions against the bound
LOOSE = SolverOptions(time_limit=60, mip_rel_gap=5e-3)


def toy_frames(*, demand=8.0, buckets=2, capacity=10.0, max_lateness=0.0, **process):
    """Supplier S sells raw R (1 per unit) and ships it to plant P (0.5 per unit, no lead
    time); P makes F from 2 R on machine M (3 per unit, capacity per day); F travels to
    customer C in one bucket (2 per unit); C wants ``demand`` F in bucket 1."""
    proc = {"process": ["make-F"], "location": ["P"], "product": ["F"], "cost": [3.0],
            "resource": ["M"], "usage": [1.0]}
    proc.update({k: [v] for k, v in process.items()})
    return {
        "buckets": telescopic_buckets(f"{buckets}x1"),
        "locations": pd.DataFrame({"location": ["S", "P", "C"],
                                   "kind": ["supplier", "plant", "customer"]}),
        "products": pd.DataFrame({"product": ["R", "F"]}),
        "procurement": pd.DataFrame({"location": ["S"], "product": ["R"], "cost": [1.0]}),
        "resources": pd.DataFrame({"resource": ["M"], "location": ["P"], "kind": ["machine"],
                                   "capacity": [capacity]}),
        "processes": pd.DataFrame(proc),
        "bom": pd.DataFrame({"process": ["make-F"], "component": ["R"], "quantity": [2.0]}),
        "lanes": pd.DataFrame({"lane": ["SP", "PC"], "origin": ["S", "P"],
                               "destination": ["P", "C"], "product": ["R", "F"],
                               "lead_time": [0, 1], "cost": [0.5, 2.0]}),
        "priorities": pd.DataFrame({"priority": [1], "nondelivery_cost": [100.0],
                                    "lateness_cost": [5.0], "max_lateness": [max_lateness]}),
        "demands": pd.DataFrame({"demand": ["D1"], "location": ["C"], "product": ["F"],
                                 "bucket": [1], "quantity": [demand], "priority": [1]}),
    }


def toy(**kw) -> SNPInstance:
    return SNPInstance.from_frames("toy", toy_frames(**kw))


# ---- hand-checked optima -----------------------------------------------------------------

def test_toy_optimum_and_plan_tables():
    # 8 F made in bucket 0 (16 R bought and moved), shipped to arrive in bucket 1:
    # 16 x 1 + 16 x 0.5 + 8 x 3 + 8 x 2 = 64
    r = solve_snp(toy(), options=FAST)
    assert r.status == "optimal" and r.objective == pytest.approx(64.0)
    assert r.bound == pytest.approx(64.0) and r.gap == pytest.approx(0.0)
    assert r.costs == pytest.approx({"procurement": 16.0, "production": 24.0,
                                     "transport": 24.0, "storage": 0.0, "lateness": 0.0,
                                     "nondelivery": 0.0, "safety": 0.0})
    prod = r.plan["production"]
    assert prod[["process", "bucket", "quantity"]].values.tolist() == [["make-F", 0, 8.0]]
    tr = r.plan["transport"].set_index("lane")
    assert tr.at["PC", "arrival"] == 1 and tr.at["SP", "quantity"] == pytest.approx(16.0)
    assert r.delivered == {1: 1.0}


def test_capacity_short_demand_is_not_delivered_or_late():
    # only 10 can be made in bucket 0; 5 of 15 are never delivered: 10 x 8 + 5 x 100 = 580
    r = solve_snp(toy(demand=15.0), options=FAST)
    assert r.objective == pytest.approx(580.0)
    assert r.plan["nondelivery"]["quantity"].sum() == pytest.approx(5.0)
    # a third bucket and one day of lateness allowed: 5 made in bucket 1 arrive a day late,
    # 10 x 8 + 5 x 8 + 5 x 1 day x 5 = 145
    r = solve_snp(toy(demand=15.0, buckets=3, max_lateness=1.0), options=FAST)
    assert r.objective == pytest.approx(145.0)
    late = r.plan["delivery"].set_index("bucket")
    assert late.at[2, "days_late"] == 1.0 and late.at[2, "quantity"] == pytest.approx(5.0)
    assert r.costs["lateness"] == pytest.approx(25.0)


def test_minimum_lot_and_fixed_cost():
    # at least 10 per run and 20 per run: 10 made for 8 wanted,
    # 20 + 10 + 30 + 20 (fixed) + 16 = 96
    r = solve_snp(toy(min_lot=10.0, fixed_cost=20.0), options=FAST)
    assert r.objective == pytest.approx(96.0)
    assert r.plan["production"]["quantity"].sum() == pytest.approx(10.0)
    assert r.size["integers"] >= 1


def test_fixed_lot_size():
    # multiples of 4 with 9 wanted: 12 made and 9 shipped (12 x 6 + 9 x 2 = 90) beats 8 made
    # and 1 never delivered (8 x 8 + 100 = 164)
    r = solve_snp(toy(demand=9.0, capacity=20.0, lot_size=4.0), options=FAST)
    assert r.objective == pytest.approx(90.0)
    left = r.plan["stock"]
    assert left.loc[left["location"] == "P", "quantity"].max() == pytest.approx(3.0)
    assert r.plan["production"]["quantity"].sum() == pytest.approx(12.0)


def test_telescopic_buckets_scale_holding_and_capacity():
    assert telescopic_buckets("14x1,8x7,9x30")["days"].tolist() == [1.0] * 14 + [7.0] * 8 + [
        30.0] * 9
    frames = toy_frames(demand=8.0)
    frames["buckets"] = telescopic_buckets([1.0, 3.0])
    frames["stock"] = pd.DataFrame({"location": ["C"], "product": ["F"], "initial": [2.0],
                                    "holding_cost": [0.5]})
    r = solve_snp(SNPInstance.from_frames("t", frames), options=FAST)
    # 2 in stock at C from the start: 6 made; the 2 units wait one 1-day bucket (2 x 0.5 x 1)
    assert r.costs["storage"] == pytest.approx(1.0)
    assert r.objective == pytest.approx(6 * 8 + 1.0)
    with pytest.raises(DataError, match="COUNTxDAYS"):
        telescopic_buckets("14d")


def test_safety_stock_shortfall_is_costed():
    frames = toy_frames(demand=8.0, capacity=20.0)
    frames["stock"] = pd.DataFrame({"location": ["C"], "product": ["F"], "safety": [4.0],
                                    "safety_cost": [1000.0]})
    r = solve_snp(SNPInstance.from_frames("t", frames), options=FAST)
    # nothing can reach C in bucket 0: 4 units short for one day there (4 x 1000); in bucket 1
    # 12 arrive, 8 delivered, 4 kept: 12 x 8 = 96
    assert r.costs["safety"] == pytest.approx(4000.0)
    assert r.objective == pytest.approx(4096.0)
    # with 10 a day, keeping the safety stock (2 x 1000) costs more than 2 never delivered
    frames = toy_frames(demand=8.0, capacity=10.0)
    frames["stock"] = pd.DataFrame({"location": ["C"], "product": ["F"], "safety": [4.0],
                                    "safety_cost": [1000.0]})
    r = solve_snp(SNPInstance.from_frames("t", frames), options=FAST)
    assert r.costs["nondelivery"] == pytest.approx(200.0)


# ---- the plan check ------------------------------------------------------------------------

def test_check_plan_recomputes_and_finds_violations():
    inst = toy(demand=15.0)
    r = solve_snp(inst, options=FAST)
    check = check_plan(inst, r.plan)
    assert check.feasible and check.objective == pytest.approx(r.objective)
    bad = r.plan
    bad.tables["production"] = bad["production"].assign(quantity=12.0)
    check = check_plan(inst, bad)
    families = {v["family"] for v in check.violations}
    assert "resource_capacity" in families  # 12 > 10 per day
    assert any(f.startswith("stock") for f in families)  # 24 R needed, 20 bought


# ---- decompositions ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    return generate_snp_instance(12, 6, 8, seed=3)


@pytest.fixture(scope="module")
def monolithic(small):
    return solve_snp(small, options=LOOSE)


@pytest.mark.parametrize("decomposition", DECOMPOSITIONS)
def test_every_decomposition_gives_a_plan_feasible_for_the_full_model(small, monolithic,
                                                                      decomposition):
    r = solve_snp(small, decomposition, options=LOOSE, verify=True)
    assert r.status in ("optimal", "feasible"), r.violations
    assert not r.violations
    check = check_plan(small, r.plan)
    assert check.feasible, check.violations[:3]
    assert check.objective == pytest.approx(r.objective, rel=1e-7)
    assert r.objective >= monolithic.bound * (1 - 1e-6)
    assert set(r.costs) == set(monolithic.costs)


def disjoint_union(a: SNPInstance, b: SNPInstance) -> SNPInstance:
    """Two instances side by side, the second's names prefixed with ``b.``."""
    names = {"location", "product", "resource", "process", "lane", "demand", "origin",
             "destination", "component"}
    frames = {}
    for t, fa in a.frames.items():
        if t in ("buckets", "priorities"):
            frames[t] = fa
            continue
        fb = b.frames[t].copy()
        for col in fb.columns:
            if col in names:
                fb[col] = fb[col].map(lambda x: f"b.{x}" if x != "" else x)
        if t == "products":
            fb["family"] = fb["family"].map(lambda x: f"b.{x}" if x else x)
        frames[t] = pd.concat([fa, fb], ignore_index=True)
    return SNPInstance.from_frames("union", frames)


def test_components_are_exact_and_found():
    a = generate_snp_instance(8, 5, 6, seed=1)
    b = generate_snp_instance(8, 5, 6, seed=2)
    both = disjoint_union(a, b)
    parts = connected_components(both)
    assert len(parts) >= 2
    assert all(p.startswith("b.") for p in parts[-1])
    whole = solve_snp(both, options=FAST)
    split = solve_snp(both, "components", options=FAST)
    assert split.status == whole.status == "optimal"
    assert split.objective == pytest.approx(whole.objective, rel=1e-6)
    assert split.bound == pytest.approx(whole.bound, rel=1e-6)
    sep = solve_snp(a, options=FAST).objective + solve_snp(b, options=FAST).objective
    assert split.objective == pytest.approx(sep, rel=1e-6)


def test_product_lines_cover_every_end_product_once(small):
    lines = product_lines(small, "value")
    flat = [p for line in lines for p in line]
    assert sorted(flat) == sorted(small.end_products())
    assert product_lines(small, "given")[0][0] == small.end_products()[0]


def test_product_decomposition_options(small, monolithic):
    for kw in ({"preallocate": True}, {"time_split": "complexity"}, {"order": "demand"}):
        r = solve_snp(small, "product", options=LOOSE, **kw)
        assert r.status == "feasible" and not r.violations
        assert r.objective >= monolithic.bound * (1 - 1e-6)
    pre = solve_snp(small, "product", options=LOOSE, preallocate=True)
    assert pre.steps[0].name == "LP preallocation"


def test_time_decomposition_windows():
    small = generate_snp_instance(6, 5, 8, seed=3)
    r = solve_snp(small, "time", options=LOOSE, window=3, overlap=1)
    assert [s.name for s in r.steps] == ["window buckets 0-2", "window buckets 2-4",
                                         "window buckets 4-6", "window buckets 6-7"]
    assert not r.violations
    with pytest.raises(ScmgymError, match="overlap"):
        solve_snp(small, "time", window=3, overlap=3)


def test_priority_decomposition_keeps_the_higher_class_first():
    small = generate_snp_instance(6, 5, 8, seed=3)
    r = solve_snp(small, "priority", options=LOOSE)
    classes = sorted(set(small.frames["demands"]["priority"]))
    assert [s.name for s in r.steps] == [f"priority <= {c}" for c in classes]
    assert not r.violations


def test_unknown_decomposition():
    with pytest.raises(ScmgymError, match="allowed: none, components"):
        solve_snp(toy(), "rolling")


# ---- infeasibility diagnosis -----------------------------------------------------------------

def test_contradictory_instance_is_diagnosed_in_planner_terms():
    frames = toy_frames(demand=30.0)
    frames["priorities"]["nondelivery_cost"] = np.nan  # every demand is hard
    r = solve_snp(SNPInstance.from_frames("contradictory", frames), options=FAST)
    assert r.status == "infeasible" and r.plan is None
    assert r.diagnosis
    total = sum(d["amount"] for d in r.diagnosis)
    # 30 wanted, 10 can be made in bucket 0: 20 units (of demand or of machine capacity)
    assert total == pytest.approx(20.0)
    text = " ".join(d["text"] for d in r.diagnosis)
    assert ("D1" in text and "units short" in text) or ("resource M at P" in text)


def test_storage_limit_below_initial_stock_is_diagnosed():
    frames = toy_frames()
    frames["stock"] = pd.DataFrame({"location": ["C"], "product": ["F"], "initial": [50.0],
                                    "max_stock": [10.0]})
    r = solve_snp(SNPInstance.from_frames("over", frames), options=FAST)
    assert r.status == "infeasible"
    d = r.diagnosis[0]
    assert d["family"] == "storage_capacity" and d["location"] == "C" and d["product"] == "F"
    assert d["bucket"] == 0 and d["amount"] == pytest.approx(40.0)


# ---- loading and bad input -------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".xlsx"])
def test_round_trip_csv_and_excel(tmp_path, small, monolithic, suffix):
    path = write_snp_instance(small, tmp_path / f"inst{suffix}")
    again = load_snp_instance(path)
    for name, frame in small.frames.items():
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), again.frames[name],
                                      check_dtype=False, check_like=True, atol=1e-9)


def _bad(tmp_path, table, edit):
    path = write_snp_instance(toy(), tmp_path / "inst")
    frame = pd.read_csv(path / f"{table}.csv", keep_default_na=False, dtype=str)
    frame = edit(frame)
    frame.to_csv(path / f"{table}.csv", index=False)
    with pytest.raises(DataError) as err:
        load_snp_instance(path)
    return str(err.value)


def _set(col, value, row=0):
    def edit(frame):
        frame.loc[row, col] = value
        return frame
    return edit


@pytest.mark.parametrize("table, edit, expect", [
    ("lanes", _set("destination", "X"), ["lanes.csv", "row 2", "'destination'", "unknown location",
                                         "'X'", "allowed: C, P, S"]),
    ("resources", _set("capacity", "-5"), ["resources.csv", "row 2", "'capacity'", "'-5'",
                                           ">= 0"]),
    ("lanes", _set("destination", "S", 1), ["lanes.csv", "row 3", "a lane into a supplier"]),
    ("demands", _set("bucket", "7"), ["demands.csv", "row 2", "bucket beyond the horizon",
                                      "0..1"]),
    ("demands", _set("product", "G"), ["demands.csv", "unknown product", "'G'"]),
    ("processes", _set("location", "S"), ["processes.csv", "production only at a plant"]),
    ("demands", lambda f: f.drop(columns=["quantity"]), ["demands.csv", "row 1",
                                                         "missing column", "'quantity'"]),
    ("demands", _set("quantity", "many"), ["demands.csv", "row 2", "'quantity'", "'many'",
                                           "a number > 0"]),
    ("lanes", lambda f: pd.concat([f, f.iloc[[0]]]), ["lanes.csv", "row 4", "repeated key",
                                                      "'SP'"]),
    ("demands", _set("priority", "4"), ["demands.csv", "unknown priority class", "allowed: 1"]),
    ("locations", _set("kind", "depot"), ["locations.csv", "not an allowed value",
                                          "supplier, plant, warehouse, customer"]),
])
def test_bad_input_names_file_row_column_value(tmp_path, table, edit, expect):
    msg = _bad(tmp_path, table, edit)
    for part in expect:
        assert part in msg, msg


def test_bom_cycle_is_rejected(tmp_path):
    frames = toy_frames()
    frames["processes"] = pd.DataFrame({
        "process": ["make-F", "make-R"], "location": ["P", "P"], "product": ["F", "R"]})
    frames["bom"] = pd.DataFrame({"process": ["make-F", "make-R"], "component": ["R", "F"],
                                  "quantity": [2.0, 1.0]})
    path = write_snp_instance(SNPInstance.from_frames("c", frames, check=False),
                              tmp_path / "cyc")
    with pytest.raises(DataError, match=r"bom.csv, row \d.*BOM cycle: \w needs \w needs \w"):
        load_snp_instance(path)


def test_excel_error_names_the_sheet(tmp_path):
    frames = toy_frames()
    frames["lanes"].loc[0, "cost"] = -1.0
    path = write_snp_instance(SNPInstance.from_frames("x", frames, check=False),
                              tmp_path / "x.xlsx")
    with pytest.raises(DataError, match=r"x.xlsx, sheet 'lanes', row 2, column 'cost'"):
        load_snp_instance(path)
    with pytest.raises(DataError, match="no such planning instance"):
        load_snp_instance(tmp_path / "nowhere")


# ---- generator -------------------------------------------------------------------------------

def test_generator_is_deterministic_and_structured():
    a = generate_snp_instance(40, 12, 10, seed=5)
    b = generate_snp_instance(40, 12, 10, seed=5)
    c = generate_snp_instance(40, 12, 10, seed=6)
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name])
    assert not a.frames["demands"].equals(c.frames["demands"])
    s = a.summary()
    assert s["products"] == 40 and s["locations"] == 12 and s["buckets"] == 10
    kinds = set(a.frames["locations"]["kind"])
    assert kinds == {"supplier", "plant", "warehouse", "customer"}
    bom = a.frames["bom"]
    # a component common to many products, and multi-stage bills of materials
    assert bom["component"].value_counts().iloc[0] >= 0.3 * len(a.end_products())
    semi = set(bom["component"]) & set(a.frames["processes"]["product"])
    assert semi
    assert set(a.frames["demands"]["priority"]) == {1, 2, 3}
    costs = pd.concat([a.frames["processes"]["cost"], a.frames["lanes"]["cost"],
                       a.frames["procurement"]["cost"]])
    assert costs[costs > 0].max() / costs[costs > 0].min() > 1e3  # wide coefficient range
    tele = generate_snp_instance(3, 4, seed=0, buckets="14x1,8x7,9x30")
    assert tele.n_buckets == 31 and tele.days()[-1] == 30.0
    with pytest.raises(ValueError, match="n_locations"):
        generate_snp_instance(3, 3, 4)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), utilisation=st.sampled_from([0.5, 0.9, 1.4]))
def test_monolithic_plan_passes_its_own_check(seed, utilisation):
    inst = generate_snp_instance(6, 5, 4, seed=seed, utilisation=utilisation)
    r = solve_snp(inst, options=FAST)
    check = check_plan(inst, r.plan)
    assert check.feasible, check.violations[:3]
    assert check.objective == pytest.approx(r.objective, rel=1e-6, abs=1e-6)
    # delivered plus never delivered is the demand
    dm = inst.frames["demands"]
    got = r.plan["delivery"]["quantity"].sum() + r.plan["nondelivery"]["quantity"].sum()
    assert got == pytest.approx(dm["quantity"].sum(), rel=1e-6)


# ---- solvers, plot, CLI ----------------------------------------------------------------------

def test_scip_gives_the_same_optimum():
    pytest.importorskip("pyscipopt", reason="SCIP is the optional extra scmgym[scip]")
    r = solve_snp(toy(min_lot=10.0, fixed_cost=20.0),
                  options=SolverOptions(time_limit=60, solver="scip_direct"))
    assert r.status == "optimal" and r.objective == pytest.approx(96.0)


def test_plot_stock_point(tmp_path):
    inst = toy()
    r = solve_snp(inst, options=FAST)
    path = tmp_path / "p.png"
    plot_stock_point(inst, r.plan, "F", "P", path)
    assert path.stat().st_size > 5000
    with pytest.raises(ScmgymError, match="it is at: C, P"):
        plot_stock_point(inst, r.plan, "F", "S")


def test_cli_generates_solves_and_writes(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["plan", "snp", "--generate", "8,5,6", "--seed", "2", "--decomposition",
                 "product", "--time-limit", "60", "--json", "--out", str(out),
                 "--plot", "F1@P1"])
    assert code == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["status"] == "feasible" and data["objective"] > 0
    assert set(data["costs"]) == {"procurement", "production", "transport", "storage",
                                  "lateness", "nondelivery", "safety"}
    assert {"bound", "gap", "build_seconds", "solve_seconds"} <= set(data)
    assert "[1/" in captured.err  # a progress line per subproblem
    production = pd.read_csv(out / "plan" / "production.csv")
    assert len(production) and (production["quantity"] > 0).all()
    assert (out / "plan-F1-P1.png").is_file()
    assert json.loads((out / "result.json").read_text())["objective"] == data["objective"]
    # the generated instance was written and solves again from disk
    code = main(["plan", "snp", "--instance", str(out / "instance"), "--json"])
    assert code == 0
    again = json.loads(capsys.readouterr().out)
    assert again["status"] == "optimal" and again["objective"] <= data["objective"] + 1e-6


def test_cli_infeasible_exits_1_with_diagnosis(tmp_path, capsys):
    frames = toy_frames(demand=30.0)
    frames["priorities"]["nondelivery_cost"] = np.nan
    path = write_snp_instance(SNPInstance.from_frames("c", frames), tmp_path / "c")
    assert main(["plan", "snp", "--instance", str(path)]) == 1
    out = capsys.readouterr().out
    assert "status     infeasible" in out and "for a plan to exist" in out


def test_cli_bad_arguments(capsys):
    assert main(["plan", "snp", "--generate", "2,4"]) != 0
    assert "PRODUCTS,LOCATIONS,BUCKETS" in capsys.readouterr().err


def test_docs_describe_every_table_and_column():
    from pathlib import Path

    from scmgym.planning.snp import TABLES

    text = (Path(__file__).parents[1] / "docs" / "planning.md").read_text()
    for t in TABLES:
        assert f"**`{t.name}.csv`**" in text, t.name
        for c in t.columns:
            assert f"| `{c.name}` |" in text, (t.name, c.name)
    for family in ("stock_balance", "resource_capacity", "lot_min", "safety_stock",
                   "demand_fulfilment"):
        assert f"`{family}`" in text


def test_a_subproblem_without_a_plan_falls_back_to_deciding_nothing_new(monkeypatch, small):
    import scmgym.planning.snp.solve as snp_solve

    real = snp_solve.solve
    calls = {"n": 0}

    def first_finds_nothing(model, options, on_progress=None):
        calls["n"] += 1
        if calls["n"] == 1:
            return snp_solve.SolveInfo(status="no_solution", termination="maxTimeLimit",
                                       objective=None, bound=None, solve_seconds=0.0,
                                       solver="highs")
        return real(model, options, on_progress)

    monkeypatch.setattr(snp_solve, "solve", first_finds_nothing)
    r = solve_snp(small, "product", options=LOOSE)
    assert r.steps[0].status == "no_solution: nothing new decided"
    assert r.status == "feasible" and not r.violations and r.plan is not None
    line = set(product_lines(small)[0])
    made = set(r.plan["production"]["product"])
    assert not (line & made)  # the first line decided nothing
    calls["n"] = 0
    r = solve_snp(small, "product", options=LOOSE, fallback=False)
    assert r.status == "no_solution" and r.plan is None


# ---- the solver's progress, read from its log ----------------------------------------------

#: excerpts of real branch-and-bound logs (HiGHS 1.16 and SCIP 10, from generated SNP
#: instances), kept as files for their long lines
SOLVER_LOGS = Path(__file__).parent / "data" / "solver_logs"


@pytest.mark.parametrize("log, expect", [
    ("highs.txt", [(0.2, None, None, None), (0.3, 3559283622.647, 4548399.22255, 0.9987),
                 (10.2, 4603813.849005, 4558373.909866, 0.0099)]),
    ("scip.txt", [(2.0, None, 4548399.0, None), (9.5, 4603000.0, 4561617.0, 0.0091)]),
])
def test_solver_log_reader_reads_the_branch_and_bound_table(log, expect):
    from scmgym.baselines.milp.common import SolverLogReader

    log = (SOLVER_LOGS / log).read_text()
    got = []
    reader = SolverLogReader(got.append)
    for i in range(0, len(log), 7):  # the log arrives in pieces that split lines
        reader.write(log[i:i + 7])
    assert [(p.seconds, p.incumbent, p.bound, p.gap) for p in got] == [
        (s, i, b, pytest.approx(g) if g is not None else None) for s, i, b, g in expect]


def test_solver_progress_arrives_while_solving():
    events = []
    inst = generate_snp_instance(50, 12, 13, seed=0)
    r = solve_snp(inst, options=SolverOptions(time_limit=3, threads=1),
                  solver_progress=lambda *a: events.append(a))
    assert events and {label for label, _, _ in events} == {"[1/1] monolithic"}
    assert all(limit == pytest.approx(3, abs=0.1) for _, limit, _ in events)
    seconds = [p.seconds for _, _, p in events]
    assert seconds == sorted(seconds)  # in the order the solver wrote them (no timing bound:
    # HiGHS checks its limit between steps, and a loaded machine overruns it)
    last = events[-1][2]
    if r.objective is not None and last.incumbent is not None:
        assert last.incumbent == pytest.approx(r.objective, rel=1e-6)


def test_cli_prints_live_progress_lines_when_not_on_a_terminal(capfd):
    assert main(["plan", "snp", "--generate", "50,12,13", "--time-limit", "3",
                 "--threads", "1"]) == 0
    err = capfd.readouterr().err
    live = [line for line in err.splitlines() if " s of 3, incumbent" in line]
    assert live and re.match(r"\[1/1\] monolithic: \d+ s of 3, incumbent", live[0])
    assert "[1/1] monolithic: feasible" in err or "[1/1] monolithic: optimal" in err
