"""`alliance db check|backup|restore`: look after the history database file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from alliance_cli.cli._common import DbOpt, JsonOpt, app, db_file, print_json, reporting, usage

db_app = typer.Typer(
    name="db",
    help="Check, back up and restore the history database.\n\nExample:  alliance db check",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("check")
def check(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Check the history database: integrity, foreign keys, schema version, and the backups
    next to it with their dates. Exit 7 when something is wrong.

    Example:  alliance db check
    """
    from alliance_cli.clinic.store import files, maintenance
    from alliance_cli.clinic.store.codes import CLASH_HINT
    from alliance_cli.errors import Problem, StoreError

    with reporting():
        report = maintenance.check(db_file(db))
        if as_json:
            print_json(report.to_dict())
        else:
            version = "unknown" if report.schema_version is None else report.schema_version
            lines = [
                f"database: {report.database}",
                f"schema version: {version} (this alliance knows up to {report.known_version})",
                "integrity: " + ("ok" if report.integrity == ["ok"] else "FAILED"),
                "foreign keys: "
                + (f"{len(report.foreign_keys)} broken" if report.foreign_keys else "ok"),
                f"backups: {len(report.backups)}"
                + (" (none next to it)" if not report.backups else ""),
                *(f"  {b.file}  {b.made}  {b.size:,} bytes" for b in report.backups),
                "client codes: " + _clashes(len(report.code_clashes)),
            ]
            typer.echo("\n".join(lines))
        if report.problems:
            raise StoreError(
                [Problem("database-check", p, str(report.database)) for p in report.problems],
                hint=files.restore_hint(str(report.database)),
            )
        if report.code_clashes:
            raise StoreError(
                [
                    Problem("code-clash", f"client codes that differ only in case: {c}")
                    for c in report.code_clashes
                ],
                hint=CLASH_HINT,
            )


def _clashes(n: int) -> str:
    return f"{n} clash{'es' * (n != 1)} (codes that differ only in case)" if n else "ok"


@db_app.command("backup")
def backup(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="The backup file to write (mode 0600; - writes to stdout; default: a new "
            "<database>.manual-<time>.bak next to the database).",
            show_default=False,
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Copy the history database with SQLite's online backup: consistent even while other
    commands record, private (0600), never over an existing database.

    Example:  alliance db backup -o /media/usb/alliance-2026-12.bak
    """
    from alliance_cli.clinic.store import maintenance

    to_stdout = output is not None and str(output) == "-"
    if to_stdout and sys.stdout.isatty():
        usage("a backup is binary: redirect stdout to a file, or give -o FILE")
    from alliance_cli.ui.terminal import stdout_bytes

    with reporting():
        made = maintenance.backup(db_file(db), stdout_bytes() if to_stdout else output)
        typer.echo(f"backed up {db_file(db)} to {made if not to_stdout else 'stdout'}", err=True)


@db_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The backup to restore.")],
    yes: Annotated[bool, typer.Option("--yes", help="Restore without asking.")] = False,
    db: DbOpt = None,
) -> None:
    """Replace the history database by a backup. The backup is verified first (an SQLite
    file, intact, an alliance database of a known version); the current database is kept
    as a before-restore backup next to it; the replacement is atomic. Close other alliance
    commands first.

    Example:  alliance db restore /media/usb/alliance-2026-12.bak
    """
    from alliance_cli.clinic.store import files, maintenance

    path = db_file(db)
    with reporting():
        maintenance.verify(file)
        if not yes:
            if not sys.stdin.isatty():
                usage("to restore without a terminal, add --yes")
            current = (
                maintenance.describe(path, current=True)
                if files.exists(path)
                else "no database yet"
            )
            typer.echo(f"restore:  {file} ({maintenance.describe(file)})", err=True)
            typer.echo(f"replaces: {path} ({current})", err=True)
            if not typer.confirm("Restore it? The current database is kept as a backup", err=True):
                typer.echo("nothing restored", err=True)
                raise typer.Exit(1)
        done = maintenance.restore(path, file)
        kept = f"; the database it replaced is kept as {done.kept_aside}" if done.kept_aside else ""
        typer.echo(f"restored {path} from {file}{kept}", err=True)
