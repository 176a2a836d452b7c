"""The report of a suite, rebuilt from its folder: ``records.jsonl``, ``suite.json`` and the run
directories, without running anything.

:func:`write_report` writes into ``DIR/report/``:

* ``results.csv``: one row per (problem, method): statistics, tests, marks. It holds nothing
  that varies between identical runs (no times), so two suites that ran the same runs on other
  backends or process counts give the same bytes;
* ``timing.csv``: wall and CPU seconds per (problem, method), per method and for the suite;
* ``ranks.csv``: the average ranks of each rank group, Friedman's test, Nemenyi's CD;
* ``report.md`` and ``report.html`` (the same document, its figures inline in the HTML);
* ``figures/``: per problem a convergence plot and a box plot, the best Gantt chart of each
  schedule plant problem, and a critical-difference diagram per rank group with a Friedman
  result.

A figure that cannot be drawn (a missing run directory, an empty history) is left out and the
report says so. The statistics are :mod:`scmgym.experiments.stats`'s.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scmgym.errors import DataError
from scmgym.experiments import figures, stats
from scmgym.experiments.records import RECORDS_FILE, read_records

log = logging.getLogger(__name__)

#: The suite description's file name.
SUITE_FILE = "suite.json"
#: The report's folder inside the suite's folder.
REPORT_DIR = "report"

RESULT_COLUMNS = ("problem", "label", "plant", "direction", "method", "runs", "no_solution",
                  "mean", "sd", "median", "best", "worst", "simulations", "bound",
                  "bound_source", "gap", "best_known", "best_known_source", "pct_best_known",
                  "test", "p", "p_holm", "mark")
TIMING_COLUMNS = ("problem", "method", "runs", "wall_mean", "wall_total", "cpu_mean",
                  "cpu_total")
RANK_COLUMNS = ("group", "method", "average_rank", "problems", "methods",
                "friedman_statistic", "friedman_p", "cd", "alpha", "note")

GENERALISATION_COLUMNS = ("problem", "method", "test", "runs", "instances", "metric", "mean",
                          "sd", "worst", "gap_to_bound_pct", "baseline")

Block = tuple  # ("h", level, text) | ("p", text) | ("list", [text]) | ("code", text)
#              | ("table", header, rows) | ("img", alt, relative path)


# -- inputs ----------------------------------------------------------------------------------


def _need(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"no {path.name}: not a suite folder (written by scmgym reproduce)",
                        source=str(path))
    return path


def read_suite_description(out_dir: str | Path) -> dict[str, Any]:
    """The suite description (``suite.json``) of a suite folder.

    Raises:
        DataError: there is no ``suite.json`` (the message names its path) or it is not JSON.
    """
    path = _need(Path(out_dir) / SUITE_FILE)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON ({exc})", source=str(path)) from None


def read_suite(out_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The records and the suite description of a suite folder.

    Raises:
        DataError: the folder has no ``records.jsonl`` or no ``suite.json`` (the message names
            the missing path), or ``suite.json`` is not JSON.
    """
    _need(Path(out_dir) / RECORDS_FILE)
    suite = read_suite_description(out_dir)
    return read_records(out_dir), suite


# -- formatting ------------------------------------------------------------------------------


def csv_number(value: Any) -> str:
    """A number as the CSV files write it: 10 significant digits, nan as empty.

    >>> csv_number(1 / 3), csv_number(float("nan")), csv_number(7)
    ('0.3333333333', '', '7')
    """
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else format(value, ".10g")
    return str(value)


def _fmt(value: float, digits: int = 1) -> str:
    """A number for the tables of the report (n/a for nan)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _fmt_seconds(value: float) -> str:
    """Seconds with a precision that suits their size."""
    if math.isnan(value):
        return "n/a"
    return f"{value:.0f}" if value >= 100 else f"{value:.{1 if value >= 1 else 2}f}"


def _fmt_p(p: float) -> str:
    return "" if math.isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _seeds_text(seeds: Sequence[int]) -> str:
    """``0-9`` for a contiguous range, else the list."""
    if not seeds:
        return "none"
    if list(seeds) == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def slug(text: str) -> str:
    """A file-name-safe form of a problem id or group name.

    >>> slug("hfs:d1")
    'hfs_d1'
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


