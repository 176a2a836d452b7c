"""Killing a comparison or a training run at any point loses nothing and leaves nothing behind:
no orphan worker, no lost or duplicated simulation, and after a rerun of the same command the
results are those of an uninterrupted run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scmgym.cli import main


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def table(path: Path) -> list[dict]:
    with path.open() as fh:
        return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in csv.DictReader(fh)]


def small_hfs(folder: Path) -> str:
    src = Path(__file__).parents[1] / "scmgym" / "data" / "hfs" / "d1.csv"
    path = folder / "d1_small.csv"
    path.write_text("\n".join(src.read_text().splitlines()[:21]) + "\n")
    return str(path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT,
                                 pytest.param(signal.SIGTERM, marks=pytest.mark.slow),
                                 pytest.param(signal.SIGKILL, marks=pytest.mark.slow)],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_killed_parallel_comparison_resumes_to_the_uninterrupted_result(tmp_path, capsys, sig):
    data = small_hfs(tmp_path)
    argv = ["compare", "--problem", f"hfs:{data}", "--methods", "eldt,gp,random", "--runs",
            "2", "--budget", "800", "--reeval-seeds", "2", "--jobs", "2"]
    # (a budget that leaves the kill a wide window even on a loaded machine)
    assert main([*argv, "--out", str(tmp_path / "ref")]) == 0
    capsys.readouterr()
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "scmgym.cli", *argv, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill while two runs are under way
        rows = [len(p.read_text().splitlines()) for p in out.glob("*/history.csv")]
        if len([r for r in rows if r > 20]) >= 2:
            break
        time.sleep(0.05)
    workers = children_of(proc.pid)
    assert workers, "the comparison started no worker"
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == (130 if sig != signal.SIGKILL else -signal.SIGKILL), err
    if sig != signal.SIGKILL:
        assert "rerun the same command to resume" in err and "Traceback" not in err
    deadline = time.time() + 30
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(alive(w) for w in workers), "a worker outlived the comparison"
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    assert table(out / "results.csv") == table(tmp_path / "ref" / "results.csv")
    dirs = [p for p in out.iterdir() if p.is_dir()]
    assert len(dirs) == 6  # no stale partial directory beside a rerun
    for d in dirs:
        ref = next((tmp_path / "ref").glob(d.name.rsplit("__", 1)[0] + "__*"))
        assert (d / "history.csv").read_text() == (ref / "history.csv").read_text(), d.name
        assert not (d / "checkpoint.pkl").exists()


@pytest.mark.parametrize("sig", [pytest.param(signal.SIGINT, marks=pytest.mark.slow),
                                 pytest.param(signal.SIGTERM, marks=pytest.mark.slow),
                                 signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_killed_training_resumes_to_the_uninterrupted_run(tmp_path, capsys, sig):
    import random

    data = small_hfs(tmp_path)
    argv = ["train", "gp", "--env", "hfs", "--dataset", data, "--budget", "800", "--seed",
            "2", "--eval-episodes", "2", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "ref")]) == 0
    capsys.readouterr()
    (ref,) = (tmp_path / "ref").iterdir()
    at = random.Random(int(sig)).randint(25, 150)  # a kill point that differs per signal
    proc = subprocess.Popen([sys.executable, "-m", "scmgym.cli", *argv, "--out",
                             str(tmp_path / "run")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        rows = [len(p.read_text().splitlines()) for p in (tmp_path / "run").glob("*/history.csv")]
        if rows and rows[0] > at:
            break
        time.sleep(0.02)
    os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig != signal.SIGKILL else -signal.SIGKILL), err
    (run,) = (tmp_path / "run").iterdir()
    assert not (run / "result.json").exists()
    if sig != signal.SIGKILL:
        assert f"scmgym train --resume {run}" in out and "Traceback" not in err
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert (run / "history.csv").read_text() == (ref / "history.csv").read_text()
    assert (run / "policy.json").read_text() == (ref / "policy.json").read_text()
