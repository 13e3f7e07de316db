"""The history database schema, as numbered migrations.

``PRAGMA user_version`` holds the number of migrations applied. A migration is a list of
statements run inside one transaction, after a backup of the file. Never edit a released
migration: add a new one.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # 1: clients, administrations with their item-level answers, the audit trail.
    [
        """
        CREATE TABLE clients (
            id          INTEGER PRIMARY KEY,
            code        TEXT NOT NULL UNIQUE,
            created_at  TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE administrations (
            id                     INTEGER PRIMARY KEY,
            client_id              INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
            questionnaire_id       TEXT NOT NULL,
            questionnaire_version  TEXT NOT NULL,
            content_hash           TEXT NOT NULL,
            session                INTEGER NOT NULL CHECK (session >= 1),
            administered_at        TEXT NOT NULL,
            respondent             TEXT NOT NULL
                                   CHECK (respondent IN ('client', 'therapist', 'observer')),
            clinician              TEXT,
            modality               TEXT
                                   CHECK (modality IN ('in-person', 'video', 'phone', 'other')),
            note                   TEXT,
            status                 TEXT NOT NULL DEFAULT 'final'
                                   CHECK (status IN ('final', 'draft', 'void')),
            replaces               INTEGER REFERENCES administrations(id),
            created_at             TEXT NOT NULL
        )
        """,
        """
        CREATE INDEX administrations_by_client
            ON administrations (client_id, questionnaire_id, respondent, session)
        """,
        """
        CREATE TABLE answers (
            administration_id  INTEGER NOT NULL
                               REFERENCES administrations(id) ON DELETE CASCADE,
            position           INTEGER NOT NULL,
            item               TEXT NOT NULL,
            value              REAL,
            state              TEXT NOT NULL
                               CHECK (state IN ('answered', 'missing', 'not_applicable')),
            PRIMARY KEY (administration_id, item)
        )
        """,
        """
        CREATE TABLE audit (
            id                 INTEGER PRIMARY KEY,
            at                 TEXT NOT NULL,
            actor              TEXT NOT NULL,
            action             TEXT NOT NULL,
            client_id          INTEGER REFERENCES clients(id) ON DELETE CASCADE,
            administration_id  INTEGER REFERENCES administrations(id) ON DELETE CASCADE,
            reason             TEXT
        )
        """,
    ],
    # 2: one final administration per client, questionnaire, respondent and session.
    [
        """
        CREATE UNIQUE INDEX one_final_per_session
            ON administrations (client_id, questionnaire_id, respondent, session)
            WHERE status = 'final'
        """,
    ],
    # 3: client codes are case-insensitive, stored in upper case. A code that differs only in
    # case from another stays as it was (nothing is merged): looking it up is an error that
    # names every form (Store._client_row). New or renamed codes must be upper case.
    [
        """
        UPDATE clients SET code = UPPER(code)
         WHERE code != UPPER(code)
           AND (SELECT COUNT(*) FROM clients AS other
                 WHERE UPPER(other.code) = UPPER(clients.code)) = 1
        """,
        """
        CREATE TRIGGER client_codes_upper_on_insert BEFORE INSERT ON clients
         WHEN NEW.code != UPPER(NEW.code)
        BEGIN SELECT RAISE(ABORT, 'client codes are stored in upper case'); END
        """,
        """
        CREATE TRIGGER client_codes_upper_on_update BEFORE UPDATE OF code ON clients
         WHEN NEW.code != UPPER(NEW.code)
        BEGIN SELECT RAISE(ABORT, 'client codes are stored in upper case'); END
        """,
    ],
    # 4: the practice's local norms for reliable change (`alliance norms build`):
    # aggregates of clients' first sessions, never a client code.
    [
        """
        CREATE TABLE norms (
            id                     INTEGER PRIMARY KEY,
            questionnaire_id       TEXT NOT NULL,
            questionnaire_version  TEXT NOT NULL,
            content_hash           TEXT NOT NULL,
            scale                  TEXT NOT NULL,
            respondent             TEXT NOT NULL,
            n                      INTEGER NOT NULL CHECK (n >= 2),
            mean                   REAL NOT NULL,
            sd                     REAL NOT NULL CHECK (sd > 0),
            first_date             TEXT NOT NULL,
            last_date              TEXT NOT NULL,
            reliability            REAL NOT NULL CHECK (reliability > 0 AND reliability < 1),
            reliability_source     TEXT NOT NULL,
            min_n                  INTEGER NOT NULL,
            built_at               TEXT NOT NULL
        )
        """,
    ],
]

LATEST = len(MIGRATIONS)
CASE_INSENSITIVE_CODES = 3
"""The schema version from which client codes are stored in upper case (migration 3)."""
