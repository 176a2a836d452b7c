"""Loading HFS datasets and priority orders: bundled names, paths, Excel, and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from scmgym.errors import DataError, InfeasibleError, SimulationLimitError
from scmgym.simulators import hfs

HEADER = ",".join(hfs.COLUMNS)


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name, n, types", [
    ("d1", 100, 12), ("d2", 100, 4), ("d3", 100, 8), ("d4", 100, 12), ("d5", 345, 2),
])
def test_bundled_datasets(name, n, types):
    inst = hfs.load_instance(name)
    assert inst.n == n and len(inst.types_present) == types
    assert [o.order_id for o in inst.orders] == list(range(n))


def test_dataset_facts_from_spec():
    d1, d2, d3, d4, d5 = (hfs.load_instance(f"d{i}") for i in range(1, 6))
    assert sum(o.type.days for o in d1.orders) == 2558
    assert [o.machine_type for o in d4.orders] == [o.machine_type for o in d1.orders]
    assert {(o.basement_day, o.panel_day, o.due_day) for o in d4.orders} == {(1, 1, 1)}
    assert [o.due_day for o in d2.orders] == [o.due_day for o in d3.orders]
    assert max(o.due_day for o in d5.orders) == 1200


def test_load_by_path_equals_by_name(tmp_path):
    src = hfs.load_instance("d1")
    path = write(tmp_path, (Path(hfs.__file__).parents[1] / "data" / "hfs" / "d1.csv").read_text())
    other = hfs.load_instance(path)
    assert other.orders == src.orders and other.name == "orders"


def test_excel_file_same_as_csv(tmp_path):
    frame = pd.DataFrame([o.__dict__ for o in hfs.load_instance("d2").orders])
    frame.columns = list(hfs.COLUMNS)
    path = tmp_path / "d2.xlsx"
    frame.to_excel(path, index=False)
    assert hfs.load_instance(path).orders == hfs.load_instance("d2").orders


def test_unknown_dataset_name():
    with pytest.raises(DataError, match=r"no such dataset.*'d9'.*d1, d2, d3, d4, d5"):
        hfs.load_instance("d9")


@pytest.mark.parametrize("text, pattern", [
    ("order_id,machine_type,date_basement_arrival,date_delivery\n0,lt7,1,1\n",
     r"orders\.csv, column 'date_electrical_panel_arrival': missing column; allowed: columns "
     r"order_id, machine_type"),
    (f"{HEADER},colour\n0,lt7,1,1,1,red\n",
     r"orders\.csv, column 'colour': unexpected column; allowed: columns order_id"),
    (f"{HEADER}\n0,lt7,1,1,1\n1,lt7,2.5,1,1\n",
     r"orders\.csv, row 3, column 'date_basement_arrival': not an integer \(got '2\.5'\); "
     r"allowed: an integer in \[0, 10000\]"),
    (f"{HEADER}\n0,lt7,1,x,1\n",
     r"row 2, column 'date_electrical_panel_arrival': not an integer \(got 'x'\)"),
    (f"{HEADER}\n0,lt7,1,1,-4\n",
     r"row 2, column 'date_delivery': out of range \(got -4\); "
     r"allowed: an integer in \[0, 10000\]"),
    (f"{HEADER}\n0,lt7,1,1,\n",
     r"row 2, column 'date_delivery': not an integer \(got ''\)"),
    (f"{HEADER}\n0,lt9,1,1,1\n",
     r"row 2, column 'machine_type': unknown machine type \(got 'lt9'\); allowed: lt7, lt7_p"),
    (f"{HEADER}\n0,lt7,1,1,1\n0,lt7,1,1,1\n",
     r"row 3, column 'order_id': duplicate id \(also on row 2\) \(got 0\); allowed: unique ids"),
    (f"{HEADER}\n0,lt7,1,1,1\n2,lt7,1,1,1\n",
     r"row 3, column 'order_id': ids must be contiguous and in row order \(got 2\); "
     r"allowed: 1 on this row"),
    (f"{HEADER}\n1,lt7,1,1,1\n",
     r"row 2, column 'order_id': ids must be contiguous.*\(got 1\); allowed: 0 on this row"),
    ("", r"orders\.csv: the file is empty"),
    (f"{HEADER}\n", r"orders\.csv: the file has a header but no data rows"),
])
def test_bad_files_name_file_row_column_value_and_allowed(tmp_path, text, pattern):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=pattern) as info:
        hfs.load_instance(path)
    assert str(path) in str(info.value)


def test_error_attributes(tmp_path):
    path = write(tmp_path, f"{HEADER}\n0,lt7,1,1,-4\n")
    with pytest.raises(DataError) as info:
        hfs.load_instance(path)
    err = info.value
    assert (err.source, err.row, err.column, err.value) == (str(path), 2, "date_delivery", -4)


# priority orders -------------------------------------------------------------------------------

SMALL = hfs.make_instance([(i, "lt7", 1, 1, 1) for i in range(4)])


@pytest.mark.parametrize("order, pattern", [
    ([0, 1, 2], r"not a permutation of the 4 order ids; missing \[3\]"),
    ([0, 1, 2, 2], r"position 3.*repeated \(first at position 2\)"),
    ([0, 1, 2, 7], r"position 3.*not an order id \(got 7\); allowed: integers 0\.\.3"),
    ([0, 1, 2, 3, 1], r"position 4.*repeated"),
    ([0, 1.5, 2, 3], r"position 1.*not an order id \(got 1\.5\)"),
])
def test_bad_priority_order(order, pattern):
    with pytest.raises(DataError, match=pattern):
        hfs.simulate(SMALL, order)


def test_bad_priorities():
    with pytest.raises(DataError, match=r"one number per order.*4 numbers"):
        hfs.simulate(SMALL, priorities=[1, 2, 3])
    with pytest.raises(DataError, match=r"not a finite number"):
        hfs.simulate(SMALL, priorities=[1, 2, float("nan"), 3])
    with pytest.raises(TypeError, match="exactly one"):
        hfs.simulate(SMALL, [0, 1, 2, 3], priorities=[1, 2, 3, 4])


def test_priority_file_round_trip(tmp_path):
    path = write(tmp_path, "order_id\n3\n1\n0\n2\n", "prio.csv")
    assert hfs.load_priority_file(path, SMALL) == (3, 1, 0, 2)


@pytest.mark.parametrize("text, pattern", [
    ("order_id\n3\n1\n0\n", r"prio\.csv, column 'order_id': not a permutation of the 4 order "
                            r"ids of custom; missing \[2\]"),
    ("order_id\n3\n1\n1\n0\n", r"prio\.csv, row 4, column 'order_id': order id repeated "
                               r"\(also on row 3\)"),
    ("order_id\n3\n1\n9\n0\n", r"prio\.csv, row 4, column 'order_id': out of range \(got 9\); "
                               r"allowed: an integer in \[0, 3\]"),
    ("order_id\n3\none\n2\n0\n", r"row 3, column 'order_id': not an integer \(got 'one'\)"),
    ("id\n3\n1\n2\n0\n", r"column 'order_id': missing column"),
])
def test_bad_priority_file(tmp_path, text, pattern):
    with pytest.raises(DataError, match=pattern):
        hfs.load_priority_file(write(tmp_path, text, "prio.csv"), SMALL)


# never hang ------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers, pattern", [
    ((2, 1, 2), r"type lt7_p\w* needs 2 E worker\(s\) on production day 8 but the E pool has 1; "
                r"allowed: E >= 2"),
    ((0, 5, 2), r"needs 1 M worker\(s\) on production day 1 but the M pool has 0"),
    ((2, 5, 0), r"needs 1 R worker\(s\).*R pool has 0"),
])
def test_infeasible_workers_detected_before_simulating(workers, pattern):
    inst = hfs.load_instance("d1")
    with pytest.raises(InfeasibleError, match=pattern):
        hfs.simulate(inst, hfs.identity_order(inst), workers=workers)


def test_e_equal_one_is_fine_without_p_types():
    rows = [(0, "lt7", 1, 1, 1), (1, "lt8", 1, 1, 1)]
    inst = hfs.make_instance(rows)
    lone = hfs.simulate(inst, [0, 1], workers=(1, 1, 1))
    assert lone.records[0].delivery_day == 31  # the lt7, first in line: as alone, D + 3
    # One worker per pool: lt8 waits for the lt7's workers, so it ends later than with (2, 5, 2).
    assert lone.makespan > hfs.simulate(inst, [0, 1], workers=(2, 5, 2)).makespan
    with pytest.raises(InfeasibleError, match="E pool has 1"):  # a p type needs 2 E workers
        hfs.simulate(hfs.make_instance([*rows, (2, "lt7_p", 1, 1, 1)]), [0, 1, 2],
                     workers=(1, 1, 1))


def test_no_station_or_truck_is_infeasible():
    with pytest.raises(InfeasibleError, match="stations=0"):
        hfs.simulate(SMALL, [0, 1, 2, 3], stations=0)
    with pytest.raises(InfeasibleError, match="trucks_per_day=0"):
        hfs.simulate(SMALL, [0, 1, 2, 3], trucks_per_day=0)


def test_day_cap_raises():
    inst = hfs.load_instance("d1")
    with pytest.raises(SimulationLimitError, match=r"no end after 100 days \(max_days=100\)"):
        hfs.simulate(inst, hfs.identity_order(inst), max_days=100)


def test_default_day_cap_exceeds_worst_case():
    inst = hfs.load_instance("d1")
    slow = hfs.simulate(inst, hfs.reverse_order(inst), workers=(1, 2, 1), stations=1)
    assert slow.makespan < hfs.default_max_days(inst)


@pytest.mark.parametrize("text", ["2,5", "2,5,x", "2,-1,2", "2,5,2.5"])
def test_bad_worker_strings(text):
    with pytest.raises(DataError, match=re.escape("allowed: three non-negative integers M,E,R")):
        hfs.Workers.parse(text)
