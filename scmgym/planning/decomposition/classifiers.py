"""Multi-label classifiers of the complicating binaries: one label per binary plus one for
"infeasible". Each has ``fit(seqs, labels, validation=None)``, ``predict_proba(seqs)`` (n, L) and
``save(dir)`` / :func:`load_classifier`. The input of every one is the daily sequence of the
instance; the tree reads the problem's readable summary of it.

* ``majority``: always the most frequent label vector of the training set;
* ``knn``: the label vector of the training instance nearest in total demand;
* ``tree``: a scikit-learn decision tree (depth <= 4) on the readable summary, whose leaves are
  label vectors; it prints as nested if/else rules through :mod:`scmgym.policies.tree`;
* ``cnn``: the published network: three 1-D convolutions (32, 64, 128 filters; kernels 10, 5,
  3; each followed by ReLU and max-pooling), dense layers of 256 and 128 with ReLU and dropout
  0.1, one sigmoid output per label; Adam (learning rate 1e-4), binary cross-entropy on the
  logits, mini-batches, the epoch with the lowest validation loss kept. PyTorch, one thread,
  seeded: the same data and seed give the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scmgym.errors import DataError

CLASSIFIERS = ("cnn", "tree", "majority", "knn")


class Majority:
    name = "majority"

    def fit(self, seqs, labels, validation=None, summary=None):
        rows, counts = np.unique(np.asarray(labels, int), axis=0, return_counts=True)
        self.vector = rows[int(np.argmax(counts))].astype(float)
        return self

    def predict_proba(self, seqs):
        return np.repeat(self.vector[None], len(seqs), axis=0)

    def state(self) -> dict:
        return {"vector": self.vector.tolist()}

    def restore(self, state: dict) -> None:
        self.vector = np.asarray(state["vector"], float)


class NearestTotal:
    """1-nearest neighbour on total demand (ties: the earlier training instance)."""

    name = "knn"

    def fit(self, seqs, labels, validation=None, summary=None):
        self.totals = np.asarray(seqs, float).sum(axis=1)
        self.labels = np.asarray(labels, float)
        return self

    def predict_proba(self, seqs):
        totals = np.asarray(seqs, float).sum(axis=1)
        nearest = np.abs(totals[:, None] - self.totals[None, :]).argmin(axis=1)
        return self.labels[nearest]

    def state(self) -> dict:
        return {"totals": self.totals.tolist(), "labels": self.labels.tolist()}

    def restore(self, state: dict) -> None:
        self.totals = np.asarray(state["totals"], float)
        self.labels = np.asarray(state["labels"], float)


class Tree:
    """A depth-limited decision tree over the problem's summary features."""

    name = "tree"

    def __init__(self, summary=None, schema=None, label_names=(), max_depth: int = 4,
                 seed: int = 0) -> None:
        self.summary = summary
        self.schema = schema
        self.label_names = tuple(label_names)
        self.max_depth = max_depth
        self.seed = seed

    def _features(self, seqs):
        return np.array([self.summary(s) for s in np.asarray(seqs, float)])

    def fit(self, seqs, labels, validation=None, summary=None):
        from sklearn.tree import DecisionTreeClassifier

        labels = np.asarray(labels, int)
        # one class per distinct label vector, so that every leaf is a whole decision
        self.vectors, classes = np.unique(labels, axis=0, return_inverse=True)
        model = DecisionTreeClassifier(max_depth=self.max_depth, random_state=self.seed)
        model.fit(self._features(seqs), classes.ravel())
        self.node = self._convert(model)
        return self

    def _convert(self, model):
        from scmgym.policies.tree import Leaf, Split, Var

        t = model.tree_

        def walk(i: int):
            if t.children_left[i] == -1:
                return Leaf(int(model.classes_[int(np.argmax(t.value[i][0]))]))
            # integer features: x <= thr (thr = k + 0.5) is x < ceil(thr)
            threshold = int(np.ceil(t.threshold[i]))
            return Split(Var(int(t.feature[i])), "<", threshold,
                         walk(t.children_left[i]), walk(t.children_right[i]))

        return walk(0)

    def action_names(self) -> tuple[str, ...]:
        names = []
        for v in self.vectors:
            if v[-1]:
                names.append("infeasible")
            else:
                chosen = [n for n, x in zip(self.label_names[:-1], v[:-1], strict=True) if x]
                names.append("open " + (", ".join(chosen) if chosen else "nothing"))
        return tuple(names)

    def rules(self) -> str:
        from dataclasses import replace

        from scmgym.policies.tree import simplify, to_text

        schema = replace(self.schema, actions=self.action_names())
        return to_text(simplify(self.node, schema), schema)

    def predict_proba(self, seqs):
        from scmgym.policies.tree import find_leaf

        feats = self._features(seqs)
        return np.array([self.vectors[find_leaf(self.node, f).action] for f in feats], float)

    def state(self) -> dict:
        from scmgym.policies.tree import node_to_dict

        return {"vectors": self.vectors.tolist(), "node": node_to_dict(self.node),
                "max_depth": self.max_depth, "rules": self.rules()}

    def restore(self, state: dict) -> None:
        from scmgym.policies.tree import node_from_dict

        self.vectors = np.asarray(state["vectors"], int)
        self.node = node_from_dict(state["node"])
        self.max_depth = state["max_depth"]


