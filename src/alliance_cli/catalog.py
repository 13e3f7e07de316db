"""The catalog: bundled definitions plus the user's own, found by id or alias.

Also the multi-file checks of ``alliance validate`` (an overlay is checked against the
questionnaire the catalog finds for it).
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from alliance_cli import model as m
from alliance_cli.definitions import (
    OVERLAY_SUFFIX,
    ItemText,
    _locate,
    _read,
    definition_files,
    load_definition,
    load_item_text,
    normalize_id,
    parse_yaml,
    questionnaire_keys,
    validate_text,
)
from alliance_cli.errors import DefinitionError, InputFileError, NotFoundError, Problem, UserError


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders replaced by their definition files and overlays."""
    out: list[Path] = []
    for path in paths:
        try:
            folder = path.is_dir()
        except OSError:  # a name too long, say: read as a file, which reports it
            folder = False
        if folder:
            out += definition_files(path)
            out += sorted(path.glob(f"*{OVERLAY_SUFFIX}"))
        else:
            out.append(path)
    return out


def validate_files(
    paths: Iterable[Path | str], catalog: Catalog | None = None
) -> dict[str, list[Problem]]:
    """All problems of all files (definition or item-text overlay), by file.

    With a catalog, an overlay's item ids are also checked against its questionnaire."""
    results: dict[str, list[Problem]] = {}
    for raw in paths:
        path = Path(raw)
        overlay = path.name.endswith(OVERLAY_SUFFIX)
        cls: type[BaseModel] = ItemText if overlay else m.Questionnaire
        try:
            obj, problems = validate_text(_read(path), str(path), cls)
            if overlay and isinstance(obj, ItemText) and catalog is not None:
                problems = _overlay_against_catalog(path, obj, catalog)
        except InputFileError as exc:
            problems = list(exc.problems)
        results[str(path)] = problems
    return results


def _overlay_against_catalog(path: Path, overlay: ItemText, catalog: Catalog) -> list[Problem]:
    try:
        load_item_text(path, catalog.get(overlay.questionnaire))
    except (DefinitionError, NotFoundError) as exc:
        if isinstance(exc, NotFoundError):
            parsed = parse_yaml(_read(path), str(path))
            where = _locate(parsed, ("questionnaire",), str(path), key=False)
            return [
                Problem("unknown-questionnaire", exc.problems[0].message, where, "questionnaire")
            ]
        return list(exc.problems)
    return []


def bundled_dir() -> Path:
    """The definitions shipped with the package (source checkout: the repo's top level)."""
    here = Path(__file__).parent / "questionnaires"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "questionnaires"


def user_config_dir() -> Path:
    from platformdirs import user_config_dir as _dir

    return Path(_dir("alliance", appauthor=False)) / "definitions"


@dataclass
class Entry:
    path: Path
    origin: str  # "bundled" or "user"
    _q: m.Questionnaire | None = None

    def load(self) -> m.Questionnaire:
        if self._q is None:
            self._q = load_definition(self.path)
        return self._q


