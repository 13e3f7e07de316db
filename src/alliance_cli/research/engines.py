"""Who runs :func:`~alliance_cli.research.part.score_part` on each chunk of a batch.

* :class:`LocalEngine` (``--engine local``, the default): this process, one chunk after
  another — numpy already works column-wise inside each chunk.
* :class:`DaskEngine` (``--engine dask``): Dask distributed workers — a local cluster of
  worker processes on this machine by default, or the cluster whose scheduler ``--scheduler
  ADDRESS`` names. Chunks are read here and sent to the workers, a few in flight per worker,
  and the parts come back in input order, so the output is exactly what the local engine
  writes. Dask is the optional ``dask`` extra (``pip install 'alliance-cli[dask]'``). The
  local cluster serves no dashboard and listens on localhost only.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from alliance_cli.errors import Problem, UsageError
from alliance_cli.research.part import Part, PartJob, score_part

INSTALL_HINT = "pip install 'alliance-cli[dask]'"


class Engine(Protocol):
    def map(self, jobs: Iterable[PartJob]) -> Iterator[Part]:
        """The parts of ``jobs``, in order."""
        ...


def engine_named(name: str, scheduler: str | None = None) -> Engine:
    """The engine ``--engine`` names: ``dask`` (on the cluster whose scheduler ``scheduler``
    names, else a local one), or ``local``."""
    return DaskEngine(scheduler) if name == "dask" else LocalEngine()


class LocalEngine:
    """This process: ``threads`` chunks scored at once (numpy and Arrow release the GIL for
    their work on whole columns), in order, at most ``threads`` + 1 chunks in flight."""

    def __init__(self, threads: int | None = None) -> None:
        import os

        self.threads = threads if threads is not None else min(os.cpu_count() or 1, 4)

    def map(self, jobs: Iterable[PartJob]) -> Iterator[Part]:
        if self.threads <= 1:
            yield from map(score_part, jobs)
            return
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="alliance-score")
        try:
            yield from ordered(lambda job: pool.submit(score_part, job), jobs, self.threads + 1)
        except BaseException:
            # An error, a signal or a consumer that stopped: the chunks still running are
            # not waited for (a signal is honoured at once; ``cli.main`` ends the process
            # without joining them) and those not started never start.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


def ordered(submit: Any, jobs: Iterable[PartJob], window: int) -> Iterator[Part]:
    """Submit ``jobs`` (``submit`` gives a future), at most ``window`` unfinished at a time,
    and yield their results in order."""
    pending: deque[Any] = deque()
    for job in jobs:
        pending.append(submit(job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class DaskEngine:
    """Score chunks on Dask workers (see the module docstring)."""

    def __init__(self, scheduler: str | None = None, *, workers: int | None = None) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError(
                Problem("engine-unavailable", f"--engine dask needs Dask: {INSTALL_HINT}"),
                hint=f"install it with: {INSTALL_HINT}",
            ) from None
        self.scheduler = scheduler
        self.workers = workers

    def _client(self) -> tuple[Any, Any]:
        import distributed

        dd: Any = distributed  # untyped
        Client, LocalCluster = dd.Client, dd.LocalCluster

        for name in ("distributed", "tornado", "bokeh"):
            logging.getLogger(name).setLevel(logging.ERROR)
        if self.scheduler:
            try:
                return Client(self.scheduler, timeout="10s"), None
            except OSError as exc:
                raise UsageError(
                    Problem(
                        "no-scheduler",
                        f"cannot reach the Dask scheduler at {self.scheduler}: {exc}",
                    ),
                    hint="give the address as tcp://HOST:PORT, or leave out --scheduler to "
                    "start a local cluster",
                ) from None
        cluster = LocalCluster(
            n_workers=self.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        return Client(cluster), cluster

    def map(self, jobs: Iterable[PartJob]) -> Iterator[Part]:
        client, cluster = self._client()
        try:
            window = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
            yield from ordered(lambda job: client.submit(score_part, job, pure=False), jobs, window)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
