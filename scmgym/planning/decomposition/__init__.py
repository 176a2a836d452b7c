"""Learned decomposition of a MILP: solve many instances, learn to predict the complicating
binaries from the instance data, fix them and solve the much smaller remainder, repairing when
the prediction leaves no plan. After Triantafyllou and Papathanasiou, "Deep learning enhanced
mixed integer optimization: learning to reduce model dimensionality" (Computers & Chemical
Engineering 187:108725, 2024), general over the problem (:mod:`.problems`).
"""

from scmgym.planning.decomposition.classifiers import (
    CLASSIFIERS,
    load_classifier,
    make_classifier,
    save_classifier,
)
from scmgym.planning.decomposition.dataset import SPLITS, check_disjoint, generate_dataset
from scmgym.planning.decomposition.learned import (
    STEPS,
    decompose,
    evaluate,
    label_metrics,
    learn_decomposition,
    split_counts,
)
from scmgym.planning.decomposition.problems import PROBLEMS, CartProblem, get_problem

__all__ = ["CLASSIFIERS", "PROBLEMS", "SPLITS", "STEPS", "CartProblem", "check_disjoint",
           "decompose", "evaluate", "generate_dataset", "get_problem", "label_metrics",
           "learn_decomposition", "load_classifier", "make_classifier", "save_classifier",
           "split_counts"]
