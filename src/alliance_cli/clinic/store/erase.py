"""``delete-client``: remove a client from the database and say which backups next to it
still hold them; purge them from those backups on request.

Client codes are case-insensitive, but a backup made before migration 3 may hold a code in
lower case, and one made after it may hold two codes that differ only in case (kept apart:
they may be different clients). A backup is purged only when exactly one stored form
matches; otherwise it is left alone and named, with its forms.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alliance_cli.clinic.store import files
from alliance_cli.errors import Problem, StoreError

if TYPE_CHECKING:
    from alliance_cli.clinic.store import Store


@dataclass(frozen=True)
class InBackups:
    holding: dict[Path, str] = field(default_factory=dict)
    """Backups next to the database that still hold the client, with the stored form."""
    clashing: dict[Path, list[str]] = field(default_factory=dict)
    """Backups holding the code in several forms that differ only in case: never purged."""
    unreadable: list[Path] = field(default_factory=list)
    """Backups that could not be opened to look (damaged, or not SQLite)."""


def backups_holding(path: Path, code: str) -> InBackups:
    """Open every backup next to the database read-only and look for ``code`` in any case."""
    found = InBackups()
    for file in files.backups(path):
        try:
            with contextlib.closing(files.open_read_only(file)) as db:
                forms = [
                    r[0]
                    for r in db.execute(
                        "SELECT code FROM clients WHERE UPPER(code) = UPPER(?) ORDER BY code",
                        (code,),
                    )
                ]
        except sqlite3.DatabaseError:
            found.unreadable.append(file)
            continue
        if len(forms) == 1:
            found.holding[file] = forms[0]
        elif forms:
            found.clashing[file] = forms
    return found


def purge_client(path: Path, code: str) -> list[Path]:
    """Remove the client from every backup that holds them in exactly one form, for good:
    rows deleted with ``secure_delete`` and the file rebuilt (``VACUUM``), so that neither
    the code nor an answer or note remains in its bytes. Returns the backups changed."""
    purged = []
    for file, stored in backups_holding(path, code).holding.items():
        try:
            with contextlib.closing(sqlite3.connect(file, isolation_level=None)) as db:
                db.execute("PRAGMA journal_mode = DELETE")
                db.execute("PRAGMA secure_delete = ON")
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("DELETE FROM clients WHERE code = ?", (stored,))
                db.execute("VACUUM")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                Problem("purge", f"cannot remove the client from this backup: {exc}", str(file))
            ) from exc
        purged.append(file)
    return purged


@dataclass(frozen=True)
class Erased:
    code: str
    administrations: int | None
    """How many administrations left the database (None: the client was not in it)."""
    holding: list[Path]
    """Backups that still hold the client."""
    purged: list[Path]
    """Backups the client was removed from."""
    clashing: dict[Path, list[str]]
    unreadable: list[Path]
    notices: list[str]

    def messages(self) -> list[str]:
        """What to tell the user, one line each."""
        code = self.code
        lines = []
        if self.administrations is not None:
            n = self.administrations
            lines.append(f"deleted client {code} and {n} administration{'s' * (n != 1)}")
        lines += [f"notice: {notice}" for notice in self.notices]
        lines += [f"removed {code} from the backup {b}" for b in self.purged]
        lines += [f"notice: the backup {b} still holds {code}" for b in self.holding]
        if self.holding:
            lines.append(
                f"remove them with: alliance delete-client {code} --confirm {code} --purge-backups"
            )
        lines += [
            f"notice: the backup {b} holds {code} in {len(forms)} forms that differ only in "
            f"case ({', '.join(forms)}): not purged; purge it by hand or delete the backup"
            for b, forms in self.clashing.items()
        ]
        lines += [
            f"notice: the backup {b} could not be read to look for {code}" for b in self.unreadable
        ]
        return lines


def erase_client(
    store: Store,
    code: str,
    *,
    purge_backups: bool = False,
    offer: Callable[[list[Path]], bool] | None = None,
) -> Erased:
    """``delete-client``: remove the client from the database and say which backups next
    to it still hold them; with ``purge_backups`` (or when ``offer``, shown those backups,
    says yes) remove them from those too — also when the database no longer holds the
    client: a second run that purges. A code the database cannot resolve for another
    reason (two forms that differ only in case) is refused, and nothing is purged."""
    path = Path(store.path)
    found = InBackups() if store.path == ":memory:" else backups_holding(path, code)
    try:
        store.client_id(code, create=False)
        in_database = True
    except StoreError as exc:
        if exc.problems[0].code != "no-client" or not (purge_backups and found.holding):
            raise
        in_database = False
    said = len(store.notices)  # those of opening it are the caller's, said already
    count = store.delete_client(code) if in_database else None
    holding = list(found.holding)
    if holding and not purge_backups and offer is not None:
        purge_backups = offer(holding)
    purged = purge_client(path, code) if purge_backups else []
    return Erased(
        code,
        count,
        [b for b in holding if b not in purged],
        purged,
        found.clashing,
        found.unreadable,
        store.notices[said:],
    )
