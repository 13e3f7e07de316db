"""The history database as a file: opened private, read-only when it must be, checked for
damage, and every SQLite failure turned into one clear :class:`StoreError`.

* A database found readable by others (0644) is set to 0600, with a notice.
* A file or folder this user cannot write is opened read-only (``mode=ro``; with
  ``immutable=1`` when the folder is not writable and holds no ``-shm``, which a WAL
  database otherwise needs to create): every command that only reads still works.
* ``PRAGMA quick_check`` on open finds damage anywhere in the file (b-tree pages, records,
  free lists), not only in its header: about 40 ms on a 3.4 MB file of 5,000
  administrations (median of 7 opens on a 2-core machine; a bare open takes 0.1 ms;
  `bench/quick_check.py` measures it); once per change of the file (``store/checked.py``).
* Backups live next to the database as ``<name>.<label>.bak`` (:func:`backups`); a
  damaged database's message names the newest and the command that restores one.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import stat
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from alliance_cli.errors import Problem, StoreError

BUSY_TIMEOUT_MS = 30_000
ALLIANCE_TABLES = frozenset({"clients", "administrations", "answers", "audit"})
_DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def connect(
    path: Path, notices: list[str], *, create: bool = True
) -> tuple[sqlite3.Connection, bool]:
    """A connection to the database at ``path`` and whether it is read-only for this user.
    A database that does not exist (or an empty file) is created (0600 in a 0700 folder)
    with ``create``, else refused: a mistyped ``--db`` must not look like an empty history."""
    if not exists(path):
        if not create:
            raise missing(path)
        prepare_file(path)
    else:
        require_file(path)
        if not create and path.stat().st_size == 0:  # no database yet: left as it is
            raise missing(path)
        _make_private(path, notices)
    read_only = not writable(path)
    if read_only:
        return open_for_reading(path), True
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None), False


def require_file(path: Path) -> None:
    """Refuse a folder or a device as the database: never touched (nor its mode changed)."""
    if not path.is_file():
        raise StoreError(Problem("database", "is not a file: give the database file", str(path)))


def missing(path: Path) -> StoreError:
    return StoreError(
        Problem("no-database", "there is no history database here", str(path)),
        hint="check --db or $ALLIANCE_DB; `alliance new-client` creates one",
    )


def open_for_reading(path: Path) -> sqlite3.Connection:
    """The database read-only (``mode=ro``) for a user who may not write it. When the folder
    is not writable and holds neither a ``-shm`` file, which a WAL database would have to
    create, nor a ``-wal`` (whose records ``immutable`` would ignore), it is read as it is
    (``immutable=1``): no one here can change it through that folder. A database this user
    may write is opened as usual but ``query_only``: then closing it removes the ``-wal`` and
    ``-shm`` files a read-only reader would leave behind."""
    if writable(path):
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.execute("PRAGMA query_only = ON")
        return db
    uri = "file:" + urllib.parse.quote(str(path.absolute())) + "?mode=ro"
    if not _folder_writable(path) and not any(
        Path(f"{path}{suffix}").exists() for suffix in ("-shm", "-wal")
    ):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)


def writable(path: Path) -> bool:
    """Whether this user may change the database: its file and its folder (for the
    journal files) are writable."""
    return _folder_writable(path) and os.access(path, os.W_OK)


def _folder_writable(path: Path) -> bool:
    return os.access(path.parent, os.W_OK | os.X_OK)


def exists(path: Path) -> bool:
    """Whether the database file is there; a folder on the way this user may not enter is
    a :class:`StoreError`, not a traceback."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise StoreError(
            Problem("database", f"cannot reach the history database: {exc.strerror}", str(path))
        ) from exc
    return True


def prepare_file(path: Path) -> None:
    """Create the folder (0700, when we create it) and the file (0600) before SQLite does,
    so the database and its -wal/-shm files are never readable by others."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as exc:
        raise StoreError(
            Problem("database", f"cannot create the history database: {exc}", str(path))
        ) from exc


def remove(path: Path) -> None:
    """Remove a database this process created and its -wal/-shm/-journal files."""
    for file in (path, *(Path(f"{path}{end}") for end in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            file.unlink()


def _make_private(path: Path, notices: list[str]) -> None:
    """The database and its -wal/-shm private; and a -wal/-shm of ours that an earlier
    read-only use left without write permission (SQLite gives them the database's mode, so
    a session while the file was 0400 leaves a 0400 -shm) writable again once the database
    is, or every later write would fail as "read-only"."""
    db_writable = os.access(path, os.W_OK)
    # Backups hold every record too: made private like the database itself.
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), *backups(path)):
        try:
            info = file.stat()
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        wanted = mode & 0o700
        stale = file != path and db_writable and info.st_uid == os.geteuid() and not mode & 0o200
        if stale:
            wanted |= 0o600
        if wanted == mode:
            continue
        why = "was left read-only" if stale and not mode & 0o077 else "was readable by others"
        try:
            file.chmod(wanted)
        except OSError as exc:
            notices.append(f"{file} {why} ({mode:04o}) and could not be set: {exc.strerror}")
            continue
        notices.append(f"{file} {why} ({mode:04o}); set to {wanted:04o}")


def check_intact(db: sqlite3.Connection, path: str) -> None:
    """Raise the damaged-database error when ``PRAGMA quick_check`` finds anything."""
    found = [row[0] for row in db.execute("PRAGMA quick_check(5)")]
    if found != ["ok"]:
        raise damaged(path, found[0].replace("*** in database main ***\n", "").split("\n")[0])


def check_schema(db: sqlite3.Connection, version: int, latest: int, path: str) -> None:
    """Refuse a file that is no alliance database of a version this alliance knows."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} - {
        "sqlite_sequence"
    }
    known = 0 <= version <= latest
    if known and (tables >= ALLIANCE_TABLES if version else not tables):
        return
    newer = version > latest and tables >= ALLIANCE_TABLES
    raise StoreError(
        Problem(
            "not-alliance",
            f"not an alliance database of a known version (schema version {version}; "
            f"this alliance knows 1 to {latest})",
            path,
        ),
        hint="a newer alliance wrote it: upgrade alliance to read it"
        if newer
        else restore_hint(path),
    )


