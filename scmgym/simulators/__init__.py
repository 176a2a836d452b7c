"""SimPy models of the plants. Pure functions of (instance, decisions, seed); no Gymnasium here."""
