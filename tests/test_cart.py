"""The CAR-T supply chain MILP: hand-checked tiny instances, the two formulations, fixed sites,
the generator and bad input."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scmgym.baselines.milp.common import SolverOptions
from scmgym.errors import DataError
from scmgym.planning.cart import (
    PROFILES,
    CARTInstance,
    generate_cart_instance,
    solve_cart,
)
from scmgym.planning.cart import network as net

EXACT = SolverOptions(time_limit=120, mip_rel_gap=0.0, threads=1)
THERAPY = net.MATERIAL_COST + net.QC_COST
#: an open site over the 130-day horizon
M1 = 130 * (net.CAPITAL_PER_DAY["m1"] + net.RUNNING_PER_DAY["m1"])


def patients(*rows) -> CARTInstance:
    frame = pd.DataFrame(rows, columns=["centre", "day"])
    frame.insert(0, "patient", [f"p{i}" for i in range(len(rows))])
    return CARTInstance.from_frames("tiny", {"patients": frame})


def test_one_patient_takes_the_cheapest_site_and_modes():
    # m1 (or m4) is the cheapest site to open (23,136.13 a day). From c1: out by j1 (1040)
    # and back by j2 (910) = 1950 beats j1/j1 (2950) and j2/j1 (520 + 1910), within 18 days.
    r = solve_cart(patients(("c1", 1)), options=EXACT)
    assert r.status == "optimal" and r.sites == ("m1",)
    assert r.costs["facility"] == pytest.approx(M1)
    assert r.costs["transport"] == pytest.approx(1950.0)
    assert r.cost == pytest.approx(M1 + 1950 + THERAPY)
    assert r.routes == {"m1 j1/j2": 1}


def test_five_patients_on_one_day_need_a_second_site():
    # m1 has 4 lines and every route holds a line for 7 overlapping days: the fifth patient
    # opens m4 (cheaper than m3 with its 10 lines), at its cheapest route from c1: out by j2
    # (936), back by j1 (2910).
    r = solve_cart(patients(*[("c1", 10)] * 5), options=EXACT)
    assert r.status == "optimal" and r.sites == ("m1", "m4")
    assert r.costs["transport"] == pytest.approx(4 * 1950 + 936 + 2910)
    assert r.cost == pytest.approx(2 * M1 + 4 * 1950 + 3846 + 5 * THERAPY)


def test_too_many_patients_at_once_is_infeasible():
    # two sites with 31 lines each take 62 patients a day at most
    r = solve_cart(patients(*[("c2", 5)] * 63), options=EXACT)
    assert r.status == "infeasible" and r.cost is None and not r.feasible


@settings(max_examples=6, deadline=None)
@given(ppy=st.integers(20, 400), profile=st.sampled_from(PROFILES), seed=st.integers(0, 99))
def test_patient_and_aggregated_formulations_agree(ppy, profile, seed):
    inst = generate_cart_instance(ppy, profile, seed)
    a = solve_cart(inst, formulation="aggregated", options=EXACT)
    p = solve_cart(inst, formulation="patient", options=EXACT)
    assert a.status == p.status
    if a.feasible:
        assert a.cost == pytest.approx(p.cost, rel=1e-9)
        assert a.size["integers"] <= p.size["integers"]


@pytest.mark.parametrize("ppy, profile", [(200, "uniform"), (1000, "left")])
def test_fixing_the_optimal_sites_reproduces_the_optimum(ppy, profile):
    inst = generate_cart_instance(ppy, profile, seed=3)
    full = solve_cart(inst, options=EXACT)
    reduced = solve_cart(inst, sites=full.sites, options=EXACT)
    assert reduced.status == "optimal" and reduced.cost == pytest.approx(full.cost, rel=1e-9)
    assert reduced.size["integers"] < full.size["integers"]
    assert reduced.size["constraints"] < full.size["constraints"]


def test_fixed_sites_that_cannot_serve_are_infeasible_before_solving():
    inst = generate_cart_instance(400, "uniform", seed=0)
    r = solve_cart(inst, sites=("m1", "m2", "m3"), options=EXACT)
    assert r.status == "infeasible" and "3 sites fixed open, at most 2" in r.reason
    r = solve_cart(inst, sites=("m1",), options=EXACT)
    assert r.status == "infeasible" and r.reason == ""  # the solver proves it (4 lines)


def test_generator_profiles_and_reproducibility():
    a = generate_cart_instance(2000, "left", seed=1)
    b = generate_cart_instance(2000, "left", seed=1)
    pd.testing.assert_frame_equal(a.frames["patients"], b.frames["patients"])
    assert a.n_patients == 500
    left = a.daily_demand()
    right = generate_cart_instance(2000, "right", seed=1).daily_demand()
    uniform = generate_cart_instance(2000, "uniform", seed=1).daily_demand()
    assert left[:30].sum() > 2 * left[60:].sum()
    assert right[60:].sum() > 2 * right[:30].sum()
    assert 0.7 < uniform[:45].sum() / uniform[45:].sum() < 1.4
    assert len(left) == 90 and left.sum() == 500
    with pytest.raises(DataError, match="unknown demand profile.*uniform, left, right"):
        generate_cart_instance(100, "triangle")


def test_published_network_is_the_default_and_round_trips(tmp_path):
    inst = generate_cart_instance(100, "uniform", seed=0)
    assert dict(zip(inst.frames["sites"]["site"], inst.frames["sites"]["lines"],
                    strict=True)) == net.LINES
    assert len(inst.routes) == 4 * 6 * 3  # j2 both ways would take 19 days > 18
    path = inst.write(tmp_path / "inst")
    back = CARTInstance.load(path)
    assert solve_cart(back, options=EXACT).cost == pytest.approx(
        solve_cart(inst, options=EXACT).cost)
    # a folder with only the patients is a complete instance (the published network)
    only = tmp_path / "only"
    only.mkdir()
    inst.frames["patients"].to_csv(only / "patients.csv", index=False)
    assert CARTInstance.load(only).summary() == inst.summary()


@pytest.mark.parametrize("rows, expect", [
    ([("c9", 3)], "patients.csv, row 2, column 'centre': unknown leukapheresis centre "
                  "\\(got 'c9'\\); allowed: c1, c2, c3, c4"),
    ([("c1", 3), ("c2", 120)], "patients.csv, row 3, column 'day': collected too late .*"
                               "\\(got 120\\); allowed: a day <= 111"),
])
def test_bad_patients_are_named(tmp_path, rows, expect):
    folder = tmp_path / "bad"
    folder.mkdir()
    pd.DataFrame([(f"p{i}", c, d) for i, (c, d) in enumerate(rows)],
                 columns=["patient", "centre", "day"]).to_csv(folder / "patients.csv",
                                                              index=False)
    with pytest.raises(DataError, match=expect):
        CARTInstance.load(folder)


def test_solves_with_different_thread_counts_follow_one_another():
    # HiGHS sizes one thread scheduler per process at its first solve; the solve wrapper
    # resets it when a later solve asks for another count (else HiGHS refuses at once)
    inst = generate_cart_instance(200, "uniform", seed=1)
    costs = [solve_cart(inst, options=SolverOptions(time_limit=60, mip_rel_gap=0.0,
                                                    threads=threads)).cost
             for threads in (None, 1, 2, 1)]
    assert None not in costs and len(set(costs)) == 1
