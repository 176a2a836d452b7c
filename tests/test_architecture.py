"""The layers import one way: simulators <- core <- envs <- policies <- trainers/baselines <-
planning <- experiments <- cli (docs/architecture.md). Every import in the package, at module
level or inside a function, is checked against it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "scmgym"

#: Rank of each layer: a module may import its own layer and lower ranks only.
LAYERS = {
    "errors": 0, "datasets": 0, "data": 0,
    "simulators": 1, "plots": 1,
    "core": 2,
    "envs": 3,
    "policies": 4,
    "trainers": 5, "baselines": 5,
    "planning": 5.5,
    "experiments": 6,
    "cli": 7,
}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "scmgym" else None


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "scmgym":
                found += [(node.lineno, f"scmgym.{alias.name}") for alias in node.names
                          if alias.name != "__version__"]
            else:
                found.append((node.lineno, node.module))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"
                 and p.relative_to(PACKAGE).parts[0] != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    rank = LAYERS[own]
    wrong = [f"line {line}: {module}" for line, module in imports(path)
             if layer_of(module) is not None and LAYERS[layer_of(module)] > rank]
    assert not wrong, f"{own} (rank {rank}) imports a higher layer: {wrong}"


def test_every_layer_is_known():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert tops <= set(LAYERS)


def test_a_violation_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from scmgym.experiments import compare\n")
    assert imports(bad) == [(2, "scmgym.experiments")]


def test_the_public_surface_resolves_and_import_stays_light():
    import subprocess
    import sys

    code = ("import sys, scmgym\n"
            "heavy = [m for m in ('torch', 'stable_baselines3', 'optuna', 'pyomo', 'deap')"
            " if m in sys.modules]\n"
            "names = [n for n in scmgym.__all__ if getattr(scmgym, n, None) is None]\n"
            "print(heavy, names)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[] []"


def test_unknown_public_name_is_an_attribute_error():
    import scmgym

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        scmgym.nope  # noqa: B018
    assert sorted(dir(scmgym)) == sorted(scmgym.__all__)
