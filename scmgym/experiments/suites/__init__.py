"""The suites that ship with scmgym (TOML files; see scmgym.experiments.suite)."""