@dataclass
class Catalog:
    """Bundled definitions plus user definitions; a user file overrides the same id.

    User directories, lowest precedence first: the platform config dir, each entry of
    ``ALLIANCE_DEFINITIONS`` (os.pathsep-separated), each ``--definitions DIR``.
    """

    user_dirs: list[Path] = field(default_factory=list)
    include_bundled: bool = True
    notices: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _entries: dict[str, Entry] | None = None
    _invalid: dict[str, tuple[Path, UserError]] = field(default_factory=dict)

    @classmethod
    def from_environment(
        cls, extra_dirs: Iterable[Path] = (), env: dict[str, str] | None = None
    ) -> Catalog:
        import os

        env = dict(os.environ) if env is None else env
        named = [Path(p) for p in env.get("ALLIANCE_DEFINITIONS", "").split(os.pathsep) if p]
        named += list(extra_dirs)
        catalog = cls(user_dirs=[user_config_dir(), *named])
        for directory in named:
            try:
                if directory.is_dir():
                    continue
                what = "is not a folder" if directory.exists() else "does not exist"
            except OSError:
                continue  # noticed when it is searched
            catalog.notices.append(f"definitions folder {directory} {what}")
        return catalog

    def _user_entries(self) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for directory in self.user_dirs:
            try:
                paths = definition_files(directory)
            except InputFileError as exc:
                self.notices.append(f"skipped definitions folder {exc.problems[0].render()}")
                continue
            for path in paths:
                entry = Entry(path, "user")
                try:
                    q = entry.load()
                except (DefinitionError, InputFileError) as exc:
                    # Unreadable is like invalid: an error only when this questionnaire is asked.
                    self.problems.extend(exc.problems)
                    for name in (path.stem, _declared_id(path)):
                        if name:
                            self._invalid[normalize_id(name)] = (path, exc)
                    why = (
                        f"invalid definition; run: alliance validate {path}"
                        if isinstance(exc, DefinitionError)
                        else exc.problems[0].message
                    )
                    self.notices.append(f"skipped {path} ({why})")
                    continue
                self.notices += [f"{path}: {note}" for note in q.removed_notes()]
                key = normalize_id(q.id)
                if key in found:
                    self.notices.append(f"{path} overrides {found[key].path} (id {q.id})")
                found[key] = entry
        return found

    def entries(self) -> dict[str, Entry]:
        """All definitions by normalized id; bundled files are named after their id."""
        if self._entries is None:
            entries: dict[str, Entry] = {}
            if self.include_bundled:
                for path in definition_files(bundled_dir()):
                    entries[normalize_id(path.stem)] = Entry(path, "bundled")
            for key, entry in self._user_entries().items():
                if key in entries:
                    self.notices.append(
                        f"user definition {entry.path} overrides the bundled "
                        f"{entries[key].path.name}"
                    )
                entries[key] = entry
            self._entries = entries
        return self._entries

    def get(self, name: str) -> m.Questionnaire:
        """Find a questionnaire by id or alias, case- and punctuation-insensitively."""
        key = normalize_id(name)
        entries = self.entries()
        if key in self._invalid:
            # An invalid user file for this id must not silently fall back to another one;
            # its problems are the error, so the "skipped" notice would only repeat them.
            path, error = self._invalid[key]
            self.notices = [n for n in self.notices if not n.startswith(f"skipped {path} ")]
            raise error
        if key in entries:
            return entries[key].load()
        for entry in entries.values():
            q = entry.load()
            if key in questionnaire_keys(q):
                return q
        names = sorted(entry.load().id for entry in entries.values())
        close = difflib.get_close_matches(name.casefold(), names, n=3, cutoff=0.5)
        hint = (f"did you mean {' or '.join(close)}? " if close else "") + (
            "`alliance list` shows all questionnaires"
        )
        raise NotFoundError(
            Problem(
                "unknown-questionnaire", f'no questionnaire "{name}" (known: {", ".join(names)})'
            ),
            hint=hint,
        )

    def all(self) -> list[tuple[m.Questionnaire, Entry]]:
        """Every valid definition; invalid ones are collected in ``problems``."""
        out = []
        for entry in self.entries().values():
            try:
                out.append((entry.load(), entry))
            except DefinitionError as exc:
                self.problems.extend(exc.problems)
        return sorted(out, key=lambda pair: pair[0].id)

    def entry_of(self, q: m.Questionnaire) -> Entry:
        """Where a questionnaire returned by :meth:`get` came from."""
        return self.entries()[normalize_id(q.id)]

    def summaries(self) -> list[dict[str, object]]:
        """One row per questionnaire, for ``alliance list``."""
        return [
            {
                "id": q.id,
                "title": q.title,
                "respondent": q.respondent.value,
                "items": len(q.items),
                "scales": len(q.scales),
                "key_status": q.key_status.value,
                "origin": entry.origin,
                "path": str(entry.path),
            }
            for q, entry in self.all()
        ]

    def overlay_for(self, q: m.Questionnaire) -> Path | None:
        """An item-text overlay next to the user's definitions (``<id>.item-text.yaml``)."""
        for directory in reversed(self.user_dirs):
            candidate = directory / f"{q.id}{OVERLAY_SUFFIX}"
            with contextlib.suppress(OSError):  # an unreadable folder was noticed when listed
                if candidate.is_file():
                    return candidate
        return None


def _declared_id(path: Path) -> str | None:
    """The ``id:`` an invalid definition file declares, if it can be read at all."""
    try:
        data = parse_yaml(_read(path), str(path)).data
    except InputFileError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if isinstance(value, str | int) else None


def open_questionnaire(
    catalog: Catalog, name: str, item_text: Path | None = None
) -> m.Questionnaire:
    """The questionnaire with the overlay applied (explicit file, else one found beside the
    user's definitions)."""
    q = catalog.get(name)
    overlay = item_text or catalog.overlay_for(q)
    return load_item_text(overlay, q) if overlay else q
