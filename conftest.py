"""Repository-level pytest configuration: doctests run over the package, not its script entry."""

collect_ignore_glob = ["scmgym/cli/__main__.py", "benchmarks/*", "build/*"]
