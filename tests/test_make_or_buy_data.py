"""Make-or-buy data: bundled lists, CSV/Excel loaders, generator, decision vectors, bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scmgym.errors import DataError
from scmgym.simulators import make_or_buy as mob

DATA = Path(__file__).parent / "data"
HEADER = "id,a,b,c,deadline\n"


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- bundled lists and the original Excel files ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dmin", "dmax", "mean_a"),
    [("list1", 1016, 6998, 9.35), ("list2", 826, 6965, 10.39), ("list3", 1123, 6920, 10.03)],
)
def test_bundled_lists_match_spec_statistics(name, dmin, dmax, mean_a):
    inst = mob.load_instance(name)
    assert inst.n == 100 and inst.name == name and inst.source == name
    assert inst.column("id").tolist() == list(range(1, 101))
    days = inst.column("deadline")
    assert (days.min(), days.max()) == (dmin, dmax)
    assert inst.column("a").mean() == pytest.approx(mean_a, abs=0.005)
    assert not any(o.is_empty for o in inst.orders)


def test_list1_first_rows_and_deadline_days():
    inst = mob.load_instance("list1")
    first = inst.orders[0]
    assert (first.order_id, first.counts, first.deadline) == (1, (18, 18, 5), date(2028, 6, 7))
    assert first.deadline_days == 1449
    assert inst.orders[5].deadline_days == 1016  # 2027-04-01
    assert inst.to_rows()[0] == {"id": 1, "a": 18, "b": 18, "c": 5, "deadline": "2028-06-07"}


@pytest.mark.parametrize(("xlsx", "bundled"),
                         [("orders.xlsx", "list1"), ("orders1.xlsx", "list2"),
                          ("orders3.xlsx", "list3")])
def test_original_excel_files_read_as_cached_values(xlsx, bundled):
    from_excel = mob.load_instance(DATA / xlsx)
    assert from_excel.orders == mob.load_instance(bundled).orders
    assert from_excel.source == str(DATA / xlsx)


def test_csv_of_any_length_and_excel_written_by_pandas(tmp_path):
    inst = mob.generate_make_or_buy_instance(137, seed=5)
    frame = pd.DataFrame(inst.to_rows())
    csv = tmp_path / "long.csv"
    frame.to_csv(csv, index=False)
    assert mob.load_instance(csv).orders == inst.orders
    xlsx = tmp_path / "long.xlsx"
    frame.assign(deadline=pd.to_datetime(frame["deadline"])).to_excel(xlsx, index=False)
    loaded = mob.load_instance(xlsx)
    assert loaded.n == 137 and loaded.orders == inst.orders
    one = mob.load_instance(write(tmp_path, HEADER + "1,0,3,0,2024-06-20\n"))
    assert one.n == 1 and one.orders[0].deadline_days == 1


def test_deadline_with_a_time_of_day_keeps_the_calendar_date(tmp_path):
    inst = mob.load_instance(write(tmp_path, HEADER + "1,1,2,3,2028-06-07 00:00:00\n"
                                   "2,1,2,3,2028-06-08T13:30:00\n"))
    assert [o.deadline_days for o in inst.orders] == [1449, 1450]


# -- bad files -------------------------------------------------------------------------------


def test_missing_column_names_file_and_column(tmp_path):
    path = write(tmp_path, "id,a,b,deadline\n1,1,2,2028-01-01\n")
    with pytest.raises(DataError) as err:
        mob.load_instance(path)
    assert err.value.column == "c" and err.value.source == str(path)
    assert "missing column" in str(err.value) and "id, a, b, c, deadline" in str(err.value)


@pytest.mark.parametrize(
    ("cell", "problem", "allowed"),
    [("-1", "out of range", "[0, 20]"), ("2.5", "not an integer", "[0, 20]"),
     ("21", "out of range", "[0, 20]"), ("x", "not an integer", "[0, 20]"),
     ("", "not an integer", "[0, 20]")],
)
def test_bad_count_names_file_row_column_value_allowed(tmp_path, cell, problem, allowed):
    path = write(tmp_path, HEADER + "1,1,2,3,2028-01-01\n" + f"2,4,{cell},6,2028-01-01\n")
    with pytest.raises(DataError) as err:
        mob.load_instance(path)
    e = err.value
    assert (e.source, e.row, e.column) == (str(path), 3, "b")
    assert problem in str(e) and allowed in e.allowed
    assert str(path) in str(e) and "row 3" in str(e)


@pytest.mark.parametrize("cell", ["2028-13-45", "tomorrow", "1449", "07/06/2028", "2023-12-31"])
def test_bad_deadline_names_file_row_value_allowed(tmp_path, cell):
    path = write(tmp_path, HEADER + f"1,1,2,3,{cell}\n")
    with pytest.raises(DataError) as err:
        mob.load_instance(path)
    e = err.value
    assert (e.source, e.row, e.column) == (str(path), 2, "deadline")
    assert "YYYY-MM-DD" in e.allowed and "2024-06-19" in e.allowed


def test_bad_excel_cell_names_row(tmp_path):
    frame = pd.DataFrame({"id": [1, 2], "a": [1, 2], "b": [3, -4], "c": [0, 1],
                          "deadline": pd.to_datetime(["2028-01-01", "2029-01-01"])})
    path = tmp_path / "bad.xlsx"
    frame.to_excel(path, index=False)
    with pytest.raises(DataError) as err:
        mob.load_instance(path)
    assert (err.value.row, err.value.column, err.value.value) == (3, "b", -4)


def test_ids_must_be_one_to_n_in_row_order(tmp_path):
    path = write(tmp_path, HEADER + "1,1,2,3,2028-01-01\n3,1,2,3,2028-01-01\n")
    with pytest.raises(DataError) as err:
        mob.load_instance(path)
    assert (err.value.row, err.value.column, err.value.value) == (3, "id", 3)


def test_unknown_dataset_name_lists_bundled_names():
    with pytest.raises(DataError) as err:
        mob.load_instance("list9")
    assert "list1, list2, list3" in err.value.allowed


def test_make_instance_rejects_bad_rows():
    with pytest.raises(DataError) as err:
        mob.make_instance([(1, 1, 2, 30, "2028-01-01")])
    assert (err.value.row, err.value.column, err.value.value) == (2, "c", 30)
    with pytest.raises(DataError):
        mob.make_instance([])
    inst = mob.make_instance([{"id": 1, "a": 0, "b": 0, "c": 1, "deadline": date(2030, 1, 1)},
                              (2, 1, 1, 1, 100)])
    assert [o.deadline_days for o in inst.orders] == [(date(2030, 1, 1) - mob.START_DATE).days,
                                                       100]


# -- decision vectors ------------------------------------------------------------------------


def small() -> mob.MakeOrBuyInstance:
    return mob.make_instance([(1, 1, 0, 0, 50), (2, 0, 1, 0, 90), (3, 2, 2, 2, 200)])


def test_decisions_accept_lists_arrays_bools_and_strings():
    inst = small()
    assert mob.check_decisions(inst, [0, 1, 0]) == (0, 1, 0)
    assert mob.check_decisions(inst, np.array([True, False, True])) == (1, 0, 1)
    assert mob.check_decisions(inst, "110") == (1, 1, 0)
    assert mob.check_decisions(inst, [1.0, 0.0, 1]) == (1, 0, 1)


@pytest.mark.parametrize("bad", [[0, 1], [0, 1, 0, 1], "01", []])
def test_decisions_of_wrong_length(bad):
    with pytest.raises(DataError) as err:
        mob.check_decisions(small(), bad)
    assert "wrong number of decisions" in str(err.value) and "3 decisions" in err.value.allowed
    assert f"{len(bad)} decisions" in str(err.value)


@pytest.mark.parametrize(("bad", "value"), [([0, 2, 1], 2), ([0, 0, -1], -1), ([0.5, 0, 0], 0.5),
                                            (["0", "x", "1"], "x"), ("0a1", "a")])
def test_decisions_other_than_zero_or_one_name_position_and_order(bad, value):
    with pytest.raises(DataError) as err:
        mob.check_decisions(small(), bad)
    pos = list(bad).index(value)
    assert err.value.column == f"position {pos} (order id {pos + 1})"
    assert err.value.value == value and err.value.allowed == "0 (make) or 1 (buy)"


def test_decision_file_loader(tmp_path):
    inst = small()
    ok = write(tmp_path, "id,decision\n1,0\n2,1\n3,1\n", "x.csv")
    assert mob.load_decisions(ok, inst) == (0, 1, 1)
    bad = write(tmp_path, "id,decision\n1,0\n2,yes\n3,1\n", "bad.csv")
    with pytest.raises(DataError) as err:
        mob.load_decisions(bad, inst)
    assert (err.value.source, err.value.row, err.value.column, err.value.value) == (
        str(bad), 3, "decision", "yes")
    short = write(tmp_path, "id,decision\n1,0\n2,1\n", "short.csv")
    with pytest.raises(DataError, match="wrong number of decisions"):
        mob.load_decisions(short, inst)
    nocol = write(tmp_path, "id,choice\n1,0\n", "nocol.csv")
    with pytest.raises(DataError) as err:
        mob.load_decisions(nocol, inst)
    assert err.value.column == "decision"


# -- generator -------------------------------------------------------------------------------


def test_generator_shape_and_determinism():
    inst = mob.generate_make_or_buy_instance(400, seed=11)
    assert inst.n == 400 and inst.column("id").tolist() == list(range(1, 401))
    counts = np.stack([inst.column(c) for c in "abc"], axis=1)
    assert counts.min() == 0 and counts.max() == 20
    assert abs(counts.mean() - 10) < 1.0
    assert not any(o.is_empty for o in inst.orders)
    days = inst.column("deadline")
    # two-part pattern like the originals, scaled by n / 100 = 4: spread over decades
    assert np.median(days[:200]) < np.median(days[200:])
    assert days[:200].min() >= 800 * 4 and days[200:].max() <= 7000 * 4
    assert mob.generate_make_or_buy_instance(400, seed=11).orders == inst.orders
    assert mob.generate_make_or_buy_instance(400, seed=12).orders != inst.orders


def test_generator_100_orders_like_the_original_lists():
    inst = mob.generate_make_or_buy_instance(100, seed=0)
    days = inst.column("deadline")
    assert 800 <= days.min() and days.max() <= 7000
    assert (days.max() - days.min()) / 365 > 10  # spread over years


def test_generator_options_and_errors():
    empty = mob.generate_make_or_buy_instance(3000, seed=1, max_count=1, allow_empty=True)
    assert any(o.is_empty for o in empty.orders)
    assert max(max(o.counts) for o in empty.orders) == 1
    custom = mob.generate_make_or_buy_instance(10, seed=1, deadline_scale=2.0, name="x")
    assert custom.name == "x" and custom.column("deadline").min() >= 1600
    for bad in (0, -3, 2.5):
        with pytest.raises(DataError):
            mob.generate_make_or_buy_instance(bad, seed=0)
    with pytest.raises(DataError):
        mob.generate_make_or_buy_instance(5, seed=0, max_count=21)


def test_expected_processing_time_rule():
    assert mob.expected_processing_time(1, 0, 0) == pytest.approx(31.0)
    assert mob.expected_processing_time(3, 20, 1) == pytest.approx(31 + 14.3 * 19)
    assert mob.expected_processing_time(0, 0, 0) == pytest.approx(1 / 12)
