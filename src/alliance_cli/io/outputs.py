"""The outputs of one run (:class:`Outputs`): what must be removed or closed however the run
ends — a normal end, an error, or a signal.

Kept apart from :mod:`alliance_cli.io.atomic` (which writes) so that the CLI's entry point can
own one without importing the writing machinery on every call.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from contextvars import ContextVar, Token
from pathlib import Path
from types import TracebackType

_CURRENT: ContextVar[Outputs | None] = ContextVar("alliance_outputs", default=None)


class Outputs:
    """The registry of one run's outputs: the temporary files of outputs not yet committed
    or discarded, and the FIFOs already written into or closed unwritten.

    The CLI's entry point enters one for the whole process (``cli._common.main``), and
    :func:`fifos_closed` one for a command run without it (a test's ``CliRunner``). While
    entered it is :meth:`current`, and every :class:`~alliance_cli.io.atomic.Output` made
    meanwhile registers its temporary file's name here *before* creating the file, so that
    a signal arriving at any moment — the CLI turns SIGINT, SIGTERM and SIGHUP into an
    exception — leaves nothing behind: leaving the block removes whatever is still pending
    (:meth:`discard`), and the entry point calls it once more after it has stopped listening
    to signals. Without one (the library used on its own) an output still removes its file
    on every error; only the cover against a signal between two statements is the run's.
    :meth:`current` is a context variable: a thread started without the caller's context
    (a ``ThreadPoolExecutor`` worker) sees none, so outputs are made on the run's own thread
    (worker threads only write into them, as the CSV sink's does).
    """

    def __init__(self) -> None:
        self.pending: set[str] = set()
        """Temporary files not yet committed or discarded (absolute or folder-relative)."""
        self.settled: set[str] = set()
        """FIFOs written into or closed unwritten (absolute paths)."""
        self._tokens: list[Token[Outputs | None]] = []

    @staticmethod
    def current() -> Outputs | None:
        """The run's outputs, while one is entered (in this thread)."""
        return _CURRENT.get()

    def __enter__(self) -> Outputs:
        self._tokens.append(_CURRENT.set(self))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.discard()
        finally:
            _CURRENT.reset(self._tokens.pop())

    def discard(self) -> None:
        """Remove every temporary file not yet committed or discarded: after an interrupt or
        a termination signal, which may strike before a half-made output is known to anyone
        who could discard it (say, between creating its file and returning it)."""
        for name in list(self.pending):
            with contextlib.suppress(OSError):
                os.unlink(name)
            self.pending.discard(name)

    def close_unwritten(self, target: Path) -> None:
        """Open a FIFO for writing and close it: its reader (``cat fifo``, the next step of a
        pipeline) gets end-of-file with nothing in it instead of waiting forever. Not when no
        one reads it (that open would block; non-blocking, it fails), nor for a device, nor
        for a FIFO this run has already written into or closed."""
        key = os.path.abspath(target)
        if key in self.settled:
            return
        self.settled.add(key)
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(os.stat(target).st_mode):
                os.close(os.open(target, os.O_WRONLY | os.O_NONBLOCK))


@contextlib.contextmanager
def fifos_closed(*targets: Path | None) -> Iterator[Outputs]:
    """Around a command with output ``targets``: each FIFO among them that the command did
    not write into is closed unwritten at the end, however the command ends (refused, dry
    run, an error before anything was written), so that no reader waits forever. Uses the
    run's :class:`Outputs`, or enters one for the command when there is none."""
    given = [t for t in targets if t is not None]
    with contextlib.ExitStack() as stack:
        run = Outputs.current() or stack.enter_context(Outputs())
        run.settled.difference_update(os.path.abspath(t) for t in given)
        try:
            yield run
        finally:
            for target in given:
                run.close_unwritten(target)
