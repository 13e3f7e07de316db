"""Fuzzing the environment alliance runs in (child processes: a locale is a property of the
process): locales that exist and do not, PYTHONIOENCODING, PYTHONUTF8, no locale coercion,
TERM=dumb, NO_COLOR, odd COLUMNS, ALLIANCE_DB pointing at a folder, a missing folder, a file
that is not SQLite or is empty, ALLIANCE_DEFINITIONS with junk paths; with `score`, `list`,
`show`, `history` and `--help`, and non-ASCII text in arguments (`--note café`).

Besides ``check`` (a documented exit code, no traceback, nothing written on failure): a
non-ASCII argument where Python reads arguments as ASCII is the documented usage error naming
the fix, and commands that need no database and no bad input succeed in every environment,
with JSON on stdout as the same command prints it in a plain UTF-8 environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import strategies as st

from tests.fuzz.fuzzkit import Budget, budgets, check, invoke_process, snapshot

SRS = "9.1,8.7,9.5,8"
UNSET = ""  # an empty variable counts as unset for the locale and for Python

ENVIRONMENT = st.fixed_dictionaries(
    {
        "LC_ALL": st.sampled_from(
            [UNSET, "C", "POSIX", "C.UTF-8", "xx_YY.UTF-8", "de_DE.ISO-8859-1"]
        ),
        "LANG": st.sampled_from([UNSET, "C", "C.UTF-8", "en_US.UTF-8", "junk"]),
        "PYTHONIOENCODING": st.sampled_from(
            [UNSET, "ascii", "latin-1", "utf-8", "ascii:strict", "latin-1:strict", "utf-8:strict"]
        ),
        "PYTHONUTF8": st.sampled_from([UNSET, "0", "1"]),
        "PYTHONCOERCECLOCALE": st.sampled_from([UNSET, "0"]),
        "TERM": st.sampled_from([UNSET, "dumb", "xterm-256color"]),
        "NO_COLOR": st.sampled_from([UNSET, "1"]),
        "COLUMNS": st.sampled_from([UNSET, "0", "1", "-5", "100000", "junk", "80"]),
        "ALLIANCE_DEFINITIONS": st.sampled_from(
            [UNSET, "/nonexistent", "::", "/dev/null", "/etc/passwd:/tmp", "\t", "relative/x"]
        ),
    }
)
DB_STATES = ["fresh", "folder", "missing-folder", "not-sqlite", "empty"]
COMMANDS: list[tuple[list[str], bool]] = [  # (arguments, needs nothing but the library)
    (["score", "srs", "-a", SRS, "--json"], True),
    (["score", "srs", "-a", SRS], True),
    (["score", "srs", "-a", SRS, "--format", "csv"], True),
    (["score", "srs", "-a", SRS, "-c", "A1", "--new-client", "--note", "café"], False),
    (["score", "srs", "-a", SRS, "-c", "A1", "--new-client", "--clinician", "Zoë"], False),
    (["score", "srs", "-a", SRS, "-c", "A1", "--new-client", "--json"], False),
    (["score", "wai-sr", "-a", "1,2,3"], False),  # a wrong count: exit 4
    (["list"], True),
    (["list", "--json"], True),
    (["show", "care"], True),
    (["show", "wai-sr", "--json"], True),
    (["history", "A1"], False),
    (["history", "A1", "--json"], False),
    (["--help"], True),
    (["score", "--help"], True),
]


def _fs_encoding(env: dict[str, str]) -> str:
    """How Python decodes arguments in ``env`` (asked of Python itself)."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _database(folder: Path, state: str) -> Path:
    db = folder / "h.db"
    if state == "folder":
        db.mkdir()
    elif state == "missing-folder":
        db = folder / "missing" / "h.db"
    elif state == "not-sqlite":
        db.write_bytes(b"this is not a database\n" * 10)
    elif state == "empty":
        db.write_bytes(b"")
    return db


PLAIN = {"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": UNSET, "PYTHONUTF8": UNSET, "COLUMNS": "80"}


@pytest.mark.slow
@budgets(bounded=3, long=150)
def test_fuzz_environment(budget: Budget, tmp_path: Path) -> None:
    @budget.given(ENVIRONMENT, st.sampled_from(DB_STATES), st.sampled_from(COMMANDS))
    def case(env: dict[str, str], state: str, command: tuple[list[str], bool]) -> None:
        args, library_only = command
        folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        env = env | {"ALLIANCE_DB": str(_database(folder, state)), "HOME": str(folder)}
        before = snapshot(folder)
        outcome = invoke_process("environment", args, env=env, cwd=folder)
        check(outcome, args=args, folder=folder, before=before)
        shown = f"{args} in {env} -> {outcome.code}\n{outcome.stderr[-1500:]}"
        if not all(a.isascii() for a in args) and _fs_encoding(env) != "utf-8":
            assert outcome.code == 2, shown
            assert "run alliance with LC_ALL=C.UTF-8 or PYTHONUTF8=1" in outcome.stderr, shown
            return
        if library_only:
            assert outcome.code == 0, shown
            if "--json" in args:  # data on stdout is never degraded
                plain = invoke_process("environment", args, env=env | PLAIN, cwd=folder)
                assert json.loads(outcome.stdout) == json.loads(plain.stdout), shown

    case()
