"""Reading definition files: YAML with positions, problems as ``file:line:col path: message``.

PyYAML composes the document into nodes (``yaml.compose``, safe tags only), which keep their
marks; we build plain Python data from the nodes ourselves so that every value's position is
remembered under its path, duplicate keys are reported instead of silently overwritten, and
YAML 1.1 traps (an unquoted ``no`` read as ``false``, ``010`` read as the octal number 8) are
caught. Pydantic errors are then mapped back through the path to the line and column.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from alliance_cli import model as m
from alliance_cli.cache import remembered
from alliance_cli.errors import DefinitionError, InputFileError, Problem
from alliance_cli.io.limited import read_limited
from alliance_cli.modelbase import Id, Model, Text
from alliance_cli.text import fmt_num

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_PLAIN_FLOAT = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$")

OVERLAY_SUFFIX = ".item-text.yaml"
# Values a definition may expand to (the 36-item WAI has about 600).
MAX_NODES = 20_000
# Bytes of a definition file (the bundled ones are under 7 kB); larger ones are not read.
MAX_BYTES = 1_000_000
# Levels of lists and mappings (a definition needs 5: scales.warmth.bands[0].below).
MAX_DEPTH = 20
Marks = dict[tuple[str | int, ...], tuple[int, int]]
T = TypeVar("T", bound=BaseModel)


@dataclass
class Parsed:
    """A YAML document as plain data, the position of every value, and reading problems."""

    data: Any
    marks: Marks
    key_marks: Marks
    problems: list[Problem]


def parse_yaml(text: str, source: str) -> Parsed:
    """Parse one YAML document keeping positions; never raises on bad YAML."""
    import yaml  # here: a definition remembered in the cache needs no YAML reader

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    constructor = yaml.constructor.SafeConstructor()
    marks: Marks = {}
    key_marks: Marks = {}
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        return Parsed(
            None, marks, key_marks, [Problem("yaml-syntax", f"YAML syntax: {what}", where)]
        )
    except yaml.reader.ReaderError as exc:
        # A character YAML refuses: PyYAML gives an offset and a second line, not a place.
        before = text[: exc.position]
        where = f"{source}:{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"
        what = str(exc).splitlines()[0]
        return Parsed(None, marks, key_marks, [Problem("yaml-syntax", f"YAML: {what}", where)])
    except yaml.YAMLError as exc:
        return Parsed(None, marks, key_marks, [Problem("yaml-syntax", f"YAML: {exc}", source)])

    def loc(n: yaml.Node) -> str:
        return f"{source}:{n.start_mark.line + 1}:{n.start_mark.column + 1}"

    budget = [MAX_NODES]

    def build(n: yaml.Node, path: tuple[str | int, ...]) -> Any:
        # Aliases are expanded into copies; a budget stops "billion laughs" documents.
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooLarge
        if len(path) > MAX_DEPTH:
            raise _TooDeep(loc(n), m.render_path(path[:1]))
        marks[path] = (n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(
                        Problem(
                            "yaml-key",
                            "a key must be plain text",
                            loc(key_node),
                            m.render_path(path),
                        )
                    )
                    continue
                key = scalar(key_node, path)
                sub = (*path, str(key))
                if key in out:
                    first = key_marks.get(sub, (0, 0))[0]
                    problems.append(
                        Problem(
                            "duplicate-key",
                            f'duplicate key "{key}" (first at line {first}); '
                            "each key may appear once",
                            loc(key_node),
                            m.render_path(sub),
                        )
                    )
                    continue
                key_marks[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = build(value_node, sub)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        return scalar(n, path)

    def scalar(n: yaml.Node, path: tuple[str | int, ...]) -> Any:
        assert isinstance(n, yaml.ScalarNode)
        plain = not n.style  # None from the Python loader, '' from libyaml
        if plain and n.tag == _BOOL_TAG and n.value.lower() not in ("true", "false"):
            meaning = "true" if n.value.lower() in ("yes", "y", "on") else "false"
            problems.append(
                Problem(
                    "yaml-trap",
                    f"unquoted {n.value} is read as the boolean {meaning} (YAML 1.1); write "
                    f'"{n.value}" in quotes if you mean the word, or true/false for a yes/no '
                    "setting",
                    loc(n),
                    m.render_path(path),
                )
            )
            return n.value
        if plain and n.tag == _INT_TAG and not _PLAIN_INT.match(n.value):
            value = constructor.construct_object(n)
            problems.append(
                Problem(
                    "yaml-trap",
                    f"unquoted {n.value} is read as the number {value} (YAML 1.1 octal, hex, "
                    f'sexagesimal or underscores); write "{n.value}" in quotes for text or '
                    "a plain decimal number",
                    loc(n),
                    m.render_path(path),
                )
            )
            return n.value
        if (
            plain
            and n.tag == _FLOAT_TAG
            and not _PLAIN_FLOAT.match(n.value)
            and n.value.lower() not in (".inf", "-.inf", "+.inf", ".nan")
        ):
            problems.append(
                Problem(
                    "yaml-trap",
                    f"unquoted {n.value} is read as a number (YAML 1.1); write "
                    f'"{n.value}" in quotes for text or a plain decimal number',
                    loc(n),
                    m.render_path(path),
                )
            )
            return n.value
        if n.tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG, _STR_TAG, "tag:yaml.org,2002:null"):
            # Timestamps and other implicit types: keep the text, the model decides.
            return n.value
        return constructor.construct_object(n)

    try:
        data = build(node, ()) if node is not None else None
    except _TooLarge:
        problem = Problem(
            "too-large",
            f"the document expands to more than {MAX_NODES:,} values (anchors and aliases "
            "repeated too often); a definition never needs that many",
            source,
        )
        return Parsed(None, {}, {}, [problem])
    except _TooDeep as exc:
        where, under = exc.args
        message = f"lists or mappings are nested more than {MAX_DEPTH} levels deep here"
        return Parsed(None, {}, {}, [Problem("too-deep", message, where, under)])
    return Parsed(data, marks, key_marks, problems)


class _TooLarge(Exception):
    pass


class _TooDeep(Exception):
    """Raised with the location and top-level key of the first value nested too deep."""


_FIELD_NAMES: set[str] = set()


def _field_names() -> set[str]:
    if not _FIELD_NAMES:
        for cls in vars(m).values():
            if isinstance(cls, type) and issubclass(cls, BaseModel):
                for name, info in cls.model_fields.items():
                    _FIELD_NAMES.add(info.alias or name)
    return _FIELD_NAMES


def _locate(parsed: Parsed, path: tuple[str | int, ...], source: str, *, key: bool) -> str:
    """``file:line:col`` of the nearest value that exists on ``path``."""
    if key and path in parsed.key_marks:
        line, col = parsed.key_marks[path]
        return f"{source}:{line}:{col}"
    while path:
        if path in parsed.marks:
            line, col = parsed.marks[path]
            return f"{source}:{line}:{col}"
        path = path[:-1]
    if () in parsed.marks:
        line, col = parsed.marks[()]
        return f"{source}:{line}:{col}"
    return source


def _message(error: Any) -> tuple[str, str]:
    kind = error["type"]
    loc = error["loc"]
    value = error.get("input")
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, sorted(_field_names()), n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        return "unknown-key", f'unknown key "{name}"{hint}'
    if kind == "missing":
        return "missing-key", f'required key "{loc[-1]}" is missing'
    message = error["msg"]
    if isinstance(value, str | int | float | bool) and kind not in ("invariants",):
        message += f" (got {value!r})"
    return kind.replace("_", "-"), message


def _as_data_path(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Pydantic's ``loc`` with mapping keys as text and list positions as ints, following the
    document (a label key ``1`` is a mapping key, ``items[1]`` a position)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            key = fmt_num(part) if isinstance(part, float) else str(part)
            out.append(key)
            node = _lookup(node, key)
    return tuple(out)


def _lookup(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        for k, v in node.items():
            if str(k) == key or (isinstance(k, float) and fmt_num(k) == key):
                return v
    return None


def validation_problems(exc: ValidationError, parsed: Parsed, source: str) -> list[Problem]:
    """Every pydantic error as a located :class:`Problem`, invariant lists expanded."""
    out: list[Problem] = []
    for error in exc.errors():
        loc = _as_data_path(parsed.data, tuple(p for p in error["loc"] if p != "[key]"))
        if error["type"] == "invariants":
            for rel, code, message in error["ctx"]["problems"]:
                out.append(_invariant_problem(parsed, source, (*loc, *rel), code, message))
            continue
        code, message = _message(error)
        out.append(
            Problem(
                code,
                message,
                _locate(parsed, loc, source, key=error["type"] == "extra_forbidden"),
                m.render_path(loc),
            )
        )
    return out


def _invariant_problem(
    parsed: Parsed, source: str, path: tuple[Any, ...], code: str, message: str
) -> Problem:
    path = _as_data_path(parsed.data, path)
    return Problem(code, message, _locate(parsed, path, source, key=False), m.render_path(path))


def _read(path: Path) -> str:
    """The text of a definition or overlay: a regular file of at most ``MAX_BYTES``, UTF-8."""
    try:
        data = read_limited(path, MAX_BYTES, "a definition", str(path), regular_only=True)
        return data.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise InputFileError(Problem("file-missing", "no such file", str(path))) from exc
    except UnicodeDecodeError as exc:
        message = (
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8"
        )
        raise InputFileError(Problem("not-utf8", message, str(path))) from exc
    except OSError as exc:
        what = exc.strerror or str(exc)
        raise InputFileError(Problem("file-unreadable", f"cannot read: {what}", str(path))) from exc


def validate_text(text: str, source: str, cls: type[T]) -> tuple[T | None, list[Problem]]:
    """Parse and validate one document; returns the model (or None) and all problems."""
    parsed = parse_yaml(text, source)
    problems = list(parsed.problems)
    if parsed.data is None and not problems:
        problems.append(Problem("empty", "the file is empty", source))
    if parsed.data is not None and not isinstance(parsed.data, dict):
        problems.append(
            Problem(
                "not-mapping",
                "the top level must be a mapping of keys",
                _locate(parsed, (), source, key=False),
            )
        )
        return None, problems
    if parsed.data is None:
        return None, problems
    # Cross-reference checks run on the raw document even when fields fail, and report
    # into the context instead of raising, so one run shows every problem.
    deferred: list[tuple[m.Path, str, str]] = []
    try:
        obj = cls.model_validate(parsed.data, context={m.COLLECT: deferred})
    except ValidationError as exc:
        obj = None
        problems.extend(validation_problems(exc, parsed, source))
    problems.extend(
        _invariant_problem(parsed, source, path, code, message) for path, code, message in deferred
    )
    problems.sort(key=_position)
    return (obj if not problems else None), problems


def _position(problem: Problem) -> tuple[int, int]:
    """Line and column of a problem's location, for reading problems in file order."""
    parts = problem.location.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return 0, 0