# -- rendering -------------------------------------------------------------------------------


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown (GitHub flavour), one blank line between blocks."""
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            out.append("#" * block[1] + " " + block[2])
        elif kind == "p":
            out.append(block[1])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "code":
            out.append("```\n" + block[1].rstrip("\n") + "\n```")
        elif kind == "table":
            lines = ["| " + " | ".join(map(_md_cell, block[1])) + " |",
                     "|" + "---|" * len(block[1])]
            lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in block[2]]
            out.append("\n".join(lines))
        elif kind == "img":
            out.append(f"![{block[1]}]({block[2]})")
    return "\n\n".join(out) + "\n"


def _inline_html(text: str) -> str:
    """Escape text; `code` spans become <code>."""
    parts = str(text).split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p)
                   for i, p in enumerate(parts))


def _img_html(alt: str, path: Path) -> str:
    if not path.is_file():
        return f"<p>(figure {html.escape(alt)} missing)</p>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>'


_STYLE = ("body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;"
          "padding:.2em .5em;text-align:right}th:first-child,td:first-child{text-align:left}"
          "pre{background:#f4f4f4;padding:.6em;overflow-x:auto}img{max-width:100%}")


def render_html(blocks: Sequence[Block], base: Path, title: str) -> str:
    """The blocks as one HTML page; images are read from ``base`` and inlined as base64."""
    out = [f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
           f"</title><style>{_STYLE}</style></head><body>"]
    for block in blocks:
        kind = block[0]
        if kind == "h":
            out.append(f"<h{block[1]}>{_inline_html(block[2])}</h{block[1]}>")
        elif kind == "p":
            out.append(f"<p>{_inline_html(block[1])}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block[1])
                       + "</ul>")
        elif kind == "code":
            out.append(f"<pre><code>{html.escape(block[1].rstrip())}</code></pre>")
        elif kind == "table":
            head = "".join(f"<th>{_inline_html(c)}</th>" for c in block[1])
            body = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row)
                           + "</tr>" for row in block[2])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "img":
            out.append(_img_html(block[1], base / block[2]))
    return "\n".join(out) + "\n</body></html>\n"


# -- CSV tables ------------------------------------------------------------------------------


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[csv_number(r.get(c)) for c in columns] for r in rows])
    return path


def results_rows(st: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``results.csv``: every summary row with its problem's facts."""
    rows = []
    for p in st["problems"]:
        facts = {"label": p.get("label", p["id"]), "plant": p.get("plant", ""),
                 "direction": p.get("direction", "")}
        rows += [{**r, **facts} for r in st["summaries"][p["id"]]]
    return rows


def timing_rows(records: Sequence[dict[str, Any]], problems: Sequence[dict[str, Any]],
                methods: Sequence[str]) -> list[dict[str, Any]]:
    """Wall and CPU seconds per (problem, method), per method (problem ``all``) and for the
    whole suite (problem and method ``all``)."""

    def row(problem: str, method: str, rs: list[dict[str, Any]]) -> dict[str, Any]:
        wall = [float(r.get("wall_seconds") or 0.0) for r in rs]
        cpu = [float(r.get("cpu_seconds") or 0.0) for r in rs]
        return {"problem": problem, "method": method, "runs": len(rs),
                "wall_mean": float(np.mean(wall)), "wall_total": float(np.sum(wall)),
                "cpu_mean": float(np.mean(cpu)), "cpu_total": float(np.sum(cpu))}

    records = stats.sort_records(records)
    out = []
    for p in problems:
        mine = [r for r in records if r["problem"] == p["id"]]
        out += [row(p["id"], m, [r for r in mine if r["method"] == m])
                for m in stats.method_order(mine, methods)]
    out += [row("all", m, [r for r in records if r["method"] == m])
            for m in stats.method_order(records, methods)]
    return out + ([row("all", "all", records)] if records else [])


