"""Where runs execute: in this process, in a pool of local processes, or as Ray tasks.

A backend takes a function ``fn(shared, task) -> result`` (a module-level function, so it
pickles by name), the data every task needs (``shared``: the problems with their instances,
sent once) and a list of tasks, and yields ``(task, result)`` as each task finishes. It never
changes a number: every run is seeded by its own settings, whatever process or node runs it.

- :class:`LocalBackend`: ``jobs=1`` runs the tasks one after the other here; ``jobs>1`` in a pool
  of spawned processes, each of which dies with the caller (even by SIGKILL, on Linux).
- :class:`RayBackend`: Ray tasks, one run per task (the lightest run, EDD's single simulation,
  still carries its evaluation and files: tens of milliseconds and up); ``shared`` goes into the
  object store once. Without ``address``, a single-node Ray on this machine
  (``ray.init(num_cpus=jobs)``); with one, the cluster's head (``HOST:PORT`` of ``ray start
  --head``, or ``auto``). Ray is an optional extra: ``pip install 'scmgym[ray]'``.

On Ctrl-C or SIGTERM every backend cancels what is queued and stops what runs (a run keeps
its checkpoint), then the interrupt goes on to the caller.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from scmgym.errors import DataError, MissingExtra, ScmgymError  # noqa: F401  (MissingExtra: re-exported)

log = logging.getLogger(__name__)

Task = Any
TaskFn = Callable[[Any, Task], Any]

#: The backends by name (``--backend``).
BACKENDS = ("local", "ray")

#: Seconds to wait for a Ray head to answer before giving up.
CONNECT_TIMEOUT = 5.0


def _worker_init() -> None:
    """In each pool process: die with the caller. On Linux the kernel sends SIGTERM to the
    worker when its parent ends, even by SIGKILL, so no worker outlives a killed run."""
    import ctypes
    import signal
    import sys

    global _IN_POOL
    _IN_POOL = True
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


#: Whether this process is a pool worker (set by :func:`_worker_init`).
_IN_POOL = False


def call_task(fn: TaskFn, shared: Any, task: Task) -> Any:
    """Run one task where a SIGTERM ends it like Ctrl-C (a checkpoint is kept). In a pool
    worker an interrupt ends the process at once: the caller is stopping, or gone."""
    from scmgym.core.io import terminate_as_interrupt

    try:
        with terminate_as_interrupt():
            return fn(shared, task)
    except KeyboardInterrupt:
        if _IN_POOL:
            os._exit(130)
        raise


_POOL_SHARED: Any = None


def _pool_init(shared: Any) -> None:
    global _POOL_SHARED
    _worker_init()
    _POOL_SHARED = shared


def _pool_call(fn: TaskFn, task: Task) -> Any:
    return call_task(fn, _POOL_SHARED, task)


class LocalBackend:
    """This process (``jobs=1``) or a pool of ``jobs`` spawned processes on this machine."""

    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        if not (isinstance(jobs, int) and jobs >= 1):
            raise DataError("jobs must be a positive number of processes", column="--jobs",
                            value=jobs)
        self.jobs = jobs

    def run(self, fn: TaskFn, tasks: Sequence[Task], shared: Any = None
            ) -> Iterator[tuple[Task, Any]]:
        if self.jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                yield task, call_task(fn, shared, task)
            return
        from scmgym.experiments.warmup import warm_up

        warm_up()  # the workers then only read numba's disk cache (see warm_up)
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=mp.get_context("spawn"),
                                   initializer=_pool_init, initargs=(shared,))
        try:
            futures = {pool.submit(_pool_call, fn, task): task for task in tasks}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            for child in mp.active_children():  # the pool's workers
                child.terminate()
            for child in mp.active_children():
                child.join(timeout=30)
            raise
        pool.shutdown(wait=True)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MissingExtra("--backend ray needs Ray, an optional extra: pip install "
                           "'scmgym[ray]' (or, from a checkout, pip install -c constraints.txt "
                           "-e '.[ray]')") from None
    return ray


def check_address(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail within ``timeout`` seconds, with a clear message, when nothing listens at a Ray
    head's ``HOST:PORT`` (``auto`` and ``ray://`` client addresses are left to Ray)."""
    if address == "auto":
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise DataError("a Ray address is HOST:PORT (the head's GCS port, 6379 by default) "
                        "or auto", column="--address", value=address)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise DataError(f"no Ray head answers at {address} within {timeout:g} s ({exc}); "
                        "start one with `ray start --head --port=6379` and pass its address",
                        column="--address", value=address) from None


def _ray_call(fn: TaskFn, shared: Any, task: Task) -> Any:
    return call_task(fn, shared, task)


class RayBackend:
    """Ray tasks on a single-node Ray (no ``address``) or on a cluster (``address``)."""

    name = "ray"

    def __init__(self, jobs: int = 1, address: str | None = None) -> None:
        LocalBackend(jobs)  # the same check of jobs
        self.jobs = jobs
        self.address = address
        self.ray = _import_ray()
        if address is not None:
            check_address(address)

    def _init(self) -> bool:
        """Start or join Ray; True if this backend started it (and so shuts it down)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        env = {"env_vars": {"PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}}
        if self.address is None:
            ray.init(num_cpus=self.jobs, include_dashboard=False, log_to_driver=False,
                     runtime_env=env)
        else:
            ray.init(address=self.address, log_to_driver=False, runtime_env=env)
        return True

    def run(self, fn: TaskFn, tasks: Sequence[Task], shared: Any = None
            ) -> Iterator[tuple[Task, Any]]:
        if not tasks:
            return
        ray = self.ray
        started = self._init()
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)
            shared_ref = ray.put(shared)  # once, not per task
            pending = {remote.remote(fn, shared_ref, task): task for task in tasks}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    task = pending.pop(done[0])
                    yield task, ray.get(done[0])
            except BaseException:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
        finally:
            if started:
                ray.shutdown()


def get_backend(name: str, jobs: int = 1, address: str | None = None):
    """The backend called ``name`` (:data:`BACKENDS`)."""
    if name == "local":
        if address is not None:
            raise DataError("--address is for --backend ray", column="--address",
                            value=address, allowed="no --address with --backend local")
        return LocalBackend(jobs)
    if name == "ray":
        return RayBackend(jobs, address)
    raise DataError("unknown backend", column="--backend", value=name,
                    allowed=", ".join(BACKENDS))