def load_definition(path: Path | str) -> m.Questionnaire:
    """Load one definition file or raise :class:`DefinitionError` listing every problem.
    A valid one is remembered in the user cache until the file or the code changes."""
    path = Path(path)

    def validated() -> m.Questionnaire:
        obj, problems = validate_text(_read(path), str(path), m.Questionnaire)
        if obj is None:
            raise DefinitionError(problems)
        obj.content_hash()  # remembered with it (computing it is the costly part of a score)
        return obj

    return remembered(path, m.Questionnaire, validated)


# -- item-text overlays ----------------------------------------------------------------------


class ItemText(Model):
    """An item-text overlay: the licensed wording of a questionnaire's items."""

    questionnaire: Id
    source: Text | None = None
    """Where the wording comes from (manual, licence number)."""
    items: dict[Id, Text]


def load_item_text(path: Path | str, questionnaire: m.Questionnaire) -> m.Questionnaire:
    """Apply an overlay file to a questionnaire; unknown items or a wrong id are errors."""
    path = Path(path)
    source = str(path)
    text = _read(path)
    overlay, problems = validate_text(text, source, ItemText)
    if overlay is not None:
        parsed = parse_yaml(text, source)
        if normalize_id(overlay.questionnaire) not in questionnaire_keys(questionnaire):
            problems.append(
                Problem(
                    "overlay-mismatch",
                    f'this overlay is for "{overlay.questionnaire}", not "{questionnaire.id}"',
                    _locate(parsed, ("questionnaire",), source, key=False),
                    "questionnaire",
                )
            )
        known = questionnaire.item_ids()
        for item_id in overlay.items:
            if item_id not in known:
                problems.append(
                    Problem(
                        "unknown-item",
                        questionnaire.describe_unknown_item(item_id),
                        _locate(parsed, ("items", item_id), source, key=True),
                        f"items.{item_id}",
                    )
                )
    if problems or overlay is None:
        raise DefinitionError(problems)
    return questionnaire.with_item_text(dict(overlay.items))


# -- ids -------------------------------------------------------------------------------------


def normalize_id(name: str) -> str:
    """``WAI_SR``, ``wai-sr`` and ``waisr`` all become ``waisr``."""
    return re.sub(r"[\s_.\-]", "", name.casefold())


def questionnaire_keys(q: m.Questionnaire) -> set[str]:
    return {normalize_id(q.id), *(normalize_id(a) for a in q.aliases)}


def definition_files(directory: Path) -> list[Path]:
    """A folder's definition files (not overlays), sorted; none when there is no such folder.
    A folder that cannot be searched or listed raises :class:`InputFileError`."""
    try:
        if not directory.is_dir():
            return []
        names = sorted(directory.iterdir())
    except OSError as exc:
        what = exc.strerror or str(exc)
        raise InputFileError(
            Problem("folder-unreadable", f"cannot read the folder: {what}", str(directory))
        ) from exc
    return [
        p for p in names if p.suffix in (".yaml", ".yml") and not p.name.endswith(OVERLAY_SUFFIX)
    ]