def rank_rows(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of ``ranks.csv``: one per (group, method), or one noting an empty group."""
    rows = []
    for g in groups:
        fr = g["friedman"] or {}
        common = {"group": g["group"], "problems": len(g["problems"]),
                  "methods": len(g["methods"]), "friedman_statistic": fr.get("statistic"),
                  "friedman_p": fr.get("p"), "cd": fr.get("cd"), "alpha": fr.get("alpha"),
                  "note": g["reason"]}
        rows += [{**common, "method": m, "average_rank": g["average"][m]} for m in g["methods"]]
        if not g["methods"]:
            rows.append({**common, "method": "", "average_rank": None})
    return rows


# -- figures ---------------------------------------------------------------------------------


def _run_path(out_dir: Path, record: dict[str, Any]) -> Path:
    return out_dir / str(record.get("run_dir") or "")


def _histories(out_dir: Path, records: Sequence[dict[str, Any]],
               methods: Sequence[str]) -> tuple[dict[str, list], int]:
    """The history rows of every run per method, and how many runs had none."""
    from scmgym.core import read_history

    found: dict[str, list] = {}
    missing = 0
    for m in methods:
        found[m] = []
        for r in records:
            if r["method"] != m:
                continue
            path = _run_path(out_dir, r) / "history.csv"
            try:
                rows = read_history(path) if r.get("run_dir") else []
            except (OSError, ValueError, IndexError):
                rows = []
            found[m].append(rows)
            missing += not rows
    return found, missing


def best_record(records: Sequence[dict[str, Any]], direction: str,
                methods: Sequence[str] | None = None) -> dict[str, Any] | None:
    """The run with the best value (then the lowest seed, then the first method in the
    suite's order); None when no run has a value."""
    order = {m: i for i, m in enumerate(stats.method_order(records, methods))}
    sign = 1.0 if direction == "min" else -1.0
    found = [r for r in records if r.get("value") is not None]
    return min(found, key=lambda r: (sign * float(r["value"]), int(r["seed"]),
                                     order[r["method"]]), default=None)


def _gantt(out_dir: Path, fig_dir: Path, info: dict[str, Any],
           records: Sequence[dict[str, Any]], methods: Sequence[str]) -> tuple[Path | None, str]:
    """The best run's schedule of a schedule plant problem, or None and why not."""
    from scmgym.core import Problem, RunResult

    try:
        problem = Problem.from_dict(info["problem"])
    except (KeyError, TypeError, ValueError) as exc:
        return None, f"the suite's problem description cannot be rebuilt ({exc})"
    plot = problem.spec.schedule_plot
    if plot is None or problem.stochastic:
        return None, ""
    if not problem.single:
        return None, ("no Gantt chart: the problem is a distribution of instances (each "
                      "episode had its own)")
    best = best_record(records, info.get("direction", "min"), methods)
    if best is None:
        return None, "no run found a solution"
    try:
        result = RunResult.load(_run_path(out_dir, best))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return None, f"the best run's directory cannot be read ({type(exc).__name__})"
    if result.best_solution is None:
        return None, "the best run saved no solution"
    path = fig_dir / f"gantt_{slug(info['id'])}.png"
    plot(problem, result.best_solution, path, f"{info.get('label', info['id'])}: best "
         f"schedule ({best['method']}, seed {best['seed']})")
    return path, ""


def problem_figures(out_dir: Path, fig_dir: Path, info: dict[str, Any],
                    records: Sequence[dict[str, Any]],
                    methods: Sequence[str]) -> tuple[dict[str, Path], list[str]]:
    """The figures of one problem and the notes on those left out.

    Returns:
        ``({name: path}, notes)`` with names ``convergence``, ``boxplot`` and ``gantt``.
    """
    label, name = info.get("label", info["id"]), slug(info["id"])
    objective = info.get("objective", "objective")
    order = stats.method_order(records, methods)
    files: dict[str, Path] = {}
    notes: list[str] = []
    histories, missing = _histories(out_dir, records, order)
    path = figures.convergence_plot(fig_dir / f"convergence_{name}.png", label, objective,
                                    histories)
    if path is not None:
        files["convergence"] = path
    if missing:
        notes.append(f"{missing} run(s) have no readable history (missing run directory or "
                     "empty history.csv): " + ("left out of the convergence plot"
                                               if path else "no convergence plot"))
    values = {m: stats.values_of([r for r in records if r["method"] == m]) for m in order}
    ylabel = objective + (" (re-evaluated mean)" if info.get("stochastic") else "")
    path = figures.box_plot(fig_dir / f"boxplot_{name}.png", label, ylabel, values)
    if path is not None:
        files["boxplot"] = path
    gantt, why = _gantt(out_dir, fig_dir, info, records, methods)
    if gantt is not None:
        files["gantt"] = gantt
    elif why:
        notes.append(f"no Gantt chart: {why}")
    return files, notes


# -- trees -----------------------------------------------------------------------------------


def simplified_section(text: str) -> str | None:
    """The body of the ``# Simplified`` section of a ``tree.txt`` (up to the next ``#``
    heading), or None when it has none."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("# Simplified")), None)
    if start is None:
        return None
    body = []
    for line in lines[start + 1:]:
        if line.startswith("# "):
            break
        body.append(line)
    return "\n".join(body).strip("\n") or None


def best_trees(out_dir: Path, info: dict[str, Any], records: Sequence[dict[str, Any]],
               methods: Sequence[str]) -> list[dict[str, Any]]:
    """The best tree of each tree method on a problem: the ``# Simplified`` section of the
    ``tree.txt`` of its best run (best value, then lowest seed).

    A method is a tree method when one of its runs has a ``tree.txt``. Returns
    ``[{"method", "seed", "value", "tree" (text or None), "note"}]`` in the suite's order.
    """
    out = []
    for m in stats.method_order(records, methods):
        mine = [r for r in records if r["method"] == m]
        if not any(r.get("run_dir") and (_run_path(out_dir, r) / "tree.txt").is_file()
                   for r in mine):
            continue
        best = best_record(mine, info.get("direction", "min"))
        path = _run_path(out_dir, best) / "tree.txt" if best is not None else None
        tree = simplified_section(path.read_text()) if path and path.is_file() else None
        note = "" if tree else ("no run found a solution" if best is None else
                                "the best run has no tree.txt with a simplified tree")
        out.append({"method": m, "seed": None if best is None else best["seed"],
                    "value": None if best is None else float(best["value"]), "tree": tree,
                    "note": note})
    return out


#: Columns of ``tree_sizes.csv``: the simplified trees' size per problem and tree method.
TREE_SIZE_COLUMNS = ("problem", "method", "trees", "depth_mean", "depth_max", "leaves_mean",
                     "leaves_max")


def tree_size_rows(out_dir: Path, records: Sequence[dict[str, Any]],
                   problems: Sequence[dict[str, Any]], methods: Sequence[str]
                   ) -> list[dict[str, Any]]:
    """Depth and leaves of every run's tree after simplification (``policy.json`` of the run
    directories; the plans, models and runs without a directory are left out)."""
    from scmgym.policies import TreePolicy, policy_from_dict

    rows = []
    for p in problems:
        mine = [r for r in records if r["problem"] == p["id"]]
        for m in stats.method_order(mine, methods):
            sizes = []
            for r in mine:
                path = _run_path(out_dir, r) / "policy.json" if r["method"] == m and \
                    r.get("run_dir") else None
                if path is None or not path.is_file():
                    continue
                data = json.loads(path.read_text())
                if data.get("kind") not in ("eldt", "gp", "tree"):
                    continue
                tree = policy_from_dict(data)
                if isinstance(tree, TreePolicy):
                    simple = tree.simplify()
                    sizes.append((simple.depth, simple.n_leaves))
            if sizes:
                depth, leaves = zip(*sizes, strict=True)
                rows.append({"problem": p["id"], "method": m, "trees": len(sizes),
                             "depth_mean": round(float(np.mean(depth)), 2),
                             "depth_max": max(depth),
                             "leaves_mean": round(float(np.mean(leaves)), 2),
                             "leaves_max": max(leaves)})
    return rows


def _tree_size_blocks(rows: list[dict[str, Any]]) -> list[Block]:
    if not rows:
        return []
    table = [[r["problem"], r["method"], str(r["trees"]),
              f"{r['depth_mean']:g} (max {r['depth_max']})",
              f"{r['leaves_mean']:g} (max {r['leaves_max']})"] for r in rows]
    return [("h", 2, "Tree sizes (simplified)"),
            ("p", "Depth and leaves of each run's returned tree after simplification (the "
                  "same decisions on the whole observation domain), mean and largest over the "
                  "runs; `tree_sizes.csv` holds the same table."),
            ("table", ["problem", "method", "trees", "depth", "leaves"], table)]


# -- the document ----------------------------------------------------------------------------


def _header_blocks(suite: dict[str, Any], records: Sequence[dict[str, Any]],
                   missing_dirs: int) -> list[Block]:
    """The title and the paragraph on how the results were produced."""
    seeds = sorted({int(r["seed"]) for r in records})
    budgets = sorted({int(r["budget"]) for r in records if r.get("budget") is not None})
    budget = suite.get("budget", budgets[0] if budgets else "?")
    blocks: list[Block] = [
        ("h", 1, f"Suite {suite.get('name', '?')} (version {suite.get('version', '?')})"),
        ("p", f"Budget {budget} simulations per run; {suite.get('runs', len(seeds))} run(s) "
              f"per method and problem, seeds {_seeds_text(seeds)}; {len(records)} run(s) "
              "recorded."),
        ("h", 2, "How this report was produced"),
        ("p", "Every method ran on every problem with each seed and the same budget of real "
              "simulations; a deterministic method ran once (its value holds for every seed). "
              "A run's value is its best objective found (deterministic plant) or the mean "
              "over fresh seeds of the policy it returned (stochastic plant). Each method is "
              "compared with the best method of the problem (best mean): two samples by the "
              "two-sided Mann-Whitney U test, a deterministic method against a sample by the "
              "one-sample Wilcoxon signed-rank test of the sample minus the exact value, two "
              "deterministic methods exactly (p = 0 when they differ, 1 when equal); the p "
              "values of a problem are Holm-corrected, and `*` marks a method significantly "
              "worse than the best (adjusted p < 0.05). Across problems, methods are ranked "
              "by mean per problem (1 = best, ties averaged) and compared with Friedman's "
              "test and Nemenyi's critical difference (Demšar 2006). This report is rebuilt "
              "from `records.jsonl` and the run directories by `scmgym report DIR`; "
              "`results.csv` holds the statistics, `timing.csv` the times, `ranks.csv` "
              "the ranks."),
    ]
    if suite.get("reeval_seeds"):
        blocks.append(("p", f"On a stochastic plant every run's returned policy was "
                            f"re-evaluated over {suite['reeval_seeds']} fresh seeds"
                            + (f"; simulator engine {suite['engine']}."
                               if suite.get("engine") else ".")))
    if suite.get("description"):
        blocks.insert(2, ("p", str(suite["description"])))
    if missing_dirs:
        blocks.append(("p", f"{missing_dirs} run directory(ies) are missing: the figures and "
                            "trees that need them are left out."))
    return blocks


def _problem_table(info: dict[str, Any], rows: Sequence[dict[str, Any]]) -> list[Block]:
    """The statement of the bound or best-known value and the table of one problem."""
    minimise = info.get("direction", "min") == "min"
    first = rows[0] if rows else {}
    if minimise:
        bound = first.get("bound", float("nan"))
        ref = ("gap %", "gap", f"gap: (mean - best bound) / mean in %; best bound "
               f"{_fmt(bound, 0)} ({first.get('bound_source', 'none')}).")
    else:
        known = first.get("best_known", float("nan"))
        ref = ("% of best-known", "pct_best_known", f"% of best-known: 100 x mean / best-known;"
               f" best-known {_fmt(known)} ({first.get('best_known_source', 'none')}).")
    header = ["method", "runs", "mean ± sd", "median", "best", "worst", "simulations", ref[0],
              "p (Holm)", "mark", "wall s"]
    table = [[r["method"], r["runs"], f"{_fmt(r['mean'])} ± {_fmt(r['sd'])}",
              _fmt(r["median"]), _fmt(r["best"]), _fmt(r["worst"]), _fmt(r["simulations"], 0),
              _fmt(r.get(ref[1], float("nan")), 2), _fmt_p(r["p_holm"]), r["mark"],
              _fmt_seconds(r["wall_seconds"])] for r in rows]
    return [("p", ref[2]), ("table", header, table)]


def _problem_blocks(info: dict[str, Any], rows: Sequence[dict[str, Any]],
                    files: dict[str, Path], notes: Sequence[str],
                    report_dir: Path) -> list[Block]:
    """The section of one problem: table, notes, figures."""
    better = "lower" if info.get("direction", "min") == "min" else "higher"
    blocks: list[Block] = [("h", 3, f"{info.get('label', info['id'])}: "
                                    f"{info.get('objective', 'objective')} ({better} is better)")]
    blocks += _problem_table(info, rows)
    notes = [f"{r['method']}: no solution in {r['no_solution']} of {r['runs']} run(s), left "
             "out of its statistics" for r in rows if r["no_solution"]] + list(notes)
    if notes:
        blocks.append(("list", notes))
    for name in ("convergence", "boxplot", "gantt"):
        if name in files:
            blocks.append(("img", f"{name} {info['id']}",
                           files[name].relative_to(report_dir).as_posix()))
    return blocks


def _rank_blocks(group: dict[str, Any], cd_file: Path | None,
                 report_dir: Path) -> list[Block]:
    """The section of one rank group: average ranks, Friedman, CD and its diagram."""
    blocks: list[Block] = [("h", 3, f"Group {group['group']} "
                                    f"({len(group['problems'])} problem(s))")]
    if group["methods"]:
        header = ["method", "average rank"] + list(group["problems"])
        blocks.append(("table", header, [[m, _fmt(group["average"][m], 2)]
                                         + [_fmt(x, 1) for x in group["ranks"][m]]
                                         for m in group["methods"]]))
    left_out = group.get("left_out") or {}
    if left_out:
        blocks.append(("p", "Left out of the ranks, which need a mean on every problem of the "
                            "group: " + "; ".join(f"{m} (no mean on {', '.join(pids)})"
                                        for m, pids in left_out.items()) + "."))
    fr = group["friedman"]
    if fr is None:
        blocks.append(("p", f"No Friedman test: {group['reason']}."))
        return blocks
    blocks.append(("p", f"Friedman chi-square = {fr['statistic']:.3f}, p = {_fmt_p(fr['p'])} "
                        f"({len(group['methods'])} methods, {len(group['problems'])} "
                        f"problems); Nemenyi critical difference at alpha {fr['alpha']:g}: "
                        f"CD = {fr['cd']:.3f} (methods whose average ranks differ by more "
                        "differ significantly; a bar joins methods closer than CD)."))
    if cd_file is not None:
        blocks.append(("img", f"critical difference {group['group']}",
                       cd_file.relative_to(report_dir).as_posix()))
    return blocks


def _time_blocks(timing: Sequence[dict[str, Any]]) -> list[Block]:
    """Per method total wall and CPU seconds and their share of the suite's."""
    totals = [t for t in timing if t["problem"] == "all"]
    suite = next((t for t in totals if t["method"] == "all"), None)
    if suite is None:
        return []

    def share(x: float, total: float) -> str:
        return _fmt(100.0 * x / total, 1) if total > 0 else "n/a"

    rows = [[t["method"], t["runs"], _fmt_seconds(t["wall_total"]),
             _fmt_seconds(t["cpu_total"]),
             share(t["wall_total"], suite["wall_total"]), share(t["cpu_total"],
                                                              suite["cpu_total"])]
            for t in totals]
    return [("h", 2, "Time"),
            ("p", "Seconds summed over every run of a method (runs in parallel processes "
                  "overlap, so the suite's elapsed time is shorter); shares of the suite's "
                  "totals. Per (problem, method): `timing.csv`."),
            ("table", ["method", "runs", "wall s", "CPU s", "wall %", "CPU %"], rows)]


def _tree_blocks(st: dict[str, Any], trees: dict[str, list[dict[str, Any]]]) -> list[Block]:
    """The best tree of each tree method and problem."""
    blocks: list[Block] = []
    for p in st["problems"]:
        for t in trees.get(p["id"], []):
            head = f"{p.get('label', p['id'])}: {t['method']}"
            if t["seed"] is not None:
                head += f" (seed {t['seed']}, value {_fmt(t['value'])})"
            blocks.append(("h", 3, head))
            blocks.append(("code", t["tree"]) if t["tree"] else ("p", t["note"] + "."))
    return [("h", 2, "Best trees (simplified)")] + blocks if blocks else []


def _tested(out_dir: Path, record: dict[str, Any]) -> dict[str, Any]:
    """A record's test aggregates, recomputed from its run's ``generalisation.json`` when the
    run directory is there (every figure of the current version), else the record's own."""
    from scmgym.experiments.generalisation import GENERALISATION_FILE, aggregate

    saved = record["generalisation"]
    path = _run_path(out_dir, record) / GENERALISATION_FILE
    if not (record.get("run_dir") and path.is_file()):
        return saved
    try:
        data = json.loads(path.read_text())
        plant = data["plant"]
        parts = data["targets"]
        return {**saved, "targets": {t: aggregate(part["rows"], plant)
                                     for t, part in parts.items()},
                "overall": aggregate([r for part in parts.values() for r in part["rows"]],
                                     plant)}
    except (OSError, ValueError, KeyError):
        return saved


def generalisation_rows(out_dir: Path, records: Sequence[dict[str, Any]],
                        problems: Sequence[dict[str, Any]],
                        methods: Sequence[str]) -> list[dict[str, Any]]:
    """Per training problem, policy method and test target: the runs' aggregate on the test
    instances (mean and sd over the runs; make-or-buy: % of the per-instance reference, HFS:
    gap to it in %)."""
    rows = []
    for p in problems:
        for m in methods:
            tested = [_tested(out_dir, r) for r in records if r["problem"] == p["id"]
                      and r["method"] == m and r.get("generalisation")]
            if not tested:
                continue
            key = "pct_of_reference" if p["plant"] == "make-or-buy" else "gap_to_reference_pct"
            from scmgym.core.instances import split_top_level

            order = split_top_level(tested[0].get("test") or "")
            targets = sorted(tested[0]["targets"],
                             key=lambda t: order.index(t) if t in order else len(order))
            for target in [*targets, "all"]:
                aggs = [t["overall"] if target == "all" else t["targets"].get(target)
                        for t in tested]
                vals = np.array([a[key] for a in aggs if a and a.get(key) is not None])
                worst = [a.get("worst_" + key) for a in aggs if a]
                bound = [a["gap_to_bound_pct"] for a in aggs if a and "gap_to_bound_pct" in a]
                base = [a["baseline_" + key] for a in aggs if a and "baseline_" + key in a]
                rows.append({
                    "problem": p["id"], "method": m, "test": target, "runs": len(vals),
                    "instances": aggs[0]["instances"] if aggs[0] else 0, "metric": key,
                    "mean": float(vals.mean()) if vals.size else None,
                    "sd": float(vals.std(ddof=1)) if vals.size > 1 else None,
                    "worst": (min if key == "pct_of_reference" else max)(worst) if worst
                    else None,
                    "gap_to_bound_pct": float(np.mean(bound)) if bound else None,
                    "baseline": float(np.mean(base)) if base else None})
    return rows


def _generalisation_blocks(rows: Sequence[dict[str, Any]], figures: dict[str, Path],
                           report_dir: Path) -> list[Block]:
    if not rows:
        return []
    blocks: list[Block] = [
        ("h", 2, "Generalisation: policies on instances they never saw"),
        ("p", "Each policy run's returned policy, applied without retraining to the problem's "
              "test instances (test seed stream; `scmgym evaluate`), beside the best plan "
              "known for each instance alone: make-or-buy in % of the per-instance MILP plan's "
              "mean revenue on the same seeds (higher is better), HFS as the gap of the mean "
              "makespan to a per-instance GA search in % (lower is better). Mean ± sd over "
              "the runs (seeds) of the mean over the instances; worst: the worst instance of "
              "any run; the baseline (all-buy, EDD: no learning) on the same scale. Per row: "
              "`generalisation.csv`.")]
    for metric, head in (("pct_of_reference", "% of reference"),
                         ("gap_to_reference_pct", "gap to reference %")):
        mine = [r for r in rows if r["metric"] == metric]
        if not mine:
            continue
        base = "EDD" if metric == "gap_to_reference_pct" else "all-buy"
        header = ["trained on", "method", "test", "instances", head, "worst", base]
        if metric == "gap_to_reference_pct":
            header.append("gap to bound %")
        table = []
        for r in mine:
            cell = "n/a" if r["mean"] is None else _fmt(r["mean"], 2) + (
                "" if r["sd"] is None else f" ± {_fmt(r['sd'], 2)}") + f" ({r['runs']})"
            line = [r["problem"], r["method"], r["test"], r["instances"], cell,
                    "n/a" if r["worst"] is None else _fmt(r["worst"], 2),
                    "n/a" if r["baseline"] is None else _fmt(r["baseline"], 2)]
            if metric == "gap_to_reference_pct":
                line.append("n/a" if r["gap_to_bound_pct"] is None
                            else _fmt(r["gap_to_bound_pct"], 2))
            table.append(line)
        blocks.append(("table", header, table))
    for name, path in figures.items():
        blocks.append(("img", name.replace("_", " "), path.relative_to(report_dir)))
    return blocks


def _size_figures(records: Sequence[dict[str, Any]], problems: Sequence[dict[str, Any]],
                  fig_dir: Path) -> dict[str, Path]:
    """The size curve per plant: each (training problem, method)'s per-instance results on
    the test instances against the instances' size."""
    from scmgym.experiments.figures import size_curve

    out = {}
    for plant, ylabel in (("make-or-buy", "% of the per-instance MILP plan"),
                          ("hfs", "gap to the per-instance search, %")):
        series: dict[str, dict[int, list[float]]] = {}
        for r in records:
            g = r.get("generalisation")
            if not g or r.get("plant") != plant:
                continue
            s = series.setdefault(f"{r['problem']} {r['method']}", {})
            for size, vals in (g.get("sizes") or {}).items():
                s.setdefault(int(size), []).extend(v for v in vals if v is not None)
        path = size_curve(fig_dir / f"size_curve_{slug(plant)}.png",
                          f"{plant}: policies on unseen instances by size", ylabel, series)
        if path is not None:
            out[f"size_curve_{slug(plant)}"] = path
    return out


# -- the whole report ------------------------------------------------------------------------


def _cd_figure(fig_dir: Path, group: dict[str, Any]) -> Path | None:
    """The critical-difference diagram of a rank group with a Friedman result."""
    if group["friedman"] is None:
        return None
    return figures.cd_diagram(fig_dir / f"cd_{slug(group['group'])}.png",
                              f"{group['group']}: average ranks (CD at alpha "
                              f"{group['friedman']['alpha']:g})", group["average"],
                              group["friedman"]["cd"])


def _clear_figures(fig_dir: Path) -> None:
    """Remove the figures of an earlier report (a rebuild may draw fewer)."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    for old in sorted(fig_dir.glob("*.png")):
        old.unlink()


def write_report(out_dir: str | Path, *, records: Sequence[dict[str, Any]] | None = None,
                 suite: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write a suite's report into ``out_dir/report/`` (see the module's docstring).

    Args:
        out_dir: the suite's folder (run directories are relative to it).
        records: the suite's records (read from ``out_dir/records.jsonl`` when None).
        suite: the suite description (read from ``out_dir/suite.json`` when None).

    Returns:
        ``{name: path}`` of every file written: ``results_csv``, ``timing_csv``,
        ``ranks_csv``, ``report_md``, ``report_html`` and one entry per figure
        (``convergence_<problem>``, ``boxplot_<problem>``, ``gantt_<problem>``,
        ``cd_<group>``).

    Raises:
        DataError: a file that was to be read is missing (see :func:`read_suite`).
    """
    out_dir = Path(out_dir)
    if records is None:
        records = read_records(_need(out_dir / RECORDS_FILE))
    if suite is None:
        suite = read_suite_description(out_dir)
    records = stats.sort_records(records)
    report_dir, methods = out_dir / REPORT_DIR, list(suite.get("methods") or [])
    fig_dir = report_dir / "figures"
    _clear_figures(fig_dir)
    st = stats.suite_statistics(records, suite)
    files: dict[str, Path] = {
        "results_csv": _write_csv(report_dir / "results.csv", RESULT_COLUMNS,
                                  results_rows(st)),
        "ranks_csv": _write_csv(report_dir / "ranks.csv", RANK_COLUMNS,
                                rank_rows(st["groups"])),
    }
    timing = timing_rows(records, st["problems"], methods)
    files["timing_csv"] = _write_csv(report_dir / "timing.csv", TIMING_COLUMNS, timing)
    missing_dirs = sum(1 for r in records if not (r.get("run_dir")
                                                  and _run_path(out_dir, r).is_dir()))
    blocks = _header_blocks(suite, records, missing_dirs) + [("h", 2, "Problems")]
    trees = {}
    for p in st["problems"]:
        mine = [r for r in records if r["problem"] == p["id"]]
        figs, notes = problem_figures(out_dir, fig_dir, p, mine, methods)
        files.update({f"{name}_{slug(p['id'])}": path for name, path in figs.items()})
        blocks += _problem_blocks(p, st["summaries"][p["id"]], figs, notes, report_dir)
        trees[p["id"]] = best_trees(out_dir, p, mine, methods)
    blocks.append(("h", 2, "Ranks across problems"))
    for g in st["groups"]:
        cd_file = _cd_figure(fig_dir, g)
        if cd_file is not None:
            files[f"cd_{slug(g['group'])}"] = cd_file
        blocks += _rank_blocks(g, cd_file, report_dir)
    gen_rows = generalisation_rows(out_dir, records, st["problems"], methods)
    if gen_rows:
        files["generalisation_csv"] = _write_csv(report_dir / "generalisation.csv",
                                                 GENERALISATION_COLUMNS, gen_rows)
        size_figs = _size_figures(records, st["problems"], fig_dir)
        files.update(size_figs)
        blocks += _generalisation_blocks(gen_rows, size_figs, report_dir)
    sizes = tree_size_rows(out_dir, records, st["problems"], methods)
    if sizes:
        files["tree_sizes_csv"] = _write_csv(report_dir / "tree_sizes.csv", TREE_SIZE_COLUMNS,
                                             sizes)
    blocks += _time_blocks(timing) + _tree_size_blocks(sizes) + _tree_blocks(st, trees)
    files["report_md"] = report_dir / "report.md"
    files["report_md"].write_text(render_markdown(blocks))
    files["report_html"] = report_dir / "report.html"
    files["report_html"].write_text(render_html(blocks, report_dir, blocks[0][2]))
    log.info("report of %d record(s) written to %s", len(records), report_dir)
    return files
