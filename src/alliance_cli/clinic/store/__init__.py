"""The history database: one SQLite file of administrations with their item-level answers.

- :mod:`.connection` opens it safely (damage check, read-only, private modes), upgrades it
  through the numbered :mod:`.migrations` and takes write transactions;
- :mod:`.database` is the :class:`Store`: storing, voiding and reading records;
- :mod:`.select` says which administrations to read (:class:`Selection`) and reads them,
  also as one answer matrix per questionnaire for bulk scoring (:mod:`.bulk`);
- :mod:`.codes` the client codes, :mod:`.drafts` interviews in progress, :mod:`.norms` the
  local norms table, :mod:`.maintenance` backups, checks and restores, :mod:`.erase` a
  client's removal, :mod:`.files` the file's safety.
"""

from __future__ import annotations

from alliance_cli.clinic.store.codes import CODE_PATTERN, check_code, mint_code
from alliance_cli.clinic.store.connection import os_user
from alliance_cli.clinic.store.database import Store, check_modality
from alliance_cli.clinic.store.files import BUSY_TIMEOUT_MS, default_path
from alliance_cli.clinic.store.records import (
    Administration,
    Answer,
    ClientSummary,
    NewAdministration,
)
from alliance_cli.clinic.store.select import Selection

__all__ = [
    "BUSY_TIMEOUT_MS",
    "CODE_PATTERN",
    "Administration",
    "Answer",
    "ClientSummary",
    "NewAdministration",
    "Selection",
    "Store",
    "check_code",
    "check_modality",
    "default_path",
    "mint_code",
    "os_user",
]
