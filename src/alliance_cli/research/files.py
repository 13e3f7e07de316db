"""``alliance batch`` and ``alliance reliability`` over named files, as the library runs them:
the outputs checked before anything is read (:func:`~alliance_cli.research.outputs.check_output`),
the questionnaires looked up, the inputs opened (stdin among them; read twice for
``--center``), the output and bad-cell files made, the run driven
(:func:`~alliance_cli.research.run.run_batch`) and the codebook written beside the scores. A
command parses its options, calls :func:`score_files` or :func:`reliability_of_files`, and
renders what comes back.

Whatever ends the run, a FIFO among the outputs that was not written into is closed unwritten
(:func:`~alliance_cli.io.outputs.fifos_closed`), so that no reader waits forever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from alliance_cli.io.outputs import fifos_closed
from alliance_cli.io.sinks import open_sink, output_format, row_limit
from alliance_cli.io.targets import codebook_path
from alliance_cli.model import Questionnaire
from alliance_cli.options import ColumnSet, Shape
from alliance_cli.research.batch import Batch
from alliance_cli.research.engines import engine_named
from alliance_cli.research.inputs import InputOptions, spool_once_readable
from alliance_cli.research.outputs import Written, check_output, pending_codebook
from alliance_cli.research.passes import Progress
from alliance_cli.research.quality.report import Quality, quality_report
from alliance_cli.research.quality.rules import QualityOptions
from alliance_cli.research.reliability import Reliability, reliability
from alliance_cli.research.run import run_batch
from alliance_cli.result import key_warning

if TYPE_CHECKING:
    from alliance_cli.catalog import Catalog


@dataclass(frozen=True)
class Targets:
    """Where a batch run writes (``-o``, ``--to``, ``--codebook``, ``--errors``)."""

    scores: Path | None = None
    """The scores file; None: stdout."""
    to: str | None = None
    """The format, whatever the extension says (``--to``)."""
    codebook: Path | None = None
    """The codebook, if not the default beside the scores
    (:func:`~alliance_cli.io.targets.codebook_path`)."""
    errors: Path | None = None
    """Every bad cell, as CSV."""
    escape_formulas: bool = True

    def written(self, rows: int) -> Written:
        """What a run that wrote ``rows`` rows left where (its summary line)."""
        return Written(rows, self.scores, codebook_path(self.scores, self.codebook), self.errors)


def questionnaires_of(catalog: Catalog, ids: Sequence[str]) -> list[Questionnaire]:
    """The questionnaires ``ids`` name (an alias or a repeat: once), in order."""
    return list({q.id: q for q in map(catalog.get, ids)}.values())


def score_files(
    names: Sequence[str],
    questionnaires: Sequence[str],
    catalog: Catalog,
    read: InputOptions,
    outputs: Targets,
    *,
    stdin: Callable[[], IO[bytes]],
    stdout: Callable[[], IO[bytes]],
    shape: Shape = Shape.wide,
    center: str | None = None,
    keep: Sequence[str] = (),
    keep_all: bool = False,
    columns: ColumnSet = ColumnSet.compact,
    quality: QualityOptions | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    dry_run: bool = False,
    allow_empty: bool = False,
    progress: Progress | None = None,
    warn: Callable[[str], None] = lambda _: None,
) -> Batch:
    """Score the files ``names`` (``-``: the stream ``stdin`` gives) on ``questionnaires``
    and write the scores, the codebook and the bad cells where ``outputs`` say (the scores
    to ``stdout`` when no file is named); with ``dry_run`` nothing is written. ``warn`` is
    told of each questionnaire whose scoring key is not verified, before scoring.

    Raises what :func:`~alliance_cli.research.run.run_batch` raises, and
    :class:`~alliance_cli.errors.UsageError` for outputs that cannot be written, an unknown
    questionnaire or engine, or a map file with problems."""
    scores = outputs.scores
    with fifos_closed(scores, outputs.errors, outputs.codebook), ExitStack() as stack:
        check_output(scores, [Path(n) for n in names if n != "-"], outputs.codebook, outputs.errors)
        fmt = output_format(scores, outputs.to)
        qs = questionnaires_of(catalog, questionnaires)
        options = read.batch_options(
            shape=shape,
            center=center,
            keep=tuple(keep),
            keep_all=keep_all,
            columns=columns,
            quality=quality,
        )
        runner = engine_named(engine, scheduler)
        stream = stdin()
        # --center and --quality read their inputs twice; stdin, a FIFO or <(…) only once:
        # private copies.
        twice = center is not None or quality is not None
        copies = spool_once_readable(names, stream, stack) if twice and not dry_run else {}
        opened = read.open(names, stream, copies)
        for q in qs:
            if warning := key_warning(q):
                warn(warning)
        escape = outputs.escape_formulas
        target = scores if scores is not None else stdout()
        return run_batch(
            opened,
            qs,
            options,
            survey=read.survey,
            output=None
            if dry_run
            else lambda cols: open_sink(fmt, target, cols, escape_formulas=escape),
            errors=None if dry_run else outputs.errors,
            escape_formulas=escape,
            engine=runner,
            progress=progress,
            check=not dry_run,
            allow_empty=allow_empty,
            limit=row_limit(fmt, target),
            reopen=lambda: read.open(names, stream, copies),
            before_commit=lambda batch: pending_codebook(
                batch, scores, fmt=fmt, codebook=outputs.codebook, escape_formulas=escape
            ),
        )


def reliability_of_files(
    names: Sequence[str],
    questionnaires: Sequence[str],
    catalog: Catalog,
    read: InputOptions,
    *,
    stdin: Callable[[], IO[bytes]],
    by: str | None = None,
    session: str | None = None,
    errors: Path | None = None,
    ordinal: bool = False,
) -> Reliability:
    """The reliability table of every scale of ``questionnaires`` in the files ``names``
    (``-``: the stream ``stdin`` gives), every bad cell written to ``errors``
    (:func:`~alliance_cli.research.reliability.reliability` says what it raises)."""
    with fifos_closed(errors):
        check_output(None, [Path(n) for n in names if n != "-"], None, errors)
        qs = questionnaires_of(catalog, questionnaires)
        options = read.batch_options()
        opened = read.open(names, stdin())
        return reliability(
            opened,
            qs,
            options,
            survey=read.survey,
            by=by,
            session=session,
            errors=errors,
            ordinal=ordinal,
        )


def quality_of_files(
    names: Sequence[str],
    questionnaires: Sequence[str],
    catalog: Catalog,
    read: InputOptions,
    options: QualityOptions,
    *,
    stdin: Callable[[], IO[bytes]],
    output: Path | None = None,
    to: str | None = None,
    errors: Path | None = None,
    escape_formulas: bool = True,
    allow_empty: bool = False,
) -> Quality:
    """The careless-response screening of ``questionnaires`` in the files ``names`` (``-``:
    the stream ``stdin`` gives), read twice (stdin, a FIFO or <(…) through a private copy);
    with ``output``, each response's indices and flags written there (row, file and id
    columns first); every bad cell to ``errors``."""
    with fifos_closed(output, errors), ExitStack() as stack:
        check_output(output, [Path(n) for n in names if n != "-"], None, errors)
        fmt = output_format(output, to) if output is not None else "csv"
        qs = questionnaires_of(catalog, questionnaires)
        batch_options = read.batch_options(quality=replace(options, only=True, drop_flagged=False))
        stream = stdin()
        copies = spool_once_readable(names, stream, stack)
        opened = read.open(names, stream, copies)
        return quality_report(
            opened,
            qs,
            batch_options,
            survey=read.survey,
            sink=None
            if output is None
            else lambda cols: open_sink(fmt, output, cols, escape_formulas=escape_formulas),
            errors=errors,
            escape_formulas=escape_formulas,
            reopen=lambda: read.open(names, stream, copies),
            limit=row_limit(fmt, output) if output is not None else None,
            allow_empty=allow_empty,
        )
