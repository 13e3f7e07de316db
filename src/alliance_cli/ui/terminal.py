"""Output streams that cannot encode our symbols degrade to ASCII, never to a traceback.

A terminal or pipe set to ASCII (``PYTHONIOENCODING=ascii``, ``LC_ALL=POSIX`` without
locale coercion) cannot print ``–``, ``…``, ``≥`` or a name with an accent. When the
standard streams cannot encode these, :func:`degrade_streams` replaces them with a stream
that writes each such character as its ASCII stand-in (``-``, ``...``, ``>=``, ``e``) and
anything else as ``?``. Every writer (rich, ``typer.echo``, ``print``) goes through
``sys.stdout``/``sys.stderr``, so this is the one home of the rule.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import sys
import unicodedata
from typing import Any, BinaryIO, TextIO

# Characters this tool prints (dashes, ellipsis, arrows, comparisons, Greek letters of the
# psychometrics) and their plain stand-ins; accented letters lose their accents (NFKD).
_ASCII = {
    "–": "-", "—": "-", "−": "-", "‐": "-", "‑": "-", "─": "-", "━": "-", "┄": "-",
    "…": "...", "·": ".", "•": "*", "●": "*", "○": "o", "■": "#", "▼": "v", "⚑": "!",
    "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~", "±": "+/-", "×": "x", "√": "sqrt",
    "→": "->", "←": "<-", "↔": "<->", "›": ">", "‹": "<", "✓": "ok", "✗": "x",
    "‘": "'", "’": "'", "“": '"', "”": '"', "«": '"', "»": '"', "│": "|", "┤": "|",
    "└": "+", "┌": "+", "┐": "+", "┘": "+", "α": "alpha", "ω": "omega", "λ": "lambda",
    "σ": "sigma", "Σ": "sum", "μ": "mu", "ψ": "psi", "θ": "theta", "π": "pi",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}  # fmt: skip


def ascii_text(text: str) -> str:
    """``text`` in ASCII: known symbols by their stand-ins, accents dropped, else ``?``."""
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif char in _ASCII:
            out.append(_ASCII[char])
        else:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


def _stand_in(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return ascii_text(exc.object[exc.start : exc.end]), exc.end


_HANDLER = "alliance-ascii"
codecs.register_error(_HANDLER, _stand_in)


class _AsciiStream(io.TextIOBase):
    """A text stream that writes each character its target cannot encode as
    :func:`ascii_text` (a Latin-1 terminal keeps its ``é``, loses the ``–``).

    It has no ``buffer``: click would otherwise bypass an ASCII stream and write UTF-8 bytes
    to the buffer beneath it."""

    def __init__(self, target: TextIO) -> None:
        self._target = target

    @property
    def encoding(self) -> str:  # type: ignore[override]  # rich picks ASCII boxes from it
        return self._target.encoding

    def write(self, text: str) -> int:
        encoding = self._target.encoding or "ascii"
        return self._target.write(text.encode(encoding, _HANDLER).decode(encoding))

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    def writable(self) -> bool:
        return True


def stdout_bytes() -> BinaryIO:
    """The byte stream beneath ``sys.stdout``, for data that is bytes (a UTF-8 CSV, a
    database backup) whatever the terminal's encoding."""
    stream = sys.stdout
    target = stream._target if isinstance(stream, _AsciiStream) else stream
    return target.buffer


class _Utf8Out(io.TextIOWrapper):
    def close(self) -> None:  # stdout itself stays open
        self.flush()


def stdout_text() -> TextIO:
    """``sys.stdout`` for a data file written as text (a CSV, which is UTF-8): the stream
    itself, or, when it degrades to ASCII, a UTF-8 stream over its bytes (data is never
    degraded)."""
    if not isinstance(sys.stdout, _AsciiStream):
        return sys.stdout
    sys.stdout.flush()
    return _Utf8Out(stdout_bytes(), encoding="utf-8", newline="", write_through=True)


def ascii_only() -> bool:
    """Whether stdout degrades to ASCII: JSON is then written with ``\\u`` escapes, which
    lose nothing."""
    return isinstance(sys.stdout, _AsciiStream)


def _cannot_encode(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None)
    try:
        "–…≥é".encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return True
    return False


class ClosedOutput(OSError):
    """Standard output was closed (``>&-``) and a command had something to print there."""


class _Closed(io.TextIOBase):
    """Standard output when fd 1 was closed: a command that writes nothing there (``-o
    FILE``) runs as usual; one that prints fails with :class:`ClosedOutput` (exit 6, one
    line), as GNU tools fail with a write error — never an AttributeError on ``None``."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        raise ClosedOutput("standard output is closed, so nothing can be printed")

    @property
    def buffer(self) -> BinaryIO:
        return self  # type: ignore[return-value]  # write(bytes) fails the same way


def degrade_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in :class:`_AsciiStream` where they cannot
    encode our symbols; a UTF-8 (or Latin-9, …) stream is left as it is. A closed standard
    output (None) becomes :class:`_Closed`."""
    if sys.stdout is None:  # fd 1 was closed
        sys.stdout = _Closed()
    elif _cannot_encode(sys.stdout):
        sys.stdout = _AsciiStream(sys.stdout)
    if sys.stderr is not None and _cannot_encode(sys.stderr):
        sys.stderr = _AsciiStream(sys.stderr)


MIN_COLUMNS = 40  # the narrowest width anything is laid out for


def usable_columns() -> None:
    """A ``COLUMNS`` under :data:`MIN_COLUMNS` counts as that: rich (and Typer's help) would
    print nothing at all at 0 (not even an error) and one letter a line at 1. A value that is
    no number is ignored by rich already (the terminal's own width is used)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) < MIN_COLUMNS:
        os.environ["COLUMNS"] = str(MIN_COLUMNS)


class _ClosedInput(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise OSError(errno.EBADF, "closed; pipe the input in or give a file")


def stand_in_for_closed_stdin() -> None:
    """Started with stdin closed (``<&-``), Python has no ``sys.stdin``: a stand-in that is no
    terminal (every prompt refuses as it does without one) and whose reading is an error
    that says it is closed (every reader reports it), instead of an AttributeError each."""
    if sys.stdin is None:
        sys.stdin = io.TextIOWrapper(io.BufferedReader(_ClosedInput()), encoding="utf-8")


def stdin_closed() -> bool:
    """Whether the program was started with stdin closed."""
    raw = getattr(getattr(sys.stdin, "buffer", None), "raw", None)
    return sys.stdin is None or isinstance(raw, _ClosedInput)
