"""The SPSS output of ``alliance batch`` (see :mod:`.binsinks`).

SPSS ``.sav`` (pyreadstat): written whole at ``commit``, so the scores are held in memory
until then (columnar, roughly the size of the table). Variable names are derived from the
column names by :func:`spss_names` (``wai-sr.goal`` → ``wai_sr.goal``); each variable's
label holds the original column name and its meaning (``wai-sr.goal: …``, at most 256
bytes). Numbers are numeric ``F8.2`` (the full double is stored; the format is only how
SPSS shows it), integers numeric ``F10.0``, both measure *scale*; booleans numeric 0/1
``F1.0`` with value labels 0 ``false``, 1 ``true``, measure *nominal*; text string
variables (width of the longest value), measure *nominal*. An empty number is
system-missing; an empty text is the empty string (SPSS strings have no missing value);
a NUL character becomes U+FFFD. No formula escaping: SPSS evaluates no cell as a formula.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from alliance_cli.io.columns import Column
from alliance_cli.io.csvout import arrow_column
from alliance_cli.io.sinkbase import Sink, arrow_strings, require_library, write_failed

SPSS_NAME_BYTES = 64
SPSS_LABEL_BYTES = 256
SPSS_RESERVED = frozenset(
    {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}
)
"""Words SPSS reserves, which cannot name a variable (in any letter case)."""

_SPSS_INVALID = re.compile(r"[^A-Za-z0-9_.@#$]")


def spss_names(names: Sequence[str]) -> list[str]:
    """Valid, distinct SPSS variable names for ``names``, derived deterministically: every
    character other than an ASCII letter, digit, ``_ . @ # $`` becomes ``_``; trailing dots
    go; ``v_`` is prefixed when the name does not start with a letter or is a reserved word
    (``to`` → ``v_to``); the name is cut to 64 bytes; a name equal to an earlier one
    ignoring case gets ``_2``, ``_3``, … (cut to fit)."""
    used: set[str] = set()
    result: list[str] = []
    for name in names:
        base = _SPSS_INVALID.sub("_", name).rstrip(".")
        if not (base[:1].isalpha() and base[:1].isascii()) or base.upper() in SPSS_RESERVED:
            base = "v_" + base
        base = base[:SPSS_NAME_BYTES].rstrip(".")
        candidate, n = base, 1
        while candidate.casefold() in used:
            n += 1
            suffix = f"_{n}"
            candidate = base[: SPSS_NAME_BYTES - len(suffix)].rstrip(".") + suffix
        used.add(candidate.casefold())
        result.append(candidate)
    return result


def spss_label(column: Column) -> str:
    """The variable label: the column's name and meaning, cut to 256 bytes of UTF-8."""
    label = f"{column.name}: {column.meaning}" if column.meaning else column.name
    data = label.encode("utf-8")
    if len(data) <= SPSS_LABEL_BYTES:
        return label
    cut = data[: SPSS_LABEL_BYTES - len("…".encode())].decode("utf-8", errors="ignore")
    return cut + "…"


class SavSink(Sink):
    """SPSS ``.sav``, held in memory and written whole at commit (see the module docstring)."""

    def __init__(
        self, target: Path | IO[bytes], columns: Sequence[Column], *, escape_formulas: bool = True
    ) -> None:
        require_library("sav", target)
        super().__init__(target, columns, escape_formulas=escape_formulas)
        self.names = spss_names([c.name for c in self.columns])
        self.parts: list[Any] = []

    def write(self, frame: Any) -> None:
        super().write(frame)
        if len(frame):
            self.parts.append(
                self._frame([frame.iloc[:, k] for k in range(len(self.columns))], len(frame))
            )

    def _frame(self, series: Sequence[Any], rows: int) -> Any:
        """The chunk as SPSS will take it: text as pandas strings, the rest as float64."""
        import pandas as pd  # type: ignore[import-untyped]
        import pyarrow as pa
        import pyarrow.compute as pc

        data: dict[str, Any] = {}
        for name, column, values in zip(self.names, self.columns, series, strict=True):
            if column.type == "text":
                text = pc.replace_substring(
                    arrow_strings(values), "\0", "\ufffd"
                )  # C strings end at NUL
                data[name] = pd.array(text.to_pylist(), dtype=pd.StringDtype())
            else:
                array = arrow_column(values).cast(pa.float64())
                data[name] = array.to_numpy(zero_copy_only=False)
        return pd.DataFrame(data, index=pd.RangeIndex(rows))

    def commit(self) -> None:
        import pandas as pd
        import pyreadstat

        if self.parts:
            frame = pd.concat(self.parts, ignore_index=True)
        else:
            empty = [
                pd.Series([], dtype=object if c.type == "text" else bool) for c in self.columns
            ]
            frame = self._frame(empty, 0)
        self.parts = []
        kinds = {name: c.type for name, c in zip(self.names, self.columns, strict=True)}
        formats = {"number": "F8.2", "integer": "F10.0", "boolean": "F1.0"}
        measures = {"number": "scale", "integer": "scale", "boolean": "nominal", "text": "nominal"}
        try:
            # by path: the pending file's own descriptor stays open and untouched until commit
            pyreadstat.write_sav(
                frame,
                self.pending.tmp,
                file_label="alliance scores",
                column_labels=[spss_label(c) for c in self.columns],
                variable_value_labels={
                    name: {0: "false", 1: "true"} for name, t in kinds.items() if t == "boolean"
                },
                variable_format={name: formats[t] for name, t in kinds.items() if t in formats},
                variable_measure={name: measures[t] for name, t in kinds.items() if t in measures},
            )
        except (OSError, pyreadstat.PyreadstatError, pyreadstat.ReadstatError) as exc:
            self.discard()
            raise write_failed(self.pending.target, exc) from exc
        super().commit()

    def discard(self) -> None:
        self.parts = []
        super().discard()