class CNN:
    """The published convolutional network (module docstring)."""

    name = "cnn"

    def __init__(self, n_labels: int, epochs: int = 200, batch: int = 64, lr: float = 1e-4,
                 dropout: float = 0.1, patience: int = 30, seed: int = 0) -> None:
        self.n_labels = n_labels
        self.epochs = epochs
        self.batch = batch
        self.lr = lr
        self.dropout = dropout
        self.patience = patience
        self.seed = seed
        self.scale = 1.0
        self.history: list[tuple[float, float]] = []

    def _net(self, length: int):
        import torch
        from torch import nn

        def out_len(n: int) -> int:
            for k, pool in ((10, 2), (5, 2), (3, 2)):
                n = (n - k + 1) // pool
            return n

        flat = 128 * max(1, out_len(length))
        return nn.Sequential(
            nn.Conv1d(1, 32, 10), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(32, 64, 5), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(64, 128, 3), nn.ReLU(), nn.MaxPool1d(2),
            nn.Flatten(), nn.Linear(flat, 256), nn.ReLU(), nn.Dropout(self.dropout),
            nn.Linear(256, 128), nn.ReLU(), nn.Dropout(self.dropout),
            nn.Linear(128, self.n_labels)).to(torch.float32)

    def _tensor(self, seqs):
        import torch

        x = np.asarray(seqs, np.float32) / self.scale
        return torch.from_numpy(x[:, None, :])

    def fit(self, seqs, labels, validation=None, summary=None):
        import torch

        torch.manual_seed(self.seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            seqs = np.asarray(seqs, np.float32)
            self.length = seqs.shape[1]
            self.scale = float(max(1.0, seqs.max()))
            self.model = self._net(self.length)
            x, y = self._tensor(seqs), torch.from_numpy(np.asarray(labels, np.float32))
            if validation is not None:
                vx = self._tensor(validation[0])
                vy = torch.from_numpy(np.asarray(validation[1], np.float32))
            opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            gen = torch.Generator().manual_seed(self.seed)
            best, best_state, waited = float("inf"), None, 0
            for _ in range(self.epochs):
                self.model.train()
                order = torch.randperm(len(x), generator=gen)
                total = 0.0
                for start in range(0, len(x), self.batch):
                    idx = order[start:start + self.batch]
                    opt.zero_grad()
                    loss = loss_fn(self.model(x[idx]), y[idx])
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                val = total / len(x)
                if validation is not None and len(vx):
                    self.model.eval()
                    with torch.no_grad():
                        val = float(loss_fn(self.model(vx), vy))
                self.history.append((total / len(x), val))
                if val < best - 1e-6:
                    best, waited = val, 0
                    best_state = {k: v.clone() for k, v in self.model.state_dict().items()}
                else:
                    waited += 1
                    if waited >= self.patience:
                        break
            if best_state is not None:
                self.model.load_state_dict(best_state)
        finally:
            torch.set_num_threads(threads)
        return self

    def predict_proba(self, seqs):
        import torch

        self.model.eval()
        with torch.no_grad():
            return torch.sigmoid(self.model(self._tensor(seqs))).numpy().astype(float)

    def state(self) -> dict:
        return {"length": self.length, "scale": self.scale, "epochs": self.epochs,
                "batch": self.batch, "lr": self.lr, "dropout": self.dropout,
                "epochs_run": len(self.history), "history": self.history}

    def restore(self, state: dict) -> None:
        self.length, self.scale = state["length"], state["scale"]
        self.history = [tuple(h) for h in state.get("history", [])]
        self.model = self._net(self.length)


def make_classifier(name: str, problem, *, seed: int = 0, epochs: int = 200):
    """A new classifier ``name`` (:data:`CLASSIFIERS`) for ``problem``'s labels."""
    if name == "majority":
        return Majority()
    if name == "knn":
        return NearestTotal()
    if name == "tree":
        return Tree(problem.summary, problem.summary_schema, problem.labels, seed=seed)
    if name == "cnn":
        return CNN(len(problem.labels), epochs=epochs, seed=seed)
    raise DataError("unknown classifier", value=name, allowed=", ".join(CLASSIFIERS))


def save_classifier(clf, problem, folder: str | Path) -> Path:
    """Write ``classifier.json`` (and the CNN's weights, ``cnn.pt``) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"classifier": clf.name, "problem": problem.name, "labels": list(problem.labels),
            "state": clf.state()}
    (folder / "classifier.json").write_text(json.dumps(data, indent=1) + "\n")
    if clf.name == "cnn":
        import torch

        torch.save(clf.model.state_dict(), folder / "cnn.pt")
    if clf.name == "tree":
        (folder / "tree.txt").write_text(clf.rules() + "\n")
    return folder


def load_classifier(folder: str | Path):
    """The classifier saved in ``folder`` and the problem it was trained for."""
    from scmgym.planning.decomposition.problems import get_problem

    path = Path(folder) / "classifier.json"
    if not path.is_file():
        raise DataError("no trained classifier here", source=str(path),
                        allowed="a folder written by scmgym plan learn-decomposition --out")
    data = json.loads(path.read_text())
    problem = get_problem(data["problem"])
    clf = make_classifier(data["classifier"], problem)
    clf.restore(data["state"])
    if clf.name == "cnn":
        import torch

        clf.model.load_state_dict(torch.load(Path(folder) / "cnn.pt"))
    return clf, problem
