"""Messages of ``alliance batch`` on stderr: the column mapping and the first bad cells.

User text (column names, cell values) goes into rich as ``Text``, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text

from alliance_cli.errors import BatchDataError
from alliance_cli.research.batch import SHOWN_FAILURES
from alliance_cli.research.columnmap import FileMapping
from alliance_cli.ui.render import err, warning

if TYPE_CHECKING:
    from alliance_cli.research.batch import Batch


def mapping(mappings: Sequence[FileMapping]) -> None:
    """Per file: each questionnaire's item ← column pairs, and the id columns."""
    console = err()
    several = len(mappings) > 1
    for fm in mappings:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, title_justify="left")
        if several:
            table.title = Text(fm.file)
        for col in ("questionnaire", "mapped", "item=column"):
            table.add_column(col)
        for qc in fm.questionnaires:
            pairs = "  ".join(f"{ic.item}={ic.column}" for ic in qc.items)
            table.add_row(Text(qc.questionnaire.id, style="bold"), qc.how, Text(pairs))
        console.print(table)
        names = ", ".join(name for name, _ in fm.ids) or "none"
        what = "id columns" if fm.ids_declared else "other columns, kept as they are"
        console.print(Text(f"{what}: ") + Text(names))
        if fm.kept:
            kept = ", ".join(name for name, _ in fm.kept)
            console.print(Text("kept as they are, unchecked: ") + Text(kept))
        if fm.left_out:
            shown = ", ".join(fm.left_out)
            console.print(
                Text(f"left out of the output ({len(fm.left_out)}; --keep COL carries one): ")
                + Text(shown)
            )
        for notice in fm.notices:
            console.print(Text("notice: ", style="cyan") + Text(notice))


SHOWN_CHARS = 40
"""A longer cell value is shortened in the table (the --errors file keeps it whole)."""


def shown_value(value: str) -> str:
    """``value``, or its first :data:`SHOWN_CHARS` characters and its length."""
    if len(value) <= SHOWN_CHARS:
        return value
    return f"{value[:SHOWN_CHARS]}… ({len(value):,} characters)"


def failures(table: Any, limit: int, *, with_file: bool, total: int | None = None) -> None:
    """The first ``limit`` rows of the bad-cell table; each column's allowed answers are
    listed once below it instead of on every row."""
    console = err()
    shown = Table(box=box.SIMPLE_HEAD, show_edge=False)
    columns = (["file"] if with_file else []) + ["row", "column", "value", "problem"]
    for col in columns:
        shown.add_column(col, justify="right" if col == "row" else "left", overflow="fold")
    allowed: dict[str, list[str]] = {}
    for record in table.head(limit).to_dict("records"):
        cells = [Text(str(record["file"]))] if with_file else []
        value = str(record["value"])
        problem, _, answers = str(record["problem"]).partition("; allowed: ")
        column = str(record["column"])
        if answers and column not in allowed.setdefault(answers, []):
            allowed[answers].append(column)
        cells += [
            Text(str(record["row"])),
            Text(column),
            Text(shown_value(value)) if value.strip() else Text("(blank)", style="dim"),
            Text(problem),
        ]
        shown.add_row(*cells)
    console.print(shown)
    total = len(table) if total is None else total
    if total > limit:
        console.print(Text(f"… and {total - limit:,} more"))
    for answers, names in allowed.items():
        console.print(Text("allowed in " + ", ".join(names) + ": " + answers))


def refused(exc: BatchDataError) -> None:
    """A refused run: the error, the first bad cells, where all of them went, the hint."""
    console = err()
    for problem in exc.problems:
        console.print(Text("error: ", style="bold red") + Text(problem.render()))
    failures(exc.failures, SHOWN_FAILURES, with_file=exc.several, total=exc.total)
    if exc.written_to is not None:
        console.print(Text(f"every bad cell was written to {exc.written_to}"))
    if exc.hint:
        console.print(Text(exc.hint))


def dry_run(result: Batch) -> None:
    """What a run would do: the counts, the first bad cells, and whether it would stop."""
    console = err()
    for line in result.summary():
        console.print(Text(line))
    if result.bad_cells:
        several = len(result.inputs) > 1
        failures(result.failures, SHOWN_FAILURES, with_file=several, total=result.bad_cells)
    verdict = (
        "a run would stop at the bad cells (exit 65)"
        if result.refused
        else f"a run would write {result.output_rows:,} rows"
    )
    console.print(Text(f"dry run, nothing written: {verdict}"))


def nothing_to_write(result: Batch, *, dry_run: bool) -> None:
    """Why the run writes nothing (:attr:`~alliance_cli.research.batch.Batch.empty`), and
    how to write it anyway."""
    what = "a run would write nothing" if dry_run else "nothing was written"
    anyway = "the empty output" if result.rows == 0 else "it anyway"
    warning(f"{result.empty}, so {what}; --allow-empty writes {anyway}")


class ProgressBar:
    """Rows done, rate and time left on stderr while a batch runs — only when stderr is a
    terminal (and not under ``NO_COLOR``/``TERM=dumb`` rules rich applies); else silent.
    The share done (and so the time left) is that of the input bytes of the rows scored."""

    def __init__(self) -> None:
        self.console = err()
        self.enabled = self.console.is_terminal and not self.console.is_dumb_terminal
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("scoring"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f} rows/s"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("scoring", total=None, rows=0, rate=0.0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, rows: int, done: int, total: int | None) -> None:
        if self._progress is None:
            return
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = rows / elapsed if elapsed > 0 else 0.0
        self._progress.update(self._task, completed=done, total=total, rows=rows, rate=rate)