_BUGS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


def from_the_file(exc: BaseException) -> bool:
    """Whether an exception is SQLite reporting on the file or its surroundings (damage,
    read-only, locked, disk full) rather than on our own SQL: a broken constraint or a
    misused API is a bug and keeps its traceback."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, _BUGS)


def failure(path: str, exc: sqlite3.DatabaseError) -> StoreError:
    """An SQLite error as the one message the user sees (exit 7), never a traceback."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name in _DAMAGE or "decode" in str(exc):
        return damaged(path, str(exc))
    if name.startswith("SQLITE_READONLY"):
        return read_only(path)
    if name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR_WRITE"):
        # The transaction was rolled back: SQLite keeps the file as it was.
        return StoreError(
            Problem(
                "disk-full",
                "cannot write to the history database: the disk is full (or a file size "
                "limit was reached); nothing was stored, the database is as it was",
                path,
            ),
            hint="free some space and run the command again",
        )
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StoreError(
            Problem(
                "database-busy",
                "the history database is busy: another alliance process held it for "
                f"{BUSY_TIMEOUT_MS // 1000} s; try again",
                path,
            )
        )
    return StoreError(Problem("database", f"cannot use the history database: {exc}", path))


def read_only(path: str) -> StoreError:
    return StoreError(
        Problem(
            "read-only",
            "the history database is read-only (the file or its folder is not writable for "
            "this user); this command writes to it, nothing was changed",
            path,
        )
    )


def damaged(path: str, what: str) -> StoreError:
    return StoreError(
        Problem(
            "database-damaged",
            f"the history database is damaged ({what}); nothing was changed",
            path,
        ),
        hint=restore_hint(path),
    )


def restore_hint(path: str) -> str:
    """Where the newest backups that pass a quick check are, and the command that restores
    one. A half-made copy of a restore (``.restoring-``) is never named, and at most
    :data:`_HINT_CHECKS` backups are opened, newest first, so the message stays quick."""
    candidates = [b for b in backups(Path(path)) if ".restoring-" not in b.name]
    found = [b for b in candidates[:_HINT_CHECKS] if sound(b)][:3]
    db = "" if Path(path) == default_path() else f" --db {shlex.quote(path)}"
    if not found:
        none = (
            f"no backup next to it passes a check ({Path(path).name}.*.bak)"
            if candidates
            else f"no backup found next to it ({Path(path).name}.*.bak)"
        )
        return f"{none}; restore a copy kept elsewhere with: alliance db restore FILE{db}"
    listed = ", ".join(f"{b} ({made(b)})" for b in found)
    return (
        f"newest backups: {listed}\n"
        f"restore one with: alliance db restore {shlex.quote(str(found[0]))}{db}"
    )


_HINT_CHECKS = 6


def sound(file: Path) -> bool:
    """Whether a backup is an SQLite file that passes ``PRAGMA quick_check``."""
    try:
        with open(file, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return False
        db = open_read_only(file)
        try:
            return [r[0] for r in db.execute("PRAGMA quick_check(1)")] == ["ok"]
        finally:
            db.close()
    except (OSError, sqlite3.DatabaseError):
        return False


def backups(path: Path) -> list[Path]:
    """The backups next to the database (``<name>.*.bak``), newest first."""
    try:
        found = [p for p in path.parent.glob(f"{_glob_escape(path.name)}.*.bak") if p.is_file()]
    except OSError:
        return []
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)


def backup_name(path: Path, label: str) -> Path:
    """A new backup file next to the database: ``<name>.<label>-<UTC time>.bak``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.{label}-{stamp}.bak")
    n = 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.name}.{label}-{stamp}-{n}.bak")
    return candidate


def made(path: Path) -> str:
    """When a file was last written, local time to the minute."""
    return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")


def open_read_only(path: Path) -> sqlite3.Connection:
    """A file that nothing writes (a backup, a file to restore), read as it is."""
    uri = "file:" + urllib.parse.quote(str(path.absolute())) + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, isolation_level=None)


def default_path(env: dict[str, str] | None = None) -> Path:
    """``ALLIANCE_DB`` if set, else ``history.sqlite3`` in the platform's user data folder."""
    env = dict(os.environ) if env is None else env
    if env.get("ALLIANCE_DB"):
        return Path(env["ALLIANCE_DB"])
    from platformdirs import user_data_dir

    return Path(user_data_dir("alliance", appauthor=False)) / "history.sqlite3"


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
