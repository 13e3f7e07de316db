"""The ``norms`` table: the practice's local norms as stored (aggregates only, never a
client code). What they are and how they are computed: ``alliance_cli.clinic.norms``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from alliance_cli.clinic.store import Store, os_user

DEFAULT_MIN_N = 30
MIN_N_FLOOR = 10
"""The smallest ``min_n`` accepted (this project's rule): fewer clients give an unstable SD,
and a norm of very few clients all but records their scores. Here, below the computation,
so the command line can state both without loading it."""


@dataclass(frozen=True)
class LocalNorm:
    """One scale's reference values from the practice's clients' first sessions."""

    questionnaire: str
    version: str
    content_hash: str
    scale: str
    respondent: str
    n: int
    mean: float
    sd: float
    first_date: str
    last_date: str
    reliability: float
    reliability_source: str
    """The definition's norm source and population, or ``norms.ALPHA_SOURCE``."""
    min_n: int
    built_at: str
    id: int | None = None

    def describe(self) -> str:
        """``the practice's norm of 2026-12-07, n = 48, clients' first sessions
        2026-01-04…2026-11-30``."""
        return (
            f"the practice's norm of {self.built_at[:10]}, n = {self.n}, clients' first "
            f"sessions {self.first_date}…{self.last_date}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = (
    "questionnaire_id, questionnaire_version, content_hash, scale, respondent, n, mean, sd,"
    " first_date, last_date, reliability, reliability_source, min_n, built_at"
)


def save(store: Store, norms: list[LocalNorm]) -> list[LocalNorm]:
    """Store norms in one transaction, with one audit row; returns them with their ids."""
    out = []
    with store.transaction() as db:
        for nm in norms:
            cur = db.execute(
                f"INSERT INTO norms ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    nm.questionnaire,
                    nm.version,
                    nm.content_hash,
                    nm.scale,
                    nm.respondent,
                    nm.n,
                    nm.mean,
                    nm.sd,
                    nm.first_date,
                    nm.last_date,
                    nm.reliability,
                    nm.reliability_source,
                    nm.min_n,
                    nm.built_at,
                ),
            )
            out.append(LocalNorm(**{**asdict(nm), "id": int(cur.lastrowid or 0)}))
        if out:
            store.audit_row(
                os_user(),
                "build-norm",
                None,
                None,
                "; ".join(f"{n.questionnaire} {n.scale} ({n.respondent}): n = {n.n}" for n in out),
            )
    return out


def stored(store: Store, questionnaire: str | None = None) -> list[LocalNorm]:
    """Every norm built, oldest first (the newest per questionnaire, scale and respondent is
    the one alerts use)."""
    where, args = ("WHERE questionnaire_id = ?", (questionnaire,)) if questionnaire else ("", ())
    rows = store.db.execute(
        f"SELECT id, {_COLUMNS} FROM norms {where} ORDER BY built_at, id", args
    ).fetchall()
    return [
        LocalNorm(
            r["questionnaire_id"],
            r["questionnaire_version"],
            r["content_hash"],
            r["scale"],
            r["respondent"],
            int(r["n"]),
            float(r["mean"]),
            float(r["sd"]),
            r["first_date"],
            r["last_date"],
            float(r["reliability"]),
            r["reliability_source"],
            int(r["min_n"]),
            r["built_at"],
            int(r["id"]),
        )
        for r in rows
    ]
