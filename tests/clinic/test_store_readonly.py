"""A history database this user may not write (the file, or its folder) still serves every
command that only reads; commands that write say it is read-only (exit 7).

Permissions mean nothing to root, and the suite runs as root in CI: each scenario runs the
commands in a forked child that drops to the unprivileged user ``nobody`` (65534) first,
in-process (everything is imported, and each command run once, before the fork, since the
virtual environment need not be readable by ``nobody``), and reports back through a pipe.
When privileges cannot be dropped the test fails with the reason; it never skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alliance_cli.cli import app
from alliance_cli.clinic.store import Store
from tests.helpers import TINY_YAML

NOBODY = 65534
READ_ONLY = (
    "the history database is read-only (the file or its folder is not writable for this "
    "user); this command writes to it, nothing was changed"
)


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder ``nobody`` can reach (pytest's own tmp folders are 0700 root)."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("COLUMNS", raising=False)
    folder = Path(tempfile.mkdtemp(prefix="alliance-ro-"))
    folder.chmod(0o755)
    # The conftest's config folder lies under pytest's 0700 tmp root: give one nobody reaches.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
    (folder / "defs").mkdir(mode=0o755)
    (folder / "defs" / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    (folder / "out").mkdir()
    with bundled_reachable():
        yield folder
    shutil.rmtree(folder)


@contextlib.contextmanager
def bundled_reachable() -> Iterator[None]:
    """Let ``nobody`` read the bundled definitions, which every command lists: CI installs
    the package in a virtual environment inside a 0700 temporary folder of root's. The
    folders on the way get o+x (the definitions folder o+rx) for the test's duration."""
    from alliance_cli.catalog import bundled_dir

    target = Path(bundled_dir()).resolve()
    changed: list[tuple[Path, int]] = []
    for folder in [target, *target.parents]:
        mode = stat.S_IMODE(folder.stat().st_mode)
        wanted = mode | stat.S_IXOTH | (stat.S_IROTH if folder == target else 0)
        if wanted != mode:
            changed.append((folder, mode))
            folder.chmod(wanted)
    try:
        yield
    finally:
        for folder, mode in changed:
            folder.chmod(mode)


