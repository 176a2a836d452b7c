"""``scmgym simulate make-or-buy``: printed statistics, JSON, timeline plot, errors."""

from __future__ import annotations

import json
import statistics

import pytest

from scmgym.cli import main
from scmgym.simulators import make_or_buy as mob

VECTOR = ("0111101101111111111111111101001101110111111000111011101010110111000011110010100100110011"
          "111100110111")


def run_json(capsys, *args: str) -> dict:
    assert main(["simulate", "make-or-buy", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_all_buy_json(capsys):
    out = run_json(capsys, "--list", "list3", "--decisions", "all-buy", "--seeds", "4")
    assert out["mean_revenue"] == 7000.0 and out["sd_revenue"] == 0.0
    assert out["revenues"] == [7000] * 4 and out["seeds"] == [0, 1, 2, 3]
    assert out["bought"] == 100 and out["dataset"] == "list3"


def test_text_summary_all_make(capsys):
    assert main(["simulate", "make-or-buy", "--list", "list1", "--decisions", "all-make",
                 "--seeds", "3"]) == 0
    text = capsys.readouterr().out
    assert "100 made, 0 bought; 3 seed(s) 0..2" in text
    assert "revenue   mean 5250.0  sd 0.0  min 5250  max 5250" in text
    assert "on time   made 5.00" in text and "late      95.00" in text
    assert "bought    0" in text


def test_decision_file_matches_simulate(tmp_path, capsys):
    path = tmp_path / "vector.csv"
    path.write_text("id,decision\n" + "".join(f"{i + 1},{ch}\n" for i, ch in enumerate(VECTOR)))
    out = run_json(capsys, "--decisions", str(path), "--seeds", "5", "--first-seed", "10")
    inst = mob.load_instance("list1")
    expected = [mob.simulate(inst, VECTOR, seed=s).revenue for s in range(10, 15)]
    assert out["revenues"] == expected and out["seeds"] == list(range(10, 15))
    assert out["mean_revenue"] == pytest.approx(statistics.fmean(expected))
    assert out["sd_revenue"] == pytest.approx(statistics.stdev(expected))
    assert out["made"] == VECTOR.count("0")
    # the same vector given as a 0/1 string
    assert run_json(capsys, "--decisions", VECTOR, "--seeds", "5",
                    "--first-seed", "10")["revenues"] == expected


def test_options_reach_the_simulator(capsys):
    out = run_json(capsys, "--decisions", VECTOR, "--seeds", "3", "--no-truck-speed-latch")
    inst = mob.load_instance("list1")
    assert out["options"]["truck_speed_latch"] is False
    assert out["revenues"] == [mob.simulate(inst, VECTOR, seed=s, truck_speed_latch=False).revenue
                               for s in range(3)]


def test_mode_reaches_the_simulator(capsys):
    small = ["--decisions", VECTOR, "--seeds", "2"]
    inst = mob.load_instance("list1")
    out = run_json(capsys, *small, "--mode", "literal-truck")
    assert out["options"]["mode"] == "literal-truck" and out["options"]["literal"] is False
    assert out["revenues"] == [mob.simulate(inst, VECTOR, seed=s, mode="literal-truck").revenue
                               for s in range(2)]
    assert run_json(capsys, *small)["options"]["mode"] == "fast"
    lit = run_json(capsys, *small, "--literal")
    assert lit["options"]["mode"] == "literal" and lit["options"]["literal"] is True
    assert lit["revenues"] == [mob.simulate(inst, VECTOR, seed=s, mode="literal").revenue
                               for s in range(2)]
    assert main(["simulate", "make-or-buy", *small, "--literal", "--mode", "fast"]) == 1
    assert "contradicts mode='fast'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "make-or-buy", "--mode", "quick"])
    assert "invalid choice: 'quick'" in capsys.readouterr().err


def test_custom_list_and_timeline_png(tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text("id,a,b,c,deadline\n1,2,1,0,2024-09-30\n2,0,0,3,2024-07-01\n"
                      "3,1,1,1,2026-01-01\n")
    png = tmp_path / "timeline.png"
    out = run_json(capsys, "--list", str(orders), "--decisions", "010", "--seeds", "2",
                   "--timeline", str(png))
    assert out["n_orders"] == 3 and out["timeline"] == str(png)
    assert all(r % 10 == 0 for r in out["revenues"])
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--list", "list7"], ["no such dataset", "list7", "list1, list2, list3"]),
        (["--decisions", "0101"], ["wrong number of decisions", "100 decisions"]),
        (["--decisions", "make-some"], ["no such decision file", "make-some", "all-make"]),
        (["--seeds", "0"], ["--seeds must be at least 1"]),
    ],
)
def test_errors_exit_nonzero_with_a_message(capsys, args, needles):
    assert main(["simulate", "make-or-buy", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("scmgym: error:") and "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_bad_files_name_file_row_column_value(tmp_path, capsys):
    decisions = tmp_path / "d.csv"
    decisions.write_text("id,decision\n1,0\n2,7\n")
    assert main(["simulate", "make-or-buy", "--decisions", str(decisions)]) == 1
    err = capsys.readouterr().err
    assert f"{decisions}, row 3, column 'decision'" in err and "(got 7)" in err
    orders = tmp_path / "o.csv"
    orders.write_text("id,a,b,c,deadline\n1,1,2,3,next year\n")
    assert main(["simulate", "make-or-buy", "--list", str(orders)]) == 1
    err = capsys.readouterr().err
    assert f"{orders}, row 2, column 'deadline'" in err and "'next year'" in err
    assert "YYYY-MM-DD" in err
