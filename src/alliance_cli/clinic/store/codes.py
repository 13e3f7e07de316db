"""Client codes: what a code may look like, and finding the client a code stands for.

Codes are pseudonymous, case-insensitive and stored in upper case, as minted (migration 3
converted older databases). A lookup never creates a client: registering is
``Store.new_client`` or a record saved with ``new_client``.
"""

from __future__ import annotations

import difflib
import re
import secrets
import sqlite3

from alliance_cli.errors import Problem, StoreError, UsageError

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Crockford-style alphabet without look-alikes (0/O, 1/I/L) for codes read aloud or on paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def check_code(code: str) -> str:
    """A pseudonymous client code: letters, digits, ``-`` and ``_`` (at most 64), returned in
    its canonical form. Codes are case-insensitive and stored in upper case (as minted):
    ``c-7kq2mx`` is ``C-7KQ2MX``."""
    if not CODE_PATTERN.fullmatch(code):
        raise UsageError(
            Problem(
                "client-code",
                f'client code "{code}" is not allowed: use 1–64 letters, digits, '
                '"-" or "_" (a pseudonymous code, never a name)',
            )
        )
    return code.upper()


def mint_code() -> str:
    """A random client code such as ``C-7KQ2MX`` (30⁶ ≈ 7×10⁸ possibilities)."""
    return "C-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


def case_clashes(db: sqlite3.Connection) -> list[str]:
    """Stored codes that differ only in case (kept apart when codes became case-insensitive:
    they may be different clients), one ``"C-ABC, c-abc"`` per clash."""
    return [
        str(r[0])
        for r in db.execute(
            "SELECT GROUP_CONCAT(code, ', ') FROM (SELECT code FROM clients ORDER BY code)"
            " GROUP BY UPPER(code) HAVING COUNT(*) > 1 ORDER BY UPPER(code)"
        )
    ]


CLASH_HINT = "nothing was merged; using such a code says how to give all but one a new code"


class ClientCodes:
    """The lookups of :class:`~alliance_cli.clinic.store.Store` by client code."""

    db: sqlite3.Connection
    path: str

    def find_client(self, code: str) -> str | None:
        """The registered code ``code`` stands for (any case), or None; never creates one."""
        row = self._client_row(code)
        return None if row is None else str(row["code"])

    def closest_clients(self, code: str, n: int = 3) -> list[str]:
        """Registered codes most like ``code`` (a typo's likely intent), closest first."""
        codes = [r["code"] for r in self.db.execute("SELECT code FROM clients")]
        by_upper = {c.upper(): c for c in codes}
        return [by_upper[c] for c in difflib.get_close_matches(check_code(code), by_upper, n)]

    def unknown_client(self, code: str) -> UsageError:
        """The refusal to record for a code that is not registered, naming the closest."""
        canonical = check_code(code)
        close = self.closest_clients(canonical)
        guess = f" Did you mean {' or '.join(close)}?" if close else ""
        return UsageError(
            Problem("not-a-client", f"{canonical} is not a client.{guess}"),
            hint=f"To register {canonical} as a new client: add --new-client, or first run "
            f"`alliance new-client {canonical}`.",
        )

    def resolve_client(self, code: str, *, new_client: bool = False) -> str:
        """The code a record for ``code`` is filed under: the registered one (typed in any
        case), or with ``new_client`` the new code, which must not be registered yet.
        Raises otherwise; never creates anything."""
        row = self._client_row(code)
        if row is None and not new_client:
            raise self.unknown_client(code)
        if row is not None and new_client:
            raise StoreError(
                Problem("client-exists", f"client {row['code']} exists already"),
                hint="leave out --new-client to record for this client",
            )
        return check_code(code) if row is None else str(row["code"])

    def _client_row(self, code: str) -> sqlite3.Row | None:
        """The client row of ``code`` in any case. Two stored codes that differ only in case
        (kept apart by the migration to case-insensitive codes) are an error naming both."""
        canonical = check_code(code)
        rows = self.db.execute(
            "SELECT c.id, c.code, COUNT(a.id) AS n FROM clients c LEFT JOIN administrations a"
            " ON a.client_id = c.id AND a.status = 'final' WHERE UPPER(c.code) = ?"
            " GROUP BY c.id ORDER BY c.code",
            (canonical,),
        ).fetchall()
        if len(rows) > 1:
            forms = ", ".join(
                f"{r['code']} ({r['n']} administration{'s' * (r['n'] != 1)})" for r in rows
            )
            raise StoreError(
                Problem(
                    "code-clash",
                    f"client code {canonical} is stored in {len(rows)} forms that differ only "
                    f"in case: {forms}",
                    self.path,
                ),
                hint="Client codes are case-insensitive now; nothing was merged, as these may "
                "be different clients. Give all but one a new code (upper case), e.g. "
                f"""sqlite3 "{self.path}" "UPDATE clients SET code = '{canonical}-2' WHERE """
                f"""code = '{rows[0]["code"]}'", then use the codes as usual.""",
            )
        return rows[0] if rows else None