def make_db(path: Path, defs: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    for answers, new in (("5,1,4,4", ["--new-client"]), ("4,2,3,3", [])):
        result = CliRunner().invoke(
            app,
            [
                "score",
                "tiny",
                "-d",
                str(defs),
                "-a",
                answers,
                "--client",
                "C-1",
                "--db",
                str(path),
                *new,
            ],
        )
        assert result.exit_code == 0, result.output


def commands(base: Path, db: Path, out: Path) -> dict[str, list[str]]:
    d, at = str(base / "defs"), ["--db", str(db)]
    return {
        "history": ["history", "C-1", "-d", d, *at],
        "clients": ["clients", "--json", *at],
        "export": ["export", "--client", "C-1", "-d", d, "-o", str(out / "c1.csv"), *at],
        "report": ["report", "C-1", "-d", d, "-o", str(out / "c1.html"), *at],
        "db check": ["db", "check", "--json", *at],
        "score --client": ["score", "tiny", "-d", d, "-a", "3,3,3,3", "--client", "C-1", *at],
        "new-client": ["new-client", "C-2", *at],
        "void": ["void", "1", "--reason", "typo", *at],
        "delete-client": ["delete-client", "C-1", "--confirm", "C-1", *at],
        "db restore": ["db", "restore", str(base / "good.bak"), "--yes", *at],
        "db backup -o -": ["db", "backup", "-o", "-", *at],
    }


READS = ("history", "clients", "export", "report", "db check")
WRITES = ("score --client", "new-client", "void", "delete-client", "db restore")


def run_all(todo: dict[str, list[str]]) -> dict[str, dict[str, object]]:
    runner = CliRunner()
    found: dict[str, dict[str, object]] = {}
    for name, args in todo.items():
        result = runner.invoke(app, args)
        crash = result.exception and not isinstance(result.exception, SystemExit)
        found[name] = {
            "exit": result.exit_code,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "crash": "".join(traceback.format_exception(result.exception)) if crash else None,
        }
    return found


def as_nobody(todo: dict[str, list[str]]) -> dict[str, dict[str, object]]:
    """Run the commands in a child process that is ``nobody``; their results."""
    return in_child_as_nobody(lambda: run_all(todo))  # type: ignore[no-any-return]


def in_child_as_nobody(work: Callable[[], object]) -> object:
    """``work()`` (its result JSON-able) in a forked child that is ``nobody``."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            if os.geteuid() == 0 or os.access("/", os.W_OK):
                raise RuntimeError("still privileged after setuid")
            payload = {"results": work()}
        except BaseException as exc:  # reported to the parent, which fails with it
            payload = {"error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write, "w") as pipe:
            json.dump(payload, pipe)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    payload = json.loads(data) if data else {"error": "the child reported nothing"}
    if "error" in payload:
        pytest.fail(f"cannot run as an unprivileged user: {payload['error']}")
    return payload["results"]


def scenario(base: Path, *, folder_writable: bool) -> None:
    defs = base / "defs"
    # As root first: the expected output of every command, and every lazy import done.
    expected_db = base / "expected" / "history.sqlite3"
    make_db(expected_db, defs)
    shutil.copy(expected_db, base / "good.bak")
    (base / "good.bak").chmod(0o644)
    (base / "expected-out").mkdir()
    todo = commands(base, expected_db, base / "expected-out")
    expected = run_all({n: a for n, a in todo.items() if n in READS})
    run_all({n: a for n, a in todo.items() if n in WRITES})

    db = base / "data" / "history.sqlite3"
    make_db(db, defs)
    os.chown(base / "out", NOBODY, NOBODY)
    os.chown(db, NOBODY, NOBODY)
    if folder_writable:
        os.chown(db.parent, NOBODY, NOBODY)
        db.chmod(0o400)  # the file is not writable
    else:
        db.parent.chmod(0o755)  # root's folder: no -wal, -shm or journal can be made
    before = db.read_bytes()

    found = as_nobody(commands(base, db, base / "out"))

    for name in READS:
        got = found[name]
        assert got["crash"] is None, (name, got)
        assert got["exit"] == 0, (name, got)
        assert got["stdout"] == str(expected[name]["stdout"]).replace(str(expected_db), str(db)), (
            name
        )
    backup = found["db backup -o -"]  # spooled in the temp folder: its own is closed
    assert (backup["exit"], str(backup["stdout"])[:15]) == (0, "SQLite format 3"), backup
    csv = (base / "out" / "c1.csv").read_text(encoding="utf-8")
    assert csv == (base / "expected-out" / "c1.csv").read_text(encoding="utf-8")
    assert "C-1" in (base / "out" / "c1.html").read_text(encoding="utf-8")
    for name in WRITES:
        got = found[name]
        assert got["crash"] is None, (name, got)
        assert got["exit"] == 7, (name, got)
        assert got["stderr"] == f"error: {db}: {READ_ONLY}\n", name
    assert db.read_bytes() == before
    with Store(db) as store:  # root again: nothing changed
        assert [(a.session, a.status) for a in store.history("C-1", include_void=True)] == [
            (1, "final"),
            (2, "final"),
        ]


@pytest.mark.slow
def test_read_only_file(base: Path) -> None:
    scenario(base, folder_writable=True)


@pytest.mark.slow
def test_read_only_folder(base: Path) -> None:
    scenario(base, folder_writable=False)
    assert stat.S_IMODE((base / "data").stat().st_mode) == 0o755


def test_a_database_in_a_folder_this_user_cannot_enter(base: Path) -> None:
    private = base / "private"
    private.mkdir(mode=0o700)  # root's
    db = private / "history.sqlite3"
    make_db(db, base / "defs")
    run_all({"warm": ["clients", "--db", str(base / "warm.sqlite3")]})
    found = as_nobody(
        {"clients": ["clients", "--db", str(db)], "db check": ["db", "check", "--db", str(db)]}
    )
    for name, got in found.items():
        assert got["crash"] is None, (name, got)
        assert got["exit"] == 7, (name, got)
        assert got["stderr"] == (
            f"error: {db}: cannot reach the history database: Permission denied\n"
        ), name


def test_administer_refuses_a_read_only_database_before_the_first_item(base: Path) -> None:
    # The interview would otherwise ask the client an item and only then fail to save it.
    from alliance_cli.catalog import Catalog
    from alliance_cli.clinic.administer import administer
    from alliance_cli.clinic.interview import Details
    from alliance_cli.errors import StoreError

    db = base / "data" / "history.sqlite3"
    make_db(db, base / "defs")
    os.chown(db.parent, NOBODY, NOBODY)
    os.chown(db, NOBODY, NOBODY)
    db.chmod(0o400)
    q = Catalog(user_dirs=[base / "defs"]).get("tiny")

    class Asked:
        def __init__(self) -> None:
            self.screens: list[object] = []

        def ask(self, screen: object) -> str:
            self.screens.append(screen)
            return "q"

        def show(self, screen: object) -> None:
            self.screens.append(screen)

    def interview() -> dict[str, object]:
        prompter = Asked()
        with Store(db) as store:
            try:
                administer(store, q, Details(client="C-1"), prompter)
            except StoreError as exc:
                return {"error": exc.render(), "exit": exc.exit_code, "screens": 0}
            return {"error": None, "screens": len(prompter.screens)}

    got = in_child_as_nobody(interview)
    assert got == {"error": f"{db}: {READ_ONLY}", "exit": 7, "screens": 0}


def test_a_log_left_read_only_is_made_writable_with_the_database(base: Path) -> None:
    # A session while the file was 0400 leaves a 0400 -shm (SQLite copies the database's
    # mode); once the database is writable again, writes must work, not fail as read-only.
    folder = base / "mine"
    folder.mkdir(mode=0o700)
    db = folder / "history.sqlite3"
    make_db(db, base / "defs")
    for path in (folder, *folder.iterdir()):
        os.chown(path, NOBODY, NOBODY)
    db.chmod(0o400)
    d, at = str(base / "defs"), ["--db", str(db)]
    first = as_nobody({"clients": ["clients", *at]})["clients"]
    assert first["exit"] == 0, first
    shm = Path(f"{db}-shm")
    assert shm.exists() and stat.S_IMODE(shm.stat().st_mode) == 0o400
    db.chmod(0o600)
    found = as_nobody(
        {"score": ["score", "tiny", "-d", d, "-a", "3,3,3,3", "--client", "C-1", *at]}
    )
    got = found["score"]
    assert got["crash"] is None and got["exit"] == 0, got
    assert f"notice: {shm} was left read-only (0400); set to 0600" in str(got["stderr"])
    assert not shm.exists() or stat.S_IMODE(shm.stat().st_mode) == 0o600
