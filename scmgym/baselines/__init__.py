"""Schedule-as-a-whole baselines, each ``method(evaluator, seed, **hyperparameters)``."""
