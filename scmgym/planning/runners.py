"""Where the planning models' batches of solves run.

A runner is any object with ``run(fn, tasks, shared)`` yielding ``(task, fn(shared, task))``
pairs as they finish: :class:`SerialRunner` here (the default), or the experiment backends
(``scmgym.experiments.backends.get_backend("local", jobs)`` or ``"ray"``), which the CLI passes;
planning never imports the experiments layer itself.
"""

from __future__ import annotations


class SerialRunner:
    """Runs the solves one after the other in this process: the runner used when none is
    given."""

    def run(self, fn, tasks, shared=None):
        for task in tasks:
            yield task, fn(shared, task)
