"""The learned decomposition: metrics, the resumable dataset, the classifiers, the repair loop
and the CLI, on small CAR-T instances."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scmgym.cli import main
from scmgym.errors import DataError
from scmgym.planning.decomposition import (
    CartProblem,
    check_disjoint,
    decompose,
    generate_dataset,
    label_metrics,
    load_classifier,
    make_classifier,
    save_classifier,
)
from scmgym.planning.decomposition.dataset import arrays, read_rows

#: small instances (10 to 600 patients a year) keep every solve well under a second
SMALL = CartProblem(patients=(10, 600))


def test_label_metrics_by_hand():
    pred = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0]])
    true = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 0]])
    m = label_metrics(pred, true)
    assert m["label_accuracy"] == pytest.approx(8 / 9)
    assert m["hamming_loss"] == pytest.approx(1 / 9)
    assert m["sample_accuracy"] == pytest.approx(2 / 3)
    assert m["jaccard"] == pytest.approx((1 / 2 + 1 + 1) / 3)  # both empty counts as 1


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    return out, generate_dataset(SMALL, out, {"train": 16, "validation": 3, "test": 4}, seed=7)


def test_dataset_rows_are_solved_labelled_and_disjoint(dataset):
    _, data = dataset
    assert [len(data[s]) for s in ("train", "validation", "test")] == [16, 3, 4]
    hashes = {r["hash"] for rows in data.values() for r in rows}
    assert len(hashes) == 23  # no instance twice, within or across splits
    for r in data["train"]:
        assert len(r["sequence"]) == 90 and sum(r["sequence"]) > 0
        assert len(r["labels"]) == 7 and sum(r["labels"][:6]) <= 2
        assert (r["objective"] is None) == (r["labels"][6] == 1)
    with pytest.raises(DataError, match="the same instance is in two splits"):
        check_disjoint({"train": data["train"][:1], "test": data["train"][:1]})


def test_dataset_resumes_after_a_kill_without_losing_or_doubling(dataset, tmp_path):
    src, data = dataset
    lines = (src / "train.jsonl").read_text().splitlines(keepends=True)
    out = tmp_path / "again"
    out.mkdir()
    (out / "dataset.json").write_text((src / "dataset.json").read_text())
    # ten finished lines, and an eleventh cut half-way by the kill
    (out / "train.jsonl").write_text("".join(lines[:10]) + lines[10][:40])
    again = generate_dataset(SMALL, out, {"train": 16}, seed=7)
    rows = read_rows(out / "train.jsonl")
    assert sorted(r["index"] for r in rows) == list(range(16))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in again["train"]]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in data["train"]]


def test_a_folder_of_another_seed_is_refused(dataset):
    src, _ = dataset
    with pytest.raises(DataError, match="another problem or seed"):
        generate_dataset(SMALL, src, {"train": 2}, seed=8)


@pytest.mark.parametrize("name", ["majority", "knn", "tree", "cnn"])
def test_classifiers_fit_predict_save_and_load(dataset, tmp_path, name):
    _, data = dataset
    x, y = arrays(data["train"])
    clf = make_classifier(name, SMALL, seed=1, epochs=3)
    clf.fit(x, y, validation=arrays(data["validation"]))
    probs = clf.predict_proba(arrays(data["test"])[0])
    assert probs.shape == (4, 7) and ((probs >= 0) & (probs <= 1)).all()
    save_classifier(clf, SMALL, tmp_path / name)
    back, problem = load_classifier(tmp_path / name)
    np.testing.assert_allclose(back.predict_proba(arrays(data["test"])[0]), probs, atol=1e-6)
    if name == "majority":
        vectors, counts = np.unique(y, axis=0, return_counts=True)
        assert probs[0].tolist() == vectors[counts.argmax()].tolist()
    if name == "tree":
        rules = (tmp_path / name / "tree.txt").read_text()
        assert rules.startswith("if ") and "open " in rules or "infeasible" in rules


def test_repair_always_returns_a_plan_and_true_labels_are_exact(dataset):
    _, data = dataset
    feasible = [r for r in data["test"] + data["train"] if r["objective"] is not None][:4]
    for row in feasible:
        inst = SMALL.instance(row["params"])
        exact = decompose(SMALL, inst, np.array(row["labels"], float))
        assert exact.step == "predicted" and exact.objective == pytest.approx(row["objective"])
        # a prediction of "infeasible" falls through to the full model
        wrong = decompose(SMALL, inst, np.array([0] * 6 + [1], float))
        assert wrong.step == "full" and wrong.objective == pytest.approx(row["objective"])
    # a site too small for a big quarter: the repair steps still end with a plan
    big = CartProblem(patients=(2000, 2000), profiles=("uniform",))
    inst = big.instance(big.draw(3))
    full = big.solve(inst)
    assert full.feasible
    d = decompose(big, inst, np.array([0.9, 0, 0, 0.2, 0, 0, 0]))  # m1 alone: 4 lines
    assert d.tried[0] == "predicted" and d.step != "predicted"
    assert d.objective is not None and d.objective >= full.objective - 1e-6


def test_cli_learns_reports_and_solves_with_the_model(tmp_path, capsys):
    out = tmp_path / "dec"
    code = main(["plan", "learn-decomposition", "--model", "cart", "--instances", "4",
                 "--classifier", "tree,majority,knn", "--out", str(out), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["instances"] == {"train": 2, "validation": 1, "test": 1}
    for name in ("tree", "majority", "knn"):
        metrics = data["results"][name]
        for key in ("sample_accuracy", "label_accuracy", "jaccard", "hamming_loss",
                    "optimal_share", "mean_regret", "infeasible_before_repair",
                    "plans_returned", "constraint_reduction", "binary_reduction",
                    "time_ratio"):
            assert key in metrics
        assert (out / name / "classifier.json").is_file()
        assert len((out / name / "test.jsonl").read_text().splitlines()) == 1
    code = main(["plan", "solve", "cart", "--patients", "300", "--decomposition", "learned",
                 "--model", str(out / "tree"), "--json"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["full"]["status"] == "optimal"
    assert res["learned"]["objective"] >= res["full"]["cost"] - 1e-6
    assert main(["plan", "learn-decomposition", "--classifier", "svm"]) != 0
    assert "bad --classifier" in capsys.readouterr().err


# ---- the same mechanism on make-or-buy (one binary per order) -------------------------------

def test_make_or_buy_orders_fixed_from_a_classifier(tmp_path):
    from scmgym.planning.decomposition.orders import (
        MakeOrBuyProblem,
        OrderMajority,
        evaluate_orders,
        learn_orders,
    )

    problem = MakeOrBuyProblem(orders=(8, 14))
    data = generate_dataset(problem, tmp_path / "data", {"train": 6, "test": 2}, seed=1)
    row = data["train"][0]
    assert len(row["features"]) == len(row["labels"]) == row["params"]["n_orders"]
    assert len(row["features"][0]) == 6

    class Truth:  # fixes every order to the MILP's own decision
        def predict_proba(self, x):
            return np.array(row["labels"], float)

    summary, records = evaluate_orders(problem, Truth(), [row], sim_seeds=3)
    assert summary["label_accuracy"] == 1.0 and summary["optimal_share"] == 1.0
    assert summary["binary_reduction"] == 1.0 and records[0]["regret"] == pytest.approx(0)
    assert records[0]["simulated"] == records[0]["full_simulated"]
    # a constant 0.5 fixes nothing: the full MILP, no regret
    half = OrderMajority()
    half.p = 0.5
    summary, _ = evaluate_orders(problem, half, [row], sim_seeds=3)
    assert summary["binary_reduction"] == 0.0 and summary["mean_regret"] == pytest.approx(0)
    result = learn_orders(problem, tmp_path / "out", data, classifiers=("tree", "majority"))
    assert set(result["results"]) == {"tree", "majority"}
    assert (tmp_path / "out" / "tree" / "tree.txt").read_text().startswith("if ")


def test_parallel_solves_give_the_same_dataset(dataset, tmp_path):
    from scmgym.experiments.backends import LocalBackend

    _, data = dataset
    par = generate_dataset(SMALL, tmp_path / "par", {"train": 6}, seed=7,
                           runner=LocalBackend(2))

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert strip(par["train"]) == strip(data["train"][:6])
