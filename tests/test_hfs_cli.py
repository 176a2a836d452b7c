"""End-to-end tests of `scmgym simulate hfs` and `scmgym demo`: run the CLI, check its output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scmgym.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output(capsys):
    code, out, _ = run_cli(capsys, "simulate", "hfs", "--dataset", "d1", "--workers", "2,5,2",
                           "--order", "identity", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["makespan"] == 468 and payload["lower_bound"] == 440
    assert payload["lower_bounds"]["stations"] == 135
    assert payload["order"] == list(range(100))
    assert len(payload["orders"]) == 100
    assert payload["orders"][99]["delivery_day"] == 468


@pytest.mark.parametrize("rule, makespan", [("edd", 472), ("reverse", 470),
                                            ("edd-quicksort", 470)])
def test_named_orders(capsys, rule, makespan):
    code, out, _ = run_cli(capsys, "simulate", "hfs", "--order", rule, "--json")
    assert code == 0 and json.loads(out)["makespan"] == makespan


def test_table_output(capsys):
    code, out, _ = run_cli(capsys, "simulate", "hfs", "--dataset", "d4", "--order", "edd")
    assert code == 0
    lines = out.splitlines()
    assert "makespan     465 days" in lines
    assert any(line.startswith("lower bound  440 days") for line in lines)
    table = lines[lines.index(next(x for x in lines if x.strip().startswith("id"))) + 1:]
    assert len(table) == 100
    first = table[0].split()
    assert first[:3] == ["0", "lt8_ula", "0"]


def test_order_file_and_gantt(capsys, tmp_path):
    prio = tmp_path / "prio.csv"
    prio.write_text("order_id\n" + "\n".join(str(i) for i in range(99, -1, -1)) + "\n")
    png = tmp_path / "gantt.png"
    code, out, _ = run_cli(capsys, "simulate", "hfs", "--order", str(prio), "--gantt", str(png),
                           "--json")
    assert code == 0 and json.loads(out)["makespan"] == 470  # = reverse
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


def test_next_update_pickup_flag(capsys):
    code, out, _ = run_cli(capsys, "simulate", "hfs", "--order", "identity", "--pickup",
                           "next-update", "--json")
    assert json.loads(out)["makespan"] == 469


@pytest.mark.parametrize("argv, message", [
    (["--workers", "2,1,2"], "E pool has 1"),
    (["--workers", "2,5"], "workers must be M,E,R"),
    (["--dataset", "nope.csv"], "no such dataset (got 'nope.csv')"),
    (["--order", "missing.csv"], "no such priority file"),
    (["--max-days", "50"], "no end after 50 days"),
])
def test_errors_exit_nonzero_with_message(capsys, argv, message):
    code, out, err = run_cli(capsys, "simulate", "hfs", *argv)
    assert code == 1 and out == ""
    assert message in err and "Traceback" not in err
    assert err.startswith("scmgym: error: ")


def test_bad_order_file_names_row(capsys, tmp_path):
    prio = tmp_path / "prio.csv"
    prio.write_text("order_id\n0\n0\n")
    code, _, err = run_cli(capsys, "simulate", "hfs", "--order", str(prio))
    assert code == 1
    assert "prio.csv, row 3, column 'order_id': order id repeated (also on row 2)" in err


def test_console_script_entry_point_reports_errors_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "scmgym.cli", "simulate", "hfs", "--workers",
                           "0,5,2"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "M pool has 0" in proc.stderr and "Traceback" not in proc.stderr


def test_demo(capsys):
    code, out, _ = run_cli(capsys, "demo", "--no-compare")
    assert code == 0
    assert "EDD (earliest due date)            472" in out
    assert "identity (CSV order)               468" in out
    assert "440" in out
    lines = {line[:28].strip(): line[28:].split() for line in out.splitlines()}
    assert lines["all buy"][:2] == ["7000.0", "0.0"]
    assert lines["all make"][0] == "5250.0"  # spec fact 6 (>= 95 % of seeds)
    assert 7400 < float(lines["make iff a < 6 and c >= 6"][0]) < 7700  # spec fact 10: ~7586


def test_demo_quick_comparison(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "demo", "--budget", "25", "--methods", "random,edd,eldt",
                           "--seeds", "2", "--out", str(tmp_path))
    assert code == 0
    assert "### hfs:d1 (2,5,2): makespan" in out and "### make-or-buy:list1: revenue" in out
    assert "| edd | 472.0 |" in out
    assert out.count("Best tree (eldt") == 2
    assert (tmp_path / "hfs-d1" / "results.csv").is_file()
    assert (tmp_path / "make-or-buy-list1" / "results.md").is_file()
